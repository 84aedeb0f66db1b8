"""A register's Odoo sync machine: pure functions from its current sync status to its next one.

Each returns the status unchanged when the rule says "leave it alone", so a caller can tell a
transition (which needs an event) from a no-op by comparing.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from registers.domain.tenants import Tier
from shared.errors import ConflictError

SyncState = Literal["local", "pending_create", "pending_update", "synced", "sync_error"]


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


def initial_status(tier: Tier, linked_pos_config_id: int | None = None) -> SyncStatus:
    """A new register's status; one created with its pos.config is linked at version 1."""
    status = SyncStatus("pending_create" if tier == "pro" else "local", None, 1)
    if linked_pos_config_id is not None:
        # Linked at birth: no create is ever queued, so none can race the link.
        return after_adopt(status, tier, linked_pos_config_id, 1)
    return status


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


def after_patch(
    current: SyncStatus,
    tier: Tier,
    *,
    adopt: int | None,
    edited: Set[str],
    active: bool,
    version: int,
) -> SyncStatus:
    """An admin's PATCH: a linked pos.config (`adopt`), then what a rename or (de)activation
    queues; `edited` names the fields that change, `active` is the flag after the PATCH."""
    after = current
    if adopt is not None:
        after = after_adopt(after, tier, adopt, version)
    if {"name", "active"} & edited:
        after = after_edit(after, tier, active, version)
    return after


def sync_error_text(error_class: str, message: str) -> str:
    """The connector's failure as the register keeps it; bounded, whatever Odoo said."""
    return f"{error_class}: {message}"[:1000]


def sync_fields(before: SyncStatus, after: SyncStatus, now: datetime) -> dict[str, Any]:
    """The register fields a transition sets, with when its error or its success happened."""
    if after == before:
        return {}
    fields: dict[str, Any] = {
        "sync_state": after.state,
        "odoo_pos_config_id": after.odoo_pos_config_id,
        "sync_budget_version": after.budget_version,
        "sync_attempts": after.attempts,
        "last_sync_error": after.last_error,
    }
    if after.last_error is not None and after.last_error != before.last_error:
        fields["last_sync_error_at"] = now
    if after.state == "synced":
        fields["last_synced_at"] = now
    return fields


def sync_changed(before: SyncStatus, after: SyncStatus) -> tuple[str, ...]:
    """What a transition changed, as the register's events name it."""
    names = []
    if before.state != after.state:
        names.append("sync_state")
    if before.odoo_pos_config_id != after.odoo_pos_config_id:
        names.append("odoo_pos_config_id")
    if before.last_error != after.last_error:
        names.append("last_sync_error")
    return tuple(names)


@dataclass(frozen=True)
class SyncMove:
    """A register's sync status before and after a rule; `after` equals `before` when the rule
    leaves it alone."""

    before: SyncStatus
    after: SyncStatus

    @property
    def moved(self) -> bool:
        return self.after != self.before

    @property
    def changed(self) -> tuple[str, ...]:
        return sync_changed(self.before, self.after)

    def fields(self, now: datetime) -> dict[str, Any]:
        return sync_fields(self.before, self.after, now)

    def __str__(self) -> str:
        return f"{self.before.state}->{self.after.state}"
