"""Orders' plain types and rules: line and order arithmetic, business dates, refund amounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.money import round_minor

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: int
    discount_percent: Decimal
    tax_rate_percent: Decimal
    prices_include_tax: bool


@dataclass(frozen=True)
class LineAmounts:
    """A line's figures in minor units; gross − discount = net + tax (inclusive) or net."""

    gross: int
    discount: int
    net: int
    tax: int
    total: int


def line_amounts(line: LineInput) -> LineAmounts:
    """Rounds once per step, half up: gross, then discount, then tax (money rules 3.3)."""
    gross = round_minor(line.quantity * line.unit_price)
    discount = round_minor(gross * line.discount_percent / HUNDRED)
    after_discount = gross - discount
    rate = line.tax_rate_percent / HUNDRED
    if line.prices_include_tax:
        net = round_minor(after_discount / (1 + rate))
        tax = after_discount - net
        total = after_discount
    else:
        net = after_discount
        tax = round_minor(net * rate)
        total = net + tax
    return LineAmounts(gross=gross, discount=discount, net=net, tax=tax, total=total)


def recorded_line_amounts(line: LineInput, net: int, total: int) -> LineAmounts:
    """A line priced elsewhere (Odoo's history): its net and total kept exactly as recorded.

    Tax is total − net. Gross is quantity × unit price and the discount whatever brings it down
    to the discounted price (the total when prices include tax, the net otherwise), so
    gross − discount holds as for our own lines. Where the recorded price is above quantity ×
    unit price (another system's rounding of a unit price finer than a minor unit), gross is
    that price and the discount zero, never negative.
    """
    discounted = total if line.prices_include_tax else net
    gross = max(round_minor(line.quantity * line.unit_price), discounted)
    return LineAmounts(
        gross=gross, discount=gross - discounted, net=net, tax=total - net, total=total
    )


def business_date(moment: datetime, timezone: str, cutoff: time) -> date:
    """The shop's trading day: before the cutoff (e.g. 04:00 local) it is still yesterday."""
    local = moment.astimezone(ZoneInfo(timezone))
    if local.time() < cutoff:
        return local.date() - timedelta(days=1)
    return local.date()


def refund_share(
    amount: int, sold_quantity: Decimal, refunded_before: Decimal, refunding: Decimal
) -> int:
    """This refund's part of a line amount, apportioned on cumulative quantities.

    Rounding the cumulative share (not each refund's) means partial refunds always add up to
    exactly the line's amount once the whole quantity is back.
    """
    before = round_minor(amount * refunded_before / sold_quantity)
    after = round_minor(amount * (refunded_before + refunding) / sold_quantity)
    return after - before


def format_quantity(value: Decimal) -> str:
    """Decimal string without exponent or trailing zeros: Decimal('2.500') -> '2.5'."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
