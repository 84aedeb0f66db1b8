"""The X/Z session report's arithmetic: sales summary, tenders, the cash drawer, Odoo status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reporting.domain.figures import average_ticket


@dataclass(frozen=True)
class SessionCash:
    """The drawer as the session's events left it; the closing figures only once closed."""

    closed: bool
    opening_cash: int
    expected_cash: int | None
    counted_cash: int | None


@dataclass(frozen=True)
class SessionOrderSummary:
    order_count: int
    gross_sales: int
    discounts: int
    discounted_order_count: int
    net: int
    tax: int
    total: int
    first_receipt: str | None
    last_receipt: str | None
    synced: int
    failed: int


@dataclass(frozen=True)
class SessionRefundSummary:
    refund_count: int
    net: int
    tax: int
    total: int


@dataclass(frozen=True)
class TenderFigures:
    """A payment method's takings in a session."""

    method: str
    kind: str
    sale_count: int
    sales: int
    refund_count: int
    refunds: int

    @property
    def is_cash(self) -> bool:
        return self.kind == "cash"

    @property
    def net(self) -> int:
        return self.sales - self.refunds


@dataclass(frozen=True)
class CashDrawerFigures:
    opening_float: int
    cash_sales: int
    cash_refunds: int
    expected_cash: int
    counted_cash: int | None
    over_short: int | None


@dataclass(frozen=True)
class TenderLine:
    """A tender of the report; the drawer's figures sit on the one cash tender, if only one."""

    tender: TenderFigures
    expected: int | None
    counted: int | None
    difference: int | None


@dataclass(frozen=True)
class SalesSummaryFigures:
    gross_sales: int
    discount_total: int
    discounted_order_count: int
    sales_total: int
    refund_count: int
    refunds_total: int
    refunds_net: int
    net_total: int
    net_sales: int
    tax_total: int
    order_count: int
    average_ticket: int


@dataclass(frozen=True)
class IntegrationFigures:
    tier: str | None
    orders: int
    pending: int
    synced: int
    failed: int


def report_type(cash: SessionCash) -> Literal["X", "Z"]:
    """A Z once the session is closed; until then an X, a snapshot of the shift so far."""
    return "Z" if cash.closed else "X"


def cash_drawer(cash: SessionCash, tenders: Sequence[TenderFigures]) -> CashDrawerFigures:
    cash_tenders = [t for t in tenders if t.is_cash]
    cash_sales = sum(t.sales for t in cash_tenders)
    cash_refunds = sum(t.refunds for t in cash_tenders)
    # A Z keeps the drawer figures the till closed with; an X works them out from the facts.
    if cash.closed and cash.expected_cash is not None:
        expected = cash.expected_cash
    else:
        expected = cash.opening_cash + cash_sales - cash_refunds
    counted = cash.counted_cash if cash.closed else None
    return CashDrawerFigures(
        opening_float=cash.opening_cash,
        cash_sales=cash_sales,
        cash_refunds=cash_refunds,
        expected_cash=expected,
        counted_cash=counted,
        over_short=counted - expected if counted is not None else None,
    )


def tender_lines(tenders: Sequence[TenderFigures], drawer: CashDrawerFigures) -> list[TenderLine]:
    # With two cash methods the drawer's figures belong to neither alone.
    one_cash_tender = sum(1 for t in tenders if t.is_cash) == 1
    lines = []
    for tender in tenders:
        drawer_here = tender.is_cash and one_cash_tender
        lines.append(
            TenderLine(
                tender=tender,
                expected=drawer.expected_cash if drawer_here else None,
                counted=drawer.counted_cash if drawer_here else None,
                difference=drawer.over_short if drawer_here else None,
            )
        )
    return lines


def sales_summary(
    orders: SessionOrderSummary, refunds: SessionRefundSummary
) -> SalesSummaryFigures:
    net_total = orders.total - refunds.total
    return SalesSummaryFigures(
        gross_sales=orders.gross_sales,
        discount_total=orders.discounts,
        discounted_order_count=orders.discounted_order_count,
        sales_total=orders.total,
        refund_count=refunds.refund_count,
        refunds_total=refunds.total,
        refunds_net=refunds.net,
        net_total=net_total,
        net_sales=orders.net - refunds.net,
        tax_total=orders.tax - refunds.tax,
        order_count=orders.order_count,
        average_ticket=average_ticket(net_total, orders.order_count),
    )


def integration_status(
    register_tier: str | None, tenant_tier: str | None, orders: SessionOrderSummary
) -> IntegrationFigures | None:
    """The Odoo status of a session's orders; None for a Starter tenant, which has no Odoo."""
    tier = register_tier or tenant_tier
    if tier == "starter":
        return None
    return IntegrationFigures(
        tier=tier,
        orders=orders.order_count,
        pending=orders.order_count - orders.synced - orders.failed,
        synced=orders.synced,
        failed=orders.failed,
    )


def cash_difference(counted: int | None, expected: int | None) -> int | None:
    """Counted − expected at close: positive over, negative short; None until both are known."""
    if counted is None or expected is None:
        return None
    return counted - expected
