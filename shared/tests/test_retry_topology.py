"""TTL retry tiers: what may pass later is retried on the schedule, the rest is dead-lettered."""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aio_pika
import aiormq
import asyncpg
import pytest
from aio_pika.abc import AbstractIncomingMessage

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import EventConsumer, Handler, PermanentHandlingError
from shared.dead_letters.records import DeadLetter
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.postgres import Db
from shared.retry_topology import (
    RetrySchedule,
    RetryThroughTiers,
    WaitForPrerequisite,
    delete_retry_tiers,
    holding_queues,
)
from test_support.polling import eventually


def _event(tenant_id: uuid.UUID | None = None) -> EventEnvelope:
    order_id = uuid.uuid4()
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=order_id, odoo_order_id=1),
        tenant_id=tenant_id or uuid.uuid4(),
        aggregate_id=order_id,
        aggregate_version=1,
        producer="t",
    )


@contextlib.asynccontextmanager
async def _consuming(
    pool: asyncpg.Pool,
    amqp_url: str,
    namespace: str,
    handler: Handler,
    schedule: RetrySchedule,
    dead_letters: list[tuple[str, int]] | None = None,
) -> AsyncIterator[tuple[Topology, QueueSpec]]:
    """A consumer of `order.odoo_synced` with retry tiers; everything it declared goes after."""
    topology = Topology(exchange=f"{namespace}.pos.events")
    spec = QueueSpec(f"{namespace}.tiered", ("order.odoo_synced",))

    async def remember(db: Db, dead: DeadLetter, error: Exception) -> None:
        if dead_letters is not None:
            dead_letters.append((type(error).__name__, dead.attempts))

    policy = RetryThroughTiers(schedule, topology, amqp_url)
    consumer = EventConsumer(
        name="tiered",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": handler},
        pool=pool,
        amqp_url=amqp_url,
        failure_policy=policy,
        on_dead_letter=remember,
    )
    await consumer.start()
    try:
        yield topology, spec
    finally:
        await consumer.stop()
        await policy.close()
        await delete_retry_tiers(amqp_url, topology, spec, schedule)
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


async def test_a_transient_failure_is_retried_after_each_tier_delay_and_then_succeeds(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    await pool.execute("CREATE TABLE applied (order_id uuid)")
    schedule = RetrySchedule.of([100, 200, 400], wait_ms=50)
    calls: list[float] = []

    async def flaky(db: Db, envelope: EventEnvelope, data: Any) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise ConnectionError("Odoo answered 503")
        await db.execute("INSERT INTO applied VALUES ($1)", data.order_id)

    async with _consuming(pool, amqp_url, broker_namespace, flaky, schedule) as (topology, _):
        await _publish(amqp_url, topology.exchange, _event())

        async def applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) = 1 FROM applied"))

        await eventually(applied, within_s=15, what="success after three retries")
    gaps_ms = [(later - earlier) * 1000 for earlier, later in itertools.pairwise(calls)]
    assert len(calls) == 4
    # A TTL never releases early; how late it is depends on the machine, so only the floor counts.
    for gap, delay in zip(gaps_ms, schedule.delays_ms, strict=True):
        assert gap >= delay, (gaps_ms, schedule.delays_ms)


async def test_a_message_that_fails_every_retry_is_dead_lettered_with_its_story(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    schedule = RetrySchedule.of([20, 40, 60, 80, 100], wait_ms=20)
    calls = 0
    hooked: list[tuple[str, int]] = []

    async def always_down(db: Db, envelope: EventEnvelope, data: Any) -> None:
        nonlocal calls
        calls += 1
        raise TimeoutError("Odoo did not answer within 10 s")

    tenant = uuid.uuid4()
    async with _consuming(pool, amqp_url, broker_namespace, always_down, schedule, hooked) as (
        topology,
        spec,
    ):
        await _publish(amqp_url, topology.exchange, _event(tenant))
        message = await _dead_letter(amqp_url, spec)
    headers = message.headers
    assert calls == 6
    assert hooked == [("TimeoutError", 6)]
    assert headers["x-attempts"] == 6
    assert headers["x-error-class"] == "TimeoutError"
    assert headers["x-error-message"] == "Odoo did not answer within 10 s"
    assert headers["x-original-routing-key"] == "order.odoo_synced"
    assert headers["x-tenant-id"] == str(tenant)
    first = datetime.fromisoformat(str(headers["x-first-failure-at"]))
    last = datetime.fromisoformat(str(headers["x-last-failure-at"]))
    assert (last - first).total_seconds() * 1000 >= sum(schedule.delays_ms)


async def test_a_permanent_failure_skips_the_tiers(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    schedule = RetrySchedule.of([20, 40], wait_ms=20)
    calls = 0

    async def invalid(db: Db, envelope: EventEnvelope, data: Any) -> None:
        nonlocal calls
        calls += 1
        raise PermanentHandlingError("ValidationError: The payment method is not allowed")

    async with _consuming(pool, amqp_url, broker_namespace, invalid, schedule) as (
        topology,
        spec,
    ):
        await _publish(amqp_url, topology.exchange, _event())
        message = await _dead_letter(amqp_url, spec)
    assert calls == 1
    assert message.headers["x-attempts"] == 1
    assert message.headers["x-error-class"] == "PermanentHandlingError"


async def test_waiting_for_a_prerequisite_does_not_spend_the_retry_budget(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    await pool.execute("CREATE TABLE applied (order_id uuid)")
    # One retry only: had any of the eight waits counted, the message would be dead-lettered.
    schedule = RetrySchedule.of([30], wait_ms=20)
    calls = 0

    async def not_yet(db: Db, envelope: EventEnvelope, data: Any) -> None:
        nonlocal calls
        calls += 1
        if calls <= 8:
            raise WaitForPrerequisite("original_not_in_odoo", "the refunded order is on its way")
        if calls == 9:
            raise ConnectionError("Odoo answered 502")
        await db.execute("INSERT INTO applied VALUES ($1)", data.order_id)

    async with _consuming(pool, amqp_url, broker_namespace, not_yet, schedule) as (topology, _):
        await _publish(amqp_url, topology.exchange, _event())

        async def applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) = 1 FROM applied"))

        await eventually(applied, within_s=15, what="success after waiting and one retry")
    assert calls == 10


async def test_a_message_waiting_longer_than_the_schedule_allows_is_dead_lettered_saying_why(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    schedule = RetrySchedule.of([30], wait_ms=20, max_wait_s=0.5)
    dead: list[tuple[str, int]] = []
    calls = 0

    async def never(db: Db, envelope: EventEnvelope, data: Any) -> None:
        nonlocal calls
        calls += 1
        raise WaitForPrerequisite("tenant_unknown", "tenant 42's tier is not known yet")

    async with _consuming(pool, amqp_url, broker_namespace, never, schedule, dead) as (
        topology,
        spec,
    ):
        started = time.monotonic()
        await _publish(amqp_url, topology.exchange, _event())
        message = await _dead_letter(amqp_url, spec)
        waited_s = time.monotonic() - started
    headers = message.headers or {}
    assert headers["x-error-class"] == "WaitedTooLongError"
    assert "for tenant_unknown: tenant 42's tier is not known yet" in str(
        headers["x-error-message"]
    )
    assert dead == [("WaitedTooLongError", 1)]
    assert waited_s >= 0.5
    assert calls > 5, "it waited in rounds before it was given up"


async def test_deleting_the_tiers_removes_every_holding_queue(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    schedule = RetrySchedule.of([20, 40], wait_ms=20)

    async def ignore(db: Db, envelope: EventEnvelope, data: Any) -> None:
        return None

    async with _consuming(pool, amqp_url, broker_namespace, ignore, schedule) as (_, spec):
        names = [name for name, _ in holding_queues(spec, schedule)]
    connection = await aio_pika.connect(amqp_url)
    try:
        for name in names:
            channel = await connection.channel()
            with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
                await channel.declare_queue(name, passive=True)
    finally:
        await connection.close()
    assert len(names) == 3
