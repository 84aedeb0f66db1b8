"""Checklist 11-12: creating, opening and closing pos.session."""
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

from typing import Any

import pytest
from emulator_scenarios import EmulatorUnderTest, RpcError


async def test_session_create_requires_a_config(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.session", "create", {})

    assert raised.value.name == "odoo.exceptions.UserError"
    assert raised.value.message == "You should assign a Point of Sale to your session."


async def test_a_config_with_a_cash_method_keeps_the_session_in_opening_control(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.execute("pos.session", "create", {"config_id": 1})

    session = (await emu.control.records("demo", "pos.session", [["id", "=", session_id]]))[0]
    assert session["state"] == "opening_control"
    assert session["name"] == "POS/00001"
    assert session["user_id"] == emu.rpc.uid
    assert session["start_at"]


async def test_a_supplied_session_name_is_appended_to_the_sequence(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.execute("pos.session", "create", {"config_id": 1, "name": "2024-05-01"})

    assert (
        emu.rpc.execute("pos.session", "read", [session_id], ["name"])[0]["name"]
        == "POS/00001 2024-05-01"
    )


async def test_a_config_without_cash_method_opens_the_session_at_once(
    emu: EmulatorUnderTest,
) -> None:
    config = emu.rpc.execute(
        "pos.config",
        "create",
        {
            "name": "Kiosk",
            "picking_type_id": 1,
            "payment_method_ids": [[6, 0, [emu.seed["card_payment_method_id"]]]],
        },
    )

    session_id = emu.rpc.execute("pos.session", "create", {"config_id": config})

    assert emu.rpc.execute("pos.session", "read", [session_id], ["state"])[0]["state"] == "opened"
    assert (
        emu.rpc.execute("pos.config", "read", [config], ["cash_control"])[0]["cash_control"]
        is False
    )


@pytest.mark.parametrize("second_state", ["opening_control", "opened", "closing_control"])
async def test_a_second_open_session_for_a_config_is_a_validation_error(
    emu: EmulatorUnderTest, second_state: str
) -> None:
    first = emu.rpc.execute("pos.session", "create", {"config_id": 1})
    if second_state != "opening_control":
        method = "set_opening_control" if emu.version == 18 else "set_cashbox_pos"
        emu.rpc.execute("pos.session", method, [first], 0, "")
    if second_state == "closing_control":
        emu.rpc.execute("pos.session", "update_closing_control_state_session", [first], "counting")

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.session", "create", {"config_id": 1})

    assert raised.value.name == "odoo.exceptions.ValidationError"
    assert raised.value.message == "Another session is already opened for this point of sale."
    assert len(await emu.control.records("demo", "pos.session")) == 1


async def test_closing_with_a_draft_order_is_refused(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", draft=True)], draft=True)

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.session", "action_pos_session_closing_control", [session_id])

    assert raised.value.message == "You cannot close the POS when orders are still in draft"
    assert (await emu.control.records("demo", "pos.session"))[0]["state"] == "opened"


async def test_closing_marks_paid_orders_done_and_returns_true(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push(
        [
            emu.order(session_id, "Order 1", untaxed=True),
            emu.order(session_id, "Order 2", untaxed=True),
        ]
    )

    assert (
        emu.rpc.execute("pos.session", "action_pos_session_closing_control", [session_id]) is True
    )

    assert (await emu.control.records("demo", "pos.session"))[0]["state"] == "closed"
    assert {o["state"] for o in await emu.control.records("demo", "pos.order")} == {"done"}
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.session", "action_pos_session_closing_control", [session_id])
    assert raised.value.message == "This session is already closed."


async def test_close_session_from_ui_reports_success_or_the_reason(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", draft=True, untaxed=True)], draft=True)
    order_id = (await emu.control.records("demo", "pos.order"))[0]["id"]

    refused = emu.rpc.execute("pos.session", "close_session_from_ui", [session_id])
    expected: dict[str, Any] = {
        "successful": False,
        "message": "You cannot close the POS when orders are still in draft",
        "redirect": False,
    }
    if emu.version == 18:
        expected["open_order_ids"] = [order_id]
    assert refused == expected

    emu.rpc.execute("pos.order", "action_pos_order_cancel", [order_id])
    assert emu.rpc.execute("pos.session", "close_session_from_ui", [session_id]) == {
        "successful": True
    }
    again = emu.rpc.execute("pos.session", "close_session_from_ui", [session_id])
    assert again["successful"] is False
    assert again["redirect"] is True
    if emu.version == 16:
        assert again["message"] == "This session is already closed."
    else:
        assert again["title"] == "Session already closed"


async def test_post_closing_cash_details_records_the_count_and_needs_a_cash_method(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push(
        [emu.order(session_id, "Order 1", payments=[(emu.seed["cash_payment_method_id"], 2.5)])]
    )

    assert emu.rpc.execute("pos.session", "post_closing_cash_details", [session_id], 2.5) == {
        "successful": True
    }
    session = emu.rpc.execute(
        "pos.session",
        "read",
        [session_id],
        ["cash_register_balance_end_real", "cash_register_difference"],
    )[0]
    assert session["cash_register_balance_end_real"] == 2.5
    assert session["cash_register_difference"] == 0.0

    card_only = emu.rpc.execute(
        "pos.config",
        "create",
        {
            "name": "Kiosk",
            "picking_type_id": 1,
            "payment_method_ids": [[6, 0, [emu.seed["card_payment_method_id"]]]],
        },
    )
    kiosk_session = emu.rpc.open_session(card_only)
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.session", "post_closing_cash_details", [kiosk_session], 0)
    assert raised.value.message == "There is no cash register in this session."
