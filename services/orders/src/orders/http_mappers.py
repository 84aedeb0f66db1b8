"""Rows to the API's `*Public` answers (the shapes are in `http_models`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

from orders.domain.amounts import format_quantity
from orders.domain.model import (
    CashSession,
    Order,
    OrderLine,
    OrderPayment,
    Payment,
    Refund,
    RefundLine,
)
from orders.domain.session import SessionTotals, cash_difference, expected_cash_now
from orders.http_models import (
    OrderLinePublic,
    OrderPublic,
    PaymentPublic,
    RefundLinePublic,
    RefundPublic,
    SessionPublic,
    SessionTotalsPublic,
    TenderTotalPublic,
)
from shared.money import SignedMoney


def _money(amount: int, currency: str) -> SignedMoney:
    return SignedMoney(amount=amount, currency=currency)


def _money_or_none(amount: int | None, currency: str) -> SignedMoney | None:
    return _money(amount, currency) if amount is not None else None


def session_public(session: CashSession, totals: SessionTotals) -> SessionPublic:
    currency = session.currency
    expected = expected_cash_now(session, totals)
    return SessionPublic(
        id=session.session_id,
        register_id=session.register_id,
        shop_id=session.shop_id,
        state=session.state,
        business_date=session.business_date,
        opened_at=session.opened_at,
        opened_by=session.opened_by,
        opened_implicitly=session.opened_implicitly,
        opening_cash=_money(session.opening_cash, currency),
        closed_at=session.closed_at,
        closed_by=session.closed_by,
        closing_note=session.closing_note,
        expected_cash=_money(expected, currency),
        counted_cash=_money_or_none(session.counted_cash, currency),
        cash_difference=_money_or_none(cash_difference(session, expected), currency),
        totals=session_totals_public(totals, currency),
        source=session.source,
        odoo_session_id=session.odoo_session_id,
        odoo_session_name=session.odoo_session_name,
        sync_state=session.sync_state,
        sync_error=session.sync_error,
    )


def session_totals_public(totals: SessionTotals, currency: str) -> SessionTotalsPublic:
    return SessionTotalsPublic(
        order_count=totals.order_count,
        refund_count=totals.refund_count,
        sales_total=_money(totals.sales_total, currency),
        refunds_total=_money(totals.refunds_total, currency),
        net_total=_money(totals.net_total, currency),
        cash_sales=_money(totals.cash_sales, currency),
        cash_refunds=_money(totals.cash_refunds, currency),
        tenders=[
            TenderTotalPublic(
                method=t.method,
                kind=t.kind,
                sales=_money(t.sales, currency),
                refunds=_money(t.refunds, currency),
                net=_money(t.net, currency),
            )
            for t in totals.tenders
        ],
        first_receipt_number=totals.first_receipt_number,
        last_receipt_number=totals.last_receipt_number,
    )


def order_public(
    order: Order,
    lines: Sequence[OrderLine],
    payments: Sequence[OrderPayment],
    refunds: list[RefundPublic],
) -> OrderPublic:
    """The order with `refunds`, its own refunds, counted on each line they gave back of."""
    currency = order.currency
    refunded = _refunded_quantities(refunds)
    return OrderPublic(
        id=order.order_id,
        register_id=order.register_id,
        shop_id=order.shop_id,
        session_id=order.session_id,
        receipt_number=order.receipt_number,
        business_date=order.business_date,
        created_at=order.created_at,
        received_at=order.received_at,
        state=order.state,
        source=order.source,
        lines=[
            _line_public(line, currency, refunded.get(line.line_id, Decimal(0))) for line in lines
        ],
        payments=[_payment_public(p, currency) for p in payments],
        net_total=_money(order.net_total, currency),
        tax_total=_money(order.tax_total, currency),
        total=_money(order.total, currency),
        customer_ref=order.customer_ref,
        note=order.note,
        refunds=refunds,
        sync_state=order.sync_state,
        sync_error=order.sync_error,
        odoo_order_id=order.odoo_order_id,
        customer_id=order.customer_id,
    )


def refund_public(
    refund: Refund, lines: Sequence[RefundLine], payments: Sequence[Payment]
) -> RefundPublic:
    currency = refund.currency
    return RefundPublic(
        id=refund.refund_id,
        order_id=refund.order_id,
        register_id=refund.register_id,
        session_id=refund.session_id,
        business_date=refund.business_date,
        created_at=refund.created_at,
        state=refund.state,
        reason=refund.reason,
        lines=[
            RefundLinePublic(
                id=line.refund_line_id,
                order_line_id=line.order_line_id,
                quantity=format_quantity(line.quantity),
                net=_money(line.net, currency),
                tax=_money(line.tax, currency),
                total=_money(line.total, currency),
            )
            for line in lines
        ],
        payments=[_payment_public(p, currency) for p in payments],
        net_total=_money(refund.net_total, currency),
        tax_total=_money(refund.tax_total, currency),
        total=_money(refund.total, currency),
        source=refund.source,
        sync_state=refund.sync_state,
        sync_error=refund.sync_error,
        odoo_order_id=refund.odoo_order_id,
    )


def _refunded_quantities(refunds: Sequence[RefundPublic]) -> dict[UUID, Decimal]:
    refunded: dict[UUID, Decimal] = defaultdict(Decimal)
    for refund in refunds:
        for line in refund.lines:
            refunded[line.order_line_id] += Decimal(line.quantity)
    return refunded


def _line_public(line: OrderLine, currency: str, refunded: Decimal) -> OrderLinePublic:
    return OrderLinePublic(
        id=line.line_id,
        product_ref=line.product_ref,
        product_name=line.product_name,
        odoo_product_id=line.odoo_product_id,
        quantity=format_quantity(line.quantity),
        refunded_quantity=format_quantity(refunded),
        unit_price=_money(line.unit_price, currency),
        discount_percent=format_quantity(line.discount_percent),
        tax_rate_percent=format_quantity(line.tax_rate_percent),
        prices_include_tax=line.prices_include_tax,
        gross=_money(line.gross, currency),
        discount=_money(line.discount, currency),
        net=_money(line.net, currency),
        tax=_money(line.tax, currency),
        total=_money(line.total, currency),
        product_id=line.product_id,
    )


def _payment_public(payment: Payment, currency: str) -> PaymentPublic:
    cash = payment if isinstance(payment, OrderPayment) else None
    return PaymentPublic(
        id=payment.payment_id,
        method=payment.method,
        kind=payment.kind,
        odoo_payment_method_id=payment.odoo_payment_method_id,
        amount=_money(payment.amount, currency),
        tendered=_money_or_none(cash.tendered if cash else None, currency),
        change=_money_or_none(cash.change if cash else None, currency),
    )
