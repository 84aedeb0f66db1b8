"""What an admin's PATCH of a register changes, for the register and for Odoo: without a
database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from registers.domain.registers import edit_register
from registers.domain.sync import SyncStatus
from shared.errors import ConflictError

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SYNCED = SyncStatus("synced", odoo_pos_config_id=7, budget_version=2)


@dataclass(frozen=True)
class Register:
    name: str = "Till 1"
    receipt_prefix: str = "CAFE1"
    active: bool = True
    version: int = 4
    sync_status: SyncStatus = field(default=SYNCED)


def test_fields_sent_unchanged_change_nothing() -> None:
    edit = edit_register(Register(), "pro", {"name": "Till 1", "active": True})
    assert edit.changes_nothing
    assert edit.edits == {}
    assert edit.changed == ()


def test_a_rename_of_a_synced_register_queues_its_update_at_the_new_version() -> None:
    edit = edit_register(Register(), "pro", {"name": "Bar"})
    assert edit.edits == {"name": "Bar"}
    assert edit.sync.after == SyncStatus("pending_update", 7, budget_version=5)
    assert edit.changed == ("name", "sync_state")
    assert edit.fields(NOW)["name"] == "Bar"
    assert edit.fields(NOW)["sync_state"] == "pending_update"


def test_a_new_receipt_prefix_is_an_edit_that_odoo_never_hears_of() -> None:
    edit = edit_register(Register(), "pro", {"receipt_prefix": "BAR1"})
    assert not edit.changes_nothing
    assert not edit.sync.moved
    assert edit.changed == ("receipt_prefix",)


def test_linking_a_pos_config_is_a_sync_move_not_a_field_edit() -> None:
    local = Register(sync_status=SyncStatus("sync_error", None, budget_version=1, attempts=6))
    edit = edit_register(local, "pro", {"odoo_pos_config_id": 12})
    assert edit.edits == {}
    assert edit.sync.after == SyncStatus("synced", 12, budget_version=5)
    assert edit.changed == ("sync_state", "odoo_pos_config_id")


def test_a_starter_register_cannot_be_linked_to_odoo() -> None:
    with pytest.raises(ConflictError, match="upgrade the tenant to Pro"):
        edit_register(Register(), "starter", {"odoo_pos_config_id": 12})


def test_reactivating_a_pro_register_left_out_of_odoo_queues_its_create() -> None:
    inactive = Register(active=False, sync_status=SyncStatus("local", None, budget_version=1))
    edit = edit_register(inactive, "pro", {"active": True})
    assert edit.sync.after.state == "pending_create"
    assert edit.changed == ("active", "sync_state")
