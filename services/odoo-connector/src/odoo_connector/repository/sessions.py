"""Till sessions (their opening float) and the Odoo sessions their orders go to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.postgres import Db


@dataclass(frozen=True)
class OdooSessionRow:
    odoo_session_id: int
    cash_session_id: UUID
    pricelist_id: int | None
    state: str


async def save_till_session(
    db: Db,
    session_id: UUID,
    tenant_id: UUID,
    register_id: UUID,
    opening_cash: int,
    currency: str,
    opened_at: datetime,
) -> None:
    await db.execute(
        """INSERT INTO till_sessions (session_id, tenant_id, register_id, opening_cash, currency,
                                      opened_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING""",
        session_id,
        tenant_id,
        register_id,
        opening_cash,
        currency,
        opened_at,
    )


async def till_opening_cash(db: Db, session_id: UUID) -> int | None:
    value = await db.fetchval(
        "SELECT opening_cash FROM till_sessions WHERE session_id = $1", session_id
    )
    return int(value) if value is not None else None


async def live_odoo_session(db: Db, register_id: UUID) -> OdooSessionRow | None:
    """The register's Odoo session that is not closed yet, whichever till session it serves."""
    row = await db.fetchrow(
        """SELECT odoo_session_id, cash_session_id, pricelist_id, state FROM odoo_pos_sessions
           WHERE register_id = $1 AND state <> 'closed'""",
        register_id,
    )
    return OdooSessionRow(**dict(row)) if row else None


async def save_odoo_session(
    db: Db,
    register_id: UUID,
    odoo_session_id: int,
    cash_session_id: UUID,
    pricelist_id: int | None,
) -> None:
    await db.execute(
        """INSERT INTO odoo_pos_sessions (register_id, odoo_session_id, cash_session_id,
                                          pricelist_id, state)
           VALUES ($1, $2, $3, $4, 'open')
           ON CONFLICT (register_id, odoo_session_id) DO UPDATE
           SET cash_session_id = EXCLUDED.cash_session_id, pricelist_id = EXCLUDED.pricelist_id,
               state = 'open', closed_at = NULL""",
        register_id,
        odoo_session_id,
        cash_session_id,
        pricelist_id,
    )


async def set_odoo_session_state(
    db: Db, register_id: UUID, odoo_session_id: int, state: str
) -> None:
    """`closing` when the connector starts Odoo's closing flow, `closed` once Odoo closed it
    (by us or under us): the register's next order then opens another."""
    await db.execute(
        """UPDATE odoo_pos_sessions
           SET state = $3, closed_at = CASE WHEN $3 = 'closed' THEN now() END
           WHERE register_id = $1 AND odoo_session_id = $2""",
        register_id,
        odoo_session_id,
        state,
    )


async def odoo_sessions_of_till(
    db: Db, register_id: UUID, cash_session_id: UUID
) -> list[tuple[int, str]]:
    """The Odoo sessions a till session's orders went to and their states, oldest first, closed
    ones too: a
    close whose answer was lost may have closed the last one already (and the register's next
    order seen it closed), and its difference is still the one to report."""
    rows = await db.fetch(
        """SELECT odoo_session_id, state FROM odoo_pos_sessions
           WHERE register_id = $1 AND cash_session_id = $2
           ORDER BY opened_at, odoo_session_id""",
        register_id,
        cash_session_id,
    )
    return [(r["odoo_session_id"], r["state"]) for r in rows]
