"""RabbitMQ topology and a confirming publisher: what every producer and consumer declares alike."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)

from shared.settings import ServiceSettings


@dataclass(frozen=True)
class QueueSpec:
    """A work queue bound to `pos.events`, with its dead-letter queue beside it."""

    name: str
    routing_keys: tuple[str, ...]
    delivery_limit: int = 20
    max_length: int = 1_000_000

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"


@dataclass(frozen=True)
class Topology:
    exchange: str
    queues: tuple[QueueSpec, ...] = field(default_factory=tuple)

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.exchange}.dlx"


def topology_for(settings: ServiceSettings, queues: tuple[QueueSpec, ...] = ()) -> Topology:
    return Topology(exchange=settings.exchange_name, queues=queues)


async def declare_exchange(channel: AbstractChannel, topology: Topology) -> AbstractExchange:
    return await channel.declare_exchange(
        topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )


async def declare_queue(
    channel: AbstractChannel, topology: Topology, spec: QueueSpec
) -> AbstractQueue:
    """Declares the quorum work queue, its `.dlq`, and the bindings; idempotent."""
    exchange = await declare_exchange(channel, topology)
    dlx = await channel.declare_exchange(
        topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dlq = await channel.declare_queue(
        spec.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dlq.bind(dlx, routing_key=spec.name)
    arguments: dict[str, Any] = {
        "x-queue-type": "quorum",
        # Explicit: 3.x has no default limit and 4.x defaults to 20; neither may decide for us.
        "x-delivery-limit": spec.delivery_limit,
        "x-dead-letter-exchange": topology.dead_letter_exchange,
        "x-dead-letter-routing-key": spec.name,
        # at-least-once dead-lettering only holds with reject-publish overflow.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-max-length": spec.max_length,
    }
    queue = await channel.declare_queue(spec.name, durable=True, arguments=arguments)
    for key in spec.routing_keys:
        await queue.bind(exchange, routing_key=key)
    return queue


async def delete_topology(url: str, topology: Topology) -> None:
    """Removes what a topology declared; for tests and tear-down, never for a running system."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for spec in topology.queues:
            await channel.queue_delete(spec.name)
            await channel.queue_delete(spec.dead_letter_queue)
        await channel.exchange_delete(topology.dead_letter_exchange)
        await channel.exchange_delete(topology.exchange)
    finally:
        await connection.close()


class Publisher:
    """Publishes with confirms and `mandatory`: a nack or a return raises, so the caller retries."""

    def __init__(
        self,
        url: str,
        topology: Topology,
        timeout_s: float = 10.0,
        direct_exchanges: tuple[str, ...] = (),
    ) -> None:
        self._url = url
        self._topology = topology
        self._timeout_s = timeout_s
        # Further direct exchanges this publisher may target (e.g. retry tiers).
        self._direct_exchanges = direct_exchanges
        self._connection: AbstractRobustConnection | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._connecting = asyncio.Lock()

    async def connect(self) -> None:
        """Connects unless connected: one attempt, raising if the broker cannot be reached."""
        async with self._connecting:
            if self._connection is None or self._connection.is_closed:
                await self._connect()

    async def _exchange(self, name: str) -> AbstractExchange:
        await self.connect()
        return self._exchanges[name]

    async def _connect(self) -> None:
        self._exchanges.clear()
        # Not robust: a lost connection must surface as a failure the relay retries.
        connection = await aio_pika.connect(self._url, timeout=self._timeout_s)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchanges = {self._topology.exchange: await declare_exchange(channel, self._topology)}
            for name in (self._topology.dead_letter_exchange, *self._direct_exchanges):
                exchanges[name] = await channel.declare_exchange(
                    name, aio_pika.ExchangeType.DIRECT, durable=True
                )
        except BaseException:
            # Half set up is not connected: the next attempt starts from the beginning.
            with contextlib.suppress(Exception):
                await connection.close()
            raise
        self._exchanges.update(exchanges)
        self._connection = connection  # type: ignore[assignment]

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        message_type: str,
        headers: dict[str, Any] | None = None,
        correlation_id: str | None = None,
        exchange: str | None = None,
    ) -> None:
        target = await self._exchange(exchange or self._topology.exchange)
        message = aio_pika.Message(
            body,
            message_id=message_id,
            type=message_type,
            correlation_id=correlation_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=headers or {},
        )
        await target.publish(
            message, routing_key=routing_key, mandatory=True, timeout=self._timeout_s
        )

    async def reset(self) -> None:
        """Drops the connection after a failure, so the next publish starts clean."""
        connection, self._connection = self._connection, None
        self._exchanges.clear()
        if connection is not None and not connection.is_closed:
            # The connection is already broken; there is nothing to save in closing it.
            with contextlib.suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        await self.reset()
