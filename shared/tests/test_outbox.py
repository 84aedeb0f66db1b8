"""The relay: confirmed, mandatory, per-aggregate order, and nothing lost when a publish fails."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from shared.broker import Publisher, Topology
from shared.events.contracts import OrderOdooSynced, TokenRevoked
from shared.events.envelope import EventEnvelope
from shared.outbox import OutboxRelay, add_event, backlog, stop_relay
from shared.postgres import connect
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


def _revocation(aggregate: uuid.UUID, version: int) -> EventEnvelope:
    """An event of another type than `_event`'s, routed apart from it."""
    return EventEnvelope.wrap(
        TokenRevoked(token_id=uuid.uuid4(), expires_at=datetime.now(UTC)),
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
    database_url: str,
    schema: str,
    amqp_url: str,
    topology: Topology,
    *,
    poll_interval_s: float = 0.1,
    gather_s: float = 0.005,
) -> AsyncIterator[OutboxRelay]:
    publisher = Publisher(amqp_url, topology)
    relay = OutboxRelay(
        dsn=database_url,
        schema=schema,
        service="test",
        publisher=publisher,
        poll_interval_s=poll_interval_s,
        gather_s=gather_s,
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


class _Queue:
    """A queue of the test's own on the test's exchange, keeping every message it receives."""

    def __init__(self, amqp_url: str, topology: Topology) -> None:
        self._url = amqp_url
        self._topology = topology
        self.messages: list[AbstractIncomingMessage] = []
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def __aenter__(self) -> _Queue:
        self._connection = await aio_pika.connect(self._url)
        self.channel = await self._connection.channel()
        self.exchange = await self.channel.declare_exchange(
            self._topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self.queue = await self.channel.declare_queue(exclusive=True)
        await self.queue.consume(self._keep, no_ack=True)
        return self

    async def _keep(self, message: AbstractIncomingMessage) -> None:
        self.messages.append(message)

    async def __aexit__(self, *_: object) -> None:
        assert self._connection is not None
        await self._connection.close()

    def versions_of(self, aggregate: uuid.UUID) -> list[int]:
        return [
            envelope["aggregate_version"]
            for envelope in (json.loads(m.body) for m in self.messages)
            if envelope["aggregate_id"] == str(aggregate)
        ]


@contextlib.asynccontextmanager
async def _relay_connection(
    database_url: str, schema: str, amqp_url: str, topology: Topology
) -> AsyncIterator[tuple[OutboxRelay, asyncpg.Connection]]:
    """A relay whose passes the test makes itself, one `relay_once` at a time."""
    publisher = Publisher(amqp_url, topology)
    relay = OutboxRelay(
        dsn=database_url, schema=schema, service="test", publisher=publisher, max_backoff_s=0.0
    )
    conn = await connect(database_url, schema, "test-relay")
    try:
        yield relay, conn
    finally:
        await conn.close()
        await publisher.close()


async def test_one_pass_publishes_a_batch_of_many_aggregates_with_the_stored_envelopes(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    aggregates = [uuid.uuid4() for _ in range(20)]
    written = {}
    async with pool.acquire() as conn:
        for version in range(1, 4):
            for aggregate in aggregates:
                envelope = _event(aggregate, version)
                written[str(envelope.id)] = envelope
                await add_event(conn, envelope)
    async with (
        _Queue(amqp_url, topology) as queue,
        _relay_connection(database_url, schema, amqp_url, topology) as (relay, conn),
    ):
        await queue.queue.bind(queue.exchange, routing_key="#")
        outcome = await relay.relay_once(conn)
        assert (outcome.published, outcome.rejected) == (60, 0)
        await eventually(lambda: _received(queue, 60), what="60 messages")
    for aggregate in aggregates:
        assert queue.versions_of(aggregate) == [1, 2, 3]
    for message in queue.messages:
        envelope = written[message.message_id or ""]
        # What consumers read: the envelope itself and the properties beside it.
        assert EventEnvelope.model_validate_json(message.body) == envelope
        assert message.type == message.routing_key == "order.odoo_synced"
        assert message.correlation_id == envelope.correlation_id
        assert message.content_type == "application/json"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.headers == {"x-tenant-id": str(envelope.tenant_id)}


async def _received(queue: _Queue, count: int) -> bool:
    return len(queue.messages) >= count


async def test_the_register_an_event_names_travels_in_its_partition_header(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    register_id = uuid.uuid4()
    envelope = _event(uuid.uuid4(), 1).model_copy(
        update={"data": {"register_id": str(register_id), "order_id": str(uuid.uuid4())}}
    )
    await add_event(pool, envelope)
    async with (
        _Queue(amqp_url, topology) as queue,
        _relay_connection(database_url, schema, amqp_url, topology) as (relay, conn),
    ):
        await queue.queue.bind(queue.exchange, routing_key="#")
        assert (await relay.relay_once(conn)).published == 1
        await eventually(lambda: _received(queue, 1), what="the message")
    assert queue.messages[0].headers == {
        "x-tenant-id": str(envelope.tenant_id),
        "x-register-id": str(register_id),
    }


async def _a_returned_or_nacked_event_holds_back_its_aggregate_and_is_retried_in_order(
    pool: asyncpg.Pool,
    database_url: str,
    schema: str,
    amqp_url: str,
    topology: Topology,
    *,
    refuse: str,
) -> None:
    held, other = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await add_event(conn, _event(held, 1))
        await add_event(conn, _revocation(held, 2))
        await add_event(conn, _event(held, 3))
        for version in range(1, 4):
            await add_event(conn, _event(other, version))
    async with (
        _Queue(amqp_url, topology) as queue,
        _relay_connection(database_url, schema, amqp_url, topology) as (relay, conn),
    ):
        await queue.queue.bind(queue.exchange, routing_key="order.odoo_synced")
        refusing = None
        if refuse == "nack":
            # A full queue with reject-publish overflow nacks what is routed to it.
            refusing = await queue.channel.declare_queue(
                exclusive=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
            )
            await refusing.bind(queue.exchange, routing_key="token.revoked")

        outcome = await relay.relay_once(conn)

        assert (outcome.published, outcome.rejected) == (4, 1)
        rows = await pool.fetch(
            """SELECT aggregate_version, published_at, last_error FROM outbox
               WHERE aggregate_id = $1 ORDER BY seq""",
            held,
        )
        assert [row["published_at"] is not None for row in rows] == [True, False, False]
        expected_error = "unroutable" if refuse == "return" else "rejected by the broker"
        assert rows[1]["last_error"].startswith(expected_error)
        assert rows[2]["last_error"] is None
        await eventually(lambda: _received(queue, 4), what="the four events not held back")
        assert queue.versions_of(held) == [1]
        assert queue.versions_of(other) == [1, 2, 3]

        if refusing is not None:
            await refusing.delete(if_unused=False, if_empty=False)
        await queue.queue.bind(queue.exchange, routing_key="token.revoked")
        published = 0
        while published < 2:
            published += (await relay.relay_once(conn)).published
        await eventually(lambda: _received(queue, 6), what="the held events")
    assert queue.versions_of(held) == [1, 2, 3]
    assert queue.versions_of(other) == [1, 2, 3]


async def test_a_returned_event_in_a_batch_holds_back_its_aggregate_and_is_retried_in_order(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    await _a_returned_or_nacked_event_holds_back_its_aggregate_and_is_retried_in_order(
        pool, database_url, schema, amqp_url, topology, refuse="return"
    )


async def test_a_nacked_event_in_a_batch_holds_back_its_aggregate_and_is_retried_in_order(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    await _a_returned_or_nacked_event_holds_back_its_aggregate_and_is_retried_in_order(
        pool, database_url, schema, amqp_url, topology, refuse="nack"
    )


def _batches(schema: str) -> float:
    return REGISTRY.get_sample_value("outbox_batch_events_count", {"schema": schema}) or 0.0


async def test_a_burst_of_notifications_is_published_in_one_batch(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, topology: Topology
) -> None:
    aggregates = [uuid.uuid4() for _ in range(30)]
    async with _Queue(amqp_url, topology) as queue:
        await queue.queue.bind(queue.exchange, routing_key="#")
        # No poll in the test's time: only notifications wake it, and it gathers each burst
        # for longer than the burst takes.
        with capture_logs() as logs:
            async with running_relay(
                database_url, schema, amqp_url, topology, poll_interval_s=600, gather_s=1.0
            ):

                async def listening() -> bool:
                    return any(e["event"] == "outbox_relay_active" for e in logs)

                await eventually(listening, what="the relay listening")
                # Thirty transactions, thirty notifications.
                for aggregate in aggregates:
                    await add_event(pool, _event(aggregate, 1))
                await eventually(lambda: _received(queue, 30), what="the burst published")
    # The first pass after the relay started may take the first few before the burst is noticed.
    assert _batches(schema) <= 2
    async with pool.acquire() as conn:
        assert (await backlog(conn)).events == 0
