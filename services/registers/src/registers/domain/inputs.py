"""What people type: each check raises ValueError with what to send instead, so the request
models report every bad field of a body at once."""

from __future__ import annotations

import re
import zoneinfo
from datetime import time

from shared.errors import ConflictError

RECEIPT_PREFIX = re.compile(r"^[A-Z0-9]{1,12}$")
_CUTOFF = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def valid_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone; use a name like Europe/Paris or America/New_York"
        ) from None
    return name


def valid_cutoff(text: str) -> str:
    if _CUTOFF.match(text) is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (24-hour), such as 04:00")
    return text


def parse_cutoff(text: str) -> time:
    """A cutoff that `valid_cutoff` let through, as a time of day."""
    hours, minutes = valid_cutoff(text).split(":")
    return time(int(hours), int(minutes))


def format_cutoff(value: time) -> str:
    return value.strftime("%H:%M")


def valid_receipt_prefix(text: str) -> str:
    prefix = text.strip().upper()
    if not RECEIPT_PREFIX.match(prefix):
        raise ValueError(
            f"{text!r} cannot be a receipt prefix: use 1 to 12 letters A-Z or digits, "
            "such as CAFE1; receipt numbers read <prefix>-<number>"
        )
    return prefix


def receipt_prefix_taken(prefix: str) -> ConflictError:
    return ConflictError(
        f"Receipt prefix {prefix} is already used by another register of this tenant; receipt "
        "numbers must not collide, so choose another prefix.",
        field="receipt_prefix",
    )


def payment_method_code_taken(code: str) -> ConflictError:
    return ConflictError(
        f"This tenant already has a payment method with code {code!r}; "
        "codes name a method on receipts and in Odoo, so each is used once.",
        field="code",
    )
