"""A database outage is no handler failure: the consumer waits for the database, budget intact."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from structlog.testing import capture_logs

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import EventConsumer, RedeliverThenDeadLetter
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.migrations import migrate, shared_migrations
from shared.postgres import Db, create_pool
from test_support.polling import eventually
from test_support.private_servers import PrivatePostgres

pytestmark = pytest.mark.slow


@pytest.fixture
async def private_pool(
    running_private_postgres: PrivatePostgres, schema: str
) -> AsyncIterator[asyncpg.Pool]:
    conn = await asyncpg.connect(running_private_postgres.url)
    try:
        await migrate(conn, schema, shared_migrations())
        await conn.execute(f'CREATE TABLE "{schema}".applied (order_id uuid)')
    finally:
        await conn.close()
    pool = await create_pool(running_private_postgres.url, schema, "shared-tests", 1, 4)
    yield pool
    await pool.close()


@pytest.fixture
def topology(broker_namespace: str) -> Topology:
    return Topology(exchange=f"{broker_namespace}.pos.events")


@pytest.fixture
async def consumer(
    private_pool: asyncpg.Pool, amqp_url: str, broker_namespace: str, topology: Topology
) -> AsyncIterator[EventConsumer]:
    async def apply(db: Db, envelope: EventEnvelope, data: Any) -> None:
        if data.odoo_order_id == 0:
            raise TimeoutError("Odoo did not answer in time")
        await db.execute("INSERT INTO applied VALUES ($1)", data.order_id)

    spec = QueueSpec(f"{broker_namespace}.applied", ("order.odoo_synced",))
    subject = EventConsumer(
        name="applied",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": apply},
        pool=private_pool,
        amqp_url=amqp_url,
        # The reporting service's case: five quick redeliveries, then the dead-letter queue.
        failure_policy=RedeliverThenDeadLetter(max_redeliveries=5, pause_s=0.05),
    )
    await subject.start()
    try:
        yield subject
    finally:
        await subject.stop()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))


async def _publish(amqp_url: str, topology: Topology, odoo_order_id: int) -> uuid.UUID:
    order_id = uuid.uuid4()
    envelope = EventEnvelope.wrap(
        OrderOdooSynced(order_id=order_id, odoo_order_id=odoo_order_id),
        tenant_id=uuid.uuid4(),
        aggregate_id=order_id,
        aggregate_version=1,
        producer="t",
    )
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        target = await channel.declare_exchange(
            topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        await target.publish(
            aio_pika.Message(envelope.model_dump_json().encode(), message_id=str(envelope.id)),
            routing_key=envelope.type,
        )
    finally:
        await connection.close()
    return order_id


async def _dead_letters(amqp_url: str, consumer: EventConsumer) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(consumer.queue.dead_letter_queue, passive=True)
        return queue.declaration_result.message_count or 0
    finally:
        await connection.close()


async def test_an_event_that_arrives_while_the_database_is_down_is_handled_once_it_is_back(
    consumer: EventConsumer,
    private_pool: asyncpg.Pool,
    running_private_postgres: PrivatePostgres,
    amqp_url: str,
    topology: Topology,
) -> None:
    with capture_logs() as logs:
        await asyncio.to_thread(running_private_postgres.stop)
        order_id = await _publish(amqp_url, topology, odoo_order_id=7)
        # Six tries took 1.6 s before; the wait outlasts them several times over.
        await asyncio.sleep(5)
        assert await _dead_letters(amqp_url, consumer) == 0

        await asyncio.to_thread(running_private_postgres.start)

        async def applied() -> bool:
            found = await private_pool.fetchval(
                "SELECT true FROM applied WHERE order_id = $1", order_id
            )
            return bool(found)

        await eventually(applied, within_s=20, what="the event applied")

    assert await private_pool.fetchval("SELECT count(*) FROM applied") == 1
    assert await _dead_letters(amqp_url, consumer) == 0
    outage = [e["event"] for e in logs if e["event"].startswith("outage_")]
    assert outage == ["outage_began", "outage_ended"]
    assert {e["dependency"] for e in logs if e["event"].startswith("outage_")} == {"database"}
    assert not [e for e in logs if e["event"] == "event_handler_failed"]


async def test_a_time_out_elsewhere_while_the_database_answers_is_still_a_handler_failure(
    consumer: EventConsumer, amqp_url: str, topology: Topology
) -> None:
    await _publish(amqp_url, topology, odoo_order_id=0)

    async def dead_lettered() -> bool:
        return await _dead_letters(amqp_url, consumer) == 1

    await eventually(dead_lettered, within_s=20, what="the dead letter")
