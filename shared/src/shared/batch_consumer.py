"""A consumer that applies its events in batches: up to `max_events` or `window_s` per transaction.

Every message still goes through the base consumer's path (decoding, poison, the database wait,
the failure policy, the ack after commit); only the transaction is shared. The base's `_handle`
is where a message's transaction is opened, so that is what this consumer replaces: each
message's call joins the pending batch and waits for the batch's outcome. A batch that fails for
any reason but an unreachable database is applied again one message at a time, so a message that
cannot be applied meets its own retries and dead letter and its neighbours are applied without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import aiormq.abc
import structlog
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter, Histogram

from shared.consumer import EVENTS_CONSUMED, EVENTS_DUPLICATE, EventConsumer, Handler
from shared.events.envelope import EventData, EventEnvelope
from shared.postgres import Db, is_database_unavailable
from shared.structured_logging import correlation_scope

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReceivedEvent:
    """An event claimed in the inbox for the first time, with its message body as received."""

    envelope: EventEnvelope
    data: EventData
    body: bytes


# Applies the batch's new events, in delivery order, inside the batch's transaction.
BatchHandler = Callable[[Db, Sequence[ReceivedEvent]], Awaitable[None]]

BATCH_SIZE = Histogram(
    "consumer_batch_events",
    "Events per batch transaction",
    ["queue"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 200, 500),
)
BATCHES_SPLIT = Counter(
    "consumer_batches_split_total",
    "Batches that failed together and were applied again one message at a time",
    ["queue"],
)

# The body of the message whose task is running: set per delivery task, read when it joins a batch.
_RECEIVED_BODY: contextvars.ContextVar[bytes] = contextvars.ContextVar("received_body")


@dataclass
class _Pending:
    envelope: EventEnvelope
    data: EventData
    handler: Handler
    body: bytes
    arrived: float = field(default_factory=time.monotonic)
    outcome: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, error: BaseException | None = None) -> None:
        # A delivery task cancelled while waiting (the consumer stopping) has given up on it.
        if self.outcome.done():
            return
        if error is None:
            self.outcome.set_result(None)
        else:
            self.outcome.set_exception(error)


class AckWindow:
    """The deliveries of one channel not yet settled, so that acks asked for at the same time go
    out as one `multiple` ack: one frame and one write for a batch instead of one per message.

    An ack covers every delivery up to its tag, so it goes `multiple` only up to the first
    delivery still being handled (a message waiting for a retry, say); later ones are acked
    one by one.
    """

    def __init__(self, channel: aiormq.abc.AbstractChannel) -> None:
        self.channel = channel
        # Delivery tag -> None while handled, the future of its ack once the ack is asked for.
        self._unsettled: dict[int, asyncio.Future[None] | None] = {}
        self._flush_due = False
        # The loop keeps only weak references to tasks: these are kept until they are done.
        self._flushes: set[asyncio.Task[None]] = set()

    def delivered(self, tag: int) -> None:
        self._unsettled[tag] = None

    def settled(self, tag: int) -> None:
        """The delivery is nacked or rejected. One that is never settled (its handling failed
        on the way) keeps later acks from going out as one past it, as the broker still holds
        it for us."""
        self._unsettled.pop(tag, None)

    async def ack(self, tag: int) -> None:
        loop = asyncio.get_running_loop()
        acked = self._unsettled[tag] = loop.create_future()
        if not self._flush_due:
            # After the other deliveries woken with this one (a batch's) have asked too.
            self._flush_due = True
            loop.call_soon(self._start_flush)
        await acked

    def _start_flush(self) -> None:
        flush = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(flush)
        flush.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        self._flush_due = False
        asked = sorted(tag for tag, acked in self._unsettled.items() if acked is not None)
        if not asked:
            return
        handled = [tag for tag, acked in self._unsettled.items() if acked is None]
        first_handled = min(handled, default=asked[-1] + 1)
        together = [tag for tag in asked if tag < first_handled]
        alone = [tag for tag in asked if tag > first_handled]
        acks = [self._unsettled.pop(tag) for tag in asked]
        try:
            if together:
                await self.channel.basic_ack(together[-1], multiple=True)
            for tag in alone:
                await self.channel.basic_ack(tag)
        except Exception as error:
            for acked in acks:
                if acked is not None and not acked.done():
                    acked.set_exception(error)
            return
        for acked in acks:
            if acked is not None and not acked.done():
                acked.set_result(None)


class _AckJoinsWindow:
    """A delivery as the base consumer handles it: its ack joins the window's, and the window
    learns of its nack."""

    def __init__(self, message: AbstractIncomingMessage, acks: AckWindow) -> None:
        self._message = message
        self._acks = acks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)

    @property
    def _tag(self) -> int:
        tag = self._message.delivery_tag
        assert tag is not None, "consumed with manual acks"
        return tag

    async def ack(self, multiple: bool = False) -> None:
        assert not multiple, "the window decides what goes out as one"
        await self._acks.ack(self._tag)

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        await self._message.nack(multiple=multiple, requeue=requeue)
        self._acks.settled(self._tag)

    async def reject(self, requeue: bool = False) -> None:
        await self._message.reject(requeue=requeue)
        self._acks.settled(self._tag)


class BatchEventConsumer(EventConsumer):
    """Consumes like `EventConsumer`, committing up to `max_events` events per transaction.

    Prefetch should be at least twice `max_events`, so the next batch arrives while one commits.
    """

    def __init__(
        self,
        *,
        apply_batch: BatchHandler,
        max_events: int = 100,
        window_s: float = 0.01,
        **consumer: Any,
    ) -> None:
        super().__init__(**consumer)
        self._apply_batch = apply_batch
        self._max_events = max_events
        self._window_s = window_s
        self._pending: list[_Pending] = []
        self._filled = asyncio.Event()
        self._draining: asyncio.Task[None] | None = None
        self._acks: AckWindow | None = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        acks = self._acks
        if acks is None or acks.channel is not message.channel:
            acks = self._acks = AckWindow(message.channel)
        tag = message.delivery_tag
        assert tag is not None, "consumed with manual acks"
        # Before any await: every delivery before this one is already known to the window.
        acks.delivered(tag)
        token = _RECEIVED_BODY.set(message.body)
        try:
            await super()._on_message(cast(AbstractIncomingMessage, _AckJoinsWindow(message, acks)))
        finally:
            _RECEIVED_BODY.reset(token)

    async def stop(self) -> None:
        await super().stop()
        draining, self._draining = self._draining, None
        if draining is not None:
            draining.cancel()
            await asyncio.gather(draining, return_exceptions=True)
        for pending in self._pending:
            pending.outcome.cancel()
        self._pending.clear()

    async def _handle(self, envelope: EventEnvelope, data: EventData, handler: Handler) -> None:
        pending = _Pending(envelope, data, handler, _RECEIVED_BODY.get(b""))
        self._pending.append(pending)
        if len(self._pending) >= self._max_events:
            self._filled.set()
        if self._draining is None or self._draining.done():
            # Its own context: the batch is no one message's, so it carries no correlation id.
            self._draining = asyncio.create_task(
                self._drain(), name=f"batches {self.name}", context=contextvars.Context()
            )
        await pending.outcome

    async def _drain(self) -> None:
        while self._pending:
            if len(self._pending) < self._max_events:
                self._filled.clear()
                remaining = self._window_s - (time.monotonic() - self._pending[0].arrived)
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._filled.wait(), remaining)
            batch = self._pending[: self._max_events]
            del self._pending[: self._max_events]
            await self._settle(batch)

    async def _settle(self, batch: list[_Pending]) -> None:
        try:
            await self._commit_batch(batch)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if is_database_unavailable(error):
                # Each message waits for the database on its own path and joins a later batch.
                for pending in batch:
                    pending.settle(error)
                return
            BATCHES_SPLIT.labels(self.queue.name).inc()
            log.warning(
                "batch_failed_applying_one_by_one",
                queue=self.queue.name,
                events=len(batch),
                error=repr(error),
            )
            await self._one_by_one(batch)
            return
        for pending in batch:
            pending.settle()

    async def _one_by_one(self, batch: list[_Pending]) -> None:
        for pending in batch:
            envelope = pending.envelope
            with correlation_scope(
                envelope.correlation_id, event_id=str(envelope.id), event_type=envelope.type
            ):
                try:
                    await super()._handle(envelope, pending.data, pending.handler)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    pending.settle(error)
                else:
                    pending.settle()

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            first_time = await self.claim_batch_in_inbox(conn, [p.envelope for p in batch])
            fresh: list[ReceivedEvent] = []
            for pending in batch:
                # A duplicate inside the batch is claimed once, by its first delivery.
                if pending.envelope.id in first_time:
                    first_time.discard(pending.envelope.id)
                    fresh.append(ReceivedEvent(pending.envelope, pending.data, pending.body))
            if fresh:
                await self._apply_batch(conn, fresh)
        BATCH_SIZE.labels(self.queue.name).observe(len(batch))
        for received in fresh:
            EVENTS_CONSUMED.labels(self.queue.name, received.envelope.type).inc()

    async def claim_batch_in_inbox(self, conn: Db, envelopes: Sequence[EventEnvelope]) -> set[UUID]:
        """Records the events in the inbox (in the caller's transaction); the ids new to it."""
        rows = await conn.fetch(
            """INSERT INTO inbox (consumer, event_id, event_type)
               SELECT DISTINCT ON (e.id) $1, e.id, e.type
               FROM unnest($2::uuid[], $3::text[]) AS e(id, type)
               ORDER BY e.id
               ON CONFLICT DO NOTHING RETURNING event_id""",
            self.name,
            [e.id for e in envelopes],
            [e.type for e in envelopes],
        )
        first_time = {row["event_id"] for row in rows}
        duplicates = len(envelopes) - len(first_time)
        if duplicates:
            EVENTS_DUPLICATE.labels(self.queue.name).inc(duplicates)
        return first_time
