"""Checklist 13-20: order sync per version, finalisation, closed sessions, change, refunds."""
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

from typing import Any

import pytest
from emulator_scenarios import EmulatorUnderTest, RpcError


async def _orders(emu: EmulatorUnderTest) -> list[dict[str, Any]]:
    return await emu.control.records("demo", "pos.order")


# ---------------------------------------------------------------- 13: create_from_ui (16/17)


@pytest.mark.parametrize("version", [16, 17])
@pytest.mark.parametrize(
    "key", ["pos_session_id", "user_id", "sequence_number", "amount_return", "statement_ids"]
)
async def test_create_from_ui_missing_data_key_is_a_key_error(
    emu: EmulatorUnderTest, key: str
) -> None:
    session_id = emu.rpc.open_session()
    broken = emu.order(session_id, "Order 1")
    del broken["data"][key]

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([emu.order(session_id, "Order 0"), broken])

    assert raised.value.name == "builtins.KeyError"
    assert raised.value.message == f"'{key}'"
    assert await _orders(emu) == []


@pytest.mark.parametrize("version", [16, 17])
async def test_the_date_key_differs_between_16_and_17(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    pushed = emu.order(session_id, "Order 1")
    wrong_key = "date_order" if emu.version == 16 else "creation_date"
    right_key = "creation_date" if emu.version == 16 else "date_order"
    pushed["data"][wrong_key] = pushed["data"].pop(right_key)

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([pushed])

    assert raised.value.message == f"'{right_key}'"


@pytest.mark.parametrize("version", [16, 17])
async def test_create_from_ui_maps_reference_payment_date_and_recomputes_paid(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    pushed = emu.order(session_id, "Order 00012-003-0042", lines=[(1, 2, 2.5)], payments=[(2, 5.0)])
    pushed["data"]["amount_paid"] = 999.0  # the client's figure is not trusted

    result = emu.rpc.push([pushed])

    order = (await _orders(emu))[0]
    assert result == [
        {"id": order["id"], "pos_reference": "Order 00012-003-0042", "account_move": False}
    ]
    assert order["amount_paid"] == 5.0
    assert order["date_order"] == "2024-05-01 10:00:00"
    payment = (await emu.control.records("demo", "pos.payment"))[0]
    assert payment["payment_date"] == "2024-05-01 10:00:00"
    assert payment["amount"] == 5.0
    line = (await emu.control.records("demo", "pos.order.line"))[0]
    assert line["tax_ids"] == [emu.seed["tax_id"]]  # filled from the product when not sent
    assert line["name"] == "Shop/0001"


@pytest.mark.parametrize("version", [16, 17])
async def test_resending_an_identical_order_is_skipped_and_absent_from_the_result(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    first = emu.rpc.push([emu.order(session_id, "Order 1")])

    again = emu.rpc.push([emu.order(session_id, "Order 1"), emu.order(session_id, "Order 2")])

    assert len(first) == 1
    assert [r["pos_reference"] for r in again] == ["Order 2"]
    assert sorted(o["pos_reference"] for o in await _orders(emu)) == ["Order 1", "Order 2"]


@pytest.mark.parametrize("version", [16, 17])
async def test_same_name_with_different_content_is_created_again(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", lines=[(1, 1, 2.5)])])

    emu.rpc.push([emu.order(session_id, "Order 1", lines=[(2, 1, 3.2)])])

    assert [o["pos_reference"] for o in await _orders(emu)] == ["Order 1", "Order 1"]


@pytest.mark.parametrize("version", [16])
async def test_early_16_duplicates_a_resent_order_without_server_id(emu: EmulatorUnderTest) -> None:
    await emu.control.set_behaviour(odoo16_dedup="early")
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1")])

    emu.rpc.push([emu.order(session_id, "Order 1")])
    assert len(await _orders(emu)) == 2

    skipped = emu.rpc.push([emu.order(session_id, "Order 1", server_id=1)])
    assert skipped == []
    assert len(await _orders(emu)) == 2


@pytest.mark.parametrize("version", [16, 17])
async def test_a_draft_is_overwritten_by_the_final_order_of_the_same_name(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", lines=[(1, 1, 2.5)])], draft=True)

    result = emu.rpc.push([emu.order(session_id, "Order 1", lines=[(2, 2, 3.2)])])

    orders = await _orders(emu)
    assert len(orders) == 1
    assert result[0]["id"] == orders[0]["id"]
    assert orders[0]["state"] == "paid"
    assert [
        (line["product_id"], line["qty"])
        for line in await emu.control.records("demo", "pos.order.line")
    ] == [(2, 2.0)]


@pytest.mark.parametrize("version", [16, 17])
async def test_the_result_lists_orders_in_odoos_default_order(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()

    result = emu.rpc.push([emu.order(session_id, f"Order {i}") for i in range(3)])

    # search_read sorts by date_order desc, name desc, id desc: not the order they were sent in.
    assert [r["pos_reference"] for r in result] == ["Order 2", "Order 1", "Order 0"]


@pytest.mark.parametrize("version", [17])
async def test_17_drops_an_unknown_partner_and_the_invoice_request(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()

    emu.rpc.push([emu.order(session_id, "Order 1", partner_id=9999, to_invoice=True)])

    order = (await _orders(emu))[0]
    assert order["partner_id"] is False
    assert order["to_invoice"] is False
    assert order["state"] == "paid"


# ---------------------------------------------------------------- 14: sync_from_ui (18)


@pytest.mark.parametrize("version", [18])
async def test_sync_from_ui_returns_the_records_it_touched(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()

    result = emu.rpc.push(
        [emu.order(session_id, "Order 00012-003-0042", lines=[(1, 1, 2.5), (3, 1, 1.8)])]
    )

    assert set(result) == {
        "pos.order",
        "pos.session",
        "pos.payment",
        "pos.order.line",
        "pos.pack.operation.lot",
        "product.attribute.custom.value",
    }
    (order,) = result["pos.order"]
    assert order["pos_reference"] == "Order 00012-003-0042"
    assert order["name"] == "Shop/0001"
    assert order["state"] == "paid"
    assert order["session_id"] == session_id  # read with load=False: a bare id
    assert len(result["pos.order.line"]) == 2
    assert len(result["pos.payment"]) == 1
    assert result["pos.session"] == []


@pytest.mark.parametrize("version", [18])
async def test_sync_from_ui_updates_a_draft_with_the_same_uuid(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", draft=True, lines=[(1, 1, 2.5)])])

    emu.rpc.push([emu.order(session_id, "Order 1", lines=[(2, 1, 3.2)])])

    (order,) = await _orders(emu)
    assert order["state"] == "paid"
    assert [line["product_id"] for line in await emu.control.records("demo", "pos.order.line")] == [
        2
    ]


@pytest.mark.parametrize("version", [18])
@pytest.mark.parametrize(("variant", "returned"), [("late", 1), ("early", 0)])
async def test_resending_a_paid_order_skips_it_and_late_18_still_returns_its_id(
    emu: EmulatorUnderTest, variant: str, returned: int
) -> None:
    await emu.control.set_behaviour(odoo18_variant=variant)
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1")])

    again = emu.rpc.push([emu.order(session_id, "Order 1", lines=[(2, 1, 3.2)])])

    assert len(await _orders(emu)) == 1
    assert len(again["pos.order"]) == returned


@pytest.mark.parametrize("version", [18])
async def test_late_18_needs_uuid_and_access_token_to_update_a_draft(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", draft=True)])
    resent = emu.order(session_id, "Order 1")
    del resent["access_token"]

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([resent])

    assert raised.value.name == "builtins.KeyError"
    assert raised.value.message == "'access_token'"


@pytest.mark.parametrize("version", [18])
async def test_a_refund_of_lines_from_two_orders_is_refused_in_18(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1"), emu.order(session_id, "Order 2")])
    line_ids = [line["id"] for line in await emu.control.records("demo", "pos.order.line")]

    refund = emu.order(
        session_id,
        "Refund 1",
        lines=[(1, -1, 2.5), (1, -1, 2.5)],
        payments=[(2, -5.0)],
        refunded_line_ids=line_ids,
    )
    with pytest.raises(RpcError) as raised:
        emu.rpc.push([refund])

    assert raised.value.name == "odoo.exceptions.ValidationError"
    assert raised.value.message == "You can only refund products from the same order."


# ---------------------------------------------------------------- 15: finalisation


async def test_an_underpaid_order_is_kept_as_draft_without_an_error(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()

    result = emu.rpc.push(
        [emu.order(session_id, "Order 1", lines=[(1, 2, 2.5)], payments=[(2, 2.5)])]
    )

    assert result is not None
    (order,) = await _orders(emu)
    assert order["state"] == "draft"
    assert order["name"] == "/"
    assert order["amount_paid"] == 2.5
    calls = await emu.control.calls(model="pos.order")
    assert any("is not fully paid" in line for line in calls[-1]["server_log"])


async def test_a_paid_order_is_named_from_the_config_sequence(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()

    emu.rpc.push([emu.order(session_id, "Order 1"), emu.order(session_id, "Order 2")])

    assert sorted(o["name"] for o in await _orders(emu)) == ["Shop/0001", "Shop/0002"]


async def test_a_refund_order_is_named_after_the_original(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1")])
    line = (await emu.control.records("demo", "pos.order.line"))[0]

    emu.rpc.push(
        [
            emu.order(
                session_id,
                "Order 2",
                lines=[(1, -1, 2.5)],
                payments=[(2, -2.5)],
                refunded_line_ids=[line["id"]],
            )
        ]
    )

    refund = next(o for o in await _orders(emu) if o["pos_reference"] == "Order 2")
    assert refund["name"] == "Shop/0001 REFUND"
    assert refund["state"] == "paid"


# ---------------------------------------------------------------- 16: closed session on arrival


@pytest.mark.parametrize("version", [16, 17])
async def test_an_order_for_a_closed_session_goes_to_a_rescue_session(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.execute("pos.session", "action_pos_session_closing_control", [session_id])

    emu.rpc.push([emu.order(session_id, "Late 1"), emu.order(session_id, "Late 2")])

    sessions = await emu.control.records("demo", "pos.session")
    rescue = next(s for s in sessions if s["rescue"])
    assert rescue["name"] == "POS/00002 (RESCUE FOR POS/00001)"
    assert rescue["state"] == "opened"
    assert len(sessions) == 2  # reused for the second order
    assert {o["session_id"] for o in await _orders(emu)} == {rescue["id"]}
    assert emu.rpc.open_session() > rescue["id"]  # a rescue session does not block a new one


@pytest.mark.parametrize("version", [18])
async def test_an_order_for_a_closed_session_needs_another_open_session_in_18(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.execute("pos.session", "action_pos_session_closing_control", [session_id])

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([emu.order(session_id, "Late 1")])
    assert raised.value.name == "odoo.exceptions.UserError"
    assert (
        raised.value.message
        == "No open session available. Please open a new session to capture the order."
    )

    new_session = emu.rpc.open_session()
    result = emu.rpc.push([emu.order(session_id, "Late 1")])
    assert result["pos.order"][0]["session_id"] == new_session
    assert [s["id"] for s in result["pos.session"]] == [new_session]


# ---------------------------------------------------------------- 17: change and invoices


async def test_change_is_recorded_as_a_negative_cash_payment(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    cash = emu.seed["cash_payment_method_id"]

    emu.rpc.push(
        [
            emu.order(
                session_id,
                "Order 1",
                lines=[(1, 1, 2.5)],
                payments=[(cash, 5.0)],
                amount_return=2.5,
            )
        ]
    )

    payments = await emu.control.records("demo", "pos.payment")
    assert sorted((p["amount"], p["is_change"], p["payment_method_id"]) for p in payments) == [
        (-2.5, True, cash),
        (5.0, False, cash),
    ]
    assert (await _orders(emu))[0]["state"] == "paid"


async def test_change_without_a_cash_method_is_a_user_error(emu: EmulatorUnderTest) -> None:
    card = emu.seed["card_payment_method_id"]
    config = emu.rpc.execute(
        "pos.config",
        "create",
        {"name": "Kiosk", "picking_type_id": 1, "payment_method_ids": [[6, 0, [card]]]},
    )
    session_id = emu.rpc.open_session(config)

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([emu.order(session_id, "Order 1", payments=[(card, 5.0)], amount_return=2.5)])

    assert (
        raised.value.message
        == "No cash statement found for this session. Unable to record returned cash."
    )


async def test_to_invoice_without_partner_is_a_user_error_and_with_one_an_invoice(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    with pytest.raises(RpcError) as raised:
        emu.rpc.push([emu.order(session_id, "Order 1", to_invoice=True)])
    assert raised.value.message == "Please provide a partner for the sale."

    emu.rpc.push(
        [emu.order(session_id, "Order 1", to_invoice=True, partner_id=emu.seed["customer_ids"][0])]
    )

    (order,) = await _orders(emu)
    assert order["state"] == "invoiced"
    move = (await emu.control.records("demo", "account.move"))[0]
    assert order["account_move"] == move["id"]
    assert move["move_type"] == "out_invoice"
    assert move["state"] == "posted"


# ---------------------------------------------------------------- 18: payment method allowed


async def test_a_payment_method_outside_the_config_is_a_validation_error(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    other_journal = emu.rpc.execute(
        "account.journal", "create", {"name": "Vouchers", "code": "VCH", "type": "bank"}
    )
    voucher = emu.rpc.execute(
        "pos.payment.method", "create", {"name": "Voucher", "journal_id": other_journal}
    )

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([emu.order(session_id, "Order 1", payments=[(voucher, 2.5)])])

    assert raised.value.name == "odoo.exceptions.ValidationError"
    assert (
        raised.value.message
        == "The payment method selected is not allowed in the config of the POS session."
    )
    assert await _orders(emu) == []


# ---------------------------------------------------------------- 19: refunds


async def test_refund_lines_link_to_the_original_and_refunded_qty_is_their_negated_sum(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", lines=[(1, 3, 2.5)], payments=[(2, 7.5)])])
    original_line = (await emu.control.records("demo", "pos.order.line"))[0]

    for index in range(2):
        emu.rpc.push(
            [
                emu.order(
                    session_id,
                    f"Refund {index}",
                    lines=[(1, -1, 2.5)],
                    payments=[(2, -2.5)],
                    refunded_line_ids=[original_line["id"]],
                )
            ]
        )

    line = emu.rpc.execute(
        "pos.order.line", "read", [original_line["id"]], ["refunded_qty", "refund_orderline_ids"]
    )[0]
    assert line["refunded_qty"] == 2.0
    assert len(line["refund_orderline_ids"]) == 2
    original = emu.rpc.execute(
        "pos.order",
        "read",
        [original_line["order_id"]],
        ["refund_orders_count", "has_refundable_lines"],
    )[0]
    assert original == {
        "id": original_line["order_id"],
        "refund_orders_count": 2,
        "has_refundable_lines": True,
    }


async def test_there_is_no_server_side_cap_on_refunded_quantity(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", lines=[(1, 1, 2.5)])])
    line_id = (await emu.control.records("demo", "pos.order.line"))[0]["id"]

    emu.rpc.push(
        [
            emu.order(
                session_id,
                "Refund 1",
                lines=[(1, -5, 2.5)],
                payments=[(2, -12.5)],
                refunded_line_ids=[line_id],
            )
        ]
    )

    assert (
        emu.rpc.execute("pos.order.line", "read", [line_id], ["refunded_qty"])[0]["refunded_qty"]
        == 5.0
    )


async def test_the_refunded_order_field_follows_the_version(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1")])
    line = (await emu.control.records("demo", "pos.order.line"))[0]
    emu.rpc.push(
        [
            emu.order(
                session_id,
                "Refund 1",
                lines=[(1, -1, 2.5)],
                payments=[(2, -2.5)],
                refunded_line_ids=[line["id"]],
            )
        ]
    )
    refund_id = next(o["id"] for o in await _orders(emu) if o["pos_reference"] == "Refund 1")

    if emu.version == 18:
        read = emu.rpc.execute("pos.order", "read", [refund_id], ["refunded_order_id"])[0]
        assert read["refunded_order_id"] == [line["order_id"], "Shop/0001"]
    else:
        read = emu.rpc.execute(
            "pos.order", "read", [refund_id], ["refunded_order_ids", "refunded_orders_count"]
        )[0]
        assert read["refunded_order_ids"] == [line["order_id"]]
        assert read["refunded_orders_count"] == 1


async def test_backend_refund_creates_a_draft_copy_in_the_current_session(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", lines=[(1, 2, 2.5)], payments=[(2, 5.0)])])
    order_id = (await _orders(emu))[0]["id"]

    action = emu.rpc.execute("pos.order", "refund", [order_id])

    refund = next(o for o in await _orders(emu) if o["id"] == action["res_id"])
    assert refund["state"] == "draft"
    assert refund["name"] == "Shop/0001 REFUND"
    assert refund["amount_total"] == -5.0
    refund_line = next(
        line
        for line in await emu.control.records("demo", "pos.order.line")
        if line["order_id"] == refund["id"]
    )
    assert refund_line["qty"] == -2.0


# ---------------------------------------------------------------- 20: deleting orders


async def test_only_draft_or_cancelled_orders_can_be_deleted(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Paid")])
    emu.rpc.push([emu.order(session_id, "Draft", draft=True)], draft=True)
    by_ref = {o["pos_reference"]: o["id"] for o in await _orders(emu)}

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.order", "unlink", [by_ref["Paid"]])
    assert raised.value.name == "odoo.exceptions.UserError"
    assert raised.value.message == "In order to delete a sale, it must be new or cancelled."

    assert emu.rpc.execute("pos.order", "unlink", [by_ref["Draft"]]) is True
    assert [o["pos_reference"] for o in await _orders(emu)] == ["Paid"]
