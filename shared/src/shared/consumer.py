"""Consumer base: manual acks, an inbox row per event in the handler's transaction, dead letters.

A handler runs inside one Postgres transaction together with the inbox insert, so an event is
applied once however often the broker delivers it. Failures are handed to a FailurePolicy: the
base one redelivers a few times and then dead-letters; the connector swaps in TTL retry tiers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from prometheus_client import Counter
from pydantic import ValidationError

from shared.broker import Publisher, QueueSpec, Topology, declare_queue
from shared.events.envelope import EventData, EventEnvelope
from shared.events.registry import UnknownEventVersionError, parse_data
from shared.postgres import Db
from shared.structured_logging import correlation_scope

log = structlog.get_logger(__name__)

Handler = Callable[[Db, EventEnvelope, Any], Awaitable[None]]

EVENTS_CONSUMED = Counter("events_consumed_total", "Events handled", ["queue", "event_type"])
EVENTS_DUPLICATE = Counter("events_duplicate_total", "Redeliveries skipped by the inbox", ["queue"])
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Events dead-lettered", ["queue", "error_class"]
)


class PermanentHandlingError(Exception):
    """A failure that waiting cannot cure: the event goes to the dead-letter queue at once."""


class PoisonMessageError(PermanentHandlingError):
    """The message cannot be read at all (undecodable, unknown contract version)."""


class WaitForPrerequisite(Exception):  # noqa: N818 - an outcome, not a fault
    """Not a failure: something the message needs is not there yet, so it waits, budget intact.

    `reason` is a short, stable label for metrics (e.g. `register_not_in_odoo`).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class FailurePolicy(Protocol):
    async def on_failure(
        self, consumer: EventConsumer, message: AbstractIncomingMessage, error: Exception
    ) -> None: ...


@runtime_checkable
class DeclaresTopology(Protocol):
    """A failure policy with queues of its own, declared when its consumer starts."""

    async def declare(
        self, channel: AbstractChannel, topology: Topology, spec: QueueSpec
    ) -> None: ...


class RedeliverThenDeadLetter:
    """Redelivers through the queue a few times with a short pause, then dead-letters."""

    def __init__(self, max_redeliveries: int = 5, pause_s: float = 0.05) -> None:
        self.max_redeliveries = max_redeliveries
        self.pause_s = pause_s

    async def on_failure(
        self, consumer: EventConsumer, message: AbstractIncomingMessage, error: Exception
    ) -> None:
        # Quorum queues count deliveries in x-delivery-count; the queue's delivery-limit is the
        # backstop if this process dies before it can dead-letter.
        deliveries = int(str((message.headers or {}).get("x-delivery-count", 0) or 0))
        if isinstance(error, PermanentHandlingError) or deliveries >= self.max_redeliveries:
            await consumer.dead_letter(message, error, attempts=deliveries + 1)
            return
        await asyncio.sleep(self.pause_s * (2**deliveries))
        await message.nack(requeue=True)


def failure_headers(
    message: AbstractIncomingMessage, error: Exception, attempts: int, queue: str
) -> dict[str, Any]:
    """Short structured headers that fit in a frame; the full story is in the logs."""
    now = datetime.now(UTC).isoformat()
    previous = message.headers or {}
    return {
        **{k: v for k, v in previous.items() if not k.startswith("x-death")},
        "x-error-class": type(error).__name__,
        "x-error-message": str(error)[:500],
        "x-attempts": attempts,
        "x-first-failure-at": previous.get("x-first-failure-at", now),
        "x-last-failure-at": now,
        "x-original-routing-key": previous.get("x-original-routing-key", message.routing_key),
        "x-original-queue": queue,
        "x-tenant-id": previous.get("x-tenant-id") or _tenant_of(message.body),
    }


def _tenant_of(body: bytes) -> str:
    """The envelope's tenant, for messages published without the relay's tenant header."""
    try:
        return str(json.loads(body).get("tenant_id") or "")
    except (ValueError, AttributeError):
        return ""


class EventConsumer:
    """Consumes one quorum queue and dispatches each event type to its handler."""

    def __init__(
        self,
        *,
        name: str,
        queue: QueueSpec,
        topology: Topology,
        handlers: Mapping[str, Handler],
        pool: asyncpg.Pool,
        amqp_url: str,
        prefetch: int = 50,
        failure_policy: FailurePolicy | None = None,
    ) -> None:
        self.name = name
        self.queue = queue
        self._topology = topology
        self._handlers = dict(handlers)
        self._pool = pool
        self._amqp_url = amqp_url
        self._prefetch = prefetch
        self._policy = failure_policy or RedeliverThenDeadLetter()
        self._connection: AbstractRobustConnection | None = None
        self._dead_letters = Publisher(amqp_url, topology)

    async def start(self) -> None:
        await self.stop()
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await declare_queue(channel, self._topology, self.queue)
        if isinstance(self._policy, DeclaresTopology):
            await self._policy.declare(channel, self._topology, self.queue)
        await queue.consume(self._on_message)
        log.info("consumer_started", queue=self.queue.name, events=sorted(self._handlers))

    @property
    def connected(self) -> bool:
        """Whether the consumer's broker connection is up (for readiness checks)."""
        return self._connection is not None and not self._connection.is_closed

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
        await self._dead_letters.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(message.body)
        except ValidationError as error:
            await self.dead_letter(message, PoisonMessageError(f"undecodable envelope: {error}"), 1)
            return
        handler = self._handlers.get(envelope.type)
        if handler is None:
            await message.ack()
            return
        with correlation_scope(
            envelope.correlation_id, event_id=str(envelope.id), event_type=envelope.type
        ):
            try:
                data = parse_data(envelope)
            except (UnknownEventVersionError, ValidationError) as error:
                await self.dead_letter(message, PoisonMessageError(str(error)), 1)
                return
            try:
                await self._handle(envelope, data, handler)
            except asyncio.CancelledError:
                raise
            except WaitForPrerequisite as waiting:
                log.debug("event_waiting", queue=self.queue.name, reason=waiting.reason)
                await self._policy.on_failure(self, message, waiting)
                return
            except Exception as error:
                log.warning("event_handler_failed", queue=self.queue.name, error=repr(error))
                await self._policy.on_failure(self, message, error)
                return
            await message.ack()

    async def _handle(self, envelope: EventEnvelope, data: EventData, handler: Handler) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self.claim_in_inbox(conn, envelope):
                return
            await handler(conn, envelope, data)
        EVENTS_CONSUMED.labels(self.queue.name, envelope.type).inc()

    async def claim_in_inbox(self, conn: Db, envelope: EventEnvelope) -> bool:
        """Records the event in the inbox (in the caller's transaction); False if it was there."""
        first_time = await conn.fetchval(
            """INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING true""",
            self.name,
            envelope.id,
            envelope.type,
        )
        if not first_time:
            EVENTS_DUPLICATE.labels(self.queue.name).inc()
        return bool(first_time)

    async def dead_letter(
        self, message: AbstractIncomingMessage, error: Exception, attempts: int
    ) -> None:
        """Publishes to `<queue>.dlq` with failure headers (confirmed), then acks the original."""
        headers = failure_headers(message, error, attempts, self.queue.name)
        try:
            await self._dead_letters.publish(
                self.queue.name,
                message.body,
                message_id=message.message_id or "",
                message_type=message.type or "",
                headers=headers,
                correlation_id=message.correlation_id,
                exchange=self._topology.dead_letter_exchange,
            )
        except Exception as publish_error:
            # Not dead-lettered, so not acked either: the broker keeps it and redelivers.
            log.error("dead_letter_publish_failed", error=repr(publish_error))
            await self._dead_letters.reset()
            await message.nack(requeue=True)
            return
        EVENTS_DEAD_LETTERED.labels(self.queue.name, type(error).__name__).inc()
        log.error(
            "event_dead_lettered",
            queue=self.queue.name,
            error_class=type(error).__name__,
            error=str(error)[:500],
            attempts=attempts,
        )
        await message.ack()
