"""The event log every read model is rebuilt from, and the per-tenant lock that guards rebuilds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

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


_LOG_EVENT = """
INSERT INTO event_log (event_id, tenant_id, event_type, event_version, occurred_at, aggregate_id,
                       aggregate_version, envelope)
SELECT $1::uuid, $2::uuid, $3::text, $4::integer, $5::timestamptz, $6::uuid, $7::bigint,
       $8::jsonb
FROM (SELECT pg_advisory_xact_lock_shared(hashtextextended('reporting:' || $2::uuid, 0))) AS lock
ON CONFLICT (event_id) DO NOTHING
RETURNING true
"""


async def log_event(db: Db, envelope: EventEnvelope) -> bool:
    """Appends a consumed event to the log (under the tenant's shared lock); False if known."""
    logged = await db.fetchval(
        _LOG_EVENT,
        envelope.id,
        envelope.tenant_id,
        envelope.type,
        envelope.version,
        envelope.occurred_at,
        envelope.aggregate_id,
        envelope.aggregate_version,
        envelope.model_dump(mode="json"),
    )
    return bool(logged)


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
