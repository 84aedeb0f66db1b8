"""A queue with a lease is consumed by one replica at a time; the others stand by, ready, and
take over when it goes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from structlog.testing import capture_logs

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import EventConsumer
from shared.consumer_lease import QueueLease
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.postgres import Db
from test_support.polling import eventually


class Replica:
    """One replica's consumer of `order.odoo_synced`, recording which events it applied."""

    def __init__(
        self,
        name: str,
        pool: asyncpg.Pool,
        database_url: str,
        amqp_url: str,
        topology: Topology,
        spec: QueueSpec,
    ) -> None:
        self.applied: list[uuid.UUID] = []
        self.lease = QueueLease(
            lambda: asyncpg.connect(database_url), f"lease-test/{spec.name}", 0.1, 0.1
        )
        self.consumer = EventConsumer(
            name=f"applied-{name}",
            queue=spec,
            topology=topology,
            handlers={"order.odoo_synced": self._apply},
            pool=pool,
            amqp_url=amqp_url,
            lease=self.lease,
        )

    async def _apply(self, db: Db, envelope: EventEnvelope, data: Any) -> None:
        self.applied.append(envelope.id)


@pytest.fixture
async def queue(amqp_url: str, broker_namespace: str) -> AsyncIterator[tuple[Topology, QueueSpec]]:
    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    spec = QueueSpec(f"{broker_namespace}.leased", ("order.odoo_synced",))
    yield topology, spec
    await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))


async def _publish(amqp_url: str, exchange: str, count: int) -> list[uuid.UUID]:
    ids = []
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        target = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for _ in range(count):
            order_id = uuid.uuid4()
            envelope = EventEnvelope.wrap(
                OrderOdooSynced(order_id=order_id, odoo_order_id=1),
                tenant_id=uuid.uuid4(),
                aggregate_id=order_id,
                aggregate_version=1,
                producer="t",
            )
            await target.publish(
                aio_pika.Message(envelope.model_dump_json().encode(), message_id=str(envelope.id)),
                routing_key=envelope.type,
            )
            ids.append(envelope.id)
    finally:
        await connection.close()
    return ids


async def test_one_replica_consumes_a_leased_queue_while_the_other_stands_by_ready(
    pool: asyncpg.Pool, database_url: str, amqp_url: str, queue: tuple[Topology, QueueSpec]
) -> None:
    topology, spec = queue
    first = Replica("a", pool, database_url, amqp_url, topology, spec)
    second = Replica("b", pool, database_url, amqp_url, topology, spec)
    await first.consumer.attach()
    try:
        await eventually(lambda: _true(first.consumer.consuming), what="the first consuming")
        await second.consumer.attach()
        await eventually(lambda: _true(second.consumer.standing_by), what="the second waiting")
        assert second.consumer.ready
        assert not second.consumer.consuming

        published = await _publish(amqp_url, topology.exchange, 20)
        await eventually(lambda: _true(len(first.applied) == 20), what="all applied")
        # Handled concurrently up to the prefetch, so the order of applying is not asserted.
        assert set(first.applied) == set(published), "one consumer gets them all"
        assert second.applied == []

        await first.consumer.stop()
        await eventually(lambda: _true(second.consumer.consuming), what="the takeover")
        later = await _publish(amqp_url, topology.exchange, 5)
        await eventually(
            # A message the first applied but had not acknowledged yet may come again.
            lambda: _true(set(later) <= set(second.applied)),
            what="the second applying",
        )
    finally:
        await first.consumer.stop()
        await second.consumer.stop()


async def test_a_replica_whose_lease_connection_dies_stops_consuming_until_it_holds_it_again(
    pool: asyncpg.Pool, amqp_url: str, database_url: str, queue: tuple[Topology, QueueSpec]
) -> None:
    topology, spec = queue
    replica = Replica("a", pool, database_url, amqp_url, topology, spec)
    await replica.consumer.attach()
    try:
        await eventually(lambda: _true(replica.consumer.consuming), what="consuming")
        with capture_logs() as logs:
            await _end_the_lease_session(database_url, replica.lease.name)

            def said(event: str) -> bool:
                return any(entry["event"] == event for entry in logs)

            # The gap between stopping and consuming again can be shorter than a poll: the
            # log says it happened.
            await eventually(lambda: _true(said("consumer_lease_lost")), what="the lease lost")
            await eventually(lambda: _true(said("consumer_lease_taken")), what="taken again")
        await eventually(lambda: _true(replica.consumer.consuming), what="consuming again")
        published = await _publish(amqp_url, topology.exchange, 3)
        await eventually(
            lambda: _true(set(replica.applied) == set(published)), what="applying again"
        )
    finally:
        await replica.consumer.stop()


async def _end_the_lease_session(database_url: str, lease: str) -> None:
    """The server ends the session holding the lease's lock, as a database restart would."""
    admin = await asyncpg.connect(database_url)
    try:
        ended = await admin.fetchval(
            """SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
               WHERE l.locktype = 'advisory'
                 AND l.objid::bigint = (hashtextextended($1, 0) & 4294967295)""",
            lease,
        )
    finally:
        await admin.close()
    assert ended == 1


async def _true(value: bool) -> bool:
    return value
