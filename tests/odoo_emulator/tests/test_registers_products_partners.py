"""Checklist 21-24: pos.config, pos.payment.method, products and partners."""
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

import pytest
from emulator_scenarios import EmulatorUnderTest, RpcError


async def test_pos_config_create_needs_a_name(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.config", "create", {"picking_type_id": 1})

    assert raised.value.name == "builtins.KeyError"
    assert raised.value.message == "'name'"


async def test_cloning_the_template_config_creates_its_own_sequences(
    emu: EmulatorUnderTest,
) -> None:
    template = emu.rpc.execute(
        "pos.config",
        "search_read",
        [["active", "=", True]],
        ["journal_id", "picking_type_id", "pricelist_id"],
        load=False,
        limit=1,
    )[0]
    clone = emu.rpc.execute(
        "pos.config",
        "create",
        {
            "name": "Shop 12",
            "journal_id": template["journal_id"],
            "picking_type_id": template["picking_type_id"],
            "pricelist_id": template["pricelist_id"],
            "payment_method_ids": [[6, 0, [emu.seed["card_payment_method_id"]]]],
        },
    )

    session_id = emu.rpc.open_session(clone)
    emu.rpc.push([emu.order(session_id, "Order 1")])
    assert (await emu.control.records("demo", "pos.order"))[0]["name"] == "Shop 12/0001"


async def test_currency_and_cash_control_are_computed_and_writing_them_changes_nothing(
    emu: EmulatorUnderTest,
) -> None:
    assert (
        emu.rpc.execute("pos.config", "write", [1], {"currency_id": 2, "cash_control": False})
        is True
    )

    config = emu.rpc.execute(
        "pos.config", "read", [1], ["currency_id", "cash_control"], load=False
    )[0]
    assert config == {"id": 1, "currency_id": emu.seed["currency_id"], "cash_control": True}
    described = emu.rpc.execute(
        "pos.config",
        "fields_get",
        ["currency_id", "cash_control"],
        attributes=["readonly", "store"],
    )
    assert described == {
        "currency_id": {"readonly": True, "store": False},
        "cash_control": {"readonly": True, "store": False},
    }


async def test_a_cash_payment_method_belongs_to_one_config_only(emu: EmulatorUnderTest) -> None:
    cash = emu.seed["cash_payment_method_id"]
    message = (
        "This cash payment method is already used in another Point of Sale.\n"
        "A new cash payment method should be created for this Point of Sale."
    )

    with pytest.raises(RpcError) as on_create:
        emu.rpc.execute(
            "pos.config",
            "create",
            {"name": "Shop 2", "picking_type_id": 1, "payment_method_ids": [[6, 0, [cash]]]},
        )
    assert on_create.value.name == "odoo.exceptions.ValidationError"
    assert on_create.value.message == message

    other = emu.rpc.execute(
        "pos.config",
        "create",
        {
            "name": "Shop 2",
            "picking_type_id": 1,
            "payment_method_ids": [[6, 0, [emu.seed["card_payment_method_id"]]]],
        },
    )
    with pytest.raises(RpcError) as on_write:
        emu.rpc.execute("pos.config", "write", [other], {"payment_method_ids": [[4, cash, 0]]})
    assert on_write.value.message == message

    journal = emu.rpc.execute(
        "account.journal", "create", {"name": "Cash 2", "code": "CSH2", "type": "cash"}
    )
    own_cash = emu.rpc.execute(
        "pos.payment.method", "create", {"name": "Cash 2", "journal_id": journal}
    )
    emu.rpc.execute("pos.config", "write", [other], {"payment_method_ids": [[4, own_cash, 0]]})
    assert (
        emu.rpc.execute("pos.config", "read", [other], ["cash_control"])[0]["cash_control"] is True
    )


async def test_a_new_config_defaults_to_the_free_methods(emu: EmulatorUnderTest) -> None:
    config = emu.rpc.execute("pos.config", "create", {"name": "Shop 2", "picking_type_id": 1})

    # The cash method is taken by the first register, so only the card method is offered.
    assert emu.rpc.execute("pos.config", "read", [config], ["payment_method_ids"])[0][
        "payment_method_ids"
    ] == [emu.seed["card_payment_method_id"]]


async def test_forbidden_fields_cannot_change_while_a_session_is_open(
    emu: EmulatorUnderTest,
) -> None:
    emu.rpc.open_session()

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute(
            "pos.config",
            "write",
            [1],
            {
                "payment_method_ids": [[6, 0, [emu.seed["card_payment_method_id"]]]],
                "module_pos_hr": True,
                "name": "Renamed",
            },
        )

    assert raised.value.name == "odoo.exceptions.UserError"
    assert raised.value.message == (
        "Unable to modify this PoS Configuration because you can't modify "
        "Login with Employees, Payment Methods while a session is open."
    )
    assert emu.rpc.execute("pos.config", "write", [1], {"name": "Renamed"}) is True


async def test_an_archived_config_is_hidden_from_default_searches_only(
    emu: EmulatorUnderTest,
) -> None:
    emu.rpc.execute("pos.config", "write", [1], {"active": False})

    assert emu.rpc.execute("pos.config", "search", []) == []
    assert emu.rpc.execute("pos.config", "search", [], context={"active_test": False}) == [1]
    assert emu.rpc.execute("pos.config", "search", [["active", "=", False]]) == [1]
    assert emu.rpc.execute("pos.config", "read", [1], ["active"]) == [{"id": 1, "active": False}]


async def test_payment_method_writes_other_than_sequence_are_refused_while_a_session_is_open(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    card = emu.seed["card_payment_method_id"]

    assert emu.rpc.execute("pos.payment.method", "write", [card], {"sequence": 7}) is True
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.payment.method", "write", [card], {"name": "Credit card"})

    name = emu.rpc.execute("pos.session", "read", [session_id], ["name"])[0]["name"]
    assert raised.value.message == (
        "Please close and validate the following open PoS Sessions "
        "before modifying this payment method.\n"
        f"Open sessions: {name}"
    )


async def test_is_cash_count_is_derived_from_the_journal_type(emu: EmulatorUnderTest) -> None:
    cash_journal = emu.rpc.execute(
        "account.journal", "create", {"name": "Cash 2", "code": "CSH2", "type": "cash"}
    )
    bank_journal = emu.rpc.execute(
        "account.journal", "create", {"name": "Bank 2", "code": "BNK2", "type": "bank"}
    )

    method = emu.rpc.execute(
        "pos.payment.method",
        "create",
        {"name": "Till", "journal_id": cash_journal, "is_cash_count": False},
    )
    assert emu.rpc.execute("pos.payment.method", "read", [method], ["is_cash_count", "type"])[
        0
    ] == {"id": method, "is_cash_count": True, "type": "cash"}

    emu.rpc.execute("pos.payment.method", "write", [method], {"journal_id": bank_journal})
    assert emu.rpc.execute("pos.payment.method", "read", [method], ["is_cash_count", "type"])[
        0
    ] == {"id": method, "is_cash_count": False, "type": "bank"}


async def test_available_in_pos_defaults_to_false(emu: EmulatorUnderTest) -> None:
    product = emu.rpc.execute("product.product", "create", {"name": "Muffin", "list_price": 2.0})

    read = emu.rpc.execute(
        "product.product", "read", [product], ["available_in_pos", "lst_price", "product_tmpl_id"]
    )[0]
    assert read["available_in_pos"] is False
    assert read["lst_price"] == 2.0
    template = emu.rpc.execute(
        "product.template", "read", [read["product_tmpl_id"][0]], ["name", "product_variant_ids"]
    )[0]
    assert template["name"] == "Muffin"
    assert template["product_variant_ids"] == [product]


async def test_unlinking_a_pos_product_while_a_session_is_open_is_refused(
    emu: EmulatorUnderTest,
) -> None:
    emu.rpc.open_session()
    expected = {
        16: "You cannot delete a product saleable in point of sale "
        "while a session is still opened.",
        17: "To delete a product, make sure all point of sale sessions are closed.\n\n"
        "Deleting a product available in a session would be like attempting to snatch a "
        "hamburger from a customer’s hand mid-bite; chaos will ensue as ketchup and mayo go "
        "flying everywhere!",
    }

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("product.product", "unlink", [emu.seed["pos_product_ids"][0]])

    assert raised.value.name == "odoo.exceptions.UserError"
    assert raised.value.message == expected[min(emu.version, 17)]
    assert emu.rpc.execute("product.product", "unlink", [emu.seed["non_pos_product_id"]]) is True


async def test_unlinking_a_partner_with_pos_orders_is_refused_unless_turned_off(
    emu: EmulatorUnderTest,
) -> None:
    customer = emu.seed["customer_ids"][0]
    session_id = emu.rpc.open_session()
    emu.rpc.push([emu.order(session_id, "Order 1", partner_id=customer)])

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("res.partner", "unlink", [customer])
    assert raised.value.name == "odoo.exceptions.ValidationError"
    assert (
        raised.value.message == "You cannot delete a customer that has point of sales orders. "
        "You can archive it instead."
    )

    await emu.control.set_behaviour(partner_unlink_guard=False)
    assert emu.rpc.execute("res.partner", "unlink", [customer]) is True
