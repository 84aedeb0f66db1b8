"""Partition queues sharing one set of retry tiers and one wait queue: a message retried or
waiting comes back to the partition it came from, never to another."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import aio_pika
import asyncpg

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import EventConsumer, Handler
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.postgres import Db
from shared.retry_topology import (
    RetrySchedule,
    RetryThroughTiers,
    WaitForPrerequisite,
    delete_retry_tiers,
)
from test_support.polling import eventually


def _event() -> EventEnvelope:
    order_id = uuid.uuid4()
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=order_id, odoo_order_id=1),
        tenant_id=uuid.uuid4(),
        aggregate_id=order_id,
        aggregate_version=1,
        producer="t",
    )


async def _into(amqp_url: str, queue: str, envelope: EventEnvelope) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                envelope.model_dump_json().encode(),
                message_id=str(envelope.id),
                type=envelope.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=queue,
        )
    finally:
        await connection.close()


async def test_a_retried_or_waiting_message_comes_back_to_its_own_partition(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    group = QueueSpec(f"{broker_namespace}.orders.partitions", ())
    partitions = [QueueSpec(f"{broker_namespace}.orders.{p}", ()) for p in range(3)]
    schedule = RetrySchedule.of([50, 100], wait_ms=50)
    policy = RetryThroughTiers(schedule, topology, amqp_url, shared_by=group)
    # Per event, the partitions that handled each of its tries.
    tries: dict[uuid.UUID, list[str]] = defaultdict(list)

    def handler_of(spec: QueueSpec) -> Handler:
        async def handle(db: Db, envelope: EventEnvelope, data: Any) -> None:
            tries[envelope.id].append(spec.name)
            if len(tries[envelope.id]) == 1:
                raise ConnectionError("Odoo answered 503")
            if len(tries[envelope.id]) == 2:
                raise WaitForPrerequisite("register_not_in_odoo", "not yet")

        return handle

    consumers = [
        EventConsumer(
            name="partitioned",
            queue=spec,
            topology=topology,
            handlers={"order.odoo_synced": handler_of(spec)},
            pool=pool,
            amqp_url=amqp_url,
            failure_policy=policy,
        )
        for spec in partitions
    ]
    try:
        for consumer in consumers:
            await consumer.start()
        sent = {spec.name: _event() for spec in partitions}
        for queue, envelope in sent.items():
            await _into(amqp_url, queue, envelope)

        async def all_handled() -> bool:
            return all(len(tries[e.id]) == 3 for e in sent.values())

        await eventually(all_handled, within_s=20, what="every event handled after its rounds")
    finally:
        for consumer in consumers:
            await consumer.stop()
        await policy.close()
        await delete_retry_tiers(amqp_url, topology, group, schedule, shared=True)
        await delete_topology(amqp_url, Topology(topology.exchange, tuple(partitions)))
    for queue, envelope in sent.items():
        assert tries[envelope.id] == [queue] * 3, f"an event of {queue} came back elsewhere"
