"""Checklist 8-10: unknown fields, NOT NULL columns, many2one reads and x2many commands."""
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

import pytest
from emulator_scenarios import EmulatorUnderTest, RpcError


async def test_unknown_field_on_create_is_a_value_error_naming_the_field(
    emu: EmulatorUnderTest,
) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("res.partner", "create", {"name": "X", "nickname": "x"})

    assert raised.value.name == "builtins.ValueError"
    assert raised.value.message == "Invalid field 'nickname' on model 'res.partner'"


@pytest.mark.parametrize("method", ["create", "write", "read", "search_read"])
async def test_stock_location_id_is_an_invalid_field_on_pos_config(
    emu: EmulatorUnderTest, method: str
) -> None:
    calls = {
        "create": ("create", {"name": "Shop 2", "picking_type_id": 1, "stock_location_id": 1}),
        "write": ("write", [1], {"stock_location_id": 1}),
        "read": ("read", [1], ["name", "stock_location_id"]),
        "search_read": ("search_read", [], ["stock_location_id"]),
    }
    name, *args = calls[method]

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.config", name, *args)

    assert raised.value.name == "builtins.ValueError"
    assert raised.value.message == "Invalid field 'stock_location_id' on model 'pos.config'"


async def test_unknown_field_in_a_domain_names_model_field_and_leaf(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.config", "search", [["foo", "=", 1]])

    assert raised.value.name == "builtins.ValueError"
    assert raised.value.message == "Invalid field pos.config.foo in leaf ('foo', '=', 1)"


async def test_pos_category_field_follows_the_version(emu: EmulatorUnderTest) -> None:
    fields = emu.rpc.execute("product.template", "fields_get", [], attributes=["type", "relation"])

    if emu.version == 16:
        assert fields["pos_categ_id"] == {"type": "many2one", "relation": "pos.category"}
        assert "pos_categ_ids" not in fields
        return
    assert fields["pos_categ_ids"] == {"type": "many2many", "relation": "pos.category"}
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("product.template", "write", [1], {"pos_categ_id": 1})
    assert raised.value.message == "Invalid field 'pos_categ_id' on model 'product.template'"


async def test_detailed_type_is_gone_in_18(emu: EmulatorUnderTest) -> None:
    vals = {"name": "Tea", "detailed_type": "consu"}

    if emu.version == 18:
        with pytest.raises(RpcError) as raised:
            emu.rpc.execute("product.template", "create", vals)
        assert raised.value.message == "Invalid field 'detailed_type' on model 'product.template'"
        assert "is_storable" in emu.rpc.execute("product.template", "fields_get", [])
    else:
        assert isinstance(emu.rpc.execute("product.template", "create", vals), int)


async def test_unknown_line_keys_are_dropped_in_16_17_and_rejected_in_18(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    pushed = emu.order(session_id, "Order 1", line_extra={"pos_ui_only": "x"})

    if emu.version == 18:
        with pytest.raises(RpcError) as raised:
            emu.rpc.push([pushed])
        assert raised.value.message == "Invalid field 'pos_ui_only' on model 'pos.order.line'"
        assert await emu.control.records("demo", "pos.order") == []
    else:
        emu.rpc.push([pushed])
        assert len(await emu.control.records("demo", "pos.order.line")) == 1


@pytest.mark.parametrize("version", [18])
async def test_unknown_top_level_order_keys_fail_in_18(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([emu.order(session_id, "Order 1", pos_ui_flag=True)])

    assert raised.value.message == "Invalid field 'pos_ui_flag' on model 'pos.order'"


async def test_a_line_without_price_subtotal_is_a_not_null_validation_error(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    vals = {
        "session_id": session_id,
        "amount_total": 2.5,
        "amount_tax": 0.33,
        "amount_paid": 0,
        "amount_return": 0,
        "lines": [
            [
                0,
                0,
                {
                    "product_id": 1,
                    "qty": 1,
                    "price_unit": 2.5,
                    "name": "L1",
                    "price_subtotal_incl": 2.5,
                },
            ]
        ],
    }

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.order", "create", vals)

    assert raised.value.name == "odoo.exceptions.ValidationError"
    assert raised.value.message == (
        "The operation cannot be completed:\n"
        "- Create/update: a mandatory field is not set.\n"
        "- Delete: another model requires the record being deleted. "
        "If possible, archive it instead.\n\n"
        "Model: Point of Sale Order Lines (pos.order.line)\n"
        "Field: Subtotal w/o Tax (price_subtotal)\n"
    )
    assert await emu.control.records("demo", "pos.order") == []


async def test_an_order_created_without_amounts_is_a_not_null_validation_error(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.order", "create", {"session_id": session_id})

    assert raised.value.name == "odoo.exceptions.ValidationError"
    assert raised.value.message.startswith("The operation cannot be completed:")
    assert "Model: Point of Sale Orders (pos.order)" in raised.value.message


async def test_an_order_created_without_session_is_a_key_error(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.order", "create", {"amount_total": 1})

    assert raised.value.name == "builtins.KeyError"
    assert raised.value.message == "'session_id'"


async def test_many2one_reads_as_id_and_name_or_bare_id_with_load_false(
    emu: EmulatorUnderTest,
) -> None:
    classic = emu.rpc.execute("pos.config", "read", [1], ["journal_id", "tip_product_id"])
    bare = emu.rpc.execute("pos.config", "read", [1], ["journal_id", "tip_product_id"], load=False)

    assert classic == [
        {
            "id": 1,
            "journal_id": [emu.seed["pos_journal_id"], "Point of Sale"],
            "tip_product_id": False,
        }
    ]
    assert bare == [{"id": 1, "journal_id": emu.seed["pos_journal_id"], "tip_product_id": False}]


async def test_x2many_commands_create_update_unlink_link_and_replace(
    emu: EmulatorUnderTest,
) -> None:
    company = emu.rpc.execute(
        "res.partner",
        "create",
        {
            "name": "Acme",
            "is_company": True,
            "child_ids": [[0, 0, {"name": "Ann"}], [0, 0, {"name": "Bob"}]],
        },
    )
    ann, bob = emu.rpc.execute("res.partner", "read", [company], ["child_ids"])[0]["child_ids"]
    loose = emu.rpc.execute("res.partner", "create", {"name": "Cy"})

    emu.rpc.execute(
        "res.partner",
        "write",
        [company],
        {"child_ids": [[1, ann, {"email": "ann@acme.test"}], [2, bob, 0], [4, loose, 0]]},
    )

    children = await emu.control.records("demo", "res.partner", [["parent_id", "=", company]])
    assert {(c["name"], c["email"]) for c in children} == {("Ann", "ann@acme.test"), ("Cy", False)}
    assert await emu.control.records("demo", "res.partner", [["id", "=", bob]]) == []

    product = emu.seed["pos_product_ids"][0]
    tax = emu.rpc.execute("account.tax", "create", {"name": "6%", "amount": 6.0})
    emu.rpc.execute("product.product", "write", [product], {"taxes_id": [[6, 0, [tax]]]})
    assert emu.rpc.execute("product.product", "read", [product], ["taxes_id"])[0]["taxes_id"] == [
        tax
    ]
    emu.rpc.execute(
        "product.product",
        "write",
        [product],
        {"taxes_id": [[4, emu.seed["tax_id"], 0], [3, tax, 0]]},
    )
    assert emu.rpc.execute("product.product", "read", [product], ["taxes_id"])[0]["taxes_id"] == [
        emu.seed["tax_id"]
    ]
    emu.rpc.execute("product.product", "write", [product], {"taxes_id": [[5, 0, 0]]})
    assert emu.rpc.execute("product.product", "read", [product], ["taxes_id"])[0]["taxes_id"] == []


async def test_fields_get_describes_types_relations_and_requiredness(
    emu: EmulatorUnderTest,
) -> None:
    fields = emu.rpc.execute(
        "pos.order.line", "fields_get", [], attributes=["type", "required", "relation"]
    )

    assert fields["price_subtotal"] == {"type": "float", "required": True}
    assert fields["refunded_orderline_id"] == {
        "type": "many2one",
        "required": False,
        "relation": "pos.order.line",
    }
    assert fields["order_id"]["required"] is True


async def test_reading_a_deleted_record_skips_it_and_writing_it_is_a_missing_error(
    emu: EmulatorUnderTest,
) -> None:
    partner = emu.rpc.execute("res.partner", "create", {"name": "Gone"})
    emu.rpc.execute("res.partner", "unlink", [partner])

    assert emu.rpc.execute("res.partner", "read", [partner], ["name"]) == []
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("res.partner", "write", [partner], {"name": "Back"})
    assert raised.value.name == "odoo.exceptions.MissingError"


async def test_search_honours_operators_order_limit_and_count(emu: EmulatorUnderTest) -> None:
    ids = emu.rpc.execute(
        "product.product",
        "search",
        ["|", ["default_code", "=like", "POS-C%"], ["name", "ilike", "sandwich"]],
        order="name desc",
    )

    names = [p["name"] for p in emu.rpc.execute("product.product", "read", ids, ["name"])]
    assert names == ["Croissant", "Club Sandwich", "Cappuccino"]
    assert (
        emu.rpc.execute("product.product", "search_count", [["available_in_pos", "=", True]]) == 4
    )
    assert len(emu.rpc.execute("product.product", "search", [], limit=2)) == 2
