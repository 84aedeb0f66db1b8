"""A refund's rules: what is left to give back of each line, its share of the line's figures,
its payments, and the order's state after it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from orders.domain.amounts import Figures, business_date, format_quantity, refund_part
from orders.domain.identity import derived_id
from orders.domain.model import (
    GivenBack,
    Order,
    OrderLine,
    Refund,
    RefundLine,
    RefundPayment,
    Register,
    initial_sync_state,
)
from orders.domain.sale import payments_cover
from orders.http_models import RefundCreate
from shared.errors import InvalidRequestError

NOTHING_GIVEN_BACK = GivenBack(quantity=Decimal(0), figures=Figures(net=0, tax=0, total=0))


def require_register_takes(register: Register, currency: str) -> None:
    """A refund is paid out at a register in the currency the order was paid in."""
    if register.currency != currency:
        raise InvalidRequestError(
            f"Register {register.name!r} works in {register.currency}; this order was "
            f"paid in {currency}. Refund it at a register that takes {currency}."
        )


def refund_lines(
    body: RefundCreate,
    sold: Mapping[UUID, OrderLine],
    given_back: Mapping[UUID, GivenBack],
    tenant_id: UUID,
) -> list[RefundLine]:
    """The refund's lines, each within what is left of its sold line, priced as its share."""
    seen: set[UUID] = set()
    lines: list[RefundLine] = []
    for index, item in enumerate(body.lines):
        line = sold.get(item.order_line_id)
        if line is None:
            raise InvalidRequestError(
                f"lines[{index}].order_line_id: the order has no line {item.order_line_id}.",
                field=f"lines[{index}].order_line_id",
            )
        if item.order_line_id in seen:
            raise InvalidRequestError(
                f"lines[{index}]: line {item.order_line_id} appears twice; list each line once "
                "with the whole quantity to refund.",
                field=f"lines[{index}]",
            )
        seen.add(item.order_line_id)
        quantity = Decimal(item.quantity)
        earlier = given_back.get(item.order_line_id, NOTHING_GIVEN_BACK)
        left = line.quantity - earlier.quantity
        if quantity > left:
            raise InvalidRequestError(
                f"lines[{index}]: line {line.position + 1} ({line.product_name}) has "
                f"{format_quantity(left)} left to refund (sold "
                f"{format_quantity(line.quantity)}, already refunded "
                f"{format_quantity(earlier.quantity)}); {item.quantity} was asked for.",
                field=f"lines[{index}].quantity",
            )
        part = refund_part(line.priced, line.figures, earlier.quantity, earlier.figures, quantity)
        lines.append(
            RefundLine(
                refund_line_id=derived_id(tenant_id, body.id, "refund-line", index),
                refund_id=body.id,
                order_line_id=item.order_line_id,
                position=index,
                quantity=quantity,
                net=part.net,
                tax=part.tax,
                total=part.total,
            )
        )
    return lines


def refund_payments(
    body: RefundCreate, currency: str, total: int, tenant_id: UUID
) -> list[RefundPayment]:
    """The money handed back, in the order's currency, adding up to the refund's total."""
    payments: list[RefundPayment] = []
    for index, payment in enumerate(body.payments):
        if payment.amount.currency != currency:
            raise InvalidRequestError(
                f"payments[{index}].amount is in {payment.amount.currency} but the order was "
                f"paid in {currency}.",
                field=f"payments[{index}].amount",
            )
        payments.append(
            RefundPayment(
                payment_id=derived_id(tenant_id, body.id, "refund-payment", index),
                refund_id=body.id,
                position=index,
                method=payment.method,
                kind=payment.kind,
                odoo_payment_method_id=payment.odoo_payment_method_id,
                amount=payment.amount.amount,
            )
        )
    payments_cover(sum(p.amount for p in payments), total, currency, "refund")
    return payments


def state_after_refund(
    sold: Mapping[UUID, OrderLine], already: Mapping[UUID, Decimal], lines: Sequence[RefundLine]
) -> str:
    """The order's state once `lines` are refunded on top of what was `already` refunded."""
    refunded_after = dict(already)
    for line in lines:
        refunded_after[line.order_line_id] = (
            refunded_after.get(line.order_line_id, Decimal(0)) + line.quantity
        )
    fully = all(refunded_after.get(lid, 0) >= row.quantity for lid, row in sold.items())
    return "refunded" if fully else "partially_refunded"


def new_refund(
    body: RefundCreate,
    order: Order,
    register: Register,
    figures: Figures,
    *,
    session_id: UUID,
    created_by: str,
    request_fingerprint: str,
    now: datetime,
) -> Refund:
    """A till's refund as written, dated by the shop's business day of when the till made it."""
    created_at = body.created_at or now
    return Refund(
        tenant_id=order.tenant_id,
        refund_id=body.id,
        order_id=order.order_id,
        register_id=register.register_id,
        session_id=session_id,
        business_date=business_date(created_at, register.timezone, register.business_day_cutoff),
        created_at=created_at,
        currency=order.currency,
        reason=body.reason,
        net_total=figures.net,
        tax_total=figures.tax,
        total=figures.total,
        created_by=created_by,
        request_fingerprint=request_fingerprint,
        sync_state=initial_sync_state(register.tenant_tier),
    )
