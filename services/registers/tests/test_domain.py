"""The sync machine's invariants over every status it can be in (property tests), and input
validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registers.domain.inputs import valid_cutoff, valid_receipt_prefix
from registers.domain.sync import (
    SyncStatus,
    after_edit,
    after_sync_failed,
    after_synced,
    after_tier_change,
)
from registers.domain.tenants import Tier

statuses = st.builds(
    SyncStatus,
    state=st.sampled_from(["local", "pending_create", "pending_update", "synced", "sync_error"]),
    odoo_pos_config_id=st.none() | st.integers(1, 50),
    budget_version=st.integers(1, 20),
    attempts=st.integers(0, 6),
    last_error=st.none() | st.just("ValidationError: no"),
).filter(
    # Reachable statuses only: Odoo knows every register that is synced or awaits an update.
    lambda s: s.odoo_pos_config_id is not None or s.state not in ("pending_update", "synced")
)
tiers: st.SearchStrategy[Tier] = st.sampled_from(["starter", "pro"])


@given(statuses, tiers, st.booleans(), st.integers(21, 40))
def test_an_update_is_only_ever_queued_for_a_register_odoo_knows(
    status: SyncStatus, tier: Tier, active: bool, version: int
) -> None:
    for after in (
        after_edit(status, tier, active, version),
        after_tier_change(status, tier, active, version),
    ):
        if after.state == "pending_update":
            assert after.odoo_pos_config_id is not None


@given(statuses, st.booleans(), st.integers(21, 40))
def test_a_starter_register_never_queues_odoo_work(
    status: SyncStatus, active: bool, version: int
) -> None:
    local = after_tier_change(status, "starter", active, version)
    assert local.state == "local"
    assert after_edit(local, "starter", active, version).state == "local"


@given(statuses, tiers, st.booleans(), st.integers(21, 40))
def test_queued_work_always_starts_a_fresh_budget_at_the_new_version(
    status: SyncStatus, tier: Tier, active: bool, version: int
) -> None:
    after = after_edit(status, tier, active, version)
    if after.state != status.state and after.state.startswith("pending"):
        assert (after.budget_version, after.attempts) == (version, 0)


@given(statuses, st.integers(1, 99), st.text(min_size=1, max_size=5), st.booleans())
def test_a_current_result_always_stamps_the_odoo_id(
    status: SyncStatus, odoo_id: int, name: str, active: bool
) -> None:
    after = after_synced(
        status,
        odoo_pos_config_id=odoo_id,
        pushed_name=name,
        pushed_active=active,
        register_version=status.budget_version,
        name=name + "!",
        active=active,
        version=30,
    )
    assert after.odoo_pos_config_id == odoo_id
    assert after.state in ("local", "pending_update")


@given(statuses, st.integers(1, 99), st.booleans())
def test_a_result_of_a_push_older_than_the_budget_changes_nothing(
    status: SyncStatus, odoo_id: int, active: bool
) -> None:
    after = after_synced(
        status,
        odoo_pos_config_id=odoo_id,
        pushed_name="Till",
        pushed_active=active,
        register_version=status.budget_version - 1,
        name="Till",
        active=active,
        version=30,
    )
    assert after == status


@given(statuses, st.integers(0, 40))
def test_a_failure_of_an_older_push_never_changes_anything(
    status: SyncStatus, version: int
) -> None:
    after = after_sync_failed(status, register_version=version, error="x", attempts=6)
    if version < status.budget_version:
        assert after == status
    elif status.state != "local":
        assert after.state == "sync_error"


@pytest.mark.parametrize(("text", "prefix"), [("cafe1", "CAFE1"), (" bar ", "BAR"), ("9", "9")])
def test_receipt_prefix_is_upper_cased(text: str, prefix: str) -> None:
    assert valid_receipt_prefix(text) == prefix


@pytest.mark.parametrize("text", ["", "CAFE-1", "ABCDEFGHIJKLM", "ÉTÉ"])
def test_receipt_prefix_outside_the_alphabet_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="cannot be a receipt prefix"):
        valid_receipt_prefix(text)


@pytest.mark.parametrize("text", ["4:00", "24:00", "04:60", "noon"])
def test_cutoff_must_be_hh_mm(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        valid_cutoff(text)
