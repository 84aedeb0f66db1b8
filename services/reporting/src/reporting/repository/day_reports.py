"""What the dashboard, the daily report and the sales report read: rollups and day facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import asyncpg

from reporting.domain.business_calendar import FALLBACK_TIMEZONE
from reporting.domain.figures import (
    Counters,
    DayFigures,
    HourFigures,
    PaymentMethodFigures,
    ProductFigures,
    RegisterFigures,
)
from shared.postgres import Db


@dataclass(frozen=True)
class ShopRow:
    """A shop as reports see it: its own currency and timezone, else its tenant's."""

    shop_id: UUID
    name: str | None
    currency: str | None
    timezone: str
    business_day_cutoff: time | None
    tenant_tier: str | None


@dataclass(frozen=True)
class RegisterRow:
    register_id: UUID
    name: str | None
    receipt_prefix: str | None
    active: bool
    tier: str | None


@dataclass(frozen=True)
class OpenSessionRow:
    session_id: UUID
    register_id: UUID
    business_date: date
    opened_at: datetime
    opened_by: str
    opening_cash: int


@dataclass(frozen=True)
class SessionRow:
    session_id: UUID
    register_id: UUID
    state: Literal["open", "closed"]
    opened_at: datetime
    closed_at: datetime | None
    opened_by: str
    closed_by: str | None
    opening_cash: int
    expected_cash: int | None
    counted_cash: int | None


@dataclass(frozen=True)
class RefundRow:
    refund_id: UUID
    order_id: UUID
    register_id: UUID
    session_id: UUID
    created_at: datetime
    reason: str
    total: int
    tax_total: int


def counters(row: asyncpg.Record) -> Counters:
    """The rollup counters a row has; those it lacks are 0."""
    return Counters(
        order_count=int(row.get("order_count") or 0),
        refund_count=int(row.get("refund_count") or 0),
        gross=int(row.get("gross") or 0),
        refunds=int(row.get("refunds") or 0),
        discounts=int(row.get("discounts") or 0),
        sales_tax=int(row.get("sales_tax") or 0),
        refunds_tax=int(row.get("refunds_tax") or 0),
    )


def to_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def product_figures(row: asyncpg.Record) -> ProductFigures:
    return ProductFigures(
        product_ref=row["product_ref"],
        product_name=row["product_name"],
        quantity=to_decimal(row["quantity"]),
        gross=int(row["gross"]),
        discounts=int(row["discounts"]),
        total=int(row["total"]),
        refund_quantity=to_decimal(row["refund_quantity"]),
        refunds=int(row["refunds"]),
        order_count=int(row.get("order_count") or 0),
        refund_count=int(row.get("refund_count") or 0),
        sales_tax=int(row.get("sales_tax") or 0),
        refunds_tax=int(row.get("refunds_tax") or 0),
    )


async def get_shop(db: Db, tenant_id: UUID, shop_id: UUID) -> ShopRow | None:
    row = await db.fetchrow(
        """SELECT s.shop_id, s.name, COALESCE(s.currency, t.currency) AS currency,
                  COALESCE(s.timezone, t.timezone) AS timezone, s.business_day_cutoff,
                  t.tier AS tenant_tier
           FROM shops s LEFT JOIN tenants t ON t.tenant_id = s.tenant_id
           WHERE s.tenant_id = $1 AND s.shop_id = $2""",
        tenant_id,
        shop_id,
    )
    if row is None:
        return None
    return ShopRow(**{**row, "timezone": row["timezone"] or FALLBACK_TIMEZONE})


async def day_totals_by_register(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date
) -> list[RegisterFigures]:
    rows = await db.fetch(
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
    return [
        RegisterFigures(r["register_id"], counters(r), int(r["synced"]), int(r["failed"]))
        for r in rows
    ]


async def totals_by_day(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date
) -> list[DayFigures]:
    rows = await db.fetch(
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
    return [DayFigures(r["business_date"], counters(r)) for r in rows]


async def totals_by_local_hour(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date, timezone: str
) -> list[HourFigures]:
    rows = await db.fetch(
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
    return [HourFigures(r["hour"], counters(r)) for r in rows]


async def payment_method_totals(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date
) -> list[PaymentMethodFigures]:
    rows = await db.fetch(
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
    return [PaymentMethodFigures(**r) for r in rows]


async def product_totals(
    db: Db, tenant_id: UUID, shop_id: UUID, first: date, last: date, limit: int | None
) -> list[ProductFigures]:
    rows = await db.fetch(
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
    return [product_figures(r) for r in rows]


async def refunds_of_day(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> list[RefundRow]:
    rows = await db.fetch(
        """SELECT refund_id, order_id, register_id, session_id, created_at, reason, total,
                  tax_total
           FROM refund_facts
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3
           ORDER BY created_at, refund_id""",
        tenant_id,
        shop_id,
        day,
    )
    return [RefundRow(**r) for r in rows]


async def registers_of_shop(
    db: Db, tenant_id: UUID, shop_id: UUID, also: Sequence[UUID]
) -> list[RegisterRow]:
    """The shop's active registers, plus any others the figures mention (possibly unnamed)."""
    rows = await db.fetch(
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
    return [RegisterRow(**r) for r in rows]


async def open_sessions_of_shop(
    db: Db, tenant_id: UUID, shop_id: UUID, up_to: date | None = None
) -> list[OpenSessionRow]:
    rows = await db.fetch(
        """SELECT session_id, register_id, business_date, opened_at, opened_by, opening_cash
           FROM sessions
           WHERE tenant_id = $1 AND shop_id = $2 AND state = 'open'
             AND ($3::date IS NULL OR business_date <= $3)
           ORDER BY opened_at""",
        tenant_id,
        shop_id,
        up_to,
    )
    return [OpenSessionRow(**r) for r in rows]


async def sessions_of_day(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> list[SessionRow]:
    rows = await db.fetch(
        """SELECT session_id, register_id, state, opened_at, closed_at, opened_by, closed_by,
                  opening_cash, expected_cash, counted_cash
           FROM sessions
           WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3
           ORDER BY opened_at""",
        tenant_id,
        shop_id,
        day,
    )
    return [SessionRow(**r) for r in rows]


async def session_takings(
    db: Db, tenant_id: UUID, session_ids: Sequence[UUID]
) -> dict[UUID, Counters]:
    """Per session: orders, sales, refunds, and cash in and out (for the expected drawer)."""
    rows = await db.fetch(
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
    return {r["session_id"]: counters(r) for r in rows}


async def last_order_at(
    db: Db, tenant_id: UUID, register_ids: Sequence[UUID]
) -> dict[UUID, datetime | None]:
    # One index probe per register, rather than scanning a register's whole history.
    rows = await db.fetch(
        """SELECT r.id AS register_id,
                  (SELECT created_at FROM order_facts o
                   WHERE o.tenant_id = $1 AND o.register_id = r.id
                   ORDER BY created_at DESC LIMIT 1) AS last_order_at
           FROM unnest($2::uuid[]) AS r(id)""",
        tenant_id,
        list(register_ids),
    )
    return {r["register_id"]: r["last_order_at"] for r in rows}
