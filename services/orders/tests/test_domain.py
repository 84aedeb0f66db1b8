"""Orders' pure rules: line arithmetic, recorded (Odoo) figures, business dates, refunds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.domain.amounts import (
    Figures,
    LineAmounts,
    LineInput,
    business_date,
    cutoff_time,
    line_amounts,
    recorded_line_amounts,
    refund_part,
)


def line(
    quantity: str, price: int, discount: str = "0", tax: str = "20", inclusive: bool = True
) -> LineInput:
    return LineInput(Decimal(quantity), price, Decimal(discount), Decimal(tax), inclusive)


def test_inclusive_tax_is_carved_out_of_the_price() -> None:
    amounts = line_amounts(line("1", 1200, tax="20"))
    assert (amounts.net, amounts.tax, amounts.total) == (1000, 200, 1200)


def test_exclusive_tax_is_added_on_top_and_rounded_half_up() -> None:
    amounts = line_amounts(line("1", 1005, tax="10", inclusive=False))
    # 100.5 tax rounds half up to 101.
    assert (amounts.net, amounts.tax, amounts.total) == (1005, 101, 1106)


def test_recorded_figures_are_kept_and_gross_and_discount_derived_from_them() -> None:
    # Odoo rounded its net one cent away from ours (852); its figures stand.
    amounts = recorded_line_amounts(line("3", 333, discount="10", tax="5.5"), net=851, total=899)
    assert (amounts.gross, amounts.discount, amounts.net, amounts.tax, amounts.total) == (
        999,
        100,
        851,
        48,
        899,
    )
    exclusive = recorded_line_amounts(line("2", 500, tax="10", inclusive=False), 900, 990)
    # Without tax in the price, the discount brings the gross down to the net.
    assert (exclusive.gross, exclusive.discount, exclusive.tax) == (1000, 100, 90)


def test_a_recorded_price_above_quantity_times_unit_price_never_gives_a_negative_discount() -> None:
    # A unit price of 3.333 sent as 333: Odoo's 3 × 3.333 = 10.00 is above 3 × 3.33.
    amounts = recorded_line_amounts(line("3", 333, tax="10"), net=909, total=1000)
    assert (amounts.gross, amounts.discount, amounts.total) == (1000, 0, 1000)


def test_discount_is_taken_before_tax_and_rounded_once() -> None:
    amounts = line_amounts(line("3", 333, discount="10", tax="5.5"))
    # gross 999, discount round(99.9) = 100, 899 incl. tax, net round(899/1.055) = 852.
    assert (amounts.gross, amounts.discount, amounts.net, amounts.tax, amounts.total) == (
        999,
        100,
        852,
        47,
        899,
    )


def test_fractional_quantities_round_to_the_minor_unit() -> None:
    amounts = line_amounts(line("0.333", 1000, tax="0"))
    assert amounts.total == 333


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 01:30 UTC on the 2nd is 02:30 in Paris (winter): before the 04:00 cutoff, so the 1st.
        (datetime(2026, 1, 2, 1, 30, tzinfo=UTC), date(2026, 1, 1)),
        # 03:30 UTC is 04:30 in Paris: the 2nd has begun.
        (datetime(2026, 1, 2, 3, 30, tzinfo=UTC), date(2026, 1, 2)),
        # 23:30 UTC on the 1st is 00:30 on the 2nd in Paris, still the 1st's business day.
        (datetime(2026, 1, 1, 23, 30, tzinfo=UTC), date(2026, 1, 1)),
    ],
)
def test_business_date_follows_the_shop_timezone_and_cutoff(
    moment: datetime, expected: date
) -> None:
    assert business_date(moment, "Europe/Paris", time(4, 0)) == expected


def test_business_date_in_a_timezone_behind_utc() -> None:
    # 03:00 UTC on the 2nd is 22:00 on the 1st in New York (winter).
    assert business_date(
        datetime(2026, 1, 2, 3, 0, tzinfo=UTC), "America/New_York", time(4, 0)
    ) == date(2026, 1, 1)


NOTHING = Figures(net=0, tax=0, total=0)


def _figures(amounts: LineAmounts) -> Figures:
    return Figures(net=amounts.net, tax=amounts.tax, total=amounts.total)


def _refund_in_parts(priced: LineInput, parts: list[Decimal]) -> list[Figures]:
    sold = _figures(line_amounts(priced))
    refunded, given_back, result = Decimal(0), NOTHING, []
    for quantity in parts:
        part = refund_part(priced, sold, refunded, given_back, quantity)
        refunded += quantity
        given_back = Figures(
            given_back.net + part.net, given_back.tax + part.tax, given_back.total + part.total
        )
        result.append(part)
    return result


def test_a_refund_of_one_of_two_adds_up_to_what_the_customer_paid_for_it() -> None:
    # 2 × 1.80 EUR, 10 % included: net 327, tax 33. Rounding net and tax each on the quantity
    # gave 164 + 17 = 181 for one of the two, against a total of 180.
    coffees = line("2", 180, tax="10")
    assert _figures(line_amounts(coffees)) == Figures(net=327, tax=33, total=360)
    first, second = _refund_in_parts(coffees, [Decimal(1), Decimal(1)])
    # Priced as the till prices one coffee; the last part takes what is left.
    assert first == Figures(net=164, tax=16, total=180)
    assert second == Figures(net=163, tax=17, total=180)


def test_a_part_of_a_line_with_tax_added_is_its_share_of_the_net_taxed_at_the_rate() -> None:
    # 3 × 3.35, 10 % added: net 1005, tax 101 (100.5 rounded up), total 1106.
    parts = _refund_in_parts(line("3", 335, tax="10", inclusive=False), [Decimal(1)] * 3)
    assert parts == [
        Figures(net=335, tax=34, total=369),
        Figures(net=335, tax=34, total=369),
        Figures(net=335, tax=33, total=368),
    ]


def test_refunding_the_whole_quantity_at_once_returns_the_line_exactly() -> None:
    tea = line("3", 333, discount="10", tax="5.5")
    assert _refund_in_parts(tea, [Decimal(3)]) == [_figures(line_amounts(tea))]


def test_many_small_parts_never_leave_the_last_one_a_negative_tax() -> None:
    # 10 × 0.06 included at 10 %: 60 with tax 5, but a single 0.06 carries a tax of 1. Taxed
    # alone each, nine parts would give back 9 and leave the last -4.
    parts = _refund_in_parts(line("10", 6, tax="10"), [Decimal(1)] * 10)
    assert sum(p.tax for p in parts) == 5
    assert all(min(p.net, p.tax) >= 0 and p.net + p.tax == 6 for p in parts)


def test_refund_part_refuses_sold_figures_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="do not add up"):
        refund_part(
            line("1", 180), Figures(net=164, tax=17, total=180), Decimal(0), NOTHING, Decimal(1)
        )


def _thousandths(value: int) -> Decimal:
    return Decimal(value).scaleb(-3)


def _percent(draw: st.DrawFn, usual: list[int]) -> Decimal:
    """A percentage with up to 3 decimals, as often a common one as any other."""
    if draw(st.booleans()):
        return _thousandths(draw(st.sampled_from(usual)))
    return _thousandths(draw(st.integers(min_value=0, max_value=100_000)))


@st.composite
def refunded_lines(draw: st.DrawFn) -> tuple[LineInput, list[Decimal]]:
    """A line as a till sells it and its quantity cut into refund parts at random points."""
    sold = draw(st.integers(min_value=1, max_value=50_000))  # thousandths of a unit
    priced = LineInput(
        quantity=_thousandths(sold),
        unit_price=draw(st.integers(min_value=0, max_value=100_000)),
        discount_percent=_percent(draw, [0, 5_000, 10_000, 12_500, 33_333, 100_000]),
        tax_rate_percent=_percent(draw, [0, 2_100, 5_500, 7_700, 10_000, 20_000, 100_000]),
        prices_include_tax=draw(st.booleans()),
    )
    cuts = draw(st.lists(st.integers(min_value=1, max_value=sold), max_size=12, unique=True))
    points = sorted({0, sold, *cuts})
    return priced, [_thousandths(b - a) for a, b in pairwise(points)]


@given(refunded_lines())
def test_refund_parts_add_up_each_and_together_to_the_line(
    case: tuple[LineInput, list[Decimal]],
) -> None:
    priced, parts = case
    sold = _figures(line_amounts(priced))
    given_back = _refund_in_parts(priced, parts)
    for quantity, part in zip(parts, given_back, strict=True):
        assert part.net + part.tax == part.total
        assert min(part.net, part.tax, part.total) >= 0
        # The figure the price means is never more than a cent from its exact share.
        priced_figure = part.total if priced.prices_include_tax else part.net
        exact = (sold.total if priced.prices_include_tax else sold.net) * quantity / priced.quantity
        assert abs(priced_figure - exact) <= 1
    assert sum(p.net for p in given_back) == sold.net
    assert sum(p.tax for p in given_back) == sold.tax
    assert sum(p.total for p in given_back) == sold.total


@pytest.mark.parametrize(
    ("text", "cutoff"), [("04:00", time(4)), ("05:30", time(5, 30)), ("23:45:00", time(23, 45))]
)
def test_a_cutoff_as_events_carry_it_is_read_as_a_time_of_day(text: str, cutoff: time) -> None:
    assert cutoff_time(text) == cutoff
