"""The relay waits out a broker or database outage quietly, and drains when the server is back."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from shared.broker import Publisher, Topology
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.outbox import OutboxRelay, add_event, backlog, stop_relay
from test_support.polling import eventually
from test_support.private_servers import PrivateRabbitMQ

pytestmark = pytest.mark.slow


def _event() -> EventEnvelope:
    aggregate = uuid.uuid4()
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=aggregate, odoo_order_id=1),
        tenant_id=uuid.uuid4(),
        aggregate_id=aggregate,
        aggregate_version=1,
        producer="test",
    )


@contextlib.asynccontextmanager
async def _running_relay(
    database_url: str, schema: str, amqp_url: str, topology: Topology
) -> AsyncIterator[OutboxRelay]:
    publisher = Publisher(amqp_url, topology, timeout_s=2)
    relay = OutboxRelay(
        dsn=database_url,
        schema=schema,
        service="test",
        publisher=publisher,
        poll_interval_s=0.1,
        broker_retry_max_s=1.0,
    )
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await stop_relay(relay, task)
        await publisher.close()


async def _bind_a_queue(amqp_url: str, topology: Topology, name: str) -> None:
    """A durable queue taking every event, so the relay's mandatory publishes are routable."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(name, durable=True)
        await queue.bind(exchange, routing_key="#")
    finally:
        await connection.close()


def _failures(schema: str) -> float:
    return REGISTRY.get_sample_value("outbox_publish_failures_total", {"schema": schema}) or 0.0


def _outage_lines(logs: list[dict[str, Any]], component: str) -> list[str]:
    return [
        e["event"]
        for e in logs
        if e["event"].startswith("outage_") and e.get("component") == component
    ]


async def test_new_events_do_not_hurry_the_relay_while_the_broker_is_away(
    pool: asyncpg.Pool,
    database_url: str,
    schema: str,
    running_private_rabbitmq: PrivateRabbitMQ,
    broker_namespace: str,
) -> None:
    broker = running_private_rabbitmq
    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    await _bind_a_queue(broker.amqp_url, topology, f"{broker_namespace}.everything")
    component = f"outbox relay {schema}"
    with capture_logs() as logs:
        async with _running_relay(database_url, schema, broker.amqp_url, topology):
            await asyncio.to_thread(broker.kill)
            await add_event(pool, _event())

            async def noticed() -> bool:
                return "outage_began" in _outage_lines(logs, component)

            await eventually(noticed, what="the relay noticing the broker is gone")
            tries_before = _failures(schema)
            # Each insert NOTIFYs the relay: an order every 50 ms for 3 s.
            started = time.monotonic()
            while time.monotonic() - started < 3:
                await add_event(pool, _event())
                await asyncio.sleep(0.05)
            tries = _failures(schema) - tries_before
            # Backing off from 0.2 s to 1 s, about five tries; one per notification was sixty.
            assert 1 <= tries <= 8

            await asyncio.to_thread(broker.start)

            async def drained() -> bool:
                async with pool.acquire() as conn:
                    return (await backlog(conn)).events == 0

            # A node killed moments after its queues were declared can take a minute to elect
            # their leaders again (3.10); the relay publishes as soon as the broker takes them.
            await eventually(drained, within_s=90, what="the backlog published")

    assert _outage_lines(logs, component) == ["outage_began", "outage_ended"]
    ended = next(e for e in logs if e["event"] == "outage_ended")
    assert ended["dependency"] == "broker"
    assert ended["duration_s"] > 3
    assert [e["event"] for e in logs if e.get("log_level") == "warning"] == ["outage_began"]
