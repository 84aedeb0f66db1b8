"""Delayed retries through TTL queues: one quorum queue per delay tier, plus a wait queue.

A failed message is republished (confirmed) to the tier its attempt count selects and then acked;
the tier's queue-level TTL dead-letters it back to the work queue when the delay is over. All
messages of a tier share one TTL, so the one at the head always expires first (per-message TTL
would hold a short delay behind a long one). The attempt count travels in our own `x-attempts`
header, never derived from `x-death`, whose semantics moved in 3.13 and 4.x.

The wait queue holds a message whose prerequisite is not there yet (or whose downstream is known
to be down) without spending its retry budget: its attempt count is left as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from prometheus_client import Counter

from shared.broker import Publisher, QueueSpec, Topology
from shared.consumer import (
    EventConsumer,
    PermanentHandlingError,
    WaitForPrerequisite,
    failure_headers,
)

__all__ = ["RetrySchedule", "RetryThroughTiers", "WaitForPrerequisite"]

log = structlog.get_logger(__name__)

EVENTS_RETRIED = Counter(
    "events_retried_total", "Events sent to a retry tier", ["queue", "error_class"]
)
EVENTS_WAITING = Counter(
    "events_waiting_total",
    "Events parked in the wait queue without spending retry budget",
    ["queue", "reason"],
)

ATTEMPTS_HEADER = "x-attempts"
WAITS_HEADER = "x-waits"


class WaitedTooLongError(PermanentHandlingError):
    """A message waited for its prerequisite longer than the schedule allows: it is not coming
    (a tenant that no longer exists, a register never created), so an operator must look."""


@dataclass(frozen=True)
class RetrySchedule:
    """Delays of the retry tiers in order, how long a waiting message waits per round, and how
    long in all it may wait before it is dead-lettered with what it waited for."""

    delays_ms: tuple[int, ...]
    wait_ms: int
    max_wait_s: float = 7 * 24 * 3600.0

    def __post_init__(self) -> None:
        if not self.delays_ms or any(d <= 0 for d in self.delays_ms) or self.wait_ms <= 0:
            raise ValueError("retry delays and the wait must be positive, with at least one tier")
        if self.max_wait_s <= 0:
            raise ValueError("the longest wait must be positive")

    @classmethod
    def of(
        cls, delays_ms: Sequence[int], wait_ms: int, max_wait_s: float = 7 * 24 * 3600.0
    ) -> RetrySchedule:
        return cls(tuple(int(d) for d in delays_ms), int(wait_ms), float(max_wait_s))

    @property
    def retries(self) -> int:
        return len(self.delays_ms)


def retry_exchange(topology: Topology) -> str:
    return f"{topology.exchange}.retry"


def tier_queue(spec: QueueSpec, delay_ms: int) -> str:
    # The delay is in the name: a changed schedule declares new queues instead of failing on
    # the old ones' arguments, and what is still in an old tier keeps its original delay.
    return f"{spec.name}.retry.{delay_ms}ms"


def wait_queue(spec: QueueSpec, wait_ms: int) -> str:
    return f"{spec.name}.wait.{wait_ms}ms"


def holding_queues(spec: QueueSpec, schedule: RetrySchedule) -> list[tuple[str, int]]:
    """(name, ttl) of every queue that holds a message of `spec` for a while."""
    unique_delays = dict.fromkeys(schedule.delays_ms)
    tiers = [(tier_queue(spec, d), d) for d in unique_delays]
    return [*tiers, (wait_queue(spec, schedule.wait_ms), schedule.wait_ms)]


def _holding_arguments(topology: Topology, spec: QueueSpec, ttl_ms: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": ttl_ms,
        # Expiry dead-letters back to the work queue through the same exchange.
        "x-dead-letter-exchange": retry_exchange(topology),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-max-length": spec.max_length,
    }


async def declare_retry_tiers(
    channel: AbstractChannel, topology: Topology, spec: QueueSpec, schedule: RetrySchedule
) -> None:
    """Declares the retry exchange, the tier and wait queues, and the way back; idempotent."""
    exchange = await channel.declare_exchange(
        retry_exchange(topology), aio_pika.ExchangeType.DIRECT, durable=True
    )
    for name, ttl_ms in holding_queues(spec, schedule):
        queue = await channel.declare_queue(
            name,
            durable=True,
            arguments={
                **_holding_arguments(topology, spec, ttl_ms),
                "x-dead-letter-routing-key": spec.name,
            },
        )
        await queue.bind(exchange, routing_key=name)
    work = await channel.get_queue(spec.name, ensure=True)
    await work.bind(exchange, routing_key=spec.name)


async def declare_shared_retry_tiers(
    channel: AbstractChannel,
    topology: Topology,
    group: QueueSpec,
    partition: QueueSpec,
    schedule: RetrySchedule,
) -> None:
    """The tier and wait queues of a group of partition queues (named after `group`), shared by
    its partitions, and `partition`'s way in and back; idempotent.

    A message goes into a holding queue through the queue's own direct exchange with its
    partition's name as routing key, and keeps that key: expiry dead-letters it (no
    `x-dead-letter-routing-key`, so by its own key) through the retry exchange to the partition
    it came from. One set of holding queues serves any number of partitions."""
    retry = await channel.declare_exchange(
        retry_exchange(topology), aio_pika.ExchangeType.DIRECT, durable=True
    )
    for name, ttl_ms in holding_queues(group, schedule):
        way_in = await channel.declare_exchange(name, aio_pika.ExchangeType.DIRECT, durable=True)
        queue = await channel.declare_queue(
            name, durable=True, arguments=_holding_arguments(topology, group, ttl_ms)
        )
        await queue.bind(way_in, routing_key=partition.name)
    work = await channel.get_queue(partition.name, ensure=True)
    await work.bind(retry, routing_key=partition.name)


async def delete_retry_tiers(
    url: str,
    topology: Topology,
    spec: QueueSpec,
    schedule: RetrySchedule,
    *,
    shared: bool = False,
) -> None:
    """Removes what declare_retry_tiers (or, `shared`, declare_shared_retry_tiers for the group
    `spec`) made; for tests and tear-down only."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for name, _ in holding_queues(spec, schedule):
            await channel.queue_delete(name)
            if shared:
                await channel.exchange_delete(name)
        await channel.exchange_delete(retry_exchange(topology))
    finally:
        await connection.close()


def attempts_of(message: AbstractIncomingMessage) -> int:
    """Failed attempts so far, from our own header (0 for a first delivery)."""
    return _int_header(message, ATTEMPTS_HEADER)


def waits_of(message: AbstractIncomingMessage) -> int:
    return _int_header(message, WAITS_HEADER)


def _waited_s(message: AbstractIncomingMessage) -> float:
    """How long the message has been waiting, from the first time it went to the wait queue."""
    since = (message.headers or {}).get("x-waiting-since")
    if not since:
        return 0.0
    try:
        started = datetime.fromisoformat(str(since))
    except ValueError:
        return 0.0
    return max(0.0, (datetime.now(UTC) - started).total_seconds())


def _int_header(message: AbstractIncomingMessage, name: str) -> int:
    value = (message.headers or {}).get(name, 0)
    try:
        return int(str(value or 0))
    except ValueError:
        return 0


@dataclass(frozen=True)
class _Route:
    exchange: str
    routing_key: str


class RetryThroughTiers:
    """FailurePolicy: TTL tiers for what may pass, the DLQ for what cannot, the wait queue for
    what is not a failure yet. What a given-up message was about is the consumer's
    `on_dead_letter` hook's to say."""

    def __init__(
        self,
        schedule: RetrySchedule,
        topology: Topology,
        amqp_url: str,
        *,
        shared_by: QueueSpec | None = None,
    ) -> None:
        """`shared_by`: the consumers' queues are partitions of this group, and share its
        holding queues (declare_shared_retry_tiers)."""
        self.schedule = schedule
        self._topology = topology
        self._group = shared_by
        ways_in = [n for n, _ in holding_queues(shared_by, schedule)] if shared_by else []
        self._publisher = Publisher(
            amqp_url, topology, direct_exchanges=(retry_exchange(topology), *ways_in)
        )

    async def declare(self, channel: AbstractChannel, topology: Topology, spec: QueueSpec) -> None:
        if self._group is None:
            await declare_retry_tiers(channel, topology, spec, self.schedule)
        else:
            await declare_shared_retry_tiers(channel, topology, self._group, spec, self.schedule)

    async def close(self) -> None:
        await self._publisher.close()

    def _holding(self, consumer: EventConsumer, name_of: Callable[[QueueSpec], str]) -> _Route:
        """Where a message of `consumer`'s queue goes to be held in the queue `name_of` names."""
        if self._group is None:
            return _Route(retry_exchange(self._topology), name_of(consumer.queue))
        return _Route(name_of(self._group), consumer.queue.name)

    async def on_failure(
        self, consumer: EventConsumer, message: AbstractIncomingMessage, error: Exception
    ) -> None:
        if isinstance(error, WaitForPrerequisite):
            waited_s = _waited_s(message)
            if waited_s <= self.schedule.max_wait_s:
                await self._wait(consumer, message, error)
                return
            allowed_h = self.schedule.max_wait_s / 3600
            error = WaitedTooLongError(
                f"waited {waited_s / 3600:.1f} h, longer than the {allowed_h:g} h allowed, "
                f"for {error.reason}: {error}"
            )
        attempts = attempts_of(message) + 1
        if isinstance(error, PermanentHandlingError) or attempts > self.schedule.retries:
            await consumer.dead_letter(message, error, attempts)
            return
        delay_ms = self.schedule.delays_ms[attempts - 1]
        headers = failure_headers(message, error, attempts, consumer.queue.name)
        headers["x-retry-delay-ms"] = delay_ms
        route = self._holding(consumer, lambda spec: tier_queue(spec, delay_ms))
        if await self._republish(message, route, headers):
            EVENTS_RETRIED.labels(consumer.queue.name, type(error).__name__).inc()
            log.info(
                "event_retry_scheduled",
                queue=consumer.queue.name,
                attempts=attempts,
                delay_ms=delay_ms,
                error_class=type(error).__name__,
                error=str(error)[:300],
            )

    async def _wait(
        self, consumer: EventConsumer, message: AbstractIncomingMessage, error: WaitForPrerequisite
    ) -> None:
        previous = message.headers or {}
        headers: dict[str, Any] = {
            **{k: v for k, v in previous.items() if not k.startswith("x-death")},
            WAITS_HEADER: waits_of(message) + 1,
            "x-wait-reason": error.reason,
            "x-wait-detail": str(error)[:300],
            "x-waiting-since": previous.get("x-waiting-since", datetime.now(UTC).isoformat()),
            "x-original-routing-key": previous.get("x-original-routing-key", message.routing_key),
            "x-original-exchange": previous.get("x-original-exchange", message.exchange),
        }
        route = self._holding(consumer, lambda spec: wait_queue(spec, self.schedule.wait_ms))
        if await self._republish(message, route, headers):
            EVENTS_WAITING.labels(consumer.queue.name, error.reason).inc()

    async def _republish(
        self, message: AbstractIncomingMessage, route: _Route, headers: dict[str, Any]
    ) -> bool:
        """A confirmed copy to a holding queue, then the ack; on failure the broker keeps it."""
        try:
            await self._publisher.publish(
                route.routing_key,
                message.body,
                message_id=message.message_id or "",
                message_type=message.type or "",
                headers=headers,
                correlation_id=message.correlation_id,
                exchange=route.exchange,
            )
        except Exception as error:
            log.error("retry_publish_failed", route=route, error=repr(error))
            with contextlib.suppress(Exception):
                await self._publisher.reset()
            await message.nack(requeue=True)
            return False
        await message.ack()
        return True
