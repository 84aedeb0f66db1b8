"""Money in integer minor units of an ISO 4217 currency; Decimal only for percentages."""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.http_fields import Text

# ISO 4217 minor units that are not 2; every other active code has 2.
_EXPONENTS = {
    **dict.fromkeys(
        (
            *("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"),
            *("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"),
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
# Codes that are funds, metals or testing, which no till takes.
_NOT_TENDER = frozenset(
    ("XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX")
)

MAX_AMOUNT = 10**13  # far above any till's order, far below bigint


class UnknownCurrencyError(ValueError):
    pass


@functools.cache
def _tender_codes() -> frozenset[str]:
    # Read once: a pycountry lookup takes a lock and costs more than the rest of a Money's check,
    # and every amount of every order is checked.
    return frozenset(currency.alpha_3 for currency in pycountry.currencies) - _NOT_TENDER


def is_currency(code: str) -> bool:
    return code in _tender_codes()


def currency_exponent(code: str) -> int:
    if not is_currency(code):
        raise UnknownCurrencyError(f"{code!r} is not an ISO 4217 currency code")
    return _EXPONENTS.get(code, 2)


def _check_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (such as EUR or USD)")
    return code


CurrencyCode = Annotated[Text, AfterValidator(_check_currency)]
MinorUnits = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]


class Money(BaseModel):
    """An amount in minor units with its currency: `{"amount": 1250, "currency": "EUR"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: MinorUnits
    currency: CurrencyCode


def round_minor(value: Decimal) -> int:
    """Rounds to a whole minor unit, half up (the default the money rules set)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount: int, currency: str) -> str:
    """For messages people read: 1250 EUR -> '12.50 EUR'."""
    exponent = currency_exponent(currency)
    value = Decimal(amount).scaleb(-exponent)
    return f"{value:.{exponent}f} {currency}"


class SignedMoney(BaseModel):
    """An amount that may be negative (a cash difference, a net after refunds), for output."""

    model_config = ConfigDict(frozen=True)

    amount: int
    currency: str
