"""Reporting's SQL, beside the code that runs it: projections (writes) and reports (reads)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from shared.postgres import Db

Row = asyncpg.Record

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


# Event log and the per-tenant lock that keeps live projection and rebuild apart.

_LOG_EVENT = """
INSERT INTO event_log (event_id, tenant_id, event_type, event_version, occurred_at, aggregate_id,
                       aggregate_version, envelope)
SELECT $1::uuid, $2::uuid, $3::text, $4::integer, $5::timestamptz, $6::uuid, $7::bigint,
       $8::jsonb
FROM (SELECT pg_advisory_xact_lock_shared(hashtextextended('reporting:' || $2::uuid, 0))) AS lock
ON CONFLICT (event_id) DO NOTHING
RETURNING true
"""


async def log_event(
    db: Db,
    *,
    event_id: UUID,
    tenant_id: UUID,
    event_type: str,
    event_version: int,
    occurred_at: datetime,
    aggregate_id: UUID,
    aggregate_version: int,
    envelope: dict[str, Any],
) -> bool:
    """Appends a consumed event to the log (under the tenant's shared lock); False if known."""
    logged = await db.fetchval(
        _LOG_EVENT,
        event_id,
        tenant_id,
        event_type,
        event_version,
        occurred_at,
        aggregate_id,
        aggregate_version,
        envelope,
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
    db: Db, tenant_id: UUID, after: tuple[datetime, int, UUID] | None, limit: int
) -> list[Row]:
    """The tenant's log in replay order, one keyset page at a time."""
    if after is None:
        return await db.fetch(
            """SELECT event_id, occurred_at, aggregate_version, envelope FROM event_log
               WHERE tenant_id = $1
               ORDER BY occurred_at, aggregate_version, event_id LIMIT $2""",
            tenant_id,
            limit,
        )
    return await db.fetch(
        """SELECT event_id, occurred_at, aggregate_version, envelope FROM event_log
           WHERE tenant_id = $1 AND (occurred_at, aggregate_version, event_id) > ($2, $3, $4)
           ORDER BY occurred_at, aggregate_version, event_id LIMIT $5""",
        tenant_id,
        *after,
        limit,
    )


# Reference data.


async def upsert_tenant(
    db: Db,
    *,
    tenant_id: UUID,
    name: str,
    tier: str,
    currency: str,
    timezone: str,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO tenants (tenant_id, name, tier, currency, timezone, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id) DO UPDATE
           SET name = excluded.name, tier = excluded.tier, currency = excluded.currency,
               timezone = excluded.timezone, version = excluded.version
           WHERE tenants.version < excluded.version""",
        tenant_id,
        name,
        tier,
        currency,
        timezone,
        version,
    )


# A shop event sets info_at to infinity, so no register event's copy of the shop overwrites it.
async def upsert_shop_from_shop_event(
    db: Db,
    *,
    tenant_id: UUID,
    shop_id: UUID,
    name: str,
    currency: str,
    timezone: str,
    cutoff: time,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO shops (tenant_id, shop_id, name, currency, timezone, business_day_cutoff,
                              version, info_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'infinity')
           ON CONFLICT (tenant_id, shop_id) DO UPDATE
           SET name = excluded.name, currency = excluded.currency, timezone = excluded.timezone,
               business_day_cutoff = excluded.business_day_cutoff, version = excluded.version,
               info_at = excluded.info_at
           WHERE shops.version < excluded.version""",
        tenant_id,
        shop_id,
        name,
        currency,
        timezone,
        cutoff,
        version,
    )


async def upsert_shop_from_register_event(
    db: Db,
    *,
    tenant_id: UUID,
    shop_id: UUID,
    name: str | None,
    currency: str,
    timezone: str,
    cutoff: time,
    info_at: datetime,
) -> None:
    """A register event's copy of its shop, used only until the shop's own events arrive."""
    await db.execute(
        """INSERT INTO shops (tenant_id, shop_id, name, currency, timezone, business_day_cutoff,
                              version, info_at)
           VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
           ON CONFLICT (tenant_id, shop_id) DO UPDATE
           SET name = COALESCE(excluded.name, shops.name), currency = excluded.currency,
               timezone = excluded.timezone, business_day_cutoff = excluded.business_day_cutoff,
               info_at = excluded.info_at
           WHERE shops.version = 0 AND shops.info_at < excluded.info_at""",
        tenant_id,
        shop_id,
        name,
        currency,
        timezone,
        cutoff,
        info_at,
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
    tier: str,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO registers (tenant_id, register_id, shop_id, name, receipt_prefix, active,
                                  tier, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, register_id) DO UPDATE
           SET shop_id = excluded.shop_id, name = excluded.name,
               receipt_prefix = excluded.receipt_prefix, active = excluded.active,
               tier = excluded.tier, version = excluded.version
           WHERE registers.version < excluded.version""",
        tenant_id,
        register_id,
        shop_id,
        name,
        receipt_prefix,
        active,
        tier,
        version,
    )


async def upsert_payment_method(
    db: Db,
    *,
    tenant_id: UUID,
    payment_method_id: UUID,
    code: str,
    name: str,
    kind: str,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO payment_methods (tenant_id, payment_method_id, code, name, kind, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id, payment_method_id) DO UPDATE
           SET code = excluded.code, name = excluded.name, kind = excluded.kind,
               version = excluded.version
           WHERE payment_methods.version < excluded.version""",
        tenant_id,
        payment_method_id,
        code,
        name,
        kind,
        version,
    )


async def upsert_session(db: Db, session: dict[str, Any]) -> None:
    """Applies a session state if it is newer than the one held (closed outranks opened)."""
    await db.execute(
        """INSERT INTO sessions (tenant_id, session_id, register_id, shop_id, business_date, state,
                                 currency, opened_at, opened_by, opening_cash, closed_at,
                                 closed_by, expected_cash, counted_cash, closing_note, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT (tenant_id, session_id) DO UPDATE
           SET register_id = excluded.register_id, shop_id = excluded.shop_id,
               business_date = excluded.business_date, state = excluded.state,
               currency = excluded.currency, opened_at = excluded.opened_at,
               opened_by = excluded.opened_by, opening_cash = excluded.opening_cash,
               closed_at = excluded.closed_at, closed_by = excluded.closed_by,
               expected_cash = excluded.expected_cash, counted_cash = excluded.counted_cash,
               closing_note = excluded.closing_note, version = excluded.version
           WHERE sessions.version < excluded.version""",
        session["tenant_id"],
        session["session_id"],
        session["register_id"],
        session["shop_id"],
        session["business_date"],
        session["state"],
        session["currency"],
        session["opened_at"],
        session["opened_by"],
        session["opening_cash"],
        session.get("closed_at"),
        session.get("closed_by"),
        session.get("expected_cash"),
        session.get("counted_cash"),
        session.get("closing_note"),
        session["version"],
    )


# Facts and their rollups. One statement per event: the fact insert returns a row only the first
# time, and every other insert and rollup increment in the statement hangs off that row.

_PLACE_ORDER = """
WITH new_order AS (
    INSERT INTO order_facts (tenant_id, order_id, shop_id, register_id, session_id, business_date,
                             created_at, receipt_number, currency, gross, discount, net_total,
                             tax_total, total, source, receipt_sequence)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $32)
    ON CONFLICT (tenant_id, order_id) DO NOTHING
    RETURNING tenant_id, order_id, shop_id, register_id, session_id, business_date
),
line AS (
    SELECT * FROM unnest($17::uuid[], $18::text[], $19::text[], $20::numeric[], $21::bigint[],
                         $22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[],
                         $26::numeric[], $27::boolean[])
        AS l(line_id, product_ref, product_name, quantity, gross, discount, net, tax, total,
             tax_rate_percent, prices_include_tax)
),
payment AS (
    SELECT * FROM unnest($28::uuid[], $29::text[], $30::text[], $31::bigint[])
        AS p(payment_id, method, kind, amount)
),
lines_in AS (
    INSERT INTO order_line_facts (tenant_id, line_id, order_id, session_id, product_ref,
                                  product_name, quantity, gross, discount, net, tax, total,
                                  tax_rate_percent, prices_include_tax)
    SELECT o.tenant_id, l.line_id, o.order_id, o.session_id, l.product_ref, l.product_name,
           l.quantity, l.gross, l.discount, l.net, l.tax, l.total, l.tax_rate_percent,
           l.prices_include_tax
    FROM new_order o CROSS JOIN line l
    ON CONFLICT DO NOTHING
),
payments_in AS (
    INSERT INTO payment_facts (tenant_id, payment_id, direction, parent_id, session_id, method,
                               kind, amount)
    SELECT o.tenant_id, p.payment_id, 'sale', o.order_id, o.session_id, p.method, p.kind,
           p.amount
    FROM new_order o CROSS JOIN payment p
    ON CONFLICT DO NOTHING
),
slot_in AS (
    INSERT INTO sales_slots AS s (tenant_id, shop_id, business_date, register_id, slot,
                                  order_count, gross, sales_tax, discounts)
    SELECT o.tenant_id, o.shop_id, o.business_date, o.register_id, $16, 1, $14, $13, $11
    FROM new_order o
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, slot) DO UPDATE
    SET order_count = s.order_count + 1, gross = s.gross + excluded.gross,
        sales_tax = s.sales_tax + excluded.sales_tax, discounts = s.discounts + excluded.discounts
),
payment_totals_in AS (
    INSERT INTO payment_totals AS t (tenant_id, shop_id, business_date, register_id, method,
                                     kind, sale_count, sales, orders_paid)
    SELECT o.tenant_id, o.shop_id, o.business_date, o.register_id, p.method, p.kind,
           count(*), sum(p.amount), 1
    FROM new_order o CROSS JOIN payment p
    GROUP BY o.tenant_id, o.shop_id, o.business_date, o.register_id, p.method, p.kind
    ORDER BY p.method, p.kind
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, method, kind) DO UPDATE
    SET sale_count = t.sale_count + excluded.sale_count, sales = t.sales + excluded.sales,
        orders_paid = t.orders_paid + 1
),
product_totals_in AS (
    INSERT INTO product_totals AS t (tenant_id, shop_id, business_date, product_ref,
                                     product_name, quantity, gross, discounts, total,
                                     order_count, sales_tax)
    SELECT o.tenant_id, o.shop_id, o.business_date, l.product_ref, max(l.product_name),
           sum(l.quantity), sum(l.gross), sum(l.discount), sum(l.total), 1, sum(l.tax)
    FROM new_order o CROSS JOIN line l
    GROUP BY o.tenant_id, o.shop_id, o.business_date, l.product_ref
    ORDER BY l.product_ref
    ON CONFLICT (tenant_id, shop_id, business_date, product_ref) DO UPDATE
    SET product_name = GREATEST(t.product_name, excluded.product_name),
        quantity = t.quantity + excluded.quantity, gross = t.gross + excluded.gross,
        discounts = t.discounts + excluded.discounts, total = t.total + excluded.total,
        order_count = t.order_count + 1, sales_tax = t.sales_tax + excluded.sales_tax
),
day_in AS (
    INSERT INTO daily_totals AS d (tenant_id, shop_id, business_date, register_id, order_count,
                                   gross, sales_tax, discounts, synced_count, failed_count)
    SELECT o.tenant_id, o.shop_id, o.business_date, o.register_id, 1, $14, $13, $11,
           (SELECT count(*) FROM order_sync y
            WHERE y.tenant_id = $1 AND y.order_id = $2 AND y.state = 'synced'),
           (SELECT count(*) FROM order_sync y
            WHERE y.tenant_id = $1 AND y.order_id = $2 AND y.state = 'failed')
    FROM new_order o
    ON CONFLICT (tenant_id, shop_id, business_date, register_id) DO UPDATE
    SET order_count = d.order_count + 1, gross = d.gross + excluded.gross,
        sales_tax = d.sales_tax + excluded.sales_tax, discounts = d.discounts + excluded.discounts,
        synced_count = d.synced_count + excluded.synced_count,
        failed_count = d.failed_count + excluded.failed_count
),
shop_in AS (
    INSERT INTO shops (tenant_id, shop_id, currency)
    SELECT o.tenant_id, o.shop_id, $9 FROM new_order o
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM new_order
"""


async def place_order(
    db: Db,
    order: dict[str, Any],
    lines: Sequence[dict[str, Any]],
    payments: Sequence[dict[str, Any]],
    slot: datetime,
) -> bool:
    """Records an order with its lines, payments and rollups; False if it was already there."""
    inserted = await db.fetchval(
        _PLACE_ORDER,
        order["tenant_id"],
        order["order_id"],
        order["shop_id"],
        order["register_id"],
        order["session_id"],
        order["business_date"],
        order["created_at"],
        order["receipt_number"],
        order["currency"],
        order["gross"],
        order["discount"],
        order["net_total"],
        order["tax_total"],
        order["total"],
        order["source"],
        slot,
        [line["line_id"] for line in lines],
        [line["product_ref"] for line in lines],
        [line["product_name"] for line in lines],
        [line["quantity"] for line in lines],
        [line["gross"] for line in lines],
        [line["discount"] for line in lines],
        [line["net"] for line in lines],
        [line["tax"] for line in lines],
        [line["total"] for line in lines],
        [line["tax_rate_percent"] for line in lines],
        [line["prices_include_tax"] for line in lines],
        [p["payment_id"] for p in payments],
        [p["method"] for p in payments],
        [p["kind"] for p in payments],
        [p["amount"] for p in payments],
        order["receipt_sequence"],
    )
    return bool(inserted)


_REFUND = """
WITH new_refund AS (
    INSERT INTO refund_facts (tenant_id, refund_id, order_id, shop_id, register_id, session_id,
                              business_date, created_at, currency, reason, net_total, tax_total,
                              total)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (tenant_id, refund_id) DO NOTHING
    RETURNING tenant_id, refund_id, shop_id, register_id, session_id, business_date
),
line AS (
    SELECT * FROM unnest($15::uuid[], $16::uuid[], $17::text[], $18::numeric[], $19::bigint[],
                         $20::bigint[], $21::bigint[])
        AS l(refund_line_id, order_line_id, product_ref, quantity, net, tax, total)
),
payment AS (
    SELECT * FROM unnest($22::uuid[], $23::text[], $24::text[], $25::bigint[])
        AS p(payment_id, method, kind, amount)
),
lines_in AS (
    INSERT INTO refund_line_facts (tenant_id, refund_line_id, refund_id, order_line_id,
                                   session_id, product_ref, quantity, net, tax, total)
    SELECT r.tenant_id, l.refund_line_id, r.refund_id, l.order_line_id, r.session_id,
           l.product_ref, l.quantity, l.net, l.tax, l.total
    FROM new_refund r CROSS JOIN line l
    ON CONFLICT DO NOTHING
),
payments_in AS (
    INSERT INTO payment_facts (tenant_id, payment_id, direction, parent_id, session_id, method,
                               kind, amount)
    SELECT r.tenant_id, p.payment_id, 'refund', r.refund_id, r.session_id, p.method, p.kind,
           p.amount
    FROM new_refund r CROSS JOIN payment p
    ON CONFLICT DO NOTHING
),
slot_in AS (
    INSERT INTO sales_slots AS s (tenant_id, shop_id, business_date, register_id, slot,
                                  refund_count, refunds, refunds_tax)
    SELECT r.tenant_id, r.shop_id, r.business_date, r.register_id, $14, 1, $13, $12
    FROM new_refund r
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, slot) DO UPDATE
    SET refund_count = s.refund_count + 1, refunds = s.refunds + excluded.refunds,
        refunds_tax = s.refunds_tax + excluded.refunds_tax
),
payment_totals_in AS (
    INSERT INTO payment_totals AS t (tenant_id, shop_id, business_date, register_id, method,
                                     kind, refund_count, refunds, refunds_paid)
    SELECT r.tenant_id, r.shop_id, r.business_date, r.register_id, p.method, p.kind,
           count(*), sum(p.amount), 1
    FROM new_refund r CROSS JOIN payment p
    GROUP BY r.tenant_id, r.shop_id, r.business_date, r.register_id, p.method, p.kind
    ORDER BY p.method, p.kind
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, method, kind) DO UPDATE
    SET refund_count = t.refund_count + excluded.refund_count,
        refunds = t.refunds + excluded.refunds, refunds_paid = t.refunds_paid + 1
),
product_totals_in AS (
    INSERT INTO product_totals AS t (tenant_id, shop_id, business_date, product_ref,
                                     product_name, refund_quantity, refunds, refund_count,
                                     refunds_tax)
    SELECT r.tenant_id, r.shop_id, r.business_date, l.product_ref, '', sum(l.quantity),
           sum(l.total), 1, sum(l.tax)
    FROM new_refund r CROSS JOIN line l
    GROUP BY r.tenant_id, r.shop_id, r.business_date, l.product_ref
    ORDER BY l.product_ref
    ON CONFLICT (tenant_id, shop_id, business_date, product_ref) DO UPDATE
    SET refund_quantity = t.refund_quantity + excluded.refund_quantity,
        refunds = t.refunds + excluded.refunds, refund_count = t.refund_count + 1,
        refunds_tax = t.refunds_tax + excluded.refunds_tax
),
day_in AS (
    INSERT INTO daily_totals AS d (tenant_id, shop_id, business_date, register_id, refund_count,
                                   refunds, refunds_tax)
    SELECT r.tenant_id, r.shop_id, r.business_date, r.register_id, 1, $13, $12
    FROM new_refund r
    ON CONFLICT (tenant_id, shop_id, business_date, register_id) DO UPDATE
    SET refund_count = d.refund_count + 1, refunds = d.refunds + excluded.refunds,
        refunds_tax = d.refunds_tax + excluded.refunds_tax
),
shop_in AS (
    INSERT INTO shops (tenant_id, shop_id, currency)
    SELECT r.tenant_id, r.shop_id, $9 FROM new_refund r
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM new_refund
"""


async def record_refund(
    db: Db,
    refund: dict[str, Any],
    lines: Sequence[dict[str, Any]],
    payments: Sequence[dict[str, Any]],
    slot: datetime,
) -> bool:
    """Records a refund with its lines, payments and rollups; False if it was already there."""
    inserted = await db.fetchval(
        _REFUND,
        refund["tenant_id"],
        refund["refund_id"],
        refund["order_id"],
        refund["shop_id"],
        refund["register_id"],
        refund["session_id"],
        refund["business_date"],
        refund["created_at"],
        refund["currency"],
        refund["reason"],
        refund["net_total"],
        refund["tax_total"],
        refund["total"],
        slot,
        [line["refund_line_id"] for line in lines],
        [line["order_line_id"] for line in lines],
        [line["product_ref"] for line in lines],
        [line["quantity"] for line in lines],
        [line["net"] for line in lines],
        [line["tax"] for line in lines],
        [line["total"] for line in lines],
        [p["payment_id"] for p in payments],
        [p["method"] for p in payments],
        [p["kind"] for p in payments],
        [p["amount"] for p in payments],
    )
    return bool(inserted)


async def lock_order(db: Db, order_id: UUID) -> None:
    """Serializes an order's placement with its sync verdicts, so neither misses the other."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 7))", order_id)


async def order_sync_state(db: Db, tenant_id: UUID, order_id: UUID) -> str | None:
    state: str | None = await db.fetchval(
        "SELECT state FROM order_sync WHERE tenant_id = $1 AND order_id = $2", tenant_id, order_id
    )
    return state


async def move_sync_count(
    db: Db, tenant_id: UUID, order_id: UUID, before: str | None, after: str | None
) -> None:
    """Moves an order from one sync count of its day to another (if the order is known yet)."""
    await db.execute(
        """UPDATE daily_totals d
           SET synced_count = d.synced_count + (($4::text = 'synced')::int)
                                             - ((COALESCE($3::text, '') = 'synced')::int),
               failed_count = d.failed_count + (($4::text = 'failed')::int)
                                             - ((COALESCE($3::text, '') = 'failed')::int)
           FROM order_facts o
           WHERE o.tenant_id = $1 AND o.order_id = $2
             AND d.tenant_id = o.tenant_id AND d.shop_id = o.shop_id
             AND d.business_date = o.business_date AND d.register_id = o.register_id""",
        tenant_id,
        order_id,
        before,
        after,
    )


async def mark_order_synced(db: Db, tenant_id: UUID, order_id: UUID, odoo_order_id: int) -> None:
    await db.execute(
        """INSERT INTO order_sync (tenant_id, order_id, state, odoo_order_id)
           VALUES ($1, $2, 'synced', $3)
           ON CONFLICT (tenant_id, order_id) DO UPDATE
           SET state = 'synced', odoo_order_id = excluded.odoo_order_id, error = NULL""",
        tenant_id,
        order_id,
        odoo_order_id,
    )


async def mark_order_sync_failed(db: Db, tenant_id: UUID, order_id: UUID, error: str) -> None:
    # Synced is final: a failure reported before a later success never undoes it.
    await db.execute(
        """INSERT INTO order_sync (tenant_id, order_id, state, error)
           VALUES ($1, $2, 'failed', $3)
           ON CONFLICT (tenant_id, order_id) DO UPDATE
           SET state = 'failed', error = excluded.error
           WHERE order_sync.state <> 'synced'""",
        tenant_id,
        order_id,
        error,
    )


# Reads.


async def get_shop(db: Db, tenant_id: UUID, shop_id: UUID) -> Row | None:
    return await db.fetchrow(
        """SELECT s.shop_id, s.name, s.currency, s.timezone, s.business_day_cutoff,
                  t.name AS tenant_name, t.timezone AS tenant_timezone, t.currency AS
                  tenant_currency, t.tier AS tenant_tier
           FROM shops s LEFT JOIN tenants t ON t.tenant_id = s.tenant_id
           WHERE s.tenant_id = $1 AND s.shop_id = $2""",
        tenant_id,
        shop_id,
    )


async def day_totals_by_register(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date
) -> list[Row]:
    return await db.fetch(
        """SELECT register_id, sum(order_count)::bigint AS order_count, sum(gross)::bigint AS gross,
                  sum(refund_count)::bigint AS refund_count, sum(refunds)::bigint AS refunds,
                  sum(sales_tax)::bigint AS sales_tax, sum(refunds_tax)::bigint AS refunds_tax,
                  sum(discounts)::bigint AS discounts, sum(order_count)::bigint AS orders,
                  sum(synced_count)::bigint AS synced, sum(failed_count)::bigint AS failed
           FROM daily_totals
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date BETWEEN $3 AND $4
           GROUP BY register_id""",
        tenant_id,
        shop_id,
        first,
        last,
    )


async def totals_by_day(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date
) -> list[Row]:
    return await db.fetch(
        """SELECT business_date, sum(order_count)::bigint AS order_count,
                  sum(gross)::bigint AS gross, sum(refund_count)::bigint AS refund_count,
                  sum(refunds)::bigint AS refunds, sum(sales_tax)::bigint AS sales_tax,
                  sum(refunds_tax)::bigint AS refunds_tax, sum(discounts)::bigint AS discounts
           FROM daily_totals
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date BETWEEN $3 AND $4
           GROUP BY business_date ORDER BY business_date""",
        tenant_id,
        shop_id,
        first,
        last,
    )


async def totals_by_local_hour(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date, timezone: str
) -> list[Row]:
    return await db.fetch(
        """SELECT extract(hour FROM slot AT TIME ZONE $5)::int AS hour,
                  sum(order_count)::bigint AS order_count, sum(gross)::bigint AS gross,
                  sum(refund_count)::bigint AS refund_count, sum(refunds)::bigint AS refunds,
                  sum(sales_tax)::bigint AS sales_tax, sum(refunds_tax)::bigint AS refunds_tax,
                  sum(discounts)::bigint AS discounts
           FROM sales_slots
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date BETWEEN $3 AND $4
           GROUP BY 1""",
        tenant_id,
        shop_id,
        first,
        last,
        timezone,
    )


async def payment_method_totals(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date
) -> list[Row]:
    return await db.fetch(
        """SELECT t.method, t.kind, m.payment_method_id, m.name,
                  sum(sale_count)::bigint AS sale_count, sum(sales)::bigint AS sales,
                  sum(refund_count)::bigint AS refund_count, sum(refunds)::bigint AS refunds,
                  sum(orders_paid)::bigint AS orders_paid, sum(refunds_paid)::bigint
                  AS refunds_paid
           FROM payment_totals t
           LEFT JOIN payment_methods m ON m.tenant_id = t.tenant_id AND m.code = t.method
           WHERE t.tenant_id = $1 AND shop_id = $2 AND business_date BETWEEN $3 AND $4
           GROUP BY t.method, t.kind, m.payment_method_id, m.name
           ORDER BY sum(sales) - sum(refunds) DESC, t.method, t.kind""",
        tenant_id,
        shop_id,
        first,
        last,
    )


async def product_totals(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date, limit: int | None
) -> list[Row]:
    return await db.fetch(
        """SELECT product_ref, max(product_name) AS product_name, sum(quantity) AS quantity,
                  sum(gross)::bigint AS gross, sum(discounts)::bigint AS discounts,
                  sum(total)::bigint AS total, sum(refund_quantity) AS refund_quantity,
                  sum(refunds)::bigint AS refunds, sum(order_count)::bigint AS order_count,
                  sum(refund_count)::bigint AS refund_count,
                  sum(sales_tax)::bigint AS sales_tax, sum(refunds_tax)::bigint AS refunds_tax
           FROM product_totals
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date BETWEEN $3 AND $4
           GROUP BY product_ref ORDER BY sum(total) - sum(refunds) DESC, product_ref
           LIMIT $5""",
        tenant_id,
        shop_id,
        first,
        last,
        limit,
    )


async def refunds_of_day(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> list[Row]:
    return await db.fetch(
        """SELECT refund_id, order_id, register_id, session_id, created_at, reason, total,
                  tax_total
           FROM refund_facts
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3
           ORDER BY created_at, refund_id""",
        tenant_id,
        shop_id,
        day,
    )


async def registers_of_shop(
    db: Db, tenant_id: UUID, shop_id: UUID, also: Sequence[UUID]
) -> list[Row]:
    """The shop's active registers, plus any others the figures mention (possibly unnamed)."""
    return await db.fetch(
        """SELECT r.register_id, g.name, g.receipt_prefix, COALESCE(g.active, true) AS active,
                  g.tier
           FROM (SELECT register_id FROM registers
                 WHERE tenant_id = $1 AND shop_id = $2 AND active
                 UNION SELECT unnest($3::uuid[])) AS r
           LEFT JOIN registers g ON g.tenant_id = $1 AND g.register_id = r.register_id
           ORDER BY g.name NULLS LAST, r.register_id""",
        tenant_id,
        shop_id,
        list(also),
    )


async def open_sessions_of_shop(
    db: Db, tenant_id: UUID, shop_id: UUID, up_to: date | None = None
) -> list[Row]:
    return await db.fetch(
        """SELECT session_id, register_id, business_date, opened_at, opened_by, opening_cash
           FROM sessions
           WHERE tenant_id = $1 AND shop_id = $2 AND state = 'open'
             AND ($3::date IS NULL OR business_date <= $3)
           ORDER BY opened_at""",
        tenant_id,
        shop_id,
        up_to,
    )


async def sessions_of_day(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> list[Row]:
    return await db.fetch(
        """SELECT session_id, register_id, state, opened_at, closed_at, opened_by, closed_by,
                  opening_cash, expected_cash, counted_cash
           FROM sessions
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3
           ORDER BY opened_at""",
        tenant_id,
        shop_id,
        day,
    )


async def session_takings(db: Db, tenant_id: UUID, session_ids: Sequence[UUID]) -> list[Row]:
    """Per session: orders, sales, refunds, and cash in and out (for the expected drawer)."""
    return await db.fetch(
        """SELECT s.id AS session_id,
                  (SELECT count(*) FROM order_facts o
                   WHERE o.tenant_id = $1 AND o.session_id = s.id) AS order_count,
                  (SELECT COALESCE(sum(total), 0)::bigint FROM order_facts o
                   WHERE o.tenant_id = $1 AND o.session_id = s.id) AS gross,
                  (SELECT count(*) FROM refund_facts r
                   WHERE r.tenant_id = $1 AND r.session_id = s.id) AS refund_count,
                  (SELECT COALESCE(sum(total), 0)::bigint FROM refund_facts r
                   WHERE r.tenant_id = $1 AND r.session_id = s.id) AS refunds
           FROM unnest($2::uuid[]) AS s(id)""",
        tenant_id,
        list(session_ids),
    )


async def last_order_at(db: Db, tenant_id: UUID, register_ids: Sequence[UUID]) -> list[Row]:
    # One index probe per register, rather than scanning a register's whole history.
    return await db.fetch(
        """SELECT r.id AS register_id,
                  (SELECT created_at FROM order_facts o
                   WHERE o.tenant_id = $1 AND o.register_id = r.id
                   ORDER BY created_at DESC LIMIT 1) AS last_order_at
           FROM unnest($2::uuid[]) AS r(id)""",
        tenant_id,
        list(register_ids),
    )


# The session (X/Z) report.


async def get_session(db: Db, tenant_id: UUID, session_id: UUID) -> Row | None:
    return await db.fetchrow(
        """SELECT s.*, r.name AS register_name, r.receipt_prefix, r.tier AS register_tier,
                  sh.name AS shop_name, sh.timezone, sh.business_day_cutoff,
                  t.name AS tenant_name, t.tier AS tenant_tier
           FROM sessions s
           LEFT JOIN registers r ON r.tenant_id = s.tenant_id AND r.register_id = s.register_id
           LEFT JOIN shops sh ON sh.tenant_id = s.tenant_id AND sh.shop_id = s.shop_id
           LEFT JOIN tenants t ON t.tenant_id = s.tenant_id
           WHERE s.tenant_id = $1 AND s.session_id = $2""",
        tenant_id,
        session_id,
    )


async def session_order_summary(db: Db, tenant_id: UUID, session_id: UUID) -> Row:
    row = await db.fetchrow(
        """SELECT count(*) AS order_count, COALESCE(sum(gross), 0)::bigint AS gross_sales,
                  COALESCE(sum(discount), 0)::bigint AS discounts,
                  count(*) FILTER (WHERE discount > 0) AS discounted_order_count,
                  COALESCE(sum(net_total), 0)::bigint AS net, COALESCE(sum(tax_total), 0)::bigint
                  AS tax, COALESCE(sum(total), 0)::bigint AS total,
                  (array_agg(receipt_number ORDER BY receipt_sequence NULLS LAST, created_at,
                                                     receipt_number))[1] AS first_receipt,
                  (array_agg(receipt_number ORDER BY receipt_sequence DESC NULLS LAST,
                                                     created_at DESC, receipt_number DESC))[1]
                      AS last_receipt,
                  count(o.order_id) FILTER (WHERE sy.state = 'synced') AS synced,
                  count(o.order_id) FILTER (WHERE sy.state = 'failed') AS failed
           FROM order_facts o
           LEFT JOIN order_sync sy ON sy.tenant_id = o.tenant_id AND sy.order_id = o.order_id
           WHERE o.tenant_id = $1 AND o.session_id = $2""",
        tenant_id,
        session_id,
    )
    assert row is not None
    return row


async def session_refund_summary(db: Db, tenant_id: UUID, session_id: UUID) -> Row:
    row = await db.fetchrow(
        """SELECT count(*) AS refund_count, COALESCE(sum(net_total), 0)::bigint AS net,
                  COALESCE(sum(tax_total), 0)::bigint AS tax,
                  COALESCE(sum(total), 0)::bigint AS total
           FROM refund_facts WHERE tenant_id = $1 AND session_id = $2""",
        tenant_id,
        session_id,
    )
    assert row is not None
    return row


async def session_tenders(db: Db, tenant_id: UUID, session_id: UUID) -> list[Row]:
    return await db.fetch(
        """SELECT method, kind,
                  count(*) FILTER (WHERE direction = 'sale') AS sale_count,
                  COALESCE(sum(amount) FILTER (WHERE direction = 'sale'), 0)::bigint AS sales,
                  count(*) FILTER (WHERE direction = 'refund') AS refund_count,
                  COALESCE(sum(amount) FILTER (WHERE direction = 'refund'), 0)::bigint AS refunds
           FROM payment_facts WHERE tenant_id = $1 AND session_id = $2
           GROUP BY method, kind ORDER BY method, kind""",
        tenant_id,
        session_id,
    )


async def session_products(db: Db, tenant_id: UUID, session_id: UUID) -> list[Row]:
    return await db.fetch(
        """WITH sold AS (
               SELECT product_ref, max(product_name) AS product_name, sum(quantity) AS quantity,
                      sum(gross)::bigint AS gross, sum(discount)::bigint AS discounts,
                      sum(total)::bigint AS total
               FROM order_line_facts WHERE tenant_id = $1 AND session_id = $2
               GROUP BY product_ref),
           returned AS (
               -- A product given back in a session that did not sell it is named by its sale.
               SELECT r.product_ref, max(ol.product_name) AS product_name,
                      sum(r.quantity) AS refund_quantity, sum(r.total)::bigint AS refunds
               FROM refund_line_facts r
               LEFT JOIN order_line_facts ol
                   ON ol.tenant_id = r.tenant_id AND ol.line_id = r.order_line_id
               WHERE r.tenant_id = $1 AND r.session_id = $2
               GROUP BY r.product_ref)
           SELECT product_ref,
                  COALESCE(s.product_name, r.product_name, product_ref) AS product_name,
                  COALESCE(s.quantity, 0) AS quantity, COALESCE(s.gross, 0) AS gross,
                  COALESCE(s.discounts, 0) AS discounts, COALESCE(s.total, 0) AS total,
                  COALESCE(r.refund_quantity, 0) AS refund_quantity,
                  COALESCE(r.refunds, 0) AS refunds
           FROM sold s FULL JOIN returned r USING (product_ref)
           ORDER BY COALESCE(s.total, 0) - COALESCE(r.refunds, 0) DESC, product_ref""",
        tenant_id,
        session_id,
    )


# The tax summary (pos-domain 4.3): one row per rate and inclusive flag. A refund line's rate is
# that of the order line it refunds, whatever session or day sold it; NULL while that order has
# not arrived, so the rows always add up to the report's tax total.
_TAX_ROWS = """
SELECT rate, inclusive,
       COALESCE(sum(net) FILTER (WHERE NOT refund), 0)::bigint AS sales_base,
       COALESCE(sum(tax) FILTER (WHERE NOT refund), 0)::bigint AS sales_tax,
       COALESCE(sum(net) FILTER (WHERE refund), 0)::bigint AS refund_base,
       COALESCE(sum(tax) FILTER (WHERE refund), 0)::bigint AS refund_tax
FROM ({sold} UNION ALL {returned}) AS line (rate, inclusive, refund, net, tax)
GROUP BY rate, inclusive
ORDER BY rate NULLS LAST, inclusive NULLS LAST
"""

_RATE_OF_REFUNDED_LINE = """LEFT JOIN order_line_facts sold
    ON sold.tenant_id = r.tenant_id AND sold.line_id = r.order_line_id"""

_SESSION_TAX_ROWS = _TAX_ROWS.format(
    sold="""SELECT tax_rate_percent, prices_include_tax, false, net, tax
            FROM order_line_facts WHERE tenant_id = $1 AND session_id = $2""",
    returned=f"""SELECT sold.tax_rate_percent, sold.prices_include_tax, true, r.net, r.tax
                 FROM refund_line_facts r {_RATE_OF_REFUNDED_LINE}
                 WHERE r.tenant_id = $1 AND r.session_id = $2""",
)

_DAY_TAX_ROWS = _TAX_ROWS.format(
    sold="""SELECT l.tax_rate_percent, l.prices_include_tax, false, l.net, l.tax
            FROM order_facts o
            JOIN order_line_facts l ON l.tenant_id = o.tenant_id AND l.order_id = o.order_id
            WHERE o.tenant_id = $1 AND o.shop_id = $2 AND o.business_date = $3""",
    returned=f"""SELECT sold.tax_rate_percent, sold.prices_include_tax, true, r.net, r.tax
                 FROM refund_facts f
                 JOIN refund_line_facts r
                     ON r.tenant_id = f.tenant_id AND r.refund_id = f.refund_id
                 {_RATE_OF_REFUNDED_LINE}
                 WHERE f.tenant_id = $1 AND f.shop_id = $2 AND f.business_date = $3""",
)


async def session_taxes(db: Db, tenant_id: UUID, session_id: UUID) -> list[Row]:
    return await db.fetch(_SESSION_TAX_ROWS, tenant_id, session_id)


async def day_taxes(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> list[Row]:
    """By the business date of each order and refund, as the day's other totals are."""
    return await db.fetch(_DAY_TAX_ROWS, tenant_id, shop_id, day)


async def session_hours(db: Db, tenant_id: UUID, session_id: UUID, timezone: str) -> list[Row]:
    return await db.fetch(
        """SELECT hour, sum(order_count)::bigint AS order_count, sum(gross)::bigint AS gross,
                  sum(refund_count)::bigint AS refund_count, sum(refunds)::bigint AS refunds
           FROM (SELECT extract(hour FROM created_at AT TIME ZONE $3)::int AS hour,
                        1 AS order_count, total AS gross, 0 AS refund_count, 0 AS refunds
                 FROM order_facts WHERE tenant_id = $1 AND session_id = $2
                 UNION ALL
                 SELECT extract(hour FROM created_at AT TIME ZONE $3)::int, 0, 0, 1, total
                 FROM refund_facts WHERE tenant_id = $1 AND session_id = $2) AS f
           GROUP BY hour""",
        tenant_id,
        session_id,
        timezone,
    )


# Chat configuration and notifications.


async def upsert_chat_config(
    db: Db,
    *,
    tenant_id: UUID,
    bot_token_encrypted: str,
    chat_id: str,
    daily_report_time: time,
    enabled: bool,
    updated_by: str,
) -> Row:
    row = await db.fetchrow(
        """INSERT INTO chat_configs (tenant_id, bot_token_encrypted, chat_id, daily_report_time,
                                     enabled, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id) DO UPDATE
           SET bot_token_encrypted = excluded.bot_token_encrypted, chat_id = excluded.chat_id,
               daily_report_time = excluded.daily_report_time, enabled = excluded.enabled,
               updated_by = excluded.updated_by, updated_at = now()
           RETURNING *""",
        tenant_id,
        bot_token_encrypted,
        chat_id,
        daily_report_time,
        enabled,
        updated_by,
    )
    assert row is not None
    return row


async def get_chat_config(db: Db, tenant_id: UUID) -> Row | None:
    return await db.fetchrow("SELECT * FROM chat_configs WHERE tenant_id = $1", tenant_id)


async def claim_shift_close(
    db: Db, tenant_id: UUID, shop_id: UUID, session_id: UUID, day: date
) -> None:
    """Queues the shift-close message of a session once, if the tenant's chat is enabled."""
    await db.execute(
        """INSERT INTO notifications (tenant_id, shop_id, kind, business_date, session_id)
           SELECT $1, $2, 'shift_close', $4, $3
           FROM chat_configs WHERE tenant_id = $1 AND enabled
           ON CONFLICT DO NOTHING""",
        tenant_id,
        shop_id,
        session_id,
        day,
    )


async def shops_for_daily_reports(db: Db) -> list[Row]:
    """Every shop, with what decides when its daily report is due."""
    return await db.fetch(
        """SELECT s.tenant_id, s.shop_id, s.timezone, s.business_day_cutoff,
                  t.timezone AS tenant_timezone, c.daily_report_time,
                  COALESCE(c.enabled, false) AS chat_enabled
           FROM shops s
           LEFT JOIN tenants t ON t.tenant_id = s.tenant_id
           LEFT JOIN chat_configs c ON c.tenant_id = s.tenant_id"""
    )


async def had_activity(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> bool:
    return bool(
        await db.fetchval(
            """SELECT EXISTS (SELECT 1 FROM daily_totals
                              WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3)""",
            tenant_id,
            shop_id,
            day,
        )
    )


async def daily_already_claimed(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> bool:
    return bool(
        await db.fetchval(
            """SELECT EXISTS (SELECT 1 FROM notifications
                              WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3
                                AND kind = 'daily')""",
            tenant_id,
            shop_id,
            day,
        )
    )


async def claim_daily(
    db: Db, tenant_id: UUID, shop_id: UUID, day: date, send: bool, message: str
) -> bool:
    """Claims the shop's daily report for the date; False if another replica already did."""
    claimed = await db.fetchval(
        """INSERT INTO notifications (tenant_id, shop_id, kind, business_date, state, message)
           VALUES ($1, $2, 'daily', $3, $4, $5)
           ON CONFLICT DO NOTHING RETURNING true""",
        tenant_id,
        shop_id,
        day,
        "pending" if send else "skipped",
        message,
    )
    return bool(claimed)


async def next_due_notification(db: Db) -> Row | None:
    """Locks one due send; other replicas skip it while this transaction holds it."""
    return await db.fetchrow(
        """SELECT n.*, c.bot_token_encrypted, c.chat_id, c.enabled
           FROM notifications n
           LEFT JOIN chat_configs c ON c.tenant_id = n.tenant_id
           WHERE n.state = 'pending' AND n.next_attempt_at <= now()
           ORDER BY n.next_attempt_at
           LIMIT 1
           FOR UPDATE OF n SKIP LOCKED"""
    )


async def mark_notification(
    db: Db,
    notification_id: int,
    *,
    state: str,
    error: str | None = None,
    retry_in_s: float = 0.0,
) -> None:
    await db.execute(
        """UPDATE notifications
           SET state = $2, attempts = attempts + 1, last_error = $3,
               next_attempt_at = now() + make_interval(secs => $4),
               sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
           WHERE id = $1""",
        notification_id,
        state,
        error,
        retry_in_s,
    )


def to_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
