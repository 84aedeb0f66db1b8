"""The orders schema's SQL. Every query is scoped to a tenant unless it is keyed by a row
the caller already read within its tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any, Literal
from uuid import UUID

import asyncpg

from shared.postgres import Db

Row = asyncpg.Record


# Registers (the local replica).


async def get_register(db: Db, tenant_id: UUID, register_id: UUID) -> Row | None:
    return await db.fetchrow(
        "SELECT * FROM registers WHERE tenant_id = $1 AND register_id = $2",
        tenant_id,
        register_id,
    )


async def upsert_register(
    db: Db,
    *,
    tenant_id: UUID,
    register_id: UUID,
    shop_id: UUID,
    name: str,
    receipt_prefix: str,
    active: bool,
    currency: str,
    timezone: str,
    business_day_cutoff: time,
    prices_include_tax: bool,
    tenant_tier: str,
    version: int,
) -> bool:
    """Applies a register state if it is newer than ours; returns whether it was applied."""
    applied = await db.fetchval(
        """INSERT INTO registers (register_id, tenant_id, shop_id, name, receipt_prefix, active,
                                  currency, timezone, business_day_cutoff, prices_include_tax,
                                  tenant_tier, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (register_id) DO UPDATE SET
               shop_id = EXCLUDED.shop_id, name = EXCLUDED.name,
               receipt_prefix = EXCLUDED.receipt_prefix, active = EXCLUDED.active,
               currency = EXCLUDED.currency, timezone = EXCLUDED.timezone,
               business_day_cutoff = EXCLUDED.business_day_cutoff,
               prices_include_tax = EXCLUDED.prices_include_tax,
               tenant_tier = EXCLUDED.tenant_tier, version = EXCLUDED.version,
               updated_at = now()
           WHERE registers.version < EXCLUDED.version AND registers.tenant_id = EXCLUDED.tenant_id
           RETURNING true""",
        register_id,
        tenant_id,
        shop_id,
        name,
        receipt_prefix,
        active,
        currency,
        timezone,
        business_day_cutoff,
        prices_include_tax,
        tenant_tier,
        version,
    )
    return bool(applied)


async def next_receipt_value(db: Db, register_id: UUID) -> int:
    """The register's next receipt number; the row stays locked until the caller commits."""
    value: int = await db.fetchval(
        """INSERT INTO receipt_sequences (register_id, last_value) VALUES ($1, 1)
           ON CONFLICT (register_id)
           DO UPDATE SET last_value = receipt_sequences.last_value + 1
           RETURNING last_value""",
        register_id,
    )
    return value


# Cash sessions.


async def find_open_session(db: Db, register_id: UUID) -> Row | None:
    # FOR SHARE: a close (FOR UPDATE) waits for us, and we wait for a close in flight and
    # then see the session as closed, so no sale slips in behind a session's totals.
    return await db.fetchrow(
        "SELECT * FROM cash_sessions WHERE register_id = $1 AND state = 'open' FOR SHARE",
        register_id,
    )


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
) -> Row:
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
    return row


async def get_session(
    db: Db, tenant_id: UUID, session_id: UUID, *, for_update: bool = False
) -> Row | None:
    lock = " FOR UPDATE" if for_update else ""
    return await db.fetchrow(
        f"SELECT * FROM cash_sessions WHERE tenant_id = $1 AND session_id = $2{lock}",
        tenant_id,
        session_id,
    )


async def close_session(
    db: Db,
    session_id: UUID,
    *,
    closed_by: str,
    counted_cash: int,
    expected_cash: int,
    note: str | None,
) -> Row:
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
    return row


async def session_order_totals(db: Db, session_ids: Sequence[UUID]) -> list[Row]:
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


async def session_refund_totals(db: Db, session_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        """SELECT session_id, count(*) AS refund_count, COALESCE(sum(total), 0) AS refunds_total
           FROM refunds WHERE session_id = ANY($1::uuid[]) GROUP BY session_id""",
        list(session_ids),
    )


async def session_tender_totals(db: Db, session_ids: Sequence[UUID]) -> list[Row]:
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
) -> list[Row]:
    return await db.fetch(
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
        limit,
    )


# Orders.


async def get_order_fingerprint(db: Db, tenant_id: UUID, order_id: UUID) -> str | None:
    fingerprint: str | None = await db.fetchval(
        "SELECT request_fingerprint FROM orders WHERE tenant_id = $1 AND order_id = $2",
        tenant_id,
        order_id,
    )
    return fingerprint


async def insert_order(
    db: Db, order: dict[str, Any], lines: list[dict[str, Any]], payments: list[dict[str, Any]]
) -> datetime:
    """Inserts the order with its lines and payments; returns when the server received it."""
    received_at: datetime = await db.fetchval(
        """INSERT INTO orders (tenant_id, order_id, register_id, shop_id, session_id,
                               receipt_number, business_date, created_at, currency, net_total,
                               tax_total, total, customer_ref, note, source, sync_state,
                               created_by, request_fingerprint, odoo_order_id,
                               odoo_session_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20)
           RETURNING received_at""",
        order["tenant_id"],
        order["order_id"],
        order["register_id"],
        order["shop_id"],
        order["session_id"],
        order["receipt_number"],
        order["business_date"],
        order["created_at"],
        order["currency"],
        order["net_total"],
        order["tax_total"],
        order["total"],
        order["customer_ref"],
        order["note"],
        order["source"],
        order["sync_state"],
        order["created_by"],
        order["request_fingerprint"],
        order.get("odoo_order_id"),
        order.get("odoo_session_id"),
    )
    await db.executemany(
        """INSERT INTO order_lines (line_id, tenant_id, order_id, position, product_ref,
                                    product_name, odoo_product_id, quantity, unit_price,
                                    discount_percent, tax_rate_percent, prices_include_tax,
                                    gross, discount, net, tax, total)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)""",
        [
            (
                line["line_id"],
                order["tenant_id"],
                order["order_id"],
                line["position"],
                line["product_ref"],
                line["product_name"],
                line["odoo_product_id"],
                line["quantity"],
                line["unit_price"],
                line["discount_percent"],
                line["tax_rate_percent"],
                line["prices_include_tax"],
                line["gross"],
                line["discount"],
                line["net"],
                line["tax"],
                line["total"],
            )
            for line in lines
        ],
    )
    await db.executemany(
        """INSERT INTO order_payments (payment_id, tenant_id, order_id, position, method, kind,
                                       odoo_payment_method_id, amount, tendered, change)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        [
            (
                payment["payment_id"],
                order["tenant_id"],
                order["order_id"],
                payment["position"],
                payment["method"],
                payment["kind"],
                payment["odoo_payment_method_id"],
                payment["amount"],
                payment["tendered"],
                payment["change"],
            )
            for payment in payments
        ],
    )
    return received_at


async def lock_order(db: Db, tenant_id: UUID, order_id: UUID) -> Row | None:
    return await db.fetchrow(
        "SELECT * FROM orders WHERE tenant_id = $1 AND order_id = $2 FOR UPDATE",
        tenant_id,
        order_id,
    )


async def order_lines(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        """SELECT * FROM order_lines WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])
           ORDER BY order_id, position""",
        tenant_id,
        list(order_ids),
    )


async def order_payments(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        """SELECT * FROM order_payments WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])
           ORDER BY order_id, position""",
        tenant_id,
        list(order_ids),
    )


async def refunded_quantities(db: Db, tenant_id: UUID, order_id: UUID) -> dict[UUID, Any]:
    rows = await db.fetch(
        """SELECT rl.order_line_id, sum(rl.quantity) AS quantity
           FROM refund_lines rl JOIN refunds r
             ON r.tenant_id = rl.tenant_id AND r.refund_id = rl.refund_id
           WHERE r.tenant_id = $1 AND r.order_id = $2
           GROUP BY rl.order_line_id""",
        tenant_id,
        order_id,
    )
    return {row["order_line_id"]: row["quantity"] for row in rows}


async def refunded_so_far(db: Db, tenant_id: UUID, order_id: UUID) -> dict[UUID, Row]:
    """Per order line: the quantity, net, tax and total its refunds have given back."""
    rows = await db.fetch(
        """SELECT rl.order_line_id, sum(rl.quantity) AS quantity, sum(rl.net)::bigint AS net,
                  sum(rl.tax)::bigint AS tax, sum(rl.total)::bigint AS total
           FROM refund_lines rl JOIN refunds r
             ON r.tenant_id = rl.tenant_id AND r.refund_id = rl.refund_id
           WHERE r.tenant_id = $1 AND r.order_id = $2
           GROUP BY rl.order_line_id""",
        tenant_id,
        order_id,
    )
    return {row["order_line_id"]: row for row in rows}


async def set_order_refund_state(db: Db, tenant_id: UUID, order_id: UUID, state: str) -> int:
    version: int = await db.fetchval(
        """UPDATE orders SET state = $3, version = version + 1
           WHERE tenant_id = $1 AND order_id = $2 RETURNING version""",
        tenant_id,
        order_id,
        state,
    )
    return version


async def get_orders(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        "SELECT * FROM orders WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])",
        tenant_id,
        list(order_ids),
    )


async def list_orders(
    db: Db,
    tenant_id: UUID,
    *,
    register_id: UUID | None,
    session_id: UUID | None,
    business_date: date | None,
    state: str | None,
    before_seq: int | None,
    limit: int,
) -> list[Row]:
    return await db.fetch(
        """SELECT * FROM orders
           WHERE tenant_id = $1
             AND ($2::uuid IS NULL OR register_id = $2)
             AND ($3::uuid IS NULL OR session_id = $3)
             AND ($4::date IS NULL OR business_date = $4)
             AND ($5::text IS NULL OR state = $5)
             AND ($6::bigint IS NULL OR seq < $6)
           ORDER BY seq DESC LIMIT $7""",
        tenant_id,
        register_id,
        session_id,
        business_date,
        state,
        before_seq,
        limit,
    )


# Refunds.


async def get_refund_fingerprint(db: Db, tenant_id: UUID, refund_id: UUID) -> Row | None:
    return await db.fetchrow(
        "SELECT order_id, request_fingerprint FROM refunds WHERE tenant_id = $1 AND refund_id = $2",
        tenant_id,
        refund_id,
    )


async def insert_refund(
    db: Db, refund: dict[str, Any], lines: list[dict[str, Any]], payments: list[dict[str, Any]]
) -> None:
    await db.execute(
        """INSERT INTO refunds (tenant_id, refund_id, order_id, register_id, session_id,
                                business_date, created_at, currency, reason, net_total,
                                tax_total, total, created_by, request_fingerprint, source,
                                odoo_order_id, sync_state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                   $17)""",
        refund["tenant_id"],
        refund["refund_id"],
        refund["order_id"],
        refund["register_id"],
        refund["session_id"],
        refund["business_date"],
        refund["created_at"],
        refund["currency"],
        refund["reason"],
        refund["net_total"],
        refund["tax_total"],
        refund["total"],
        refund["created_by"],
        refund["request_fingerprint"],
        refund.get("source", "pos"),
        refund.get("odoo_order_id"),
        refund["sync_state"],
    )
    await db.executemany(
        """INSERT INTO refund_lines (refund_line_id, tenant_id, refund_id, order_line_id, position,
                                     quantity, net, tax, total)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        [
            (
                line["refund_line_id"],
                refund["tenant_id"],
                refund["refund_id"],
                line["order_line_id"],
                line["position"],
                line["quantity"],
                line["net"],
                line["tax"],
                line["total"],
            )
            for line in lines
        ],
    )
    await db.executemany(
        """INSERT INTO refund_payments (payment_id, tenant_id, refund_id, position, method, kind,
                                        odoo_payment_method_id, amount)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [
            (
                payment["payment_id"],
                refund["tenant_id"],
                refund["refund_id"],
                payment["position"],
                payment["method"],
                payment["kind"],
                payment["odoo_payment_method_id"],
                payment["amount"],
            )
            for payment in payments
        ],
    )


async def refunds_of_orders(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        """SELECT * FROM refunds WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])
           ORDER BY seq""",
        tenant_id,
        list(order_ids),
    )


async def refund_lines(db: Db, tenant_id: UUID, refund_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        """SELECT * FROM refund_lines WHERE tenant_id = $1 AND refund_id = ANY($2::uuid[])
           ORDER BY refund_id, position""",
        tenant_id,
        list(refund_ids),
    )


async def refund_payments(db: Db, tenant_id: UUID, refund_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        """SELECT * FROM refund_payments WHERE tenant_id = $1 AND refund_id = ANY($2::uuid[])
           ORDER BY refund_id, position""",
        tenant_id,
        list(refund_ids),
    )


# Odoo sync status, stamped from the connector's events.


# What the connector pushes to Odoo as a pos.order, with the table and key it is stamped on.
SyncedKind = Literal["order", "refund"]
_SYNCED_ROWS: dict[str, tuple[str, str]] = {
    "order": ("orders", "order_id"),
    "refund": ("refunds", "refund_id"),
}


async def mark_synced(
    db: Db,
    kind: SyncedKind,
    tenant_id: UUID,
    row_id: UUID,
    odoo_order_id: int,
    odoo_session_id: int | None,
) -> bool:
    table, key = _SYNCED_ROWS[kind]
    result = await db.execute(
        f"""UPDATE {table} SET sync_state = 'synced', sync_error = NULL, odoo_order_id = $3,
                               odoo_session_id = $4
            WHERE tenant_id = $1 AND {key} = $2""",
        tenant_id,
        row_id,
        odoo_order_id,
        odoo_session_id,
    )
    return str(result).endswith(" 1")


async def mark_sync_failed(
    db: Db, kind: SyncedKind, tenant_id: UUID, row_id: UUID, error: str
) -> bool:
    table, key = _SYNCED_ROWS[kind]
    # A late failure report never undoes a success.
    result = await db.execute(
        f"""UPDATE {table} SET sync_state = 'failed', sync_error = $3
            WHERE tenant_id = $1 AND {key} = $2 AND sync_state <> 'synced'""",
        tenant_id,
        row_id,
        error,
    )
    return str(result).endswith(" 1")


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


# Imported Odoo history.


async def lock_history_imports(db: Db, tenant_id: UUID) -> None:
    """Serializes a tenant's imports until commit, so two runs of a batch never both find a
    row new; the second sees what the first committed."""
    await db.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"orders-import:{tenant_id}"
    )


async def get_registers(db: Db, tenant_id: UUID, register_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        "SELECT * FROM registers WHERE tenant_id = $1 AND register_id = ANY($2::uuid[])",
        tenant_id,
        list(register_ids),
    )


async def get_sessions(db: Db, tenant_id: UUID, session_ids: Sequence[UUID]) -> list[Row]:
    return await db.fetch(
        "SELECT * FROM cash_sessions WHERE tenant_id = $1 AND session_id = ANY($2::uuid[])",
        tenant_id,
        list(session_ids),
    )


async def insert_imported_session(db: Db, session: dict[str, Any]) -> Row:
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
        session["session_id"],
        session["tenant_id"],
        session["register_id"],
        session["shop_id"],
        session["business_date"],
        session["currency"],
        session["opened_at"],
        session["opened_by"],
        session["opening_cash"],
        session["closed_at"],
        session["closed_by"],
        session["counted_cash"],
        session["odoo_session_id"],
        session["odoo_session_name"],
    )
    assert row is not None
    return row


async def set_expected_cash(db: Db, session_id: UUID, expected_cash: int) -> Row:
    row = await db.fetchrow(
        "UPDATE cash_sessions SET expected_cash = $2 WHERE session_id = $1 RETURNING *",
        session_id,
        expected_cash,
    )
    assert row is not None
    return row


async def orders_by_odoo_id(db: Db, tenant_id: UUID, odoo_order_ids: Sequence[int]) -> list[Row]:
    return await db.fetch(
        """SELECT order_id, odoo_order_id, source FROM orders
           WHERE tenant_id = $1 AND odoo_order_id = ANY($2::bigint[])""",
        tenant_id,
        list(odoo_order_ids),
    )


async def receipt_numbers_in_use(
    db: Db, register_ids: Sequence[UUID], receipt_numbers: Sequence[str]
) -> list[Row]:
    """Orders holding any of the (register, receipt number) pairs given position by position."""
    return await db.fetch(
        """SELECT o.register_id, o.receipt_number, o.order_id
           FROM orders o
           JOIN unnest($1::uuid[], $2::text[]) AS wanted (register_id, receipt_number)
             ON wanted.register_id = o.register_id AND wanted.receipt_number = o.receipt_number""",
        list(register_ids),
        list(receipt_numbers),
    )


async def existing_refund_ids(db: Db, tenant_id: UUID, refund_ids: Sequence[UUID]) -> set[UUID]:
    rows = await db.fetch(
        "SELECT refund_id FROM refunds WHERE tenant_id = $1 AND refund_id = ANY($2::uuid[])",
        tenant_id,
        list(refund_ids),
    )
    return {row["refund_id"] for row in rows}
