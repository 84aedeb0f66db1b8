"""Shops: what may change once registers sell in them."""

from __future__ import annotations

from collections.abc import Mapping

from shared.errors import ConflictError


def check_shop_changes(changes: Mapping[str, object], *, has_registers: bool) -> None:
    if "currency" in changes and has_registers:
        raise ConflictError(
            "A shop's currency cannot change once it has registers: their orders and "
            "reports are in the old currency. Open a new shop for the new currency.",
            field="currency",
        )
