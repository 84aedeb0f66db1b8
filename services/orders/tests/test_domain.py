"""Orders' pure rules: line arithmetic, recorded (Odoo) figures, business dates, refunds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.domain import (
    LineInput,
    business_date,
    line_amounts,
    recorded_line_amounts,
    refund_share,
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


@given(
    amount=st.integers(min_value=0, max_value=10**9),
    parts=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=8),
)
def test_partial_refund_shares_always_add_up_to_the_whole(amount: int, parts: list[int]) -> None:
    sold = Decimal(sum(parts))
    refunded = Decimal(0)
    shares = []
    for part in parts:
        shares.append(refund_share(amount, sold, refunded, Decimal(part)))
        refunded += part
    assert sum(shares) == amount
    assert all(share >= 0 for share in shares)
