"""When a register event is Odoo work, and when its create waits: rules without a database."""

from __future__ import annotations

import uuid

import pytest

from odoo_connector.domain import may_still_be_linked, needs_pos_config_push
from shared.events.contracts import RegisterState


def _register(sync_state: str, tier: str = "pro") -> RegisterState:
    return RegisterState.model_validate(
        {
            "register_id": uuid.uuid4(),
            "shop_id": uuid.uuid4(),
            "name": "Till 1",
            "receipt_prefix": "T1",
            "active": True,
            "currency": "EUR",
            "timezone": "Europe/Paris",
            "business_day_cutoff": "04:00",
            "tenant_tier": tier,
            "sync_state": sync_state,
        }
    )


@pytest.mark.parametrize("sync_state", ["pending_create", "pending_update"])
def test_a_pending_pro_register_is_pushed_to_odoo(sync_state: str) -> None:
    assert needs_pos_config_push(_register(sync_state))


@pytest.mark.parametrize("sync_state", ["synced", "sync_error", "local"])
def test_a_register_not_pending_is_left_alone(sync_state: str) -> None:
    assert not needs_pos_config_push(_register(sync_state))


def test_a_starter_register_never_goes_to_odoo() -> None:
    assert not needs_pos_config_push(_register("pending_create", tier="starter"))


def test_a_create_waits_while_the_register_is_younger_than_the_settle_time() -> None:
    register = _register("pending_create")
    assert may_still_be_linked(register, age_s=0.5, settle_s=2.0)
    assert not may_still_be_linked(register, age_s=2.0, settle_s=2.0)


def test_an_update_never_waits_to_settle() -> None:
    assert not may_still_be_linked(_register("pending_update"), age_s=0.0, settle_s=2.0)
