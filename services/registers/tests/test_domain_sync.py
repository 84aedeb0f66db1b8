"""The register's sync rules one by one, and what a transition writes: without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from registers.domain.sync import (
    SyncMove,
    SyncStatus,
    after_adopt,
    after_patch,
    after_retry,
    initial_status,
    sync_changed,
    sync_error_text,
    sync_fields,
)
from shared.errors import ConflictError

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SYNCED = SyncStatus("synced", odoo_pos_config_id=7, budget_version=2)


def test_a_new_register_is_local_on_starter_and_awaits_its_create_on_pro() -> None:
    assert initial_status("starter") == SyncStatus("local", None, 1)
    assert initial_status("pro") == SyncStatus("pending_create", None, 1)


def test_a_register_created_with_its_pos_config_is_synced_at_once() -> None:
    assert initial_status("pro", 12) == SyncStatus("synced", 12, 1)


def test_only_a_pro_register_is_created_linked_to_odoo() -> None:
    with pytest.raises(ConflictError, match="upgrade the tenant to Pro"):
        initial_status("starter", 12)


def test_linking_a_pos_config_makes_older_pushes_stale() -> None:
    failed = SyncStatus("sync_error", None, budget_version=1, attempts=6, last_error="x")
    assert after_adopt(failed, "pro", 30, version=5) == SyncStatus("synced", 30, 5)


def test_a_retry_starts_a_fresh_budget_for_what_is_missing_in_odoo() -> None:
    never_created = SyncStatus("sync_error", None, 1, attempts=6, last_error="x")
    not_updated = SyncStatus("sync_error", 7, 1, attempts=6, last_error="x")
    assert after_retry(never_created, "pro", 4) == SyncStatus("pending_create", None, 4, 0, "x")
    assert after_retry(not_updated, "pro", 4) == SyncStatus("pending_update", 7, 4, 0, "x")


def test_only_a_failed_pro_register_can_be_retried() -> None:
    with pytest.raises(ConflictError, match="only a register in sync_error can be retried"):
        after_retry(SYNCED, "pro", 4)
    with pytest.raises(ConflictError, match="on Starter"):
        after_retry(SyncStatus("sync_error", None, 1), "starter", 4)


def test_a_rename_of_a_synced_register_queues_an_update() -> None:
    after = after_patch(SYNCED, "pro", adopt=None, edited={"name"}, active=True, version=3)
    assert after == SyncStatus("pending_update", 7, 3)


def test_a_new_receipt_prefix_alone_is_nothing_for_odoo() -> None:
    after = after_patch(
        SYNCED, "pro", adopt=None, edited={"receipt_prefix"}, active=True, version=3
    )
    assert after == SYNCED


def test_a_rename_with_a_link_updates_the_newly_linked_pos_config() -> None:
    local = SyncStatus("local", None, 1)
    after = after_patch(local, "pro", adopt=9, edited={"name"}, active=True, version=3)
    assert after == SyncStatus("pending_update", 9, 3)


def test_a_transition_writes_its_status_and_when_it_failed() -> None:
    pending = SyncStatus("pending_create", None, 1)
    failed = SyncStatus("sync_error", None, 1, attempts=6, last_error="ValidationError: no")
    assert sync_fields(pending, failed, NOW) == {
        "sync_state": "sync_error",
        "odoo_pos_config_id": None,
        "sync_budget_version": 1,
        "sync_attempts": 6,
        "last_sync_error": "ValidationError: no",
        "last_sync_error_at": NOW,
    }
    assert sync_changed(pending, failed) == ("sync_state", "last_sync_error")


def test_no_transition_writes_nothing() -> None:
    assert sync_fields(SYNCED, SYNCED, NOW) == {}
    assert sync_changed(SYNCED, SYNCED) == ()


def test_the_same_error_again_keeps_the_time_it_first_happened() -> None:
    failed = SyncStatus("sync_error", None, 1, attempts=6, last_error="ValidationError: no")
    again = SyncStatus("sync_error", None, 1, attempts=7, last_error="ValidationError: no")
    assert "last_sync_error_at" not in sync_fields(failed, again, NOW)


def test_a_success_writes_when_it_happened_and_keeps_the_last_error_cleared() -> None:
    pending = SyncStatus("pending_create", None, 1, attempts=2, last_error="x")
    fields = sync_fields(pending, SyncStatus("synced", 7, 1), NOW)
    assert (fields["last_synced_at"], fields["last_sync_error"]) == (NOW, None)
    assert sync_changed(pending, SyncStatus("synced", 7, 1)) == (
        "sync_state",
        "odoo_pos_config_id",
        "last_sync_error",
    )


def test_the_kept_error_is_bounded_whatever_odoo_said() -> None:
    assert sync_error_text("ValidationError", "no") == "ValidationError: no"
    assert len(sync_error_text("OdooError", "x" * 5000)) == 1000


def test_a_move_names_what_it_changed_and_writes_it() -> None:
    failed = SyncStatus("sync_error", 7, budget_version=2, attempts=6, last_error="boom")
    move = SyncMove(SYNCED, failed)
    assert move.moved
    assert move.changed == ("sync_state", "last_sync_error")
    assert move.fields(NOW)["last_sync_error_at"] == NOW
    assert str(move) == "synced->sync_error"


def test_a_rule_that_leaves_the_status_alone_is_no_move() -> None:
    move = SyncMove(SYNCED, SYNCED)
    assert not move.moved
    assert move.changed == ()
    assert move.fields(NOW) == {}
