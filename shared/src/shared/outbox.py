"""Transactional outbox: events written with the change they describe, then relayed to RabbitMQ.

The relay publishes with confirms and `mandatory`, in per-aggregate order: a failed event holds
back the later events of its aggregate (and only those) until it is published. Writers must hold
a lock on the aggregate's row while they add its events, so the outbox `seq` order within an
aggregate is its commit order. One relay per schema is active at a time (an advisory lock);
others stand by, so ordering survives running several instances of a service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiormq.exceptions import DeliveryError, PublishError
from prometheus_client import Counter, Gauge

from shared.broker import Publisher
from shared.events.envelope import EventData, EventEnvelope
from shared.outages import Outage
from shared.partition_key import partition_headers
from shared.postgres import Db, connect, is_database_unavailable
from shared.structured_logging import current_correlation_id

log = structlog.get_logger(__name__)

OUTBOX_BACKLOG = Gauge("outbox_backlog_events", "Events written but not yet published", ["schema"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished event", ["schema"]
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Events published", ["schema"])
OUTBOX_FAILURES = Counter("outbox_publish_failures_total", "Failed publish attempts", ["schema"])

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
# still waiting out a back-off (that one must go first).
_READY = """
SELECT o.seq, o.event_id, o.event_type, o.aggregate_id, o.envelope
FROM outbox o
WHERE o.published_at IS NULL AND o.next_attempt_at <= now()
  AND NOT EXISTS (
      SELECT 1 FROM outbox p
      WHERE p.aggregate_id = o.aggregate_id AND p.published_at IS NULL
        AND p.seq < o.seq AND p.next_attempt_at > now())
ORDER BY o.seq
LIMIT $1
"""


class OutboxRelay:
    """Moves committed outbox rows to the broker. `run()` until cancelled."""

    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        service: str,
        publisher: Publisher,
        batch_size: int = 200,
        poll_interval_s: float = 2.0,
        max_backoff_s: float = 60.0,
        broker_retry_max_s: float = 3.0,
    ) -> None:
        self._dsn = dsn
        self._schema = schema
        self._service = service
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
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

    async def _pause(self, seconds: float) -> None:
        """Sleeps, but no longer than until a notification or a stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

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
                await self._pause(self._poll_interval_s)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close(timeout=2))

    async def _become_leader(self, conn: asyncpg.Connection) -> None:
        # Session-level lock: released by the server if this process or its connection dies.
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
        if rows:
            try:
                # Once per batch, so an absent broker costs one attempt, not one per aggregate.
                await self._publisher.connect()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                return await self._broker_unavailable(conn, error)
        chains: OrderedDict[Any, list[asyncpg.Record]] = OrderedDict()
        for row in rows:
            chains.setdefault(row["aggregate_id"], []).append(row)
        results = await asyncio.gather(*(self._publish_chain(chain) for chain in chains.values()))
        published = [seq for result in results for seq in result.published]
        rejected = [result.rejected for result in results if result.rejected is not None]
        broker_error = next((r.broker_error for r in results if r.broker_error is not None), None)
        if published:
            await conn.execute(
                """UPDATE outbox SET published_at = now(), publish_attempts = publish_attempts + 1,
                                     last_error = NULL
                   WHERE seq = ANY($1::bigint[])""",
                published,
            )
            OUTBOX_PUBLISHED.labels(self._schema).inc(len(published))
        for seq, reason in rejected:
            await conn.execute(
                """UPDATE outbox
                   SET publish_attempts = publish_attempts + 1, last_error = $2,
                       next_attempt_at = now() + make_interval(
                           secs => LEAST($3::float8, 0.5 * power(2, publish_attempts)))
                   WHERE seq = $1""",
                seq,
                reason[:500],
                self._max_backoff_s,
            )
        if rejected:
            OUTBOX_FAILURES.labels(self._schema).inc(len(rejected))
        if broker_error is not None:
            return await self._broker_unavailable(conn, broker_error, len(published))
        if rows:
            self._broker.ended()
        await self._update_gauges(conn)
        return RelayOutcome(len(published), len(rejected), False)

    async def _broker_unavailable(
        self, conn: asyncpg.Connection, error: BaseException, published: int = 0
    ) -> RelayOutcome:
        OUTBOX_FAILURES.labels(self._schema).inc()
        self._broker.began(error)
        await self._publisher.reset()
        await self._update_gauges(conn)
        return RelayOutcome(published, 0, True)

    async def _publish_chain(self, chain: list[asyncpg.Record]) -> _ChainResult:
        result = _ChainResult()
        for row in chain:
            envelope = row["envelope"]
            try:
                await self._publisher.publish(
                    row["event_type"],
                    json.dumps(envelope).encode(),
                    message_id=str(row["event_id"]),
                    message_type=row["event_type"],
                    correlation_id=envelope.get("correlation_id"),
                    headers={"x-tenant-id": envelope["tenant_id"], **partition_headers(envelope)},
                )
            except asyncio.CancelledError:
                raise
            except DeliveryError as error:
                # Nacked (e.g. a full queue) or returned as unroutable: this row waits, backed off.
                log.warning(
                    "outbox_publish_rejected",
                    schema=self._schema,
                    event_id=str(row["event_id"]),
                    event_type=row["event_type"],
                    error=repr(error),
                )
                result.rejected = (row["seq"], _describe_rejection(error))
                return result
            except Exception as error:
                result.broker_error = error
                return result
            result.published.append(row["seq"])
        return result

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
class _ChainResult:
    published: list[int] = field(default_factory=list)
    rejected: tuple[int, str] | None = None
    broker_error: BaseException | None = None


def _describe_rejection(error: DeliveryError) -> str:
    frame = getattr(error, "frame", None)
    if isinstance(error, PublishError) or type(frame).__name__ == "Return":
        return f"unroutable: no queue is bound for this event type ({error!r})"
    return f"rejected by the broker ({error!r})"
