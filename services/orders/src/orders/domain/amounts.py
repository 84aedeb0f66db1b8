"""Line arithmetic: a line's figures, Odoo's recorded figures, business dates, refund parts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol
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


def cutoff_time(text: str) -> time:
    """A business-day cutoff as events carry it ("HH:MM", seconds ignored) as a time of day."""
    hours, minutes = (int(part) for part in text.split(":")[:2])
    return time(hours, minutes)


def business_date(moment: datetime, timezone: str, cutoff: time) -> date:
    """The shop's trading day: before the cutoff (e.g. 04:00 local) it is still yesterday."""
    local = moment.astimezone(ZoneInfo(timezone))
    if local.time() < cutoff:
        return local.date() - timedelta(days=1)
    return local.date()


@dataclass(frozen=True)
class Figures:
    """A line's or a refund part's net, tax and total, in minor units: net + tax = total."""

    net: int
    tax: int
    total: int


class _HasFigures(Protocol):
    @property
    def net(self) -> int: ...
    @property
    def tax(self) -> int: ...
    @property
    def total(self) -> int: ...


def summed(items: Iterable[_HasFigures]) -> Figures:
    """An order's or a refund's net, tax and total: the sums of its lines'."""
    listed = list(items)
    return Figures(
        net=sum(item.net for item in listed),
        tax=sum(item.tax for item in listed),
        total=sum(item.total for item in listed),
    )


def _between(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def refund_part(
    line: LineInput, sold: Figures, refunded: Decimal, given_back: Figures, quantity: Decimal
) -> Figures:
    """This refund's part of a sold line: `quantity` more units after `refunded` units, for which
    earlier refunds gave back `given_back`.

    The part is priced as the till (and Odoo, which is sent its price) prices a line: the
    figure the price means (the total when it includes tax, else the net) is the line's share
    of it on cumulative quantities, and the tax follows from it at the line's rate. The part
    that brings the refunded quantity up to the sold one takes the remainder of all three, so a
    line refunded in parts gives back exactly its net, tax and total. A part's tax is kept where
    the rest can still add up, so no part, the last included, ever has a negative figure.
    """
    if sold.net + sold.tax != sold.total:
        raise ValueError(f"the sold line's figures do not add up: {sold}")
    left = Figures(
        net=sold.net - given_back.net,
        tax=sold.tax - given_back.tax,
        total=sold.total - given_back.total,
    )
    after = refunded + quantity
    if after >= line.quantity:
        return left
    rate = line.tax_rate_percent / HUNDRED
    if line.prices_include_tax:
        share = round_minor(sold.total * after / line.quantity) - given_back.total
        total = _between(share, 0, left.total)
        tax = total - round_minor(total / (1 + rate))
        # What is left to refund must still hold the tax left, which is part of its total.
        tax = _between(tax, left.tax - (left.total - total), min(total, left.tax))
        return Figures(net=total - tax, tax=tax, total=total)
    share = round_minor(sold.net * after / line.quantity) - given_back.net
    net = _between(share, 0, left.net)
    tax = _between(round_minor(net * rate), 0, left.tax)
    return Figures(net=net, tax=tax, total=net + tax)


def format_quantity(value: Decimal) -> str:
    """Decimal string without exponent or trailing zeros: Decimal('2.500') -> '2.5'."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
