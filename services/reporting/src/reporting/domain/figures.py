"""Report arithmetic on rollup figures: totals, net amounts, sync counts and sales groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from uuid import UUID

from reporting.domain.business_calendar import hour_order
from shared.money import round_minor


def average_ticket(net: int, order_count: int) -> int:
    """Net takings per order, rounded half up to the minor unit; 0 when nothing was sold."""
    if order_count == 0:
        return 0
    return round_minor(Decimal(net) / Decimal(order_count))


def decimal_text(value: Decimal) -> str:
    """A decimal as tills write it, without exponent or trailing zeros: '2.500' -> '2.5'."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


@dataclass(frozen=True)
class Counters:
    """What the rollups count for a register, a day or an hour: sales and refunds, with tax."""

    order_count: int = 0
    refund_count: int = 0
    gross: int = 0
    refunds: int = 0
    discounts: int = 0
    sales_tax: int = 0
    refunds_tax: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.refunds


@dataclass(frozen=True)
class ReportTotals:
    """gross − refunds = net, to the unit; taxes are the part of each already included."""

    order_count: int
    refund_count: int
    gross: int
    refunds: int
    net: int
    average_ticket: int
    discounts: int
    sales_tax: int
    refunds_tax: int
    net_tax: int


def sum_totals(counters: Iterable[Counters]) -> ReportTotals:
    rows = list(counters)
    total = Counters(
        order_count=sum(c.order_count for c in rows),
        refund_count=sum(c.refund_count for c in rows),
        gross=sum(c.gross for c in rows),
        refunds=sum(c.refunds for c in rows),
        discounts=sum(c.discounts for c in rows),
        sales_tax=sum(c.sales_tax for c in rows),
        refunds_tax=sum(c.refunds_tax for c in rows),
    )
    return ReportTotals(
        order_count=total.order_count,
        refund_count=total.refund_count,
        gross=total.gross,
        refunds=total.refunds,
        net=total.net,
        average_ticket=average_ticket(total.net, total.order_count),
        discounts=total.discounts,
        sales_tax=total.sales_tax,
        refunds_tax=total.refunds_tax,
        net_tax=total.sales_tax - total.refunds_tax,
    )


@dataclass(frozen=True)
class RegisterFigures:
    """A register's counters over some business dates, with the Odoo verdicts on its orders."""

    register_id: UUID
    counters: Counters
    synced: int = 0
    failed: int = 0


@dataclass(frozen=True)
class SyncStatus:
    """`pending` counts the orders the connector has not reported on yet."""

    orders: int
    synced: int
    failed: int
    pending: int


def sync_status(figures: RegisterFigures | None) -> SyncStatus:
    if figures is None:
        return SyncStatus(orders=0, synced=0, failed=0, pending=0)
    orders = figures.counters.order_count
    return SyncStatus(
        orders=orders,
        synced=figures.synced,
        failed=figures.failed,
        pending=orders - figures.synced - figures.failed,
    )


def dashboard_sync_status(
    figures: RegisterFigures | None, register_tier: str | None, tenant_tier: str | None
) -> SyncStatus | None:
    """A dashboard card's Odoo counts: shown when the register or its tenant is on Pro."""
    if "pro" not in (register_tier, tenant_tier):
        return None
    return sync_status(figures)


@dataclass(frozen=True)
class DayFigures:
    business_date: date
    counters: Counters


@dataclass(frozen=True)
class HourFigures:
    hour: int
    counters: Counters


def in_trading_order(hours: Iterable[HourFigures], cutoff: time | None) -> list[HourFigures]:
    """The hours of a business day from its cutoff on: 04:00 … 23:00, 00:00 … 03:00."""
    return sorted(hours, key=lambda h: hour_order(h.hour, cutoff))


@dataclass(frozen=True)
class PaymentMethodFigures:
    method: str
    kind: str
    payment_method_id: UUID | None
    name: str | None
    sale_count: int
    sales: int
    refund_count: int
    refunds: int
    orders_paid: int
    refunds_paid: int

    @property
    def net(self) -> int:
        return self.sales - self.refunds


@dataclass(frozen=True)
class ProductFigures:
    product_ref: str
    product_name: str | None
    quantity: Decimal
    gross: int
    discounts: int
    total: int
    refund_quantity: Decimal
    refunds: int
    order_count: int = 0
    refund_count: int = 0
    sales_tax: int = 0
    refunds_tax: int = 0

    @property
    def label(self) -> str:
        """A product given back before any sale of it reached reports has no name: its ref."""
        return self.product_name or self.product_ref

    @property
    def net(self) -> int:
        return self.total - self.refunds


@dataclass(frozen=True)
class TaxFigures:
    """pos-domain 4.3 for one rate and inclusive flag; refunds as positives."""

    rate: Decimal | None
    inclusive: bool | None
    sales_base: int
    sales_tax: int
    refund_base: int
    refund_tax: int

    @property
    def net_base(self) -> int:
        return self.sales_base - self.refund_base

    @property
    def net_tax(self) -> int:
        return self.sales_tax - self.refund_tax


@dataclass(frozen=True)
class GroupTotals:
    """A sales group's figures; one its grouping cannot have is None, never 0."""

    order_count: int
    refund_count: int
    gross: int
    refunds: int
    net: int
    average_ticket: int | None
    discounts: int | None
    sales_tax: int | None
    refunds_tax: int | None
    net_tax: int | None


@dataclass(frozen=True)
class SalesGroupFigures:
    key: str
    label: str | None
    totals: GroupTotals
    payment_method_id: UUID | None = None
    kind: str | None = None


def _counted_group(key: str, label: str | None, counters: Counters) -> SalesGroupFigures:
    """A group by day, hour or register: every figure of the report's totals."""
    t = sum_totals([counters])
    totals = GroupTotals(
        order_count=t.order_count,
        refund_count=t.refund_count,
        gross=t.gross,
        refunds=t.refunds,
        net=t.net,
        average_ticket=t.average_ticket,
        discounts=t.discounts,
        sales_tax=t.sales_tax,
        refunds_tax=t.refunds_tax,
        net_tax=t.net_tax,
    )
    return SalesGroupFigures(key=key, label=label, totals=totals)


def groups_by_day(days: Iterable[DayFigures]) -> list[SalesGroupFigures]:
    return [_counted_group(d.business_date.isoformat(), None, d.counters) for d in days]


def groups_by_hour(hours: Iterable[HourFigures], cutoff: time | None) -> list[SalesGroupFigures]:
    return [
        _counted_group(f"{h.hour:02d}:00", None, h.counters)
        for h in in_trading_order(hours, cutoff)
    ]


def groups_by_register(
    registers: Iterable[RegisterFigures], names: Mapping[UUID, str | None]
) -> list[SalesGroupFigures]:
    """Best-selling register first."""
    ranked = sorted(registers, key=lambda r: -r.counters.net)
    return [
        _counted_group(str(r.register_id), names.get(r.register_id), r.counters) for r in ranked
    ]


def groups_by_payment_method(methods: Iterable[PaymentMethodFigures]) -> list[SalesGroupFigures]:
    """A payment method takes part of an order: it has no discounts, tax or average ticket."""
    return [
        SalesGroupFigures(
            key=m.method,
            label=m.name or m.method,
            payment_method_id=m.payment_method_id,
            kind=m.kind,
            totals=GroupTotals(
                order_count=m.orders_paid,
                refund_count=m.refunds_paid,
                gross=m.sales,
                refunds=m.refunds,
                net=m.net,
                average_ticket=None,
                discounts=None,
                sales_tax=None,
                refunds_tax=None,
                net_tax=None,
            ),
        )
        for m in methods
    ]


def groups_by_product(products: Iterable[ProductFigures]) -> list[SalesGroupFigures]:
    """A product is part of a ticket: it has no average ticket."""
    return [
        SalesGroupFigures(
            key=p.product_ref,
            label=p.label,
            totals=GroupTotals(
                order_count=p.order_count,
                refund_count=p.refund_count,
                gross=p.total,
                refunds=p.refunds,
                net=p.net,
                average_ticket=None,
                discounts=p.discounts,
                sales_tax=p.sales_tax,
                refunds_tax=p.refunds_tax,
                net_tax=p.sales_tax - p.refunds_tax,
            ),
        )
        for p in products
    ]
