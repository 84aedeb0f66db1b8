"""Odoo's float rounding (odoo/tools/float_utils.py): HALF-UP with an epsilon nudge on ties.

Amounts in Odoo are floats; `currency.round(x)` is `float_round(x, precision_rounding=0.01)`. The
nudge makes a value whose float is just below a tie (2.675 == 2.67499999...) round away from zero,
so every tie at the currency's precision goes away from zero.
"""

from __future__ import annotations

import builtins
import math
from decimal import Decimal


def _round_half_away(value: float) -> float:
    # Python 2's round, as Odoo re-implements it: ties go away from zero.
    rounded = builtins.round(value)
    if builtins.round(value + 1) - rounded != 1:
        return value + math.copysign(0.5, value)
    return math.copysign(rounded, value)


def float_round(value: float, precision_rounding: float) -> float:
    """`float_round(value, precision_rounding=...)` with the default HALF-UP method."""
    if precision_rounding == 0 or value == 0:
        return 0.0
    normalized = value / precision_rounding
    epsilon = 2 ** (math.log(abs(normalized), 2) - 52)
    return _round_half_away(normalized + math.copysign(epsilon, normalized)) * precision_rounding


def stored_amount(value: float, precision_rounding: float) -> float:
    """A monetary column's value as read back: rounded, then the exact decimal Postgres keeps."""
    exponent = Decimal(repr(precision_rounding)).normalize().as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return float(f"{float_round(value, precision_rounding):.{digits}f}")


def float_is_zero(value: float, precision_rounding: float) -> bool:
    return abs(float_round(value, precision_rounding)) < precision_rounding


def float_compare(value1: float, value2: float, precision_rounding: float) -> int:
    delta = float_round(value1, precision_rounding) - float_round(value2, precision_rounding)
    if float_is_zero(delta, precision_rounding):
        return 0
    return -1 if delta < 0 else 1


def sql_sum(amounts: list[float]) -> float:
    """SUM() over numeric columns: Postgres adds the stored amounts exactly."""
    return float(sum((Decimal(repr(a)) for a in amounts), Decimal(0)))
