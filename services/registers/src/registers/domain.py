"""Registers' plain types and rules: what valid input is, and the register's Odoo sync machine.

The sync machine is a set of pure functions from the register's current sync status to its next
one. Each returns the status unchanged when the rule says "leave it alone", so a caller can tell a
transition (which needs an event) from a no-op by comparing.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, replace
from datetime import time
from typing import Literal

from shared.errors import ConflictError

Tier = Literal["starter", "pro"]
SyncState = Literal["local", "pending_create", "pending_update", "synced", "sync_error"]

RECEIPT_PREFIX = re.compile(r"^[A-Z0-9]{1,12}$")
_CUTOFF = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# Validation of what people type: each raises ValueError with what to send instead, so the
# request models report every bad field of a body at once.


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


def valid_receipt_prefix(text: str) -> str:
    prefix = text.strip().upper()
    if not RECEIPT_PREFIX.match(prefix):
        raise ValueError(
            f"{text!r} cannot be a receipt prefix: use 1 to 12 letters A-Z or digits, "
            "such as CAFE1; receipt numbers read <prefix>-<number>"
        )
    return prefix


def format_cutoff(value: time) -> str:
    return value.strftime("%H:%M")


# The register's Odoo sync state machine.


@dataclass(frozen=True)
class SyncStatus:
    state: SyncState
    odoo_pos_config_id: int | None
    # The register version whose change opened the current attempt budget.
    budget_version: int
    attempts: int = 0
    last_error: str | None = None

    def fresh_budget(self, state: SyncState, version: int) -> SyncStatus:
        return replace(self, state=state, budget_version=version, attempts=0)


def initial_status(tier: Tier, version: int = 1) -> SyncStatus:
    return SyncStatus("pending_create" if tier == "pro" else "local", None, version)


def after_edit(current: SyncStatus, tier: Tier, active: bool, version: int) -> SyncStatus:
    """A rename, deactivation or reactivation (`version` is the register's new version)."""
    if tier == "starter" or current.state == "pending_create":
        # Starter: nothing in Odoo. Pending create: the create's result decides (after_synced).
        return current
    if current.odoo_pos_config_id is not None:
        return current.fresh_budget("pending_update", version)
    if current.state == "local" and active:
        # A Pro register left out of Odoo while inactive is wanted there once it is active.
        return current.fresh_budget("pending_create", version)
    # No Odoo id: a failed create waits for an operator's retry; nothing to update.
    return current


def after_tier_change(current: SyncStatus, tier: Tier, active: bool, version: int) -> SyncStatus:
    if tier == "starter":
        return current if current.state == "local" else replace(current, state="local")
    if current.state != "local":
        return current
    if current.odoo_pos_config_id is not None:
        # Back on Pro with a pos.config from before: re-assert its name and active flag.
        return current.fresh_budget("pending_update", version)
    if active:
        return current.fresh_budget("pending_create", version)
    return current


def after_synced(
    current: SyncStatus,
    *,
    odoo_pos_config_id: int,
    pushed_name: str,
    pushed_active: bool,
    register_version: int,
    name: str,
    active: bool,
    version: int,
) -> SyncStatus:
    """The connector's success: stamp the id; queue an update if the register moved meanwhile.

    A result about a push older than the current budget is stale: an admin linked another
    pos.config, or the register has been queued again since, and that decides.
    """
    if register_version < current.budget_version:
        return current
    stamped = replace(current, odoo_pos_config_id=odoo_pos_config_id)
    if current.state == "local":
        return stamped
    if (pushed_name, pushed_active) != (name, active):
        if current.state == "pending_update":
            return stamped  # a push of the current state is already on its way
        return stamped.fresh_budget("pending_update", version)
    return replace(stamped, state="synced", attempts=0, last_error=None)


def after_sync_failed(
    current: SyncStatus, *, register_version: int, error: str, attempts: int
) -> SyncStatus:
    """The connector dead-lettered a push; a failure of a push older than the budget is stale."""
    if register_version < current.budget_version:
        return current
    if current.state == "local":
        return replace(current, attempts=attempts, last_error=error)
    return replace(current, state="sync_error", attempts=attempts, last_error=error)


def after_retry(current: SyncStatus, tier: Tier, version: int) -> SyncStatus:
    """An operator's retry of a register in `sync_error`."""
    if tier != "pro":
        raise ConflictError(
            "This register's tenant is on Starter, so the register is not synced to Odoo."
        )
    if current.state != "sync_error":
        raise ConflictError(
            f"There is nothing to retry: the register's sync state is {current.state}; "
            "only a register in sync_error can be retried."
        )
    state: SyncState = "pending_update" if current.odoo_pos_config_id else "pending_create"
    return current.fresh_budget(state, version)


def after_adopt(
    current: SyncStatus, tier: Tier, odoo_pos_config_id: int, version: int
) -> SyncStatus:
    """Links an existing pos.config: synced, with nothing created in Odoo; any push still in
    flight from before (`version` is the register's new version) is stale from now on."""
    if tier != "pro":
        raise ConflictError(
            "Only a Pro tenant's registers are linked to Odoo; upgrade the tenant to Pro first."
        )
    return replace(
        current,
        state="synced",
        odoo_pos_config_id=odoo_pos_config_id,
        budget_version=version,
        attempts=0,
        last_error=None,
    )
