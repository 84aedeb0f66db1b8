"""Consumer base: manual acks, an inbox row per event in the handler's transaction, dead letters.

A handler runs inside one Postgres transaction together with the inbox insert, so an event is
applied once however often the broker delivers it. Failures are handed to a FailurePolicy: the
base one redelivers a few times and then dead-letters; the connector swaps in TTL retry tiers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, cast, runtime_checkable
from uuid import UUID, uuid4

import aio_pika
import aiormq
import asyncpg
import stamina
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import ValidationError

from shared.broker import Publisher, QueueSpec, Topology, declare_queue
from shared.consumer_lease import Lease
from shared.dead_letters.metrics import refresh_dead_letter_metrics
from shared.dead_letters.records import (
    DEAD_LETTER_ID_HEADER,
    DeadLetter,
    dead_letter_of_message,
    forget_dead_letter,
    record_dead_letter,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.events.registry import UnknownEventVersionError, parse_data
from shared.outages import Outage
from shared.postgres import Db, is_database_unavailable, is_lost_connection
from shared.structured_logging import correlation_scope

log = structlog.get_logger(__name__)

Handler = Callable[[Db, EventEnvelope, Any], Awaitable[None]]
# Runs in the transaction that records a dead letter, the first time its message is parked:
# where a service says, in its own events, what the dead letter was about.
DeadLetterHook = Callable[[Db, DeadLetter, Exception], Awaitable[None]]

EVENTS_CONSUMED = Counter("events_consumed_total", "Events handled", ["queue", "event_type"])
EVENTS_DUPLICATE = Counter("events_duplicate_total", "Redeliveries skipped by the inbox", ["queue"])
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Events dead-lettered", ["queue", "error_class"]
)

_DATABASE_PROBE_TIMEOUT_S = 2.0
_BROKEN_CONNECTION_TRIES = 3

# The consumers this process runs; weak, so a consumer nobody stopped is not kept alive by it.
_RUNNING: weakref.WeakSet[EventConsumer] = weakref.WeakSet()
# Those that consume only while they hold their queue's lease (shared/consumer_lease.py).
_LEASED: weakref.WeakSet[EventConsumer] = weakref.WeakSet()


class _AttachedConsumers(Collector):
    """`consumers_attached{queue}`: this process's consumers of a queue that are consuming now.

    Read at scrape time from the consumers themselves, so it cannot drift from the truth; a
    started consumer that is not consuming shows as 0.
    """

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "consumers_attached",
            "Consumers in this process that the broker is delivering to, by queue",
            labels=["queue"],
        )
        attached: Tally[str] = Tally()
        for consumer in list(_RUNNING):
            attached[consumer.queue.name] += int(consumer.consuming)
        for queue in sorted(attached):
            family.add_metric([queue], attached[queue])
        yield family
        standing_by = GaugeMetricFamily(
            "consumers_standing_by",
            "Consumers in this process waiting for their queue's lease, another replica's now",
            labels=["queue"],
        )
        waiting: Tally[str] = Tally()
        for consumer in list(_LEASED):
            waiting[consumer.queue.name] += int(consumer.standing_by)
        for queue in sorted(waiting):
            standing_by.add_metric([queue], waiting[queue])
        yield standing_by


REGISTRY.register(_AttachedConsumers())


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
        "x-original-exchange": previous.get("x-original-exchange", message.exchange),
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
    """Consumes one quorum queue and dispatches each event type to its handler.

    The connection is aio-pika's robust one: it reconnects by itself and reopens this consumer's
    channel, queue declarations and consumer. A watch checks that the consumer really is back
    and reopens the channel itself when the connection is up but the consumer is not.
    """

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
        reconnect_interval_s: float = 2.0,
        reopen_after_s: float = 3.0,
        on_dead_letter: DeadLetterHook | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.name = name
        self.queue = queue
        self._topology = topology
        self._handlers = dict(handlers)
        self._pool = pool
        self._amqp_url = amqp_url
        self._prefetch = prefetch
        self._policy = failure_policy or RedeliverThenDeadLetter()
        self._on_dead_letter = on_dead_letter
        self._reconnect_interval_s = reconnect_interval_s
        self._reopen_after_s = max(reopen_after_s, reconnect_interval_s)
        self._connection: AbstractRobustConnection | None = None
        # Held here and not only by the connection, which keeps its channels in a WeakSet: a
        # channel collected while the broker is away is never reopened, and neither is its
        # consumer, so the queue would sit without one until the process restarts.
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        # The AMQP channel under `_channel`; replaced each time aio-pika reopens it.
        self._amqp_channel: aiormq.Channel | None = None
        self._watch: asyncio.Task[None] | None = None
        self._broker = Outage("broker", f"consumer {queue.name}")
        self._database = Outage("database", f"consumer {queue.name}")
        self._database_probe = asyncio.Lock()
        self._holding: set[asyncio.Task[Any]] = set()
        self._dead_letters = Publisher(amqp_url, topology)
        self._lease = lease
        self._leased: asyncio.Task[None] | None = None

    async def attach(self) -> None:
        """Starts, trying again with back-off for as long as the broker cannot be reached. A
        consumer with a lease returns at once and consumes whenever it holds the lease."""
        if self._lease is None:
            await self._attach_now()
        elif self._leased is None:
            _LEASED.add(self)
            # A free lease is taken and consumed from before this returns, so the process is
            # ready once attached; a taken one leaves it standing by, which is ready too.
            held = await self._lease.try_acquire()
            if held:
                await self._attach_now()
            self._leased = asyncio.create_task(
                self._consume_while_leased(self._lease, held), name=f"lease {self.name}"
            )

    async def _consume_while_leased(self, lease: Lease, held: bool) -> None:
        while True:
            if not held:
                await lease.acquire()
                await self._attach_now()
            await lease.lost()
            held = False
            # Its messages go back to the queue, in order, for the next holder.
            await self._detach()

    @property
    def standing_by(self) -> bool:
        """Waiting for the queue's lease while another replica consumes."""
        return (
            self._lease is not None
            and not self._lease.held
            and self._leased is not None
            and not self._leased.done()
        )

    @property
    def ready(self) -> bool:
        """Doing its part: consuming, or standing by for a queue another replica consumes."""
        return self.consuming or self.standing_by

    async def _attach_now(self) -> None:
        async for attempt in stamina.retry_context(
            on=Exception, attempts=None, timeout=None, wait_initial=0.5, wait_max=30.0
        ):
            with attempt:
                try:
                    await self.start()
                except Exception as error:
                    self._broker.began(error)
                    raise
        self._broker.ended()

    async def start(self) -> None:
        """Connects, declares the queue and starts consuming; raises if the broker is away."""
        await self._detach()
        self._connection = await aio_pika.connect_robust(
            self._amqp_url, reconnect_interval=self._reconnect_interval_s
        )
        await self._open_channel()
        _RUNNING.add(self)
        self._watch = asyncio.create_task(self._watch_attachment(), name=f"watch {self.name}")
        log.info("consumer_started", queue=self.queue.name, events=sorted(self._handlers))

    async def _open_channel(self) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await declare_queue(channel, self._topology, self.queue)
        if isinstance(self._policy, DeclaresTopology):
            await self._policy.declare(channel, self._topology, self.queue)
        channel.reopen_callbacks.add(self._on_channel_reopened)
        self._channel, self._queue = channel, queue
        self._consumer_tag = await queue.consume(self._on_message)
        self._amqp_channel = cast(aiormq.Channel, await channel.get_underlay_channel())

    async def _on_channel_reopened(self, channel: AbstractRobustChannel | None) -> None:
        # aio-pika has declared the queue and consumed again (same tag) on a new AMQP channel.
        if channel is not None and channel is self._channel:
            self._amqp_channel = cast(aiormq.Channel, await channel.get_underlay_channel())

    @property
    def consuming(self) -> bool:
        """Whether the broker is delivering this queue to this consumer right now."""
        amqp_channel = self._amqp_channel
        return (
            amqp_channel is not None
            and not amqp_channel.is_closed
            and self._consumer_tag in amqp_channel.consumers
        )

    @property
    def connected(self) -> bool:
        """Kept for callers of the earlier name; see `consuming`."""
        return self.consuming

    async def _watch_attachment(self, check_interval_s: float = 0.25) -> None:
        detached_since: float | None = None
        while True:
            await asyncio.sleep(check_interval_s)
            if self.consuming:
                detached_since = None
                self._broker.ended()
                continue
            now = time.monotonic()
            if detached_since is None:
                detached_since = now
                self._broker.began("the consumer is not consuming from its queue")
                continue
            connection = self._connection
            if (
                now - detached_since >= self._reopen_after_s
                and connection is not None
                and connection.connected.is_set()
            ):
                # The connection came back but aio-pika did not bring this consumer back with
                # it (a failed reopen after a channel error is not retried): do it here.
                detached_since = now
                await self._reopen_channel()

    async def _reopen_channel(self) -> None:
        channel, self._channel, self._amqp_channel = self._channel, None, None
        if channel is not None:
            with contextlib.suppress(Exception):
                await channel.close()
        try:
            await self._open_channel()
        except Exception as error:
            # The outage is already logged; the watch tries again.
            log.debug("consumer_reopen_failed", queue=self.queue.name, error=repr(error))

    async def stop(self) -> None:
        leased, self._leased = self._leased, None
        if leased is not None:
            leased.cancel()
            await asyncio.gather(leased, return_exceptions=True)
        _LEASED.discard(self)
        await self._detach()
        if self._lease is not None:
            await self._lease.release()

    async def _detach(self) -> None:
        _RUNNING.discard(self)
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        # Messages held through an outage go back to the queue when the connection closes.
        for task in list(self._holding):
            task.cancel()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
        self._channel = self._queue = self._amqp_channel = None
        self._consumer_tag = None
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
                await self._handle_once_the_database_answers(envelope, data, handler)
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

    async def _handle_once_the_database_answers(
        self, envelope: EventEnvelope, data: EventData, handler: Handler
    ) -> None:
        """Handles the event; while the database cannot be reached, waits for it and handles the
        event again. The message is neither acked nor nacked meanwhile, so it keeps its retry
        budget (a nack would spend the queue's delivery limit), and the consumer takes no more
        than its prefetch: consuming pauses until the database is back."""
        broken_connections = 0
        while True:
            try:
                await self._handle(envelope, data, handler)
                return
            except Exception as error:
                # A time-out or a reset from elsewhere (Odoo, say) is the handler's failure.
                if not is_database_unavailable(error):
                    raise
                if await self._database_answers():
                    if not is_lost_connection(error):
                        raise
                    # The database is back but this try ran on a connection its restart broke:
                    # handling again costs nothing (the inbox and Odoo's search make it safe),
                    # a retry tier would spend the message's budget on an outage.
                    broken_connections += 1
                    if broken_connections > _BROKEN_CONNECTION_TRIES:
                        raise
                    continue
                await self._wait_for_database(error)

    async def _database_answers(self) -> bool:
        try:
            await self._probe_database()
        except Exception as error:
            if is_database_unavailable(error):
                return False
            raise
        return True

    async def _probe_database(self) -> None:
        async with self._pool.acquire(timeout=_DATABASE_PROBE_TIMEOUT_S) as conn:
            await conn.fetchval("SELECT 1", timeout=_DATABASE_PROBE_TIMEOUT_S)

    @contextlib.contextmanager
    def holding_message(self) -> Iterator[None]:
        """Marks the running handler as holding its message while something it needs is away:
        `stop` cancels it, and the message goes back to the queue with the connection."""
        task = asyncio.current_task()
        assert task is not None
        self._holding.add(task)
        try:
            yield
        finally:
            self._holding.discard(task)

    async def _wait_for_database(self, error: Exception) -> None:
        with self.holding_message():
            self._database.began(error)
            # One message probes; the others held by this consumer wait behind it.
            async with self._database_probe:
                async for attempt in stamina.retry_context(
                    on=is_database_unavailable,
                    attempts=None,
                    timeout=None,
                    wait_initial=0.2,
                    wait_max=5.0,
                ):
                    with attempt:
                        await self._probe_database()
            self._database.ended()

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
        """Records the dead letter (and runs the service's hook with it), publishes the message
        to `<queue>.dlq` with failure headers and the record's id (confirmed), then acks the
        original. Whatever fails first leaves the original with the broker, to come back."""
        headers = failure_headers(message, error, attempts, self.queue.name)
        headers[DEAD_LETTER_ID_HEADER] = str(uuid4())
        dead = dead_letter_of_message(self.queue.name, message, headers)
        try:
            record_id, first = await self._record(dead, error)
        except Exception as record_error:
            log.error("dead_letter_record_failed", queue=self.queue.name, error=repr(record_error))
            await message.nack(requeue=True)
            return
        headers[DEAD_LETTER_ID_HEADER] = str(record_id)
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
            if first:
                # No message is parked for it; a record of an earlier parking stays.
                with contextlib.suppress(Exception):
                    async with self._pool.acquire() as conn:
                        await forget_dead_letter(conn, record_id)
            await message.nack(requeue=True)
            return
        EVENTS_DEAD_LETTERED.labels(self.queue.name, type(error).__name__).inc()
        log.error(
            "event_dead_lettered",
            queue=self.queue.name,
            dead_letter_id=str(record_id),
            error_class=type(error).__name__,
            error=str(error)[:500],
            attempts=attempts,
        )
        await message.ack()
        await refresh_dead_letter_metrics(self._pool, if_kept=True)

    async def _record(self, dead: DeadLetter, error: Exception) -> tuple[UUID, bool]:
        async with self._pool.acquire() as conn, conn.transaction():
            record_id, first = await record_dead_letter(conn, dead)
            if first and self._on_dead_letter is not None:
                await self._on_dead_letter(conn, replace(dead, id=record_id), error)
        return record_id, first
