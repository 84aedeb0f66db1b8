from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.money import Money, currency_exponent, format_money


def test_minor_units_follow_iso_4217() -> None:
    assert (currency_exponent("EUR"), currency_exponent("JPY"), currency_exponent("KWD")) == (
        2,
        0,
        3,
    )


def test_amounts_read_as_people_write_them() -> None:
    assert format_money(1250, "EUR") == "12.50 EUR"
    assert format_money(1250, "JPY") == "1250 JPY"
    assert format_money(1250, "KWD") == "1.250 KWD"


@pytest.mark.parametrize("code", ["eur", "EURO", "XXX", "ABC"])
def test_what_is_not_a_tender_currency_is_refused(code: str) -> None:
    with pytest.raises(ValidationError, match="is not an ISO 4217 currency code"):
        Money(amount=1, currency=code)


def test_negative_amounts_are_refused_on_input() -> None:
    with pytest.raises(ValidationError):
        Money(amount=-1, currency="EUR")
