"""The events orders publishes, built from rows as written, and put in the outbox with them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from orders.domain.amounts import cutoff_time, format_quantity
from orders.domain.model import (
    CashSession,
    NewOrder,
    OrderLine,
    OrderPayment,
    Payment,
    Refund,
    RefundLine,
    Register,
)
from orders.domain.session import SessionTotals
from shared.events.contracts import (
    OrderLineState,
    OrderPlaced,
    OrderRefunded,
    PaymentState,
    RefundLineState,
    RegisterState,
    SessionClosed,
    SessionOpened,
    TenderTotal,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.outbox import write_event
from shared.postgres import Db
from shared.structured_logging import current_correlation_id

PRODUCER = "orders"


async def emit(
    db: Db, data: EventData, *, tenant_id: UUID, aggregate_id: UUID, aggregate_version: int
) -> None:
    await write_event(
        db,
        data,
        producer=PRODUCER,
        tenant_id=tenant_id,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
    )


def order_placed_envelope(
    order: NewOrder, lines: Sequence[OrderLine], payments: Sequence[OrderPayment]
) -> EventEnvelope:
    """A new order's event, for a statement that writes it with the order (as `emit` would)."""
    return EventEnvelope.wrap(
        order_placed_event(order, lines, payments),
        tenant_id=order.tenant_id,
        aggregate_id=order.order_id,
        aggregate_version=1,
        producer=PRODUCER,
        correlation_id=current_correlation_id(),
    )


def register_replica(tenant_id: UUID, data: RegisterState) -> Register:
    """The local register row a register event announces."""
    return Register(
        register_id=data.register_id,
        tenant_id=tenant_id,
        shop_id=data.shop_id,
        name=data.name,
        receipt_prefix=data.receipt_prefix,
        active=data.active,
        currency=data.currency,
        timezone=data.timezone,
        business_day_cutoff=cutoff_time(data.business_day_cutoff),
        prices_include_tax=data.prices_include_tax,
        tenant_tier=data.tenant_tier,
    )


def session_opened_event(session: CashSession) -> SessionOpened:
    return SessionOpened(
        session_id=session.session_id,
        register_id=session.register_id,
        shop_id=session.shop_id,
        business_date=session.business_date,
        opened_at=session.opened_at,
        currency=session.currency,
        opening_cash=session.opening_cash,
        opened_by=session.opened_by,
        opened_implicitly=session.opened_implicitly,
        source=session.source,
    )


def session_closed_event(closed: CashSession, totals: SessionTotals) -> SessionClosed:
    """A closed session's event; its expected and counted cash are the ones stored at the close."""
    assert closed.closed_at is not None
    assert closed.expected_cash is not None
    assert closed.counted_cash is not None
    return SessionClosed(
        session_id=closed.session_id,
        register_id=closed.register_id,
        shop_id=closed.shop_id,
        business_date=closed.business_date,
        opened_at=closed.opened_at,
        closed_at=closed.closed_at,
        currency=closed.currency,
        opening_cash=closed.opening_cash,
        expected_cash=closed.expected_cash,
        counted_cash=closed.counted_cash,
        cash_difference=closed.counted_cash - closed.expected_cash,
        order_count=totals.order_count,
        refund_count=totals.refund_count,
        sales_total=totals.sales_total,
        refunds_total=totals.refunds_total,
        net_total=totals.net_total,
        tenders=[
            TenderTotal(method=t.method, kind=t.kind, sales=t.sales, refunds=t.refunds, net=t.net)
            for t in totals.tenders
        ],
        first_receipt_number=totals.first_receipt_number,
        last_receipt_number=totals.last_receipt_number,
        opened_by=closed.opened_by,
        closed_by=closed.closed_by,
        note=closed.closing_note,
        source=closed.source,
    )


def order_placed_event(
    order: NewOrder, lines: Sequence[OrderLine], payments: Sequence[OrderPayment]
) -> OrderPlaced:
    return OrderPlaced(
        order_id=order.order_id,
        register_id=order.register_id,
        shop_id=order.shop_id,
        session_id=order.session_id,
        receipt_number=order.receipt_number,
        business_date=order.business_date,
        created_at=order.created_at,
        currency=order.currency,
        lines=[_line_state(line) for line in lines],
        payments=[_payment_state(p) for p in payments],
        net_total=order.net_total,
        tax_total=order.tax_total,
        total=order.total,
        customer_ref=order.customer_ref,
        note=order.note,
        source=order.source,
        odoo_order_id=order.odoo_order_id,
        receipt_sequence=order.receipt_sequence,
        customer_id=order.customer_id,
        odoo_partner_id=order.odoo_partner_id,
    )


def order_refunded_event(
    refund: Refund,
    shop_id: UUID,
    lines: Sequence[RefundLine],
    payments: Sequence[Payment],
    sold: Mapping[UUID, OrderLine],
) -> OrderRefunded:
    """`sold` maps the order's line ids to its lines, for the product of each refunded line."""
    return OrderRefunded(
        refund_id=refund.refund_id,
        order_id=refund.order_id,
        register_id=refund.register_id,
        shop_id=shop_id,
        session_id=refund.session_id,
        business_date=refund.business_date,
        created_at=refund.created_at,
        currency=refund.currency,
        reason=refund.reason,
        lines=[
            RefundLineState(
                refund_line_id=line.refund_line_id,
                order_line_id=line.order_line_id,
                product_ref=sold[line.order_line_id].product_ref,
                quantity=format_quantity(line.quantity),
                net=line.net,
                tax=line.tax,
                total=line.total,
            )
            for line in lines
        ],
        payments=[_payment_state(p) for p in payments],
        net_total=refund.net_total,
        tax_total=refund.tax_total,
        total=refund.total,
        source=refund.source,
        odoo_order_id=refund.odoo_order_id,
    )


def _line_state(line: OrderLine) -> OrderLineState:
    return OrderLineState(
        line_id=line.line_id,
        product_ref=line.product_ref,
        product_name=line.product_name,
        odoo_product_id=line.odoo_product_id,
        quantity=format_quantity(line.quantity),
        unit_price=line.unit_price,
        discount_percent=format_quantity(line.discount_percent),
        tax_rate_percent=format_quantity(line.tax_rate_percent),
        prices_include_tax=line.prices_include_tax,
        gross=line.gross,
        discount=line.discount,
        net=line.net,
        tax=line.tax,
        total=line.total,
        product_id=line.product_id,
    )


def _payment_state(payment: Payment) -> PaymentState:
    cash = payment if isinstance(payment, OrderPayment) else None
    return PaymentState(
        payment_id=payment.payment_id,
        method=payment.method,
        kind=payment.kind,
        odoo_payment_method_id=payment.odoo_payment_method_id,
        amount=payment.amount,
        tendered=cash.tendered if cash else None,
        change=cash.change if cash else None,
    )
