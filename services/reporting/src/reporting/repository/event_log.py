"""The event log every read model is rebuilt from, and the per-tenant lock that guards rebuilds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.batch_consumer import ReceivedEvent
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

# Every table a rebuild empties and refills for a tenant, in an order that keeps locks consistent.
READ_MODEL_TABLES = (
    "tenants",
    "shops",
    "registers",
    "sessions",
    "order_facts",
    "order_line_facts",
    "refund_facts",
    "refund_line_facts",
    "payment_facts",
    "order_sync",
    "sales_slots",
    "payment_totals",
    "product_totals",
    "daily_totals",
    "payment_methods",
)

# Where a replay stands in the log: (occurred_at, aggregate_version, event_id) of the last event.
LogPosition = tuple[datetime, int, UUID]


@dataclass(frozen=True)
class LoggedEvent:
    envelope: EventEnvelope
    position: LogPosition


_LOG_EVENTS = """
INSERT INTO event_log (event_id, tenant_id, event_type, event_version, occurred_at, aggregate_id,
                       aggregate_version, envelope)
SELECT e.event_id, e.tenant_id, e.event_type, e.event_version, e.occurred_at, e.aggregate_id,
       e.aggregate_version, e.envelope::jsonb
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::integer[], $5::timestamptz[], $6::uuid[],
            $7::bigint[], $8::text[])
    AS e(event_id, tenant_id, event_type, event_version, occurred_at, aggregate_id,
         aggregate_version, envelope)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""


def _as_received(event: ReceivedEvent) -> str:
    return event.body.decode() if event.body else event.envelope.model_dump_json()


async def log_events(db: Db, received: Sequence[ReceivedEvent]) -> set[UUID]:
    """Appends consumed events to the log, their JSON as received (under their tenants' shared
    locks); the ids of those new to it."""
    envelopes = [r.envelope for r in received]
    await db.execute(
        """SELECT pg_advisory_xact_lock_shared(k)
           FROM (SELECT DISTINCT hashtextextended('reporting:' || t::text, 0) AS k
                 FROM unnest($1::uuid[]) t ORDER BY k) AS keys""",
        [e.tenant_id for e in envelopes],
    )
    rows = await db.fetch(
        _LOG_EVENTS,
        [e.id for e in envelopes],
        [e.tenant_id for e in envelopes],
        [e.type for e in envelopes],
        [e.version for e in envelopes],
        [e.occurred_at for e in envelopes],
        [e.aggregate_id for e in envelopes],
        [e.aggregate_version for e in envelopes],
        [_as_received(r) for r in received],
    )
    return {row["event_id"] for row in rows}


async def lock_tenant_for_rebuild(db: Db, tenant_id: UUID) -> None:
    """Waits for live projections of the tenant to finish and holds them off until commit."""
    await db.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('reporting:' || $1::uuid, 0))", tenant_id
    )


async def logged_tenants(db: Db) -> list[UUID]:
    rows = await db.fetch("SELECT DISTINCT tenant_id FROM event_log ORDER BY tenant_id")
    return [r["tenant_id"] for r in rows]


async def clear_read_models(db: Db, tenant_id: UUID) -> None:
    for table in READ_MODEL_TABLES:
        await db.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant_id)


async def logged_events(
    db: Db, tenant_id: UUID, after: LogPosition | None, limit: int
) -> list[LoggedEvent]:
    """The tenant's log in replay order, one keyset page at a time."""
    if after is None:
        rows = await db.fetch(
            """SELECT event_id, occurred_at, aggregate_version, envelope FROM event_log
               WHERE tenant_id = $1
               ORDER BY occurred_at, aggregate_version, event_id LIMIT $2""",
            tenant_id,
            limit,
        )
    else:
        rows = await db.fetch(
            """SELECT event_id, occurred_at, aggregate_version, envelope FROM event_log
               WHERE tenant_id = $1 AND (occurred_at, aggregate_version, event_id) > ($2, $3, $4)
               ORDER BY occurred_at, aggregate_version, event_id LIMIT $5""",
            tenant_id,
            *after,
            limit,
        )
    return [
        LoggedEvent(
            envelope=EventEnvelope.model_validate(r["envelope"]),
            position=(r["occurred_at"], r["aggregate_version"], r["event_id"]),
        )
        for r in rows
    ]
