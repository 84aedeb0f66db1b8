"""Checklist 4-7: the common service, execute_kw's checks, create's return shape, atomic calls."""
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

import pytest
from emulator_scenarios import EmulatorUnderTest, RpcError


async def test_common_version_returns_the_four_keys(emu: EmulatorUnderTest) -> None:
    result = emu.rpc.call("common", "version", [])["result"]

    assert result == {
        "server_version": f"{emu.version}.0",
        "server_version_info": [emu.version, 0, 0, "final", 0, ""],
        "server_serie": f"{emu.version}.0",
        "protocol_version": 1,
    }


async def test_login_returns_the_uid_for_a_password_or_an_api_key(emu: EmulatorUnderTest) -> None:
    bot = emu.seed["users"][1]

    assert (
        emu.rpc.call("common", "login", ["demo", "pos-bot", bot["password"]])["result"]
        == bot["uid"]
    )
    assert (
        emu.rpc.call("common", "login", ["demo", "pos-bot", bot["api_key"]])["result"] == bot["uid"]
    )
    assert (
        emu.rpc.call("common", "authenticate", ["demo", "pos-bot", bot["api_key"], {}])["result"]
        == bot["uid"]
    )


async def test_bad_credentials_are_false_not_an_error(emu: EmulatorUnderTest) -> None:
    assert emu.rpc.call("common", "login", ["demo", "pos-bot", "wrong"]) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": False,
    }
    assert emu.rpc.call("common", "authenticate", ["demo", "nobody", "x", {}])["result"] is False


async def test_authenticate_needs_its_fourth_argument(emu: EmulatorUnderTest) -> None:
    body = emu.rpc.call("common", "authenticate", ["demo", "pos-bot", "x"])

    assert body["error"]["data"]["name"] == "builtins.TypeError"
    assert "user_agent_env" in body["error"]["data"]["message"]


async def test_unknown_common_method_is_a_bare_exception(emu: EmulatorUnderTest) -> None:
    body = emu.rpc.call("common", "frobnicate", [])

    assert body["error"]["data"]["name"] == "builtins.Exception"
    assert body["error"]["data"]["message"] == "Method not found: frobnicate"


async def test_db_list_names_every_database(emu: EmulatorUnderTest) -> None:
    await emu.control.create_database("tenant-b")

    assert emu.rpc.call("db", "list", [])["result"] == ["demo", "tenant-b"]


@pytest.mark.parametrize("secret", ["wrong-key", ""])
async def test_execute_kw_with_a_bad_key_is_access_denied(
    emu: EmulatorUnderTest, secret: str
) -> None:
    rpc = emu.rpc_as(emu.rpc.uid, secret)

    with pytest.raises(RpcError) as raised:
        rpc.execute("pos.config", "search", [])

    assert raised.value.name == "odoo.exceptions.AccessDenied"
    assert raised.value.message == "Access Denied"


async def test_execute_kw_with_another_users_key_is_access_denied(emu: EmulatorUnderTest) -> None:
    admin = emu.seed["users"][0]
    rpc = emu.rpc_as(emu.rpc.uid, admin["api_key"])

    with pytest.raises(RpcError) as raised:
        rpc.execute("pos.config", "search", [])

    assert raised.value.name == "odoo.exceptions.AccessDenied"


async def test_unknown_model_is_a_user_error(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.register", "search", [])

    assert raised.value.name == "odoo.exceptions.UserError"
    assert raised.value.message == "Object pos.register doesn't exist"


async def test_private_method_is_an_access_error(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.order", "_process_order", [])

    assert raised.value.name == "odoo.exceptions.AccessError"
    assert (
        raised.value.message
        == "Private methods (such as _process_order) cannot be called remotely."
    )


async def test_unknown_method_is_an_attribute_error_worded_per_version(
    emu: EmulatorUnderTest,
) -> None:
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.order", "frobnicate", [])

    assert raised.value.name == "builtins.AttributeError"
    expected = {
        16: "type object 'pos.order' has no attribute 'frobnicate'",
        17: "The method 'frobnicate' does not exist on the model 'pos.order'",
        18: "The method 'frobnicate' does not exist on the model 'pos.order'",
    }[emu.version]
    assert raised.value.message == expected


async def test_order_sync_method_exists_only_in_its_versions(emu: EmulatorUnderTest) -> None:
    absent = "create_from_ui" if emu.version == 18 else "sync_from_ui"

    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.order", absent, [])

    assert raised.value.name == "builtins.AttributeError"


async def test_object_service_other_methods_are_a_name_error(emu: EmulatorUnderTest) -> None:
    body = emu.rpc.call("object", "execute_sql", ["demo", emu.rpc.uid, emu.rpc.secret])

    assert body["error"]["data"]["name"] == "builtins.NameError"
    assert body["error"]["data"]["message"] == "Method not available execute_sql"


async def test_create_returns_an_int_for_a_dict_and_a_list_for_a_list(
    emu: EmulatorUnderTest,
) -> None:
    one = emu.rpc.execute("res.partner", "create", {"name": "One"})
    many = emu.rpc.execute("res.partner", "create", [{"name": "Two"}, {"name": "Three"}])

    assert isinstance(one, int)
    assert isinstance(many, list)
    assert len(many) == 2
    assert all(isinstance(i, int) for i in many)
    names = {
        p["name"]
        for p in await emu.control.records("demo", "res.partner", [["id", "in", [one, *many]]])
    }
    assert names == {"One", "Two", "Three"}


async def test_a_failing_batch_rolls_back_every_order_of_the_call(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    good = [emu.order(session_id, f"Order {i}") for i in range(3)]
    bad = emu.order(session_id, "Order bad", payments=[(2, 2.5)], to_invoice=True)  # no partner

    with pytest.raises(RpcError) as raised:
        emu.rpc.push([*good, bad])

    assert raised.value.message == "Please provide a partner for the sale."
    assert await emu.control.records("demo", "pos.order") == []
    assert await emu.control.records("demo", "pos.order.line") == []
    assert await emu.control.records("demo", "pos.payment") == []
    emu.rpc.push(good)
    assert len(await emu.control.records("demo", "pos.order")) == 3


async def test_a_failing_create_of_several_records_keeps_none(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RpcError):
        emu.rpc.execute(
            "res.partner", "create", [{"name": "Kept?"}, {"name": "Bad", "no_such_field": 1}]
        )

    assert await emu.control.records("demo", "res.partner", [["name", "=", "Kept?"]]) == []
