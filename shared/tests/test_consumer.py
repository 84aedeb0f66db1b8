"""The consumer base: an event's effects happen once, however often it is delivered."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import (
    EventConsumer,
    FailurePolicy,
    Handler,
    PermanentHandlingError,
    RedeliverThenDeadLetter,
)
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.postgres import Db
from test_support.polling import eventually


def _sync_event() -> EventEnvelope:
    order_id = uuid.uuid4()
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=order_id, odoo_order_id=1),
        tenant_id=uuid.uuid4(),
        aggregate_id=order_id,
        aggregate_version=1,
        producer="t",
    )


@contextlib.asynccontextmanager
async def _consuming(
    pool: asyncpg.Pool,
    amqp_url: str,
    namespace: str,
    name: str,
    handler: Handler,
    failure_policy: FailurePolicy | None = None,
) -> AsyncIterator[tuple[Topology, QueueSpec]]:
    """A started consumer of `order.odoo_synced`; its queues and exchanges go away after."""
    topology = Topology(exchange=f"{namespace}.pos.events")
    spec = QueueSpec(f"{namespace}.{name}", ("order.odoo_synced",))
    consumer = EventConsumer(
        name=name,
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": handler},
        pool=pool,
        amqp_url=amqp_url,
        failure_policy=failure_policy,
    )
    await consumer.start()
    try:
        yield topology, spec
    finally:
        await consumer.stop()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))


async def _publish(amqp_url: str, exchange: str, envelope: EventEnvelope) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        target = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await target.publish(
            aio_pika.Message(envelope.model_dump_json().encode(), message_id=str(envelope.id)),
            routing_key=envelope.type,
        )
    finally:
        await connection.close()


async def _dead_letter(amqp_url: str, spec: QueueSpec) -> AbstractIncomingMessage:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        dlq = await channel.get_queue(spec.dead_letter_queue)

        async def fetched() -> AbstractIncomingMessage | None:
            return await dlq.get(no_ack=True, fail=False)

        return await eventually(fetched, what="dead letter")
    finally:
        await connection.close()


async def test_the_same_event_delivered_twice_is_applied_once(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    await pool.execute("CREATE TABLE applied (order_id uuid, n int)")

    async def count(db: Db, envelope: EventEnvelope, data: Any) -> None:
        await db.execute("INSERT INTO applied VALUES ($1, 1)", data.order_id)

    async with _consuming(pool, amqp_url, broker_namespace, "counter", count) as (topology, _):
        envelope = _sync_event()
        for _ in range(3):
            await _publish(amqp_url, topology.exchange, envelope)

        async def all_delivered() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT count(*) = 1 FROM inbox WHERE event_id = $1", envelope.id
                )
            )

        await eventually(all_delivered, what="delivery")
        await asyncio.sleep(0.5)
        assert await pool.fetchval("SELECT count(*) FROM applied") == 1


async def test_a_failing_handler_is_retried_then_dead_lettered_and_its_effects_rolled_back(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    await pool.execute("CREATE TABLE attempts (n int)")
    calls = 0

    async def flaky(db: Db, envelope: EventEnvelope, data: Any) -> None:
        nonlocal calls
        calls += 1
        await db.execute("INSERT INTO attempts VALUES (1)")
        raise RuntimeError("downstream said no")

    policy = RedeliverThenDeadLetter(max_redeliveries=2, pause_s=0.01)
    async with _consuming(pool, amqp_url, broker_namespace, "flaky", flaky, policy) as (
        topology,
        spec,
    ):
        envelope = _sync_event()
        await _publish(amqp_url, topology.exchange, envelope)
        message = await _dead_letter(amqp_url, spec)
        assert calls == 3
        assert message.headers["x-error-class"] == "RuntimeError"
        assert message.headers["x-error-message"] == "downstream said no"
        assert message.headers["x-attempts"] == 3
        assert message.headers["x-original-routing-key"] == "order.odoo_synced"
        assert await pool.fetchval("SELECT count(*) FROM attempts") == 0
        assert (
            await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", envelope.id) == 0
        )


async def test_a_permanent_failure_is_dead_lettered_at_once(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    calls = 0

    async def refuse(db: Db, envelope: EventEnvelope, data: Any) -> None:
        nonlocal calls
        calls += 1
        raise PermanentHandlingError("no such product in Odoo")

    async with _consuming(pool, amqp_url, broker_namespace, "refuser", refuse) as (
        topology,
        spec,
    ):
        await _publish(amqp_url, topology.exchange, _sync_event())
        message = await _dead_letter(amqp_url, spec)
        assert calls == 1
        assert message.headers["x-error-class"] == "PermanentHandlingError"
