"""The consumer base: an event's effects happen once, however often it is delivered."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aio_pika
import asyncpg

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import EventConsumer, PermanentHandlingError, RedeliverThenDeadLetter
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.postgres import Db
from shared.testing.polling import eventually


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


async def test_the_same_event_delivered_twice_is_applied_once(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    await pool.execute("CREATE TABLE applied (order_id uuid, n int)")

    async def count(db: Db, envelope: EventEnvelope, data: Any) -> None:
        await db.execute("INSERT INTO applied VALUES ($1, 1)", data.order_id)

    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    spec = QueueSpec(f"{broker_namespace}.counter", ("order.odoo_synced",))
    consumer = EventConsumer(
        name="counter",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": count},
        pool=pool,
        amqp_url=amqp_url,
    )
    await consumer.start()
    try:
        order_id = uuid.uuid4()
        envelope = EventEnvelope.wrap(
            OrderOdooSynced(order_id=order_id, odoo_order_id=1),
            tenant_id=uuid.uuid4(),
            aggregate_id=order_id,
            aggregate_version=1,
            producer="t",
        )
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
    finally:
        await consumer.stop()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))


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

    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    spec = QueueSpec(f"{broker_namespace}.flaky", ("order.odoo_synced",))
    consumer = EventConsumer(
        name="flaky",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": flaky},
        pool=pool,
        amqp_url=amqp_url,
        failure_policy=RedeliverThenDeadLetter(max_redeliveries=2, pause_s=0.01),
    )
    await consumer.start()
    connection = await aio_pika.connect(amqp_url)
    try:
        order_id = uuid.uuid4()
        envelope = EventEnvelope.wrap(
            OrderOdooSynced(order_id=order_id, odoo_order_id=1),
            tenant_id=uuid.uuid4(),
            aggregate_id=order_id,
            aggregate_version=1,
            producer="t",
        )
        await _publish(amqp_url, topology.exchange, envelope)
        channel = await connection.channel()
        dlq = await channel.get_queue(spec.dead_letter_queue)

        async def dead_letter() -> aio_pika.abc.AbstractIncomingMessage | None:
            return await dlq.get(no_ack=True, fail=False)

        message = await eventually(dead_letter, what="dead letter")
        assert calls == 3
        assert message.headers["x-error-class"] == "RuntimeError"
        assert message.headers["x-error-message"] == "downstream said no"
        assert message.headers["x-attempts"] == 3
        assert message.headers["x-original-routing-key"] == "order.odoo_synced"
        assert await pool.fetchval("SELECT count(*) FROM attempts") == 0
        assert (
            await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", envelope.id) == 0
        )
    finally:
        await connection.close()
        await consumer.stop()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))


async def test_a_permanent_failure_is_dead_lettered_at_once(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    calls = 0

    async def refuse(db: Db, envelope: EventEnvelope, data: Any) -> None:
        nonlocal calls
        calls += 1
        raise PermanentHandlingError("no such product in Odoo")

    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    spec = QueueSpec(f"{broker_namespace}.refuser", ("order.odoo_synced",))
    consumer = EventConsumer(
        name="refuser",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": refuse},
        pool=pool,
        amqp_url=amqp_url,
    )
    await consumer.start()
    connection = await aio_pika.connect(amqp_url)
    try:
        order_id = uuid.uuid4()
        await _publish(
            amqp_url,
            topology.exchange,
            EventEnvelope.wrap(
                OrderOdooSynced(order_id=order_id, odoo_order_id=1),
                tenant_id=uuid.uuid4(),
                aggregate_id=order_id,
                aggregate_version=1,
                producer="t",
            ),
        )
        channel = await connection.channel()
        dlq = await channel.get_queue(spec.dead_letter_queue)

        async def dead_letter() -> aio_pika.abc.AbstractIncomingMessage | None:
            return await dlq.get(no_ack=True, fail=False)

        message = await eventually(dead_letter, what="dead letter")
        assert calls == 1
        assert message.headers["x-error-class"] == "PermanentHandlingError"
    finally:
        await connection.close()
        await consumer.stop()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))
