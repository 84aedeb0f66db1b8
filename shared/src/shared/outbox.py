"""Transactional outbox: events written with the change they describe, then relayed to RabbitMQ.

The relay publishes with confirms and `mandatory`, in per-aggregate order: a failed event holds
back the later events of its aggregate (and only those) until it is published. Writers must hold
a lock on the aggregate's row while they add its events, so the outbox `seq` order within an
aggregate is its commit order. One relay per schema is active at a time (an advisory lock);
others stand by, so ordering survives running several workers and replicas of a service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiormq.exceptions import DeliveryError, PublishError
from prometheus_client import Counter, Gauge, Histogram

from shared.broker import Publisher
from shared.events.envelope import EventData, EventEnvelope
from shared.outages import Outage
from shared.partition_key import REGISTER_ID_HEADER
from shared.postgres import Db, connect, is_database_unavailable
from shared.structured_logging import current_correlation_id

log = structlog.get_logger(__name__)

# Set by the relaying worker alone: with several workers, the live one that set it last counts.
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog_events",
    "Events written but not yet published",
    ["schema"],
    multiprocess_mode="livemostrecent",
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unsent_age_seconds",
    "Age of the oldest unpublished event",
    ["schema"],
    multiprocess_mode="livemostrecent",
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Events published", ["schema"])
OUTBOX_FAILURES = Counter("outbox_publish_failures_total", "Failed publish attempts", ["schema"])
OUTBOX_BATCH_EVENTS = Histogram(
    "outbox_batch_events",
    "Events published per relay batch",
    ["schema"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)

# The longest wait between two tries of the database; it is usually back within seconds.
_RECONNECT_MAX_S = 5.0


async def add_event(conn: Db, envelope: EventEnvelope) -> None:
    """Writes an event in the caller's transaction; it is published only if that commits."""
    await conn.execute(
        """INSERT INTO outbox (event_id, event_type, tenant_id, aggregate_id, aggregate_version,
                               envelope)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        envelope.id,
        envelope.type,
        envelope.tenant_id,
        envelope.aggregate_id,
        envelope.aggregate_version,
        envelope.model_dump(mode="json"),
    )


async def add_events(conn: Db, envelopes: Sequence[EventEnvelope]) -> None:
    """Writes many events in the caller's transaction in one statement, in the order given."""
    await conn.execute(
        """INSERT INTO outbox (event_id, event_type, tenant_id, aggregate_id, aggregate_version,
                               envelope)
           SELECT e.id, e.type, e.tenant_id, e.aggregate_id, e.aggregate_version,
                  e.envelope::jsonb
           FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::bigint[],
                       $6::text[])
                AS e (id, type, tenant_id, aggregate_id, aggregate_version, envelope)""",
        [e.id for e in envelopes],
        [e.type for e in envelopes],
        [e.tenant_id for e in envelopes],
        [e.aggregate_id for e in envelopes],
        [e.aggregate_version for e in envelopes],
        # As JSON text: pydantic writes it faster than json.dumps would from a dict.
        [e.model_dump_json() for e in envelopes],
    )


async def write_event(
    conn: Db,
    data: EventData,
    *,
    producer: str,
    tenant_id: UUID,
    aggregate_id: UUID,
    aggregate_version: int,
) -> None:
    """Wraps `data` in an envelope carrying the current correlation id and writes it."""
    await add_event(
        conn,
        EventEnvelope.wrap(
            data,
            tenant_id=tenant_id,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            producer=producer,
            correlation_id=current_correlation_id(),
        ),
    )


@dataclass(frozen=True)
class Backlog:
    events: int
    oldest_age_s: float


async def backlog(conn: asyncpg.Connection) -> Backlog:
    row = await conn.fetchrow(
        """SELECT count(*) AS events,
                  COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS oldest
           FROM outbox WHERE published_at IS NULL"""
    )
    assert row is not None
    return Backlog(events=row["events"], oldest_age_s=float(row["oldest"]))


# Ready rows: unpublished, due, and with no earlier unpublished row of their aggregate that is
# still waiting out a back-off (that one must go first). The envelope goes out as the text the
# database holds and the message's properties come from columns, so the relay decodes nothing.
_READY = """
SELECT o.seq, o.event_id, o.event_type, o.tenant_id, o.aggregate_id,
       o.envelope::text AS body,
       o.envelope->>'correlation_id' AS correlation_id,
       NULLIF(o.envelope->'data'->>'register_id', '') AS register_id
FROM outbox o
WHERE o.published_at IS NULL AND o.next_attempt_at <= now()
  AND NOT EXISTS (
      SELECT 1 FROM outbox p
      WHERE p.aggregate_id = o.aggregate_id AND p.published_at IS NULL
        AND p.seq < o.seq AND p.next_attempt_at > now())
ORDER BY o.seq
LIMIT $1
"""

_MARK_PUBLISHED = """
UPDATE outbox SET published_at = now(), publish_attempts = publish_attempts + 1, last_error = NULL
WHERE seq = ANY($1::bigint[])
"""

_MARK_REJECTED = """
UPDATE outbox o
SET publish_attempts = o.publish_attempts + 1, last_error = r.reason,
    next_attempt_at = now() + make_interval(
        secs => LEAST($3::float8, 0.5 * power(2, o.publish_attempts)))
FROM unnest($1::bigint[], $2::text[]) AS r(seq, reason)
WHERE o.seq = r.seq
"""


class OutboxRelay:
    """Moves committed outbox rows to the broker. `run()` until cancelled.

    A batch goes out in waves: each wave publishes the next event of every aggregate in the
    batch at once and waits for all their confirms together; an aggregate whose event was
    nacked or returned takes no part in the later waves, so nothing of it overtakes that event.
    A burst of notifications wakes the relay once: it waits `gather_s` for the rest of the burst
    to commit, then takes whatever is ready in one batch.
    """

    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        service: str,
        publisher: Publisher,
        batch_size: int = 200,
        poll_interval_s: float = 2.0,
        gather_s: float = 0.005,
        max_backoff_s: float = 60.0,
        broker_retry_max_s: float = 3.0,
    ) -> None:
        self._dsn = dsn
        self._schema = schema
        self._service = service
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._gather_s = gather_s
        self._max_backoff_s = max_backoff_s
        self._broker_retry_max_s = broker_retry_max_s
        self._reconnect_backoff_s = 0.0
        self._broker = Outage("broker", f"outbox relay {schema}")
        self._database = Outage("database", f"outbox relay {schema}")
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._last_gauge_update = 0.0

    async def run(self) -> None:
        """Relays until `stop()`; cancelling also works but may leave one batch to resend."""
        while not self._stopping.is_set():
            try:
                await self._run_while_connected()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_database_unavailable(error):
                    self._database.began(error)
                else:
                    log.warning("outbox_relay_restarting", schema=self._schema, error=repr(error))
                self._reconnect_backoff_s = min(
                    max(self._reconnect_backoff_s * 2, 0.2), _RECONNECT_MAX_S
                )
                await self._sleep(self._reconnect_backoff_s)

    def stop(self) -> None:
        """Asks `run()` to return after the batch in hand is published and marked."""
        self._stopping.set()
        self._wake.set()

    async def _pause(self, seconds: float) -> bool:
        """Sleeps, but no longer than until a notification or a stop; says if one came."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        return self._wake.is_set()

    async def _sleep(self, seconds: float) -> None:
        """Sleeps until a stop only: a new event does not bring a server back any sooner."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _run_while_connected(self) -> None:
        conn = await connect(self._dsn, self._schema, f"{self._service}-outbox-relay")
        self._database.ended()
        self._reconnect_backoff_s = 0.0
        try:
            await self._become_leader(conn)
            if self._stopping.is_set():
                return
            await conn.add_listener(f"{self._schema}_outbox", self._on_notify)
            log.info("outbox_relay_active", schema=self._schema)
            broker_backoff_s = 0.0
            while not self._stopping.is_set():
                self._wake.clear()
                outcome = await self.relay_once(conn)
                if outcome.broker_unavailable:
                    # The broker itself is away: wait for it as a whole, spending no row's budget,
                    # and not woken by notifications, or each new order would be one more try.
                    broker_backoff_s = min(max(broker_backoff_s * 2, 0.2), self._broker_retry_max_s)
                    await self._sleep(broker_backoff_s)
                    continue
                broker_backoff_s = 0.0
                if outcome.published >= self._batch_size and not outcome.rejected:
                    continue
                if await self._pause(self._poll_interval_s) and not self._stopping.is_set():
                    # The first notification of a burst: the rest of it is committing now, and
                    # one batch of them all costs a fraction of a batch each.
                    await asyncio.sleep(self._gather_s)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close(timeout=2))

    async def _become_leader(self, conn: asyncpg.Connection) -> None:
        # Session-level lock: released by the server if this process or its connection dies.
        # Workers and replicas of a service all run a relay; one relays, the others wait here.
        lock = f"outbox-relay:{self._schema}"
        while not self._stopping.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
                return
            await self._pause(self._poll_interval_s)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def relay_once(self, conn: asyncpg.Connection) -> RelayOutcome:
        """Publishes one batch of ready rows."""
        rows = await conn.fetch(_READY, self._batch_size)
        if not rows:
            await self._update_gauges(conn)
            return RelayOutcome(0, 0, False)
        try:
            # Once per batch, so an absent broker costs one attempt, not one per aggregate.
            await self._publisher.connect()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            return await self._broker_unavailable(conn, error)
        result = await self._publish_in_waves(rows)
        if result.published:
            await conn.execute(_MARK_PUBLISHED, result.published)
            OUTBOX_PUBLISHED.labels(self._schema).inc(len(result.published))
            OUTBOX_BATCH_EVENTS.labels(self._schema).observe(len(result.published))
        if result.rejected:
            await conn.execute(
                _MARK_REJECTED,
                [seq for seq, _ in result.rejected],
                [reason[:500] for _, reason in result.rejected],
                self._max_backoff_s,
            )
            OUTBOX_FAILURES.labels(self._schema).inc(len(result.rejected))
        if result.broker_error is not None:
            return await self._broker_unavailable(conn, result.broker_error, len(result.published))
        self._broker.ended()
        await self._update_gauges(conn)
        return RelayOutcome(len(result.published), len(result.rejected), False)

    async def _broker_unavailable(
        self, conn: asyncpg.Connection, error: BaseException, published: int = 0
    ) -> RelayOutcome:
        OUTBOX_FAILURES.labels(self._schema).inc()
        self._broker.began(error)
        await self._publisher.reset()
        await self._update_gauges(conn)
        return RelayOutcome(published, 0, True)

    async def _publish_in_waves(self, rows: list[asyncpg.Record]) -> _BatchResult:
        chains: dict[Any, deque[asyncpg.Record]] = {}
        for row in rows:
            chains.setdefault(row["aggregate_id"], deque()).append(row)
        result = _BatchResult()
        waiting = list(chains.values())
        while waiting and result.broker_error is None:
            wave = [chain.popleft() for chain in waiting]
            outcomes = await asyncio.gather(
                *(self._publish(row) for row in wave), return_exceptions=True
            )
            still_waiting = []
            for chain, row, outcome in zip(waiting, wave, outcomes, strict=True):
                if outcome is None:
                    result.published.append(row["seq"])
                    if chain:
                        still_waiting.append(chain)
                elif isinstance(outcome, DeliveryError):
                    # Nacked (e.g. a full queue) or returned as unroutable: this row waits,
                    # backed off, and the rest of its aggregate waits behind it.
                    self._log_rejection(row, outcome)
                    result.rejected.append((row["seq"], _describe_rejection(outcome)))
                elif isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                else:
                    result.broker_error = result.broker_error or outcome
            waiting = still_waiting
        return result

    async def _publish(self, row: asyncpg.Record) -> None:
        headers = {"x-tenant-id": str(row["tenant_id"])}
        if row["register_id"] is not None:
            headers[REGISTER_ID_HEADER] = row["register_id"]
        await self._publisher.publish(
            row["event_type"],
            row["body"].encode(),
            message_id=str(row["event_id"]),
            message_type=row["event_type"],
            correlation_id=row["correlation_id"],
            headers=headers,
        )

    def _log_rejection(self, row: asyncpg.Record, error: DeliveryError) -> None:
        log.warning(
            "outbox_publish_rejected",
            schema=self._schema,
            event_id=str(row["event_id"]),
            event_type=row["event_type"],
            error=repr(error),
        )

    async def _update_gauges(self, conn: asyncpg.Connection) -> None:
        now = time.monotonic()
        if now - self._last_gauge_update < 1.0:
            return
        self._last_gauge_update = now
        current = await backlog(conn)
        OUTBOX_BACKLOG.labels(self._schema).set(current.events)
        OUTBOX_OLDEST_AGE.labels(self._schema).set(current.oldest_age_s)


async def stop_relay(relay: OutboxRelay, task: asyncio.Task[None], grace_s: float = 5.0) -> None:
    """Stops a relay gracefully, cancelling it only if it overruns the grace period."""
    relay.stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), grace_s)
    except TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@dataclass(frozen=True)
class RelayOutcome:
    published: int
    rejected: int
    broker_unavailable: bool


@dataclass
class _BatchResult:
    published: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    broker_error: BaseException | None = None


def _describe_rejection(error: DeliveryError) -> str:
    frame = getattr(error, "frame", None)
    if isinstance(error, PublishError) or type(frame).__name__ == "Return":
        return f"unroutable: no queue is bound for this event type ({error!r})"
    return f"rejected by the broker ({error!r})"
