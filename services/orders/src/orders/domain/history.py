"""Rules of a Pro tenant's Odoo history as we import it: ids derived from Odoo's, each record
once per batch, and Odoo's own figures kept, once they are shown to add up."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from orders.domain.amounts import LineInput, business_date, format_quantity, recorded_line_amounts
from orders.domain.identity import derived_id, fingerprint
from orders.domain.model import (
    CashSession,
    NewOrder,
    OrderLine,
    OrderPayment,
    RefundLine,
    RefundPayment,
    Register,
)
from orders.domain.sale import require_currency
from orders.http_models import (
    OdooHistoryImport,
    OrderImport,
    RefundImport,
    SkippedRefundReason,
)
from shared.errors import InvalidRequestError
from shared.money import format_money


def imported_session_id(tenant_id: UUID, odoo_session_id: int) -> UUID:
    return derived_id(tenant_id, "odoo-session", odoo_session_id)


def imported_order_id(tenant_id: UUID, odoo_order_id: int) -> UUID:
    return derived_id(tenant_id, "odoo-order", odoo_order_id)


def imported_line_id(tenant_id: UUID, odoo_line_id: int) -> UUID:
    return derived_id(tenant_id, "odoo-order-line", odoo_line_id)


def imported_refund_id(tenant_id: UUID, odoo_order_id: int, original_odoo_order_id: int) -> UUID:
    # Odoo may refund lines of several orders in one refund order; the backfill sends one refund
    # per original, so the pair is the refund's identity here.
    return derived_id(tenant_id, "odoo-refund", odoo_order_id, original_odoo_order_id)


@dataclass(frozen=True)
class ImportedOrder:
    order: NewOrder
    lines: list[OrderLine]
    payments: list[OrderPayment]


def imported_order(
    item: OrderImport, where: str, register: Register, session: CashSession, created_by: str
) -> ImportedOrder:
    """The order's rows with Odoo's figures, checked to add up; raises 422 otherwise."""
    tenant_id, currency = register.tenant_id, register.currency
    order_id = imported_order_id(tenant_id, item.odoo_order_id)
    lines: list[OrderLine] = []
    for position, line in enumerate(item.lines):
        at = f"{where}.lines[{position}]"
        for name in ("unit_price", "net", "total"):
            require_currency(getattr(line, name).currency, currency, f"{at}.{name}")
        priced = LineInput(
            quantity=Decimal(line.quantity),
            unit_price=line.unit_price.amount,
            discount_percent=Decimal(line.discount_percent),
            tax_rate_percent=Decimal(line.tax_rate_percent),
            prices_include_tax=line.prices_include_tax,
        )
        amounts = recorded_line_amounts(priced, line.net.amount, line.total.amount)
        lines.append(
            OrderLine.priced_as(
                priced,
                amounts,
                line_id=imported_line_id(tenant_id, line.odoo_line_id),
                order_id=order_id,
                position=position,
                product_ref=line.product_ref,
                product_name=line.product_name,
                odoo_product_id=line.odoo_product_id,
            )
        )
    total = sum(line.total for line in lines)
    check_imported_total(item, total, currency, where)
    payments = [
        OrderPayment(
            payment_id=derived_id(tenant_id, "odoo-order-payment", item.odoo_order_id, position),
            order_id=order_id,
            position=position,
            method=payment.method,
            kind=payment.kind,
            odoo_payment_method_id=payment.odoo_payment_method_id,
            amount=payment.amount.amount,
        )
        for position, payment in enumerate(item.payments)
    ]
    order = NewOrder(
        tenant_id=tenant_id,
        order_id=order_id,
        register_id=item.register_id,
        shop_id=register.shop_id,
        session_id=session.session_id,
        receipt_number=item.receipt_number,
        business_date=business_date(
            item.created_at, register.timezone, register.business_day_cutoff
        ),
        created_at=item.created_at,
        currency=currency,
        net_total=sum(line.net for line in lines),
        tax_total=sum(line.tax for line in lines),
        total=total,
        customer_ref=item.customer_ref,
        note=item.note,
        source="odoo_pulled",
        sync_state="synced",
        created_by=created_by,
        request_fingerprint=fingerprint(item),
        odoo_order_id=item.odoo_order_id,
        odoo_session_id=item.odoo_session_id,
    )
    return ImportedOrder(order, lines, payments)


def imported_refund_rows(
    item: RefundImport, where: str, refund_id: UUID, register: Register
) -> tuple[list[RefundLine], list[RefundPayment]]:
    """The refund's lines and payments with Odoo's figures, checked to add up."""
    tenant_id, currency = register.tenant_id, register.currency
    lines: list[RefundLine] = []
    for position, line in enumerate(item.lines):
        for name in ("net", "total"):
            require_currency(
                getattr(line, name).currency, currency, f"{where}.lines[{position}].{name}"
            )
        lines.append(
            RefundLine(
                refund_line_id=derived_id(tenant_id, "odoo-refund-line", line.odoo_line_id),
                refund_id=refund_id,
                order_line_id=imported_line_id(tenant_id, line.refunded_odoo_line_id),
                position=position,
                quantity=Decimal(line.quantity),
                net=line.net.amount,
                tax=line.total.amount - line.net.amount,
                total=line.total.amount,
            )
        )
    check_imported_total(item, sum(line.total for line in lines), currency, where)
    payments = [
        RefundPayment(
            payment_id=derived_id(
                tenant_id,
                "odoo-refund-payment",
                item.odoo_order_id,
                item.original_odoo_order_id,
                position,
            ),
            refund_id=refund_id,
            position=position,
            method=payment.method,
            kind=payment.kind,
            odoo_payment_method_id=payment.odoo_payment_method_id,
            amount=payment.amount.amount,
        )
        for position, payment in enumerate(item.payments)
    ]
    return lines, payments


class RefundSkipped(Exception):  # noqa: N818 - an outcome reported in the summary, not a fault
    def __init__(self, reason: SkippedRefundReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def check_refund_fits(
    item: RefundImport,
    lines: Sequence[RefundLine],
    sold: Mapping[UUID, OrderLine],
    already: Mapping[UUID, Decimal],
) -> None:
    """Raises RefundSkipped if a line is not of the original or takes more than is left."""
    for line, sent in zip(lines, item.lines, strict=True):
        sold_line = sold.get(line.order_line_id)
        if sold_line is None:
            raise RefundSkipped(
                "line_not_in_original",
                f"Odoo line {sent.refunded_odoo_line_id} is not a line of Odoo order "
                f"{item.original_odoo_order_id}.",
            )
        refunded = already.get(line.order_line_id, Decimal(0))
        left = sold_line.quantity - refunded
        if line.quantity > left:
            raise RefundSkipped(
                "exceeds_sold_quantity",
                f"Odoo line {sent.refunded_odoo_line_id} ({sold_line.product_name}) "
                f"has {format_quantity(left)} left to refund (sold "
                f"{format_quantity(sold_line.quantity)}, already refunded "
                f"{format_quantity(refunded)}); this refund takes "
                f"{format_quantity(line.quantity)}.",
            )


def check_imported_total(
    item: OrderImport | RefundImport, lines_total: int, currency: str, where: str
) -> None:
    """The lines and the payments both add up to the stated total (Odoo's own figures do)."""
    require_currency(item.total.currency, currency, f"{where}.total")
    if item.total.amount != lines_total:
        raise InvalidRequestError(
            f"{where}.total is {format_money(item.total.amount, currency)} but its lines add up "
            f"to {format_money(lines_total, currency)}.",
            field=f"{where}.total",
        )
    for position, payment in enumerate(item.payments):
        require_currency(payment.amount.currency, currency, f"{where}.payments[{position}].amount")
    paid = sum(payment.amount.amount for payment in item.payments)
    if paid != lines_total:
        raise InvalidRequestError(
            f"{where}.payments add up to {format_money(paid, currency)} but {where}.total is "
            f"{format_money(lines_total, currency)}; send Odoo's payments net of the change "
            "given, so that they add up to the total.",
            field=f"{where}.payments",
        )


def refuse_duplicates(body: OdooHistoryImport) -> None:
    """Each Odoo record at most once per batch (and a refunded line once per refund)."""
    _once(
        "Odoo session",
        (
            (s.odoo_session_id, s.odoo_session_id, f"sessions[{i}].odoo_session_id")
            for i, s in enumerate(body.sessions)
        ),
    )
    _once(
        "Odoo order",
        (
            (o.odoo_order_id, o.odoo_order_id, f"orders[{i}].odoo_order_id")
            for i, o in enumerate(body.orders)
        ),
    )
    _once(
        "refund of one original by Odoo refund order",
        (
            ((r.odoo_order_id, r.original_odoo_order_id), r.odoo_order_id, f"refunds[{i}]")
            for i, r in enumerate(body.refunds)
        ),
    )
    sales = {o.odoo_order_id: i for i, o in enumerate(body.orders)}
    for index, refund in enumerate(body.refunds):
        if refund.odoo_order_id in sales:
            raise InvalidRequestError(
                f"refunds[{index}].odoo_order_id: Odoo order {refund.odoo_order_id} is also "
                f"orders[{sales[refund.odoo_order_id]}]; an Odoo order is a sale or a refund, "
                "not both.",
                field=f"refunds[{index}].odoo_order_id",
            )
    _once(
        "Odoo order line",
        (
            (line.odoo_line_id, line.odoo_line_id, f"orders[{i}].lines[{j}].odoo_line_id")
            for i, o in enumerate(body.orders)
            for j, line in enumerate(o.lines)
        ),
    )
    _once(
        "Odoo refund line",
        (
            (line.odoo_line_id, line.odoo_line_id, f"refunds[{i}].lines[{j}].odoo_line_id")
            for i, r in enumerate(body.refunds)
            for j, line in enumerate(r.lines)
        ),
    )
    _once(
        "receipt number",
        (
            (
                (o.register_id, o.receipt_number),
                repr(o.receipt_number),
                f"orders[{i}].receipt_number",
            )
            for i, o in enumerate(body.orders)
        ),
        scope="this batch on one register",
        advice="receipt numbers are unique per register",
    )
    for i, refund in enumerate(body.refunds):
        _once(
            "refunded Odoo line",
            (
                (
                    line.refunded_odoo_line_id,
                    line.refunded_odoo_line_id,
                    f"refunds[{i}].lines[{j}].refunded_odoo_line_id",
                )
                for j, line in enumerate(refund.lines)
            ),
            scope="this refund",
            advice="list each refunded line once with its whole quantity",
        )


def _once(
    what: str,
    keyed: Iterable[tuple[Hashable, object, str]],
    scope: str = "this batch",
    advice: str = "send each once",
) -> None:
    """Refuses the first key seen twice; `keyed` gives each key, how to show it, and where."""
    first_at: dict[Hashable, str] = {}
    for key, shown, where in keyed:
        if key in first_at:
            raise InvalidRequestError(
                f"{where}: {what} {shown} appears twice in {scope} (first at {first_at[key]}); "
                f"{advice}.",
                field=where,
            )
        first_at[key] = where
