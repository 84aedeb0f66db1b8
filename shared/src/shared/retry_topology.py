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
from collections.abc import Sequence
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
                "x-queue-type": "quorum",
                "x-message-ttl": ttl_ms,
                # Expiry dead-letters back to the work queue through the same exchange.
                "x-dead-letter-exchange": retry_exchange(topology),
                "x-dead-letter-routing-key": spec.name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-max-length": spec.max_length,
            },
        )
        await queue.bind(exchange, routing_key=name)
    work = await channel.get_queue(spec.name, ensure=True)
    await work.bind(exchange, routing_key=spec.name)


async def delete_retry_tiers(
    url: str, topology: Topology, spec: QueueSpec, schedule: RetrySchedule
) -> None:
    """Removes what declare_retry_tiers made; for tests and tear-down only."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for name, _ in holding_queues(spec, schedule):
            await channel.queue_delete(name)
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


class RetryThroughTiers:
    """FailurePolicy: TTL tiers for what may pass, the DLQ for what cannot, the wait queue for
    what is not a failure yet. What a given-up message was about is the consumer's
    `on_dead_letter` hook's to say."""

    def __init__(
        self,
        schedule: RetrySchedule,
        topology: Topology,
        amqp_url: str,
    ) -> None:
        self.schedule = schedule
        self._topology = topology
        self._publisher = Publisher(
            amqp_url, topology, direct_exchanges=(retry_exchange(topology),)
        )

    async def declare(self, channel: AbstractChannel, topology: Topology, spec: QueueSpec) -> None:
        await declare_retry_tiers(channel, topology, spec, self.schedule)

    async def close(self) -> None:
        await self._publisher.close()

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
        if await self._republish(message, tier_queue(consumer.queue, delay_ms), headers):
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
        destination = wait_queue(consumer.queue, self.schedule.wait_ms)
        if await self._republish(message, destination, headers):
            EVENTS_WAITING.labels(consumer.queue.name, error.reason).inc()

    async def _republish(
        self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]
    ) -> bool:
        """A confirmed copy to a holding queue, then the ack; on failure the broker keeps it."""
        try:
            await self._publisher.publish(
                queue,
                message.body,
                message_id=message.message_id or "",
                message_type=message.type or "",
                headers=headers,
                correlation_id=message.correlation_id,
                exchange=retry_exchange(self._topology),
            )
        except Exception as error:
            log.error("retry_publish_failed", queue=queue, error=repr(error))
            with contextlib.suppress(Exception):
                await self._publisher.reset()
            await message.nack(requeue=True)
            return False
        await message.ack()
        return True
