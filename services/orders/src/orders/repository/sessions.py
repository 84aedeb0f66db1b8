"""Cash sessions: opened, closed, imported, totalled, and their Odoo sync stamps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from orders.domain.model import CashSession
from orders.domain.session import SessionTotals, TenderSums
from orders.repository.rows import Page, page_of, typed, typed_or_none
from shared.postgres import Db


async def find_open_session(db: Db, register_id: UUID) -> CashSession | None:
    # FOR SHARE: a close (FOR UPDATE) waits for us, and we wait for a close in flight and
    # then see the session as closed, so no sale slips in behind a session's totals.
    record = await db.fetchrow(
        "SELECT * FROM cash_sessions WHERE register_id = $1 AND state = 'open' FOR SHARE",
        register_id,
    )
    return typed_or_none(CashSession, record)


async def insert_session(
    db: Db,
    *,
    session_id: UUID,
    tenant_id: UUID,
    register_id: UUID,
    shop_id: UUID,
    business_date: date,
    currency: str,
    opened_by: str,
    opened_implicitly: bool,
    opening_cash: int,
    sync_state: str,
) -> CashSession:
    row = await db.fetchrow(
        """INSERT INTO cash_sessions (session_id, tenant_id, register_id, shop_id, state,
                                      business_date, currency, opened_by, opened_implicitly,
                                      opening_cash, sync_state)
           VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10)
           RETURNING *""",
        session_id,
        tenant_id,
        register_id,
        shop_id,
        business_date,
        currency,
        opened_by,
        opened_implicitly,
        opening_cash,
        sync_state,
    )
    assert row is not None
    return typed(CashSession, row)


async def get_session(
    db: Db, tenant_id: UUID, session_id: UUID, *, for_update: bool = False
) -> CashSession | None:
    lock = " FOR UPDATE" if for_update else ""
    record = await db.fetchrow(
        f"SELECT * FROM cash_sessions WHERE tenant_id = $1 AND session_id = $2{lock}",
        tenant_id,
        session_id,
    )
    return typed_or_none(CashSession, record)


async def close_session(
    db: Db,
    session_id: UUID,
    *,
    closed_by: str,
    counted_cash: int,
    expected_cash: int,
    note: str | None,
) -> CashSession:
    row = await db.fetchrow(
        """UPDATE cash_sessions
           SET state = 'closed', closed_at = now(), closed_by = $2, counted_cash = $3,
               expected_cash = $4, closing_note = $5, version = version + 1
           WHERE session_id = $1
           RETURNING *""",
        session_id,
        closed_by,
        counted_cash,
        expected_cash,
        note,
    )
    assert row is not None
    return typed(CashSession, row)


async def session_totals(db: Db, session_ids: Sequence[UUID]) -> dict[UUID, SessionTotals]:
    """Each session's sales, refunds and tenders so far, zero for a session with none."""
    orders = {r["session_id"]: r for r in await _session_order_totals(db, session_ids)}
    refunds = {r["session_id"]: r for r in await _session_refund_totals(db, session_ids)}
    tenders: dict[UUID, list[TenderSums]] = defaultdict(list)
    for row in await _session_tender_totals(db, session_ids):
        tenders[row["session_id"]].append(
            TenderSums(row["method"], row["kind"], row["sales"], row["refunds"])
        )
    result = {}
    for session_id in session_ids:
        sold, refunded = orders.get(session_id), refunds.get(session_id)
        result[session_id] = SessionTotals(
            order_count=sold["order_count"] if sold else 0,
            refund_count=refunded["refund_count"] if refunded else 0,
            sales_total=sold["sales_total"] if sold else 0,
            refunds_total=refunded["refunds_total"] if refunded else 0,
            tenders=tuple(tenders.get(session_id, ())),
            first_receipt_number=sold["first_receipt_number"] if sold else None,
            last_receipt_number=sold["last_receipt_number"] if sold else None,
        )
    return result


async def _session_order_totals(db: Db, session_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT session_id, count(*) AS order_count, COALESCE(sum(total), 0) AS sales_total,
                  min(receipt_number) FILTER (WHERE seq = first_seq) AS first_receipt_number,
                  min(receipt_number) FILTER (WHERE seq = last_seq) AS last_receipt_number
           FROM (SELECT session_id, total, receipt_number, seq,
                        min(seq) OVER (PARTITION BY session_id) AS first_seq,
                        max(seq) OVER (PARTITION BY session_id) AS last_seq
                 FROM orders WHERE session_id = ANY($1::uuid[])) o
           GROUP BY session_id""",
        list(session_ids),
    )


async def _session_refund_totals(db: Db, session_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT session_id, count(*) AS refund_count, COALESCE(sum(total), 0) AS refunds_total
           FROM refunds WHERE session_id = ANY($1::uuid[]) GROUP BY session_id""",
        list(session_ids),
    )


async def _session_tender_totals(db: Db, session_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT session_id, method, kind, sum(sales) AS sales, sum(refunds) AS refunds
           FROM (SELECT o.session_id, p.method, p.kind, p.amount AS sales, 0 AS refunds
                 FROM order_payments p
                 JOIN orders o ON o.tenant_id = p.tenant_id AND o.order_id = p.order_id
                 WHERE o.session_id = ANY($1::uuid[])
                 UNION ALL
                 SELECT r.session_id, p.method, p.kind, 0, p.amount
                 FROM refund_payments p
                 JOIN refunds r ON r.tenant_id = p.tenant_id AND r.refund_id = p.refund_id
                 WHERE r.session_id = ANY($1::uuid[])) t
           GROUP BY session_id, method, kind
           ORDER BY session_id, method""",
        list(session_ids),
    )


async def list_sessions(
    db: Db,
    tenant_id: UUID,
    *,
    register_id: UUID | None,
    state: str | None,
    business_date: date | None,
    before_seq: int | None,
    limit: int,
) -> Page[CashSession]:
    records = await db.fetch(
        """SELECT * FROM cash_sessions
           WHERE tenant_id = $1
             AND ($2::uuid IS NULL OR register_id = $2)
             AND ($3::text IS NULL OR state = $3)
             AND ($4::date IS NULL OR business_date = $4)
             AND ($5::bigint IS NULL OR seq < $5)
           ORDER BY seq DESC LIMIT $6""",
        tenant_id,
        register_id,
        state,
        business_date,
        before_seq,
        limit + 1,
    )
    return page_of(CashSession, records, limit)


async def mark_session_synced(
    db: Db, tenant_id: UUID, session_id: UUID, last_odoo_session_id: int | None
) -> bool:
    result = await db.execute(
        """UPDATE cash_sessions SET sync_state = 'synced', sync_error = NULL,
                                    odoo_session_id = COALESCE($3, odoo_session_id)
           WHERE tenant_id = $1 AND session_id = $2""",
        tenant_id,
        session_id,
        last_odoo_session_id,
    )
    return str(result).endswith(" 1")


async def mark_session_sync_failed(
    db: Db, tenant_id: UUID, session_id: UUID, error: str, *, final: bool
) -> bool:
    """Records why Odoo refused the close; `final` once the connector gave up. A late report
    never undoes a success."""
    result = await db.execute(
        """UPDATE cash_sessions
           SET sync_state = CASE WHEN $4 THEN 'failed' ELSE 'pending' END, sync_error = $3
           WHERE tenant_id = $1 AND session_id = $2 AND sync_state <> 'synced'""",
        tenant_id,
        session_id,
        error,
        final,
    )
    return str(result).endswith(" 1")


async def get_sessions(db: Db, tenant_id: UUID, session_ids: Sequence[UUID]) -> list[CashSession]:
    records = await db.fetch(
        "SELECT * FROM cash_sessions WHERE tenant_id = $1 AND session_id = ANY($2::uuid[])",
        tenant_id,
        list(session_ids),
    )
    return [typed(CashSession, r) for r in records]


async def insert_imported_session(
    db: Db,
    *,
    session_id: UUID,
    tenant_id: UUID,
    register_id: UUID,
    shop_id: UUID,
    business_date: date,
    currency: str,
    opened_at: datetime,
    opened_by: str,
    opening_cash: int,
    closed_at: datetime,
    closed_by: str,
    counted_cash: int,
    odoo_session_id: int,
    odoo_session_name: str,
) -> CashSession:
    """A session that is already closed; version 2, as if opened (1) and then closed (2).

    Its expected cash is set once its orders and refunds are in (`set_expected_cash`).
    """
    row = await db.fetchrow(
        """INSERT INTO cash_sessions (session_id, tenant_id, register_id, shop_id, state,
                                      business_date, currency, opened_at, opened_by,
                                      opened_implicitly, opening_cash, closed_at, closed_by,
                                      counted_cash, source, odoo_session_id, odoo_session_name,
                                      version, sync_state)
           VALUES ($1, $2, $3, $4, 'closed', $5, $6, $7, $8, false, $9, $10, $11, $12,
                   'odoo_pulled', $13, $14, 2, 'synced')
           RETURNING *""",
        session_id,
        tenant_id,
        register_id,
        shop_id,
        business_date,
        currency,
        opened_at,
        opened_by,
        opening_cash,
        closed_at,
        closed_by,
        counted_cash,
        odoo_session_id,
        odoo_session_name,
    )
    assert row is not None
    return typed(CashSession, row)


async def set_expected_cash(db: Db, session_id: UUID, expected_cash: int) -> CashSession:
    row = await db.fetchrow(
        "UPDATE cash_sessions SET expected_cash = $2 WHERE session_id = $1 RETURNING *",
        session_id,
        expected_cash,
    )
    assert row is not None
    return typed(CashSession, row)
