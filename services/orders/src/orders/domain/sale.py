"""A sale's rules: every line priced again here, the tablet's figures and payments checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from orders.domain.amounts import Figures, LineInput, business_date, line_amounts, summed
from orders.domain.catalog import CatalogProduct, Customer
from orders.domain.identity import derived_id
from orders.domain.model import (
    NewOrder,
    OrderLine,
    OrderPayment,
    Register,
    initial_sync_state,
    receipt_number,
)
from orders.http_models import OrderCreate
from shared.errors import ConflictError, InvalidRequestError
from shared.money import Money, format_money


@dataclass(frozen=True)
class PricedOrder:
    lines: list[OrderLine]
    payments: list[OrderPayment]
    figures: Figures


def require_open_for_sale(register: Register) -> None:
    """A deactivated register takes no order, refund or session until an admin reactivates it."""
    if not register.active:
        raise ConflictError(
            f"Register {register.name!r} is deactivated; an admin must reactivate it "
            "before it can take orders or refunds."
        )


def require_currency(got: str, expected: str, field: str) -> None:
    if got != expected:
        raise InvalidRequestError(
            f"{field} is in {got} but this register sells in {expected}.", field=field
        )


def _odoo_product_id(
    sent: int | None, product_id: UUID | None, catalog: Mapping[UUID, CatalogProduct] | None
) -> int | None:
    if sent is not None or product_id is None or not catalog or product_id not in catalog:
        return sent
    return catalog[product_id].odoo_product_id


def price_order(
    body: OrderCreate,
    currency: str,
    tenant_id: UUID,
    catalog: Mapping[UUID, CatalogProduct] | None = None,
) -> PricedOrder:
    """Recomputes every line and checks the tablet's figures and the payments against them.
    A line naming a catalog product takes that product's Odoo id unless it sent one."""
    lines: list[OrderLine] = []
    for index, line in enumerate(body.lines):
        for field, money in (("unit_price", line.unit_price), ("total", line.total)):
            require_currency(money.currency, currency, f"lines[{index}].{field}")
        priced = LineInput(
            quantity=Decimal(line.quantity),
            unit_price=line.unit_price.amount,
            discount_percent=Decimal(line.discount_percent),
            tax_rate_percent=Decimal(line.tax_rate_percent),
            prices_include_tax=line.prices_include_tax,
        )
        amounts = line_amounts(priced)
        if amounts.total != line.total.amount:
            raise InvalidRequestError(
                f"lines[{index}].total is {format_money(line.total.amount, currency)} but the "
                f"line comes to {format_money(amounts.total, currency)} "
                f"({line.quantity} × {format_money(line.unit_price.amount, currency)}, "
                f"{line.discount_percent}% discount, {line.tax_rate_percent}% tax "
                f"{'included' if line.prices_include_tax else 'added'}).",
                field=f"lines[{index}].total",
            )
        lines.append(
            OrderLine.priced_as(
                priced,
                amounts,
                line_id=derived_id(tenant_id, body.id, "line", index),
                order_id=body.id,
                position=index,
                product_ref=line.product_ref,
                product_name=line.product_name,
                odoo_product_id=_odoo_product_id(line.odoo_product_id, line.product_id, catalog),
                product_id=line.product_id,
            )
        )
    figures = summed(lines)
    total = figures.total
    require_currency(body.total.currency, currency, "total")
    if body.total.amount != total:
        raise InvalidRequestError(
            f"total is {format_money(body.total.amount, currency)} but the lines add up to "
            f"{format_money(total, currency)}.",
            field="total",
        )
    payments: list[OrderPayment] = []
    for index, payment in enumerate(body.payments):
        checked: tuple[tuple[str, Money | None], ...] = (
            ("amount", payment.amount),
            ("tendered", payment.tendered),
            ("change", payment.change),
        )
        for field, paid in checked:
            if paid is not None:
                require_currency(paid.currency, currency, f"payments[{index}].{field}")
        payments.append(
            OrderPayment(
                payment_id=derived_id(tenant_id, body.id, "payment", index),
                order_id=body.id,
                position=index,
                method=payment.method,
                kind=payment.kind,
                odoo_payment_method_id=payment.odoo_payment_method_id,
                amount=payment.amount.amount,
                tendered=payment.tendered.amount if payment.tendered else None,
                change=payment.change.amount if payment.change else None,
            )
        )
    payments_cover(sum(p.amount for p in payments), total, currency, "order")
    return PricedOrder(lines, payments, figures)


def payments_cover(paid: int, total: int, currency: str, what: str) -> None:
    if paid < total:
        raise InvalidRequestError(
            f"The payments cover {format_money(paid, currency)} of the {what}'s "
            f"{format_money(total, currency)}; {format_money(total - paid, currency)} is missing.",
            field="payments",
        )
    if paid > total:
        raise InvalidRequestError(
            f"The payments add up to {format_money(paid, currency)}, more than the {what}'s "
            f"{format_money(total, currency)}; record change on the cash payment "
            "(tendered and change) instead.",
            field="payments",
        )


def new_order(
    body: OrderCreate,
    register: Register,
    priced: PricedOrder,
    *,
    session_id: UUID,
    sequence: int,
    created_by: str,
    request_fingerprint: str,
    customer: Customer | None = None,
) -> NewOrder:
    """A till's sale as written: numbered on its register, dated by its shop's business day."""
    return NewOrder(
        tenant_id=register.tenant_id,
        order_id=body.id,
        register_id=register.register_id,
        shop_id=register.shop_id,
        session_id=session_id,
        receipt_number=receipt_number(register.receipt_prefix, sequence),
        receipt_sequence=sequence,
        business_date=business_date(
            body.created_at, register.timezone, register.business_day_cutoff
        ),
        created_at=body.created_at,
        currency=register.currency,
        net_total=priced.figures.net,
        tax_total=priced.figures.tax,
        total=priced.figures.total,
        customer_ref=body.customer_ref,
        note=body.note,
        source="pos",
        sync_state=initial_sync_state(register.tenant_tier),
        created_by=created_by,
        request_fingerprint=request_fingerprint,
        customer_id=body.customer_id,
        odoo_partner_id=customer.odoo_partner_id if customer else None,
    )
