"""A consumer keeps consuming through whatever happens to its broker, and says so once."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from shared.broker import QueueSpec, Topology
from shared.consumer import EventConsumer
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.http_service import service_readiness
from shared.postgres import Db
from test_support.polling import eventually
from test_support.private_servers import PrivateRabbitMQ

pytestmark = pytest.mark.slow


def _sync_event() -> EventEnvelope:
    order_id = uuid.uuid4()
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=order_id, odoo_order_id=1),
        tenant_id=uuid.uuid4(),
        aggregate_id=order_id,
        aggregate_version=1,
        producer="t",
    )


async def _publish(amqp_url: str, exchange: str) -> EventEnvelope:
    """Publishes one new event, confirmed; a broker just back may nack until its queues are."""
    envelope = _sync_event()

    async def confirmed() -> bool:
        try:
            connection = await aio_pika.connect(amqp_url)
        except aio_pika.exceptions.AMQPConnectionError:
            return False
        try:
            channel = await connection.channel()
            target = await channel.declare_exchange(
                exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await target.publish(
                aio_pika.Message(envelope.model_dump_json().encode(), message_id=str(envelope.id)),
                routing_key=envelope.type,
                timeout=5,
            )
        except (aio_pika.exceptions.DeliveryError, TimeoutError):
            return False
        finally:
            await connection.close()
        return True

    await eventually(confirmed, within_s=30, what="a confirmed publish")
    return envelope


class Applied:
    """A consumer of `order.odoo_synced` on the private broker that records what it applied."""

    def __init__(self, pool: asyncpg.Pool, broker: PrivateRabbitMQ, namespace: str) -> None:
        self.pool = pool
        self.broker = broker
        self.topology = Topology(exchange=f"{namespace}.pos.events")
        self.spec = QueueSpec(f"{namespace}.applied", ("order.odoo_synced",))
        self.consumer = EventConsumer(
            name="applied",
            queue=self.spec,
            topology=self.topology,
            handlers={"order.odoo_synced": self._apply},
            pool=pool,
            amqp_url=broker.amqp_url,
            reconnect_interval_s=0.3,
            reopen_after_s=1.0,
        )

    async def _apply(self, db: Db, envelope: EventEnvelope, data: Any) -> None:
        await db.execute("INSERT INTO applied VALUES ($1)", data.order_id)

    async def handles_a_new_event(self) -> None:
        envelope = await _publish(self.broker.amqp_url, self.topology.exchange)

        async def applied() -> bool:
            return bool(
                await self.pool.fetchval(
                    "SELECT true FROM applied WHERE order_id = $1", envelope.aggregate_id
                )
            )

        await eventually(applied, within_s=30, what="the event applied")

    def attached_metric(self) -> float | None:
        return REGISTRY.get_sample_value("consumers_attached", {"queue": self.spec.name})


@pytest.fixture
async def applied(
    pool: asyncpg.Pool, running_private_rabbitmq: PrivateRabbitMQ, broker_namespace: str
) -> AsyncIterator[Applied]:
    await pool.execute("CREATE TABLE applied (order_id uuid)")
    subject = Applied(pool, running_private_rabbitmq, broker_namespace)
    await subject.consumer.start()
    try:
        await subject.handles_a_new_event()
        yield subject
    finally:
        await subject.consumer.stop()


def _outage_lines(logs: list[dict[str, Any]], component: str) -> list[str]:
    return [
        entry["event"]
        for entry in logs
        if entry["event"].startswith("outage_") and entry.get("component") == component
    ]


async def test_a_consumer_consumes_again_after_its_broker_is_killed_and_restarted_and_says_so_once(
    applied: Applied, pool: asyncpg.Pool
) -> None:
    app = FastAPI()
    app.state.pool = pool
    app.state.consumers = [applied.consumer]
    assert await service_readiness(app) is None
    assert applied.attached_metric() == 1

    with capture_logs() as logs:
        await asyncio.to_thread(applied.broker.kill)

        async def detached() -> bool:
            return not applied.consumer.consuming

        await eventually(detached, what="the consumer noticing its broker is gone")
        # What lost the consumer before: its channel, held only weakly, collected meanwhile.
        for _ in range(3):
            gc.collect()
            await asyncio.sleep(0.5)
        readiness = await service_readiness(app)
        assert readiness is not None
        assert applied.spec.name in readiness
        assert applied.attached_metric() == 0

        await asyncio.to_thread(applied.broker.start)
        await applied.handles_a_new_event()
        component = f"consumer {applied.spec.name}"

        async def outage_ended() -> bool:
            return "outage_ended" in _outage_lines(logs, component)

        await eventually(outage_ended, what="the end of the outage logged")

    assert await service_readiness(app) is None
    assert applied.attached_metric() == 1
    assert _outage_lines(logs, component) == ["outage_began", "outage_ended"]
    ended = next(e for e in logs if e["event"] == "outage_ended" and e["component"] == component)
    assert ended["dependency"] == "broker"
    assert ended["duration_s"] > 1
    # Not one line per reconnect attempt (every 0.3 s here).
    assert [e["event"] for e in logs if e.get("log_level") == "warning"] == ["outage_began"]


async def test_a_consumer_consumes_again_after_the_broker_closes_its_connection(
    applied: Applied,
) -> None:
    await asyncio.to_thread(applied.broker.close_all_connections)
    await applied.handles_a_new_event()
    assert applied.consumer.consuming


async def test_a_consumer_consumes_again_after_the_broker_closes_its_channel(
    applied: Applied, broker_namespace: str
) -> None:
    channel = applied.consumer._channel
    assert channel is not None
    # A channel-level error (404 on a passive declare) makes the broker close the channel, as
    # an ack of an unknown delivery tag or an expired consumer_timeout would.
    with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
        await channel.declare_queue(f"{broker_namespace}.no-such-queue", passive=True)
    await applied.handles_a_new_event()
    assert applied.consumer.consuming


async def test_a_consumer_that_aio_pika_does_not_bring_back_is_brought_back_by_its_watch(
    applied: Applied,
) -> None:
    amqp_channel = applied.consumer._amqp_channel
    tag = applied.consumer._consumer_tag
    assert amqp_channel is not None
    assert tag is not None
    # Cancelled under aio-pika, which therefore never restores it: only the watch can.
    await amqp_channel.basic_cancel(tag)
    assert not applied.consumer.consuming
    await applied.handles_a_new_event()
    assert applied.consumer.consuming
