"""The relay: confirmed, mandatory, per-aggregate order, and nothing lost when a publish fails."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.broker import Publisher, Topology
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.outbox import OutboxRelay, add_event, backlog, stop_relay
from test_support.event_tap import EventTap
from test_support.polling import eventually


def _event(aggregate: uuid.UUID, version: int, event_type_key: int = 1) -> EventEnvelope:
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=aggregate, odoo_order_id=event_type_key),
        tenant_id=uuid.uuid4(),
        aggregate_id=aggregate,
        aggregate_version=version,
        producer="test",
    )


async def _row(pool: asyncpg.Pool, aggregate: uuid.UUID, version: int) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT * FROM outbox WHERE aggregate_id = $1 AND aggregate_version = $2",
        aggregate,
        version,
    )
    assert row is not None
    return row


@pytest.fixture
def topology(broker_namespace: str) -> Topology:
    return Topology(exchange=f"{broker_namespace}.pos.events")


@contextlib.asynccontextmanager
async def running_relay(
    database_url: str, schema: str, amqp_url: str, topology: Topology
) -> AsyncIterator[OutboxRelay]:
    publisher = Publisher(amqp_url, topology)
    relay = OutboxRelay(
        dsn=database_url,
        schema=schema,
        service="test",
        publisher=publisher,
        poll_interval_s=0.1,
        max_backoff_s=0.3,
    )
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await stop_relay(relay, task)
        await publisher.close()


async def test_events_are_published_in_aggregate_order(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    tap = EventTap(amqp_url, topology.exchange)
    await tap.start()
    aggregates = [uuid.uuid4() for _ in range(5)]
    async with pool.acquire() as conn:
        for version in range(1, 11):
            for aggregate in aggregates:
                await add_event(conn, _event(aggregate, version))
    async with running_relay(database_url, schema, amqp_url, topology):
        await tap.wait_for(50)
    for aggregate in aggregates:
        versions = [
            e["aggregate_version"] for e in tap.events if e["aggregate_id"] == str(aggregate)
        ]
        assert versions == list(range(1, 11))
    await tap.stop()


async def test_an_unroutable_event_waits_and_goes_out_once_a_queue_is_bound(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    aggregate = uuid.uuid4()
    async with pool.acquire() as conn:
        await add_event(conn, _event(aggregate, 1))
        await add_event(conn, _event(aggregate, 2))
    async with running_relay(database_url, schema, amqp_url, topology):

        async def failed_once() -> bool:
            row = await _row(pool, aggregate, 1)
            return row is not None and row["publish_attempts"] > 0

        await eventually(failed_once, what="a rejected publish attempt")
        row = await _row(pool, aggregate, 1)
        assert row["published_at"] is None
        assert row["last_error"].startswith("unroutable")
        # The later event of the same aggregate was held back, not sent ahead of it.
        second = await _row(pool, aggregate, 2)
        assert second["published_at"] is None

        tap = EventTap(amqp_url, topology.exchange)
        await tap.start()
        await tap.wait_for(2, within_s=10)
        assert [e["aggregate_version"] for e in tap.events] == [1, 2]
        await tap.stop()
    async with pool.acquire() as conn:
        assert (await backlog(conn)).events == 0


async def test_only_one_relay_publishes_at_a_time(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    tap = EventTap(amqp_url, topology.exchange)
    await tap.start()
    async with (
        running_relay(database_url, schema, amqp_url, topology),
        running_relay(database_url, schema, amqp_url, topology),
    ):
        async with pool.acquire() as conn:
            for version in range(1, 201):
                await add_event(conn, _event(uuid.uuid4(), version))
        await tap.wait_for(200)
        await asyncio.sleep(0.5)
    assert len({e["id"] for e in tap.events}) == len(tap.events) == 200
    await tap.stop()
