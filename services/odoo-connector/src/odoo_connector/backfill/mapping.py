"""Odoo history as the orders service's import contract: one sale, refund or session at a time;
what the import cannot represent raises Unrepresentable with a reason. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from odoo_connector.odoo_history import (
    OdooHistory,
    OdooLine,
    OdooOrder,
    OdooPayment,
    OdooPaymentMethod,
    OdooSession,
)
from shared.money import currency_exponent, round_minor

_MONEY_FIELD_LIMIT = 50


class Unrepresentable(Exception):  # noqa: N818 - an outcome counted in the summary
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def to_minor(value: float, currency: str) -> int:
    """Odoo's float in currency units as integer minor units, rounded half up."""
    return round_minor(Decimal(repr(value)).scaleb(currency_exponent(currency)))


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def decimal_text(value: float, places: int = 3) -> str:
    """A float as the contract's decimal string: at most `places` decimals, no exponent."""
    number = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class OurMethod:
    """A payment method of ours (registers service) mapped to an Odoo one."""

    code: str
    kind: str


def payment_kind(method: OdooPaymentMethod | None) -> str:
    """cash for a cash-counted method (16-18: `is_cash_count`); qr for 18's `qr_code`
    integration; card for a bank-journal method; other otherwise (e.g. pay later)."""
    if method is None:
        return "other"
    if method.is_cash:
        return "cash"
    if method.integration == "qr_code":
        return "qr"
    return "card" if method.type == "bank" else "other"


def product_ref(line: OdooLine, default_code: str | None) -> str:
    return (default_code or f"odoo-{line.product_id}")[:100]


def tax_figures(line: OdooLine, history: OdooHistory, net: int, total: int) -> tuple[str, bool]:
    """The line's tax rate (percent string) and whether its price includes tax.

    Percent taxes (and 'division', also a percentage) add up to the rate; a fixed or group tax
    has no rate of its own, so the rate is what the line's figures show (tax / net).
    """
    taxes = [history.taxes[t] for t in line.tax_ids if t in history.taxes]
    included = any(t.price_include for t in taxes)
    if all(t.amount_type in ("percent", "division") for t in taxes):
        rate = Decimal(0)
        for tax in taxes:
            rate += Decimal(repr(tax.amount))
    elif net > 0:
        rate = Decimal(total - net) * 100 / Decimal(net)
    else:
        rate = Decimal(0)
    if not Decimal(0) <= rate <= Decimal(100):
        raise Unrepresentable(
            "tax_rate_out_of_range",
            f"line {line.id} has a tax rate of {rate}%; the import takes 0 to 100%",
        )
    return decimal_text(float(rate)), included


def _quantity(value: float, line: OdooLine) -> str:
    text = decimal_text(value)
    try:
        exact = Decimal(repr(value)) == Decimal(text)
    except InvalidOperation:
        exact = False
    if not exact:
        raise Unrepresentable(
            "quantity_precision",
            f"line {line.id} has quantity {value}; the import takes at most 3 decimals",
        )
    return text


def _figures(line: OdooLine, currency: str, sign: int) -> tuple[int, int]:
    net = to_minor(sign * line.price_subtotal, currency)
    total = to_minor(sign * line.price_subtotal_incl, currency)
    # A refund line has a negative quantity and Odoo's unit price as sold (positive).
    if net < 0 or total < 0 or line.price_unit < 0:
        raise Unrepresentable(
            "negative_price_line",
            f"line {line.id} ({line.product_name or f'product {line.product_id}'}) has a "
            "negative price "
            "(a reward or discount line); the import takes positive lines only",
        )
    if total < net:
        raise Unrepresentable(
            "negative_tax", f"line {line.id} has a total below its net (a negative tax)"
        )
    return net, total


def order_line(line: OdooLine, history: OdooHistory, currency: str) -> dict[str, Any]:
    net, total = _figures(line, currency, 1)
    product = history.products.get(line.product_id)
    rate, included = tax_figures(line, history, net, total)
    ref = product_ref(line, product.default_code if product else None)
    name = line.product_name or (product.name if product else None) or ref
    return {
        "odoo_line_id": line.id,
        "product_ref": ref,
        "product_name": name[:200],
        "odoo_product_id": line.product_id or None,
        "quantity": _quantity(line.qty, line),
        "unit_price": money(to_minor(line.price_unit, currency), currency),
        "discount_percent": decimal_text(min(max(line.discount, 0.0), 100.0)),
        "tax_rate_percent": rate,
        "prices_include_tax": included,
        "net": money(net, currency),
        "total": money(total, currency),
    }


def grouped_payments(
    payments: Sequence[OdooPayment],
    history: OdooHistory,
    ours: dict[int, OurMethod],
    currency: str,
    sign: int,
) -> list[dict[str, Any]]:
    """One payment per method, net of the change Odoo records as a negative cash payment."""
    sums: dict[int, Decimal] = {}
    for payment in payments:
        sums[payment.method_id] = sums.get(payment.method_id, Decimal(0)) + Decimal(
            repr(payment.amount)
        )
    grouped = []
    for method_id in sorted(sums):
        amount = to_minor(float(sign * sums[method_id]), currency)
        if amount == 0:
            continue
        if amount < 0:
            raise Unrepresentable(
                "negative_payment",
                f"payments by Odoo method {method_id} add up to a negative amount",
            )
        odoo_method = history.methods.get(method_id)
        mine = ours.get(method_id)
        grouped.append(
            {
                "method": mine.code
                if mine
                else (odoo_method.name if odoo_method else f"odoo-{method_id}")[
                    :_MONEY_FIELD_LIMIT
                ],
                "kind": mine.kind if mine else payment_kind(odoo_method),
                "odoo_payment_method_id": method_id,
                "amount": money(amount, currency),
            }
        )
    return grouped


def _settles(order: OdooOrder, lines_total: int, payments: list[dict[str, Any]]) -> None:
    paid = sum(p["amount"]["amount"] for p in payments)
    if paid != lines_total:
        raise Unrepresentable(
            "payments_do_not_add_up",
            f"Odoo order {order.name}: its lines add up to {lines_total} minor units and its "
            f"payments (net of change) to {paid}; the import takes orders whose payments settle "
            "their lines exactly (cash rounding and tax rounded globally are not representable)",
        )
    if len(payments) > 20:
        raise Unrepresentable("too_many_payments", f"Odoo order {order.name} has over 20 payments")


def is_refund(order: OdooOrder) -> bool:
    return bool(order.lines) and all(line.qty < 0 for line in order.lines)


def map_order(
    order: OdooOrder,
    session: OdooSession,
    register_id: UUID,
    history: OdooHistory,
    ours: dict[int, OurMethod],
    currency: str,
) -> dict[str, Any]:
    """A sale as the contract's order; raises Unrepresentable."""
    if not order.lines:
        raise Unrepresentable("no_lines", f"Odoo order {order.name} has no lines")
    if any(line.qty <= 0 for line in order.lines):
        raise Unrepresentable(
            "mixed_sign",
            f"Odoo order {order.name} mixes sold and returned (or zero) quantities; the import "
            "takes a sale or a refund, not both in one order",
        )
    if len(order.lines) > 500:
        raise Unrepresentable("too_many_lines", f"Odoo order {order.name} has over 500 lines")
    lines = [order_line(line, history, currency) for line in order.lines]
    total = sum(line["total"]["amount"] for line in lines)
    payments = grouped_payments(order.payments, history, ours, currency, 1)
    _settles(order, total, payments)
    mapped: dict[str, Any] = {
        "odoo_order_id": order.id,
        "odoo_session_id": session.id,
        "register_id": str(register_id),
        "receipt_number": (order.pos_reference or order.name)[:100],
        "created_at": order.date_order.isoformat(),
        "lines": lines,
        "payments": payments,
        "total": money(total, currency),
    }
    if order.partner_name:
        mapped["customer_ref"] = order.partner_name[:100]
    if order.note:
        mapped["note"] = order.note[:1000]
    return mapped


def map_refunds(
    order: OdooOrder,
    session: OdooSession,
    register_id: UUID,
    history: OdooHistory,
    ours: dict[int, OurMethod],
    currency: str,
    original_of_line: dict[int, int],
) -> list[dict[str, Any]]:
    """An Odoo refund order as the contract's refunds (positive figures), one per original
    order; the refund payments go to the originals in order. Raises Unrepresentable."""
    by_original: dict[int, list[dict[str, Any]]] = {}
    for line in order.lines:
        if line.refunded_line_id is None:
            raise Unrepresentable(
                "refund_without_original",
                f"Odoo order {order.name} returns goods without naming the lines it refunds",
            )
        original = original_of_line.get(line.refunded_line_id)
        if original is None:
            raise Unrepresentable(
                "original_not_found",
                f"Odoo line {line.refunded_line_id} refunded by {order.name} was not found",
            )
        net, total = _figures(line, currency, -1)
        by_original.setdefault(original, []).append(
            {
                "odoo_line_id": line.id,
                "refunded_odoo_line_id": line.refunded_line_id,
                "quantity": _quantity(-line.qty, line),
                "net": money(net, currency),
                "total": money(total, currency),
            }
        )
    payments = grouped_payments(order.payments, history, ours, currency, -1)
    grand_total = sum(line["total"]["amount"] for lines in by_original.values() for line in lines)
    _settles(order, grand_total, payments)
    pool = [[p, p["amount"]["amount"]] for p in payments]
    refunds = []
    for original, lines in sorted(by_original.items()):
        due = sum(line["total"]["amount"] for line in lines)
        share = []
        for entry in pool:
            taken = min(due, entry[1])
            if taken > 0:
                share.append({**entry[0], "amount": money(taken, currency)})
                entry[1] -= taken
                due -= taken
        refunds.append(
            {
                "odoo_order_id": order.id,
                "original_odoo_order_id": original,
                "odoo_session_id": session.id,
                "register_id": str(register_id),
                "created_at": order.date_order.isoformat(),
                "reason": f"Refunded in Odoo ({order.name})"[:500],
                "lines": lines,
                "payments": share,
                "total": money(sum(line["total"]["amount"] for line in lines), currency),
            }
        )
    return refunds


def map_session(
    session: OdooSession, register_id: UUID, currency: str, last_order_at: datetime | None
) -> dict[str, Any]:
    """Odoo records who opened a session, not who closed it: both are the session's user."""
    opening = to_minor(session.opening_cash, currency)
    counted = to_minor(session.counted_cash, currency)
    if opening < 0 or counted < 0:
        raise Unrepresentable(
            "negative_cash", f"Odoo session {session.name} has a negative cash balance"
        )
    closed_at = session.stop_at or max(session.start_at, last_order_at or session.start_at)
    user = (session.user_name or "Odoo")[:200]
    return {
        "odoo_session_id": session.id,
        "register_id": str(register_id),
        "name": session.name[:200],
        "opened_at": session.start_at.isoformat(),
        "closed_at": max(closed_at, session.start_at).isoformat(),
        "opened_by": user,
        "closed_by": user,
        "opening_cash": money(opening, currency),
        "counted_cash": money(counted, currency),
    }
