"""What the events registers writes say, built from rows: without a database."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time

from registers import events
from registers.repository import RegisterRow, ShopRow
from shared.events.contracts import RegisterOdooSynced, RegisterOdooSyncFailed, RegisterUpdated

AT = datetime(2026, 3, 1, tzinfo=UTC)
TENANT = uuid.uuid4()
SHOP = ShopRow(
    uuid.uuid4(), TENANT, 1, "Main Street", "EUR", "Europe/Paris", time(4), True, 3, AT, AT
)
REGISTER = RegisterRow(
    register_id=uuid.uuid4(),
    tenant_id=TENANT,
    shop_id=SHOP.shop_id,
    seq=1,
    name="Till 1",
    receipt_prefix="CAFE1",
    active=True,
    odoo_pos_config_id=7,
    sync_state="pending_update",
    sync_budget_version=5,
    sync_attempts=0,
    last_sync_error=None,
    last_sync_error_at=None,
    last_synced_at=None,
    version=5,
    created_at=AT,
    updated_at=AT,
)


def test_a_register_event_carries_its_shop_and_tier_at_the_register_s_version() -> None:
    event = events.register_updated(REGISTER, SHOP, "pro", ("name", "sync_state"))
    assert isinstance(event.data, RegisterUpdated)
    assert (event.tenant_id, event.aggregate_id, event.aggregate_version) == (
        TENANT,
        REGISTER.register_id,
        5,
    )
    assert event.data.shop_name == "Main Street"
    assert event.data.business_day_cutoff == "04:00"
    assert (event.data.tenant_tier, event.data.sync_state) == ("pro", "pending_update")
    assert event.data.changed == ("name", "sync_state")


def test_a_shop_s_new_name_reaches_its_registers_as_shop_name() -> None:
    changed = events.shop_changes_as_register_fields({"timezone": "UTC", "name": "Corner"})
    assert changed == ("shop_name", "timezone")


def test_a_shop_event_lists_what_changed_in_order() -> None:
    event = events.shop_updated(SHOP, {"timezone": "UTC", "name": "Corner"})
    assert event.data.model_dump()["changed"] == ("name", "timezone")
    assert (event.tenant_id, event.aggregate_id, event.aggregate_version) == (
        TENANT,
        SHOP.shop_id,
        3,
    )


def _synced(name: str, register_version: int) -> RegisterOdooSynced:
    return RegisterOdooSynced(
        register_id=REGISTER.register_id,
        operation="update",
        odoo_pos_config_id=7,
        pushed_name=name,
        pushed_active=True,
        register_version=register_version,
    )


def test_a_report_that_odoo_has_the_register_as_it_is_marks_it_synced() -> None:
    move = events.sync_report_move(REGISTER, _synced("Till 1", register_version=5))
    assert move.after.state == "synced"
    assert move.changed == ("sync_state",)


def test_a_register_renamed_while_its_update_flew_stays_pending_for_the_new_name() -> None:
    move = events.sync_report_move(REGISTER, _synced("Old name", register_version=5))
    assert not move.moved


def test_a_report_on_a_push_older_than_the_budget_changes_nothing() -> None:
    move = events.sync_report_move(REGISTER, _synced("Till 1", register_version=4))
    assert not move.moved


def test_a_given_up_push_puts_the_register_in_sync_error_with_the_connector_s_words() -> None:
    failed = RegisterOdooSyncFailed(
        register_id=REGISTER.register_id,
        operation="update",
        error_class="OdooAccessError",
        message="no rights on pos.config",
        attempts=6,
        register_version=5,
    )
    move = events.sync_report_move(replace(REGISTER, sync_state="synced"), failed)
    assert move.after.state == "sync_error"
    assert move.after.last_error == "OdooAccessError: no rights on pos.config"
    assert move.after.attempts == 6
