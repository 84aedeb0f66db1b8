"""The orders' queue in partitions: each register's Odoo work on one replica, replicas in parallel.

A consistent-hash exchange (RabbitMQ's rabbitmq_consistent_hash_exchange plugin) takes the
register events of the orders' flow from the events exchange and hashes the `x-register-id`
header the outbox relay sets (shared.partition_key) onto `odoo_partitions` quorum queues, so all
of a register's events land in one partition, in publish order. Each partition has one active
consumer across the replicas: its lease (shared.consumer_lease.PartitionLeases) is handed out
fairly among the replicas running and moves when one comes or goes. The retry tiers and the wait
queue are shared by the partitions and bring a message back to its own partition
(shared.retry_topology.declare_shared_retry_tiers); each partition has its `.dlq`.

The hash ring follows the order the partitions were bound in; they are bound in their order
before any is consumed. Should a register's events ever cross partitions (a ring rebuilt, a
rebalance under way), the register's lane, lock and predecessor check keep its order and the
inbox keeps the exactly-once: the partitions are for speed, not for correctness.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from aiormq.exceptions import AMQPError
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from odoo_connector.settings import ConnectorSettings
from shared.broker import QueueSpec, Topology, declare_exchange, declare_queue
from shared.consumer import EventConsumer
from shared.consumer_lease import PartitionLeases
from shared.partition_key import REGISTER_ID_HEADER
from shared.retry_topology import RetryThroughTiers

_ENABLE = "rabbitmq-plugins enable rabbitmq_consistent_hash_exchange"

# The groups this process shares out; weak, so a stopped connector's group leaves the metrics.
_GROUPS: weakref.WeakSet[PartitionLeases] = weakref.WeakSet()


class ConsistentHashUnavailable(RuntimeError):  # noqa: N818 - a refusal to start, said as such
    """The broker has no consistent-hash exchange type: its plugin is not enabled."""


@dataclass(frozen=True)
class OrderPartitions:
    """Names of the partitioned orders' queue: `group` names the shared retry and wait queues
    (it is no queue of its own), `exchange` the consistent-hash exchange."""

    group: QueueSpec
    partitions: tuple[QueueSpec, ...]
    exchange: str
    routing_keys: tuple[str, ...]


def order_partitions(settings: ConnectorSettings, routing_keys: tuple[str, ...]) -> OrderPartitions:
    base = settings.broker_name("connector.odoo")
    limit = settings.consumer_delivery_limit
    return OrderPartitions(
        group=QueueSpec(f"{base}.partitions", (), limit),
        partitions=tuple(
            QueueSpec(f"{base}.{p}", (), limit) for p in range(settings.odoo_partitions)
        ),
        exchange=f"{settings.exchange_name}.connector.odoo",
        routing_keys=routing_keys,
    )


async def declare_partitions(
    channel: AbstractChannel, topology: Topology, layout: OrderPartitions, legacy: QueueSpec
) -> None:
    """The hash exchange, its binding to the events exchange and every partition queue bound to
    it in order; the orders' former single queue unbound (it drains what it still holds).
    Idempotent. Raises ConsistentHashUnavailable when the plugin is not enabled."""
    events = await declare_exchange(channel, topology)
    try:
        hashing = await channel.declare_exchange(
            layout.exchange,
            aio_pika.ExchangeType.X_CONSISTENT_HASH,
            durable=True,
            arguments={"hash-header": REGISTER_ID_HEADER},
        )
    except AMQPError as error:
        if "exchange type" not in str(error):
            raise
        raise ConsistentHashUnavailable(
            f"RabbitMQ has no x-consistent-hash exchange type ({error}); the connector "
            f"partitions the orders' queue with it: run `{_ENABLE}` on every broker node "
            "(deploy/rabbitmq/enabled_plugins lists it)"
        ) from error
    for key in layout.routing_keys:
        await hashing.bind(events, routing_key=key)
    for spec in layout.partitions:
        queue = await declare_queue(channel, topology, spec)
        # The routing key of a consistent-hash binding is the partition's weight.
        await queue.bind(hashing, routing_key="1")
    former = await declare_queue(channel, topology, legacy)
    for key in layout.routing_keys:
        await former.unbind(events, routing_key=key)


async def delete_hash_exchange(amqp_url: str, layout: OrderPartitions) -> None:
    """For tests and tear-down only (delete_topology removes the partition queues)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.exchange_delete(layout.exchange)
    finally:
        await connection.close()


async def preflight(
    amqp_url: str, topology: Topology, layout: OrderPartitions, legacy: QueueSpec
) -> bool:
    """Declares the partitions if the broker answers (False if it does not: the consumers
    declare them once it does); a broker without the hash exchange type stops the start."""
    try:
        connection = await aio_pika.connect(amqp_url, timeout=10)
    except Exception:
        return False
    try:
        await declare_partitions(await connection.channel(), topology, layout, legacy)
    finally:
        await connection.close()
    return True


def watch(leases: PartitionLeases) -> None:
    """Shows the group's partitions held by this replica in `/metrics`."""
    _GROUPS.add(leases)


class _PartitionsHeld(Collector):
    def collect(self) -> Iterable[Metric]:
        held = GaugeMetricFamily(
            "connector_partitions_held",
            "Partitions of the orders' queue this replica consumes, by group",
            labels=["group", "slot"],
        )
        members = GaugeMetricFamily(
            "connector_partition_members",
            "Replicas sharing the group's partitions, as this replica last counted them",
            labels=["group", "slot"],
        )
        for group in [g for g in list(_GROUPS) if g.running]:
            # The member slot tells replicas in one process (tests) apart.
            held.add_metric([group.name, str(group.slot)], len(group.held))
            members.add_metric([group.name, str(group.slot)], group.members)
        yield held
        yield members


REGISTRY.register(_PartitionsHeld())


class PartitionedRetries:
    """The partitions' failure policy: the shared retry tiers, and the partitions declared (once
    per process, in order) before a partition is first consumed, should the start have found
    the broker away."""

    def __init__(
        self, retries: RetryThroughTiers, layout: OrderPartitions, legacy: QueueSpec
    ) -> None:
        self._retries = retries
        self._layout = layout
        self._legacy = legacy
        self._declaring = asyncio.Lock()
        self._declared = False

    async def declare(self, channel: AbstractChannel, topology: Topology, spec: QueueSpec) -> None:
        async with self._declaring:
            if not self._declared:
                await declare_partitions(channel, topology, self._layout, self._legacy)
                self._declared = True
        await self._retries.declare(channel, topology, spec)

    async def on_failure(
        self, consumer: EventConsumer, message: AbstractIncomingMessage, error: Exception
    ) -> None:
        await self._retries.on_failure(consumer, message, error)

    async def close(self) -> None:
        await self._retries.close()
