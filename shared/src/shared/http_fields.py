"""Field types for HTTP request bodies: what Postgres would refuse is refused first, with a 422
that names the field and says what to do."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1
INT8_MIN = -(2**63)
INT8_MAX = 2**63 - 1

NUL_MESSAGE = "must not contain a NUL character (\\u0000); remove it"


def _without_nul(value: Any) -> Any:
    # Postgres text cannot hold U+0000. Checked before the other constraints, so a NUL is
    # reported as such even where a pattern or a length would also refuse the value.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


Text = Annotated[str, BeforeValidator(_without_nul)]
"""Any text a request carries; add `Field(min_length=..., max_length=...)` as the column needs."""

SecretText = Annotated[SecretStr, BeforeValidator(_without_nul)]

OdooId = Annotated[int, Field(gt=0, le=INT4_MAX, json_schema_extra={"format": "int32"})]
"""An Odoo record id: Odoo's ids are Postgres integers, and so are the columns that keep them."""


def decimal_string(value: str, *, allow_zero: bool, upper: Decimal, what: str) -> Decimal:
    """A decimal sent as a string (so no float ever rounds it), within bounds, at most 3 places."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f'must be a decimal string such as "2" or "0.5"; got {value!r}') from None
    if not number.is_finite():
        raise ValueError(f"must be a finite number; got {value!r}")
    if number < 0 or (number == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        raise ValueError(f"{what} must be {bound}; got {value}")
    if number > upper:
        raise ValueError(f"{what} must be at most {upper}; got {value}")
    if number.as_tuple().exponent < -3:  # type: ignore[operator]
        raise ValueError(f"{what} may have at most 3 decimal places; got {value}")
    return number


def _percent(value: str) -> str:
    decimal_string(value, allow_zero=True, upper=Decimal(100), what="percentage")
    return value


PercentString = Annotated[Text, Field(max_length=20), AfterValidator(_percent)]
"""A percentage from 0 to 100 as a decimal string, such as "10" or "5.5"."""
