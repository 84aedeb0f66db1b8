"""Order and refund facts with their rollups, and the Odoo verdicts on orders."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar
from uuid import UUID

from reporting.domain.projection import OrderFact, RefundFact, SyncCountMove
from shared.postgres import Db

_Fact = TypeVar("_Fact", OrderFact, RefundFact)

# Facts and their rollups, for a batch of orders (or refunds) in one statement: the fact insert
# returns only the facts new to the read models, and every other insert and the rollup upserts
# hang off those rows. Rollups are summed per row first, so each row is written once per batch,
# in key order (two batches touching the same rows wait for each other instead of deadlocking).

_PLACE_ORDERS = """
WITH incoming AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
                         $6::date[], $7::timestamptz[], $8::text[], $9::text[], $10::bigint[],
                         $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::text[],
                         $16::timestamptz[], $17::bigint[])
        AS o(tenant_id, order_id, shop_id, register_id, session_id, business_date, created_at,
             receipt_number, currency, gross, discount, net_total, tax_total, total, source,
             slot, receipt_sequence)
),
new_order AS (
    INSERT INTO order_facts (tenant_id, order_id, shop_id, register_id, session_id, business_date,
                             created_at, receipt_number, currency, gross, discount, net_total,
                             tax_total, total, source, receipt_sequence)
    SELECT tenant_id, order_id, shop_id, register_id, session_id, business_date, created_at,
           receipt_number, currency, gross, discount, net_total, tax_total, total, source,
           receipt_sequence
    FROM incoming
    ON CONFLICT (tenant_id, order_id) DO NOTHING
    RETURNING tenant_id, order_id
),
placed AS (
    SELECT i.* FROM new_order n JOIN incoming i USING (tenant_id, order_id)
),
line AS (
    SELECT * FROM unnest($18::uuid[], $19::uuid[], $20::text[], $21::text[], $22::numeric[],
                         $23::bigint[], $24::bigint[], $25::bigint[], $26::bigint[],
                         $27::bigint[], $28::numeric[], $29::boolean[])
        AS l(order_id, line_id, product_ref, product_name, quantity, gross, discount, net, tax,
             total, tax_rate_percent, prices_include_tax)
),
payment AS (
    SELECT * FROM unnest($30::uuid[], $31::uuid[], $32::text[], $33::text[], $34::bigint[])
        AS p(order_id, payment_id, method, kind, amount)
),
lines_in AS (
    INSERT INTO order_line_facts (tenant_id, line_id, order_id, session_id, product_ref,
                                  product_name, quantity, gross, discount, net, tax, total,
                                  tax_rate_percent, prices_include_tax)
    SELECT o.tenant_id, l.line_id, o.order_id, o.session_id, l.product_ref, l.product_name,
           l.quantity, l.gross, l.discount, l.net, l.tax, l.total, l.tax_rate_percent,
           l.prices_include_tax
    FROM placed o JOIN line l USING (order_id)
    ON CONFLICT DO NOTHING
),
payments_in AS (
    INSERT INTO payment_facts (tenant_id, payment_id, direction, parent_id, session_id, method,
                               kind, amount)
    SELECT o.tenant_id, p.payment_id, 'sale', o.order_id, o.session_id, p.method, p.kind,
           p.amount
    FROM placed o JOIN payment p USING (order_id)
    ON CONFLICT DO NOTHING
),
slot_in AS (
    INSERT INTO sales_slots AS s (tenant_id, shop_id, business_date, register_id, slot,
                                  order_count, gross, sales_tax, discounts)
    SELECT tenant_id, shop_id, business_date, register_id, slot, count(*), sum(total),
           sum(tax_total), sum(discount)
    FROM placed
    GROUP BY tenant_id, shop_id, business_date, register_id, slot
    ORDER BY tenant_id, shop_id, business_date, register_id, slot
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, slot) DO UPDATE
    SET order_count = s.order_count + excluded.order_count, gross = s.gross + excluded.gross,
        sales_tax = s.sales_tax + excluded.sales_tax, discounts = s.discounts + excluded.discounts
),
payment_totals_in AS (
    INSERT INTO payment_totals AS t (tenant_id, shop_id, business_date, register_id, method,
                                     kind, sale_count, sales, orders_paid)
    SELECT o.tenant_id, o.shop_id, o.business_date, o.register_id, p.method, p.kind,
           count(*), sum(p.amount), count(DISTINCT o.order_id)
    FROM placed o JOIN payment p USING (order_id)
    GROUP BY o.tenant_id, o.shop_id, o.business_date, o.register_id, p.method, p.kind
    ORDER BY o.tenant_id, o.shop_id, o.business_date, o.register_id, p.method, p.kind
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, method, kind) DO UPDATE
    SET sale_count = t.sale_count + excluded.sale_count, sales = t.sales + excluded.sales,
        orders_paid = t.orders_paid + excluded.orders_paid
),
product_totals_in AS (
    INSERT INTO product_totals AS t (tenant_id, shop_id, business_date, product_ref,
                                     product_name, quantity, gross, discounts, total,
                                     order_count, sales_tax)
    SELECT o.tenant_id, o.shop_id, o.business_date, l.product_ref, max(l.product_name),
           sum(l.quantity), sum(l.gross), sum(l.discount), sum(l.total),
           count(DISTINCT o.order_id), sum(l.tax)
    FROM placed o JOIN line l USING (order_id)
    GROUP BY o.tenant_id, o.shop_id, o.business_date, l.product_ref
    ORDER BY o.tenant_id, o.shop_id, o.business_date, l.product_ref
    ON CONFLICT (tenant_id, shop_id, business_date, product_ref) DO UPDATE
    SET product_name = GREATEST(t.product_name, excluded.product_name),
        quantity = t.quantity + excluded.quantity, gross = t.gross + excluded.gross,
        discounts = t.discounts + excluded.discounts, total = t.total + excluded.total,
        order_count = t.order_count + excluded.order_count,
        sales_tax = t.sales_tax + excluded.sales_tax
),
day_in AS (
    -- An order whose Odoo verdict came first joins its verdict's count with it.
    INSERT INTO daily_totals AS d (tenant_id, shop_id, business_date, register_id, order_count,
                                   gross, sales_tax, discounts, synced_count, failed_count)
    SELECT o.tenant_id, o.shop_id, o.business_date, o.register_id, count(*), sum(o.total),
           sum(o.tax_total), sum(o.discount), count(*) FILTER (WHERE y.state = 'synced'),
           count(*) FILTER (WHERE y.state = 'failed')
    FROM placed o
    LEFT JOIN order_sync y ON y.tenant_id = o.tenant_id AND y.order_id = o.order_id
    GROUP BY o.tenant_id, o.shop_id, o.business_date, o.register_id
    ORDER BY o.tenant_id, o.shop_id, o.business_date, o.register_id
    ON CONFLICT (tenant_id, shop_id, business_date, register_id) DO UPDATE
    SET order_count = d.order_count + excluded.order_count, gross = d.gross + excluded.gross,
        sales_tax = d.sales_tax + excluded.sales_tax, discounts = d.discounts + excluded.discounts,
        synced_count = d.synced_count + excluded.synced_count,
        failed_count = d.failed_count + excluded.failed_count
),
shop_in AS (
    INSERT INTO shops (tenant_id, shop_id, currency)
    SELECT DISTINCT ON (tenant_id, shop_id) tenant_id, shop_id, currency FROM placed
    ORDER BY tenant_id, shop_id
    ON CONFLICT DO NOTHING
)
SELECT order_id FROM new_order
"""


def _first_of_each(items: Sequence[_Fact], key: Callable[[_Fact], Hashable]) -> list[_Fact]:
    """A fact given twice in one batch is one fact: its first telling counts."""
    seen: set[Hashable] = set()
    kept = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept


def _columns(rows: Sequence[object], fields: str) -> list[list[object]]:
    """One array parameter per field, for an unnest that turns them back into rows."""
    return [[getattr(row, name) for row in rows] for name in fields.split()]


_ORDER_COLUMNS = """tenant_id order_id shop_id register_id session_id business_date created_at
    receipt_number currency gross discount net_total tax_total total source slot
    receipt_sequence"""
_ORDER_LINE_COLUMNS = """line_id product_ref product_name quantity gross discount net tax total
    tax_rate_percent prices_include_tax"""
_PAYMENT_COLUMNS = "payment_id method kind amount"


async def place_orders(db: Db, orders: Sequence[OrderFact]) -> set[UUID]:
    """Records orders with their lines, payments and rollups; the ids of those new here."""
    orders = _first_of_each(orders, lambda order: (order.tenant_id, order.order_id))
    lines = [(order.order_id, line) for order in orders for line in order.lines]
    payments = [(order.order_id, p) for order in orders for p in order.payments]
    rows = await db.fetch(
        _PLACE_ORDERS,
        *_columns(orders, _ORDER_COLUMNS),
        [order_id for order_id, _ in lines],
        *_columns([line for _, line in lines], _ORDER_LINE_COLUMNS),
        [order_id for order_id, _ in payments],
        *_columns([p for _, p in payments], _PAYMENT_COLUMNS),
    )
    return {row["order_id"] for row in rows}


_RECORD_REFUNDS = """
WITH incoming AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[],
                         $7::date[], $8::timestamptz[], $9::text[], $10::text[], $11::bigint[],
                         $12::bigint[], $13::bigint[], $14::timestamptz[])
        AS r(tenant_id, refund_id, order_id, shop_id, register_id, session_id, business_date,
             created_at, currency, reason, net_total, tax_total, total, slot)
),
new_refund AS (
    INSERT INTO refund_facts (tenant_id, refund_id, order_id, shop_id, register_id, session_id,
                              business_date, created_at, currency, reason, net_total, tax_total,
                              total)
    SELECT tenant_id, refund_id, order_id, shop_id, register_id, session_id, business_date,
           created_at, currency, reason, net_total, tax_total, total
    FROM incoming
    ON CONFLICT (tenant_id, refund_id) DO NOTHING
    RETURNING tenant_id, refund_id
),
refunded AS (
    SELECT i.* FROM new_refund n JOIN incoming i USING (tenant_id, refund_id)
),
line AS (
    SELECT * FROM unnest($15::uuid[], $16::uuid[], $17::uuid[], $18::text[], $19::numeric[],
                         $20::bigint[], $21::bigint[], $22::bigint[])
        AS l(refund_id, refund_line_id, order_line_id, product_ref, quantity, net, tax, total)
),
payment AS (
    SELECT * FROM unnest($23::uuid[], $24::uuid[], $25::text[], $26::text[], $27::bigint[])
        AS p(refund_id, payment_id, method, kind, amount)
),
lines_in AS (
    INSERT INTO refund_line_facts (tenant_id, refund_line_id, refund_id, order_line_id,
                                   session_id, product_ref, quantity, net, tax, total)
    SELECT r.tenant_id, l.refund_line_id, r.refund_id, l.order_line_id, r.session_id,
           l.product_ref, l.quantity, l.net, l.tax, l.total
    FROM refunded r JOIN line l USING (refund_id)
    ON CONFLICT DO NOTHING
),
payments_in AS (
    INSERT INTO payment_facts (tenant_id, payment_id, direction, parent_id, session_id, method,
                               kind, amount)
    SELECT r.tenant_id, p.payment_id, 'refund', r.refund_id, r.session_id, p.method, p.kind,
           p.amount
    FROM refunded r JOIN payment p USING (refund_id)
    ON CONFLICT DO NOTHING
),
slot_in AS (
    INSERT INTO sales_slots AS s (tenant_id, shop_id, business_date, register_id, slot,
                                  refund_count, refunds, refunds_tax)
    SELECT tenant_id, shop_id, business_date, register_id, slot, count(*), sum(total),
           sum(tax_total)
    FROM refunded
    GROUP BY tenant_id, shop_id, business_date, register_id, slot
    ORDER BY tenant_id, shop_id, business_date, register_id, slot
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, slot) DO UPDATE
    SET refund_count = s.refund_count + excluded.refund_count,
        refunds = s.refunds + excluded.refunds,
        refunds_tax = s.refunds_tax + excluded.refunds_tax
),
payment_totals_in AS (
    INSERT INTO payment_totals AS t (tenant_id, shop_id, business_date, register_id, method,
                                     kind, refund_count, refunds, refunds_paid)
    SELECT r.tenant_id, r.shop_id, r.business_date, r.register_id, p.method, p.kind,
           count(*), sum(p.amount), count(DISTINCT r.refund_id)
    FROM refunded r JOIN payment p USING (refund_id)
    GROUP BY r.tenant_id, r.shop_id, r.business_date, r.register_id, p.method, p.kind
    ORDER BY r.tenant_id, r.shop_id, r.business_date, r.register_id, p.method, p.kind
    ON CONFLICT (tenant_id, shop_id, business_date, register_id, method, kind) DO UPDATE
    SET refund_count = t.refund_count + excluded.refund_count,
        refunds = t.refunds + excluded.refunds,
        refunds_paid = t.refunds_paid + excluded.refunds_paid
),
product_totals_in AS (
    INSERT INTO product_totals AS t (tenant_id, shop_id, business_date, product_ref,
                                     product_name, refund_quantity, refunds, refund_count,
                                     refunds_tax)
    -- Named by its sale: a product given back on a day that did not sell it keeps its name.
    SELECT r.tenant_id, r.shop_id, r.business_date, l.product_ref,
           COALESCE(max(ol.product_name), ''), sum(l.quantity), sum(l.total),
           count(DISTINCT r.refund_id), sum(l.tax)
    FROM refunded r JOIN line l USING (refund_id)
    LEFT JOIN order_line_facts ol ON ol.tenant_id = r.tenant_id AND ol.line_id = l.order_line_id
    GROUP BY r.tenant_id, r.shop_id, r.business_date, l.product_ref
    ORDER BY r.tenant_id, r.shop_id, r.business_date, l.product_ref
    ON CONFLICT (tenant_id, shop_id, business_date, product_ref) DO UPDATE
    SET product_name = GREATEST(t.product_name, excluded.product_name),
        refund_quantity = t.refund_quantity + excluded.refund_quantity,
        refunds = t.refunds + excluded.refunds,
        refund_count = t.refund_count + excluded.refund_count,
        refunds_tax = t.refunds_tax + excluded.refunds_tax
),
day_in AS (
    INSERT INTO daily_totals AS d (tenant_id, shop_id, business_date, register_id, refund_count,
                                   refunds, refunds_tax)
    SELECT tenant_id, shop_id, business_date, register_id, count(*), sum(total), sum(tax_total)
    FROM refunded
    GROUP BY tenant_id, shop_id, business_date, register_id
    ORDER BY tenant_id, shop_id, business_date, register_id
    ON CONFLICT (tenant_id, shop_id, business_date, register_id) DO UPDATE
    SET refund_count = d.refund_count + excluded.refund_count,
        refunds = d.refunds + excluded.refunds,
        refunds_tax = d.refunds_tax + excluded.refunds_tax
),
shop_in AS (
    INSERT INTO shops (tenant_id, shop_id, currency)
    SELECT DISTINCT ON (tenant_id, shop_id) tenant_id, shop_id, currency FROM refunded
    ORDER BY tenant_id, shop_id
    ON CONFLICT DO NOTHING
)
SELECT refund_id FROM new_refund
"""


_REFUND_COLUMNS = """tenant_id refund_id order_id shop_id register_id session_id business_date
    created_at currency reason net_total tax_total total slot"""
_REFUND_LINE_COLUMNS = "refund_line_id order_line_id product_ref quantity net tax total"


async def record_refunds(db: Db, refunds: Sequence[RefundFact]) -> set[UUID]:
    """Records refunds with their lines, payments and rollups; the ids of those new here.

    Their orders' lines recorded earlier in the transaction name their products."""
    refunds = _first_of_each(refunds, lambda refund: (refund.tenant_id, refund.refund_id))
    lines = [(refund.refund_id, line) for refund in refunds for line in refund.lines]
    payments = [(refund.refund_id, p) for refund in refunds for p in refund.payments]
    rows = await db.fetch(
        _RECORD_REFUNDS,
        *_columns(refunds, _REFUND_COLUMNS),
        [refund_id for refund_id, _ in lines],
        *_columns([line for _, line in lines], _REFUND_LINE_COLUMNS),
        [refund_id for refund_id, _ in payments],
        *_columns([p for _, p in payments], _PAYMENT_COLUMNS),
    )
    return {row["refund_id"] for row in rows}


async def lock_orders(db: Db, order_ids: Iterable[UUID]) -> None:
    """Serializes orders' placement with their sync verdicts, so neither misses the other; in
    key order, so two transactions locking overlapping orders never wait on each other in a
    circle."""
    await db.execute(
        """SELECT pg_advisory_xact_lock(k)
           FROM (SELECT DISTINCT hashtextextended(o::text, 7) AS k FROM unnest($1::uuid[]) o
                 ORDER BY k) AS keys""",
        list(order_ids),
    )


async def order_sync_state(db: Db, tenant_id: UUID, order_id: UUID) -> str | None:
    state: str | None = await db.fetchval(
        "SELECT state FROM order_sync WHERE tenant_id = $1 AND order_id = $2", tenant_id, order_id
    )
    return state


async def move_sync_count(db: Db, tenant_id: UUID, order_id: UUID, move: SyncCountMove) -> None:
    """Moves an order from one sync count of its day to another (if the order is known yet)."""
    await db.execute(
        """UPDATE daily_totals d
           SET synced_count = d.synced_count + $3, failed_count = d.failed_count + $4
           FROM order_facts o
           WHERE o.tenant_id = $1 AND o.order_id = $2
             AND d.tenant_id = o.tenant_id AND d.shop_id = o.shop_id
             AND d.business_date = o.business_date AND d.register_id = o.register_id""",
        tenant_id,
        order_id,
        move.synced,
        move.failed,
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
