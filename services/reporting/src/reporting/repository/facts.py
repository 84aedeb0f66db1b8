"""Order and refund facts with their rollups, and the Odoo verdicts on orders."""

from __future__ import annotations

from uuid import UUID

from reporting.domain.projection import OrderFact, RefundFact, SyncCountMove
from shared.postgres import Db

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


async def place_order(db: Db, order: OrderFact) -> bool:
    """Records an order with its lines, payments and rollups; False if it was already there."""
    lines, payments = order.lines, order.payments
    inserted = await db.fetchval(
        _PLACE_ORDER,
        order.tenant_id,
        order.order_id,
        order.shop_id,
        order.register_id,
        order.session_id,
        order.business_date,
        order.created_at,
        order.receipt_number,
        order.currency,
        order.gross,
        order.discount,
        order.net_total,
        order.tax_total,
        order.total,
        order.source,
        order.slot,
        [line.line_id for line in lines],
        [line.product_ref for line in lines],
        [line.product_name for line in lines],
        [line.quantity for line in lines],
        [line.gross for line in lines],
        [line.discount for line in lines],
        [line.net for line in lines],
        [line.tax for line in lines],
        [line.total for line in lines],
        [line.tax_rate_percent for line in lines],
        [line.prices_include_tax for line in lines],
        [p.payment_id for p in payments],
        [p.method for p in payments],
        [p.kind for p in payments],
        [p.amount for p in payments],
        order.receipt_sequence,
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
    -- Named by its sale: a product given back on a day that did not sell it keeps its name.
    SELECT r.tenant_id, r.shop_id, r.business_date, l.product_ref,
           COALESCE(max(ol.product_name), ''), sum(l.quantity), sum(l.total), 1, sum(l.tax)
    FROM new_refund r CROSS JOIN line l
    LEFT JOIN order_line_facts ol ON ol.tenant_id = r.tenant_id AND ol.line_id = l.order_line_id
    GROUP BY r.tenant_id, r.shop_id, r.business_date, l.product_ref
    ORDER BY l.product_ref
    ON CONFLICT (tenant_id, shop_id, business_date, product_ref) DO UPDATE
    SET product_name = GREATEST(t.product_name, excluded.product_name),
        refund_quantity = t.refund_quantity + excluded.refund_quantity,
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


async def record_refund(db: Db, refund: RefundFact) -> bool:
    """Records a refund with its lines, payments and rollups; False if it was already there."""
    lines, payments = refund.lines, refund.payments
    inserted = await db.fetchval(
        _REFUND,
        refund.tenant_id,
        refund.refund_id,
        refund.order_id,
        refund.shop_id,
        refund.register_id,
        refund.session_id,
        refund.business_date,
        refund.created_at,
        refund.currency,
        refund.reason,
        refund.net_total,
        refund.tax_total,
        refund.total,
        refund.slot,
        [line.refund_line_id for line in lines],
        [line.order_line_id for line in lines],
        [line.product_ref for line in lines],
        [line.quantity for line in lines],
        [line.net for line in lines],
        [line.tax for line in lines],
        [line.total for line in lines],
        [p.payment_id for p in payments],
        [p.method for p in payments],
        [p.kind for p in payments],
        [p.amount for p in payments],
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
