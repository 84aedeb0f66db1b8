"""What the session (X/Z) report reads: the session, its facts, and the tax summary rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID

import asyncpg

from reporting.domain.business_calendar import FALLBACK_TIMEZONE
from reporting.domain.figures import HourFigures, ProductFigures, TaxFigures
from reporting.domain.session_figures import (
    SessionCash,
    SessionOrderSummary,
    SessionRefundSummary,
    TenderFigures,
)
from reporting.repository.day_reports import counters, product_figures, to_decimal
from shared.postgres import Db


@dataclass(frozen=True)
class SessionHeader:
    """A session with the names of its register, shop and tenant, as far as they are known."""

    session_id: UUID
    register_id: UUID
    shop_id: UUID
    business_date: date
    state: str
    currency: str
    opened_at: datetime
    opened_by: str
    opening_cash: int
    closed_at: datetime | None
    closed_by: str | None
    expected_cash: int | None
    counted_cash: int | None
    closing_note: str | None
    register_name: str | None
    receipt_prefix: str | None
    register_tier: str | None
    shop_name: str | None
    timezone: str
    business_day_cutoff: time | None
    tenant_name: str | None
    tenant_tier: str | None

    @property
    def cash(self) -> SessionCash:
        return SessionCash(
            closed=self.state == "closed",
            opening_cash=self.opening_cash,
            expected_cash=self.expected_cash,
            counted_cash=self.counted_cash,
        )


async def get_session(db: Db, tenant_id: UUID, session_id: UUID) -> SessionHeader | None:
    row = await db.fetchrow(
        """SELECT s.session_id, s.register_id, s.shop_id, s.business_date, s.state, s.currency,
                  s.opened_at, s.opened_by, s.opening_cash, s.closed_at, s.closed_by,
                  s.expected_cash, s.counted_cash, s.closing_note,
                  r.name AS register_name, r.receipt_prefix, r.tier AS register_tier,
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
    if row is None:
        return None
    return SessionHeader(**{**row, "timezone": row["timezone"] or FALLBACK_TIMEZONE})


async def session_order_summary(db: Db, tenant_id: UUID, session_id: UUID) -> SessionOrderSummary:
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
    return SessionOrderSummary(**row)


async def session_refund_summary(db: Db, tenant_id: UUID, session_id: UUID) -> SessionRefundSummary:
    row = await db.fetchrow(
        """SELECT count(*) AS refund_count, COALESCE(sum(net_total), 0)::bigint AS net,
                  COALESCE(sum(tax_total), 0)::bigint AS tax,
                  COALESCE(sum(total), 0)::bigint AS total
           FROM refund_facts WHERE tenant_id = $1 AND session_id = $2""",
        tenant_id,
        session_id,
    )
    assert row is not None
    return SessionRefundSummary(**row)


async def session_tenders(db: Db, tenant_id: UUID, session_id: UUID) -> list[TenderFigures]:
    rows = await db.fetch(
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
    return [TenderFigures(**r) for r in rows]


async def session_products(db: Db, tenant_id: UUID, session_id: UUID) -> list[ProductFigures]:
    rows = await db.fetch(
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
    return [product_figures(r) for r in rows]


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

# A day's lines are found through its orders (and refunds), one index probe each. `OFFSET 0`
# keeps the planner from flattening the lateral join: on statistics that lag a tenant's growth
# (a backfill, a busy first day) it would otherwise scan every line the tenant has.
_DAY_TAX_ROWS = _TAX_ROWS.format(
    sold="""SELECT l.tax_rate_percent, l.prices_include_tax, false, l.net, l.tax
            FROM order_facts o
            CROSS JOIN LATERAL (
                SELECT tax_rate_percent, prices_include_tax, net, tax FROM order_line_facts
                WHERE tenant_id = o.tenant_id AND order_id = o.order_id OFFSET 0) AS l
            WHERE o.tenant_id = $1 AND o.shop_id = $2 AND o.business_date = $3""",
    returned=f"""SELECT sold.tax_rate_percent, sold.prices_include_tax, true, r.net, r.tax
                 FROM refund_facts f
                 CROSS JOIN LATERAL (
                     SELECT tenant_id, order_line_id, net, tax FROM refund_line_facts
                     WHERE tenant_id = f.tenant_id AND refund_id = f.refund_id OFFSET 0) AS r
                 {_RATE_OF_REFUNDED_LINE}
                 WHERE f.tenant_id = $1 AND f.shop_id = $2 AND f.business_date = $3""",
)


def _tax_figures(rows: list[asyncpg.Record]) -> list[TaxFigures]:
    return [
        TaxFigures(**{**r, "rate": None if r["rate"] is None else to_decimal(r["rate"])})
        for r in rows
    ]


async def session_taxes(db: Db, tenant_id: UUID, session_id: UUID) -> list[TaxFigures]:
    return _tax_figures(await db.fetch(_SESSION_TAX_ROWS, tenant_id, session_id))


async def day_taxes(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> list[TaxFigures]:
    """By the business date of each order and refund, as the day's other totals are."""
    return _tax_figures(await db.fetch(_DAY_TAX_ROWS, tenant_id, shop_id, day))


async def session_hours(
    db: Db, tenant_id: UUID, session_id: UUID, timezone: str
) -> list[HourFigures]:
    rows = await db.fetch(
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
    return [HourFigures(r["hour"], counters(r)) for r in rows]
