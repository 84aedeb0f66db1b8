"""What went to Odoo: push attempts, synced orders and refunds, and each register's receipts in
the order they may go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared.postgres import Db


@dataclass(frozen=True)
class SyncedOrder:
    odoo_order_id: int
    odoo_session_id: int | None
    line_ids: list[str]


async def mark_attempted(db: Db, references: list[str]) -> set[str]:
    """Records that these references go to Odoo now; returns those that had gone before."""
    rows = await db.fetch(
        """WITH wanted AS (SELECT unnest($1::text[]) AS reference),
                fresh AS (INSERT INTO push_attempts (reference) SELECT reference FROM wanted
                          ON CONFLICT DO NOTHING RETURNING reference)
           SELECT reference FROM wanted WHERE reference NOT IN (SELECT reference FROM fresh)""",
        references,
    )
    return {r["reference"] for r in rows}


async def save_synced(
    db: Db,
    *,
    order_id: UUID,
    kind: str,
    tenant_id: UUID,
    register_id: UUID,
    cash_session_id: UUID,
    business_date: date,
    odoo_order_id: int,
    odoo_session_id: int | None,
    line_ids: list[str],
) -> bool:
    """True the first time; a redelivered success records nothing twice."""
    inserted = await db.fetchval(
        """INSERT INTO synced_orders (order_id, kind, tenant_id, register_id, cash_session_id,
                                      business_date, odoo_order_id, odoo_session_id, line_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (order_id) DO NOTHING RETURNING true""",
        order_id,
        kind,
        tenant_id,
        register_id,
        cash_session_id,
        business_date,
        odoo_order_id,
        odoo_session_id,
        line_ids,
    )
    return bool(inserted)


async def synced(db: Db, order_id: UUID) -> SyncedOrder | None:
    row = await db.fetchrow(
        "SELECT odoo_order_id, odoo_session_id, line_ids FROM synced_orders WHERE order_id = $1",
        order_id,
    )
    return (
        SyncedOrder(row["odoo_order_id"], row["odoo_session_id"], row["line_ids"]) if row else None
    )


async def accounted_in_cash_session(db: Db, cash_session_id: UUID, kind: str) -> int:
    """Orders (or refunds) of a cash session that are in Odoo or were given up on (parked or
    discarded; a replayed one counts again once it is in Odoo)."""
    count: int = await db.fetchval(
        """SELECT (SELECT count(*) FROM synced_orders WHERE cash_session_id = $1 AND kind = $2)
                + (SELECT count(DISTINCT d.aggregate_id) FROM dead_letter_records d
                   WHERE d.envelope #>> '{data,session_id}' = $1::uuid::text
                     AND d.event_type = $3 AND d.status <> 'replayed'
                     AND NOT EXISTS (SELECT 1 FROM synced_orders s
                                     WHERE s.order_id = d.aggregate_id))""",
        cash_session_id,
        kind,
        "order.placed" if kind == "order" else "order.refunded",
    )
    return count


async def is_dead_lettered(db: Db, aggregate_id: UUID, event_type: str) -> bool:
    """Whether the event was given up on and not replayed since."""
    return bool(
        await db.fetchval(
            """SELECT true FROM dead_letter_records
               WHERE aggregate_id = $1 AND event_type = $2 AND status <> 'replayed' LIMIT 1""",
            aggregate_id,
            event_type,
        )
    )


async def settle_receipts(db: Db, register_id: UUID, sequences: list[int]) -> None:
    """These orders of the register no longer hold their successors back."""
    await db.execute(
        """INSERT INTO register_receipts (register_id, receipt_sequence, settled_at)
           SELECT $1, unnest($2::bigint[]), now()
           ON CONFLICT (register_id, receipt_sequence) DO UPDATE SET settled_at = now()
           WHERE register_receipts.settled_at IS NULL""",
        register_id,
        # One row may not be updated twice by one statement: a batch can hold an order twice.
        sorted(set(sequences)),
    )


async def settled_receipts(db: Db, register_id: UUID, sequences: list[int]) -> set[int]:
    rows = await db.fetch(
        """SELECT receipt_sequence FROM register_receipts
           WHERE register_id = $1 AND receipt_sequence = ANY($2::bigint[])
             AND settled_at IS NOT NULL""",
        register_id,
        sequences,
    )
    return {r["receipt_sequence"] for r in rows}


async def note_waiting(db: Db, register_id: UUID, sequences: list[int]) -> None:
    """These orders were just seen waiting: they are still coming."""
    await db.execute(
        """INSERT INTO register_receipts (register_id, receipt_sequence, last_waited_at)
           SELECT $1, unnest($2::bigint[]), now()
           ON CONFLICT (register_id, receipt_sequence) DO UPDATE SET last_waited_at = now()""",
        register_id,
        sorted(set(sequences)),
    )


@dataclass(frozen=True)
class PredecessorWait:
    # How long the order has waited for a predecessor that is not coming: since it was first
    # found waiting, or since its predecessor was last seen waiting, if later.
    waited_s: float
    # Whether its predecessor was ever seen (waiting, or held for its own predecessor): it is
    # on its way, not an order that never reached us.
    predecessor_seen: bool


async def waiting_for_predecessor(
    db: Db, register_id: UUID, sequences: list[int]
) -> dict[int, PredecessorWait]:
    """How each of these orders has waited for its predecessor, which is not settled."""
    rows = await db.fetch(
        """WITH stamped AS (
               INSERT INTO register_receipts (register_id, receipt_sequence, waiting_since)
               SELECT $1, unnest($2::bigint[]), now()
               ON CONFLICT (register_id, receipt_sequence) DO UPDATE
               SET waiting_since = COALESCE(register_receipts.waiting_since, now())
               RETURNING receipt_sequence, waiting_since)
           SELECT s.receipt_sequence,
                  extract(epoch FROM now() - GREATEST(s.waiting_since, p.last_waited_at))::float8
                      AS waited_s,
                  p.register_id IS NOT NULL AS predecessor_seen
           FROM stamped s
           LEFT JOIN register_receipts p
             ON p.register_id = $1 AND p.receipt_sequence = s.receipt_sequence - 1""",
        register_id,
        sorted(set(sequences)),
    )
    return {
        r["receipt_sequence"]: PredecessorWait(r["waited_s"], r["predecessor_seen"]) for r in rows
    }


@dataclass(frozen=True)
class ConnectorTraces:
    """What the connector left in a tenant's Odoo, as its own records show it."""

    # Odoo orders it recorded: pushed by it, or imported ones (their ids kept for till refunds).
    synced_odoo_order_ids: frozenset[int]
    # Of the asked pos_references, those it sent to Odoo.
    sent_references: frozenset[str]
    # Odoo sessions it opened for the tenant's registers.
    odoo_session_ids: frozenset[int]


async def connector_traces(db: Db, tenant_id: UUID, references: Sequence[str]) -> ConnectorTraces:
    synced = await db.fetch(
        "SELECT odoo_order_id FROM synced_orders WHERE tenant_id = $1", tenant_id
    )
    sent = await db.fetch(
        "SELECT reference FROM push_attempts WHERE reference = ANY($1::text[])",
        sorted(set(references)),
    )
    sessions = await db.fetch(
        """SELECT s.odoo_session_id FROM odoo_pos_sessions s
           JOIN registers r ON r.register_id = s.register_id WHERE r.tenant_id = $1""",
        tenant_id,
    )
    return ConnectorTraces(
        frozenset(r["odoo_order_id"] for r in synced),
        frozenset(r["reference"] for r in sent),
        frozenset(r["odoo_session_id"] for r in sessions),
    )
