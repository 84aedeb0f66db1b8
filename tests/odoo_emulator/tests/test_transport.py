"""Checklist 1-3: the /jsonrpc endpoint, the error envelope, and the missing `result` on None."""
# ruff: noqa: ASYNC210
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

import html

import httpx
import pytest
from emulator_scenarios import EmulatorUnderTest

CONTENT_TYPE_SENTENCE = (
    "Request inferred type is compatible with ['http'] but '/jsonrpc' is type='json'."
)


@pytest.mark.parametrize("version", [16, 17])
async def test_non_json_content_type_is_a_400_naming_the_route_type(emu: EmulatorUnderTest) -> None:
    response = httpx.post(
        f"{emu.url}/jsonrpc", content=b"{}", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 400
    assert CONTENT_TYPE_SENTENCE in html.unescape(response.text)


@pytest.mark.parametrize("version", [18])
async def test_non_json_content_type_is_a_415_with_an_accept_header_in_18(
    emu: EmulatorUnderTest,
) -> None:
    response = httpx.post(
        f"{emu.url}/jsonrpc", content=b"{}", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 415
    text = html.unescape(response.text).replace("<br>", "\n")
    assert (
        f"{CONTENT_TYPE_SENTENCE}\n\nPlease verify the Content-Type request header and try again."
        in text
    )
    assert "application/json" in response.headers["accept"]


async def test_json_rpc_content_type_is_accepted(emu: EmulatorUnderTest) -> None:
    payload = b'{"jsonrpc":"2.0","id":5,"params":{"service":"common","method":"version","args":[]}}'
    response = httpx.post(
        f"{emu.url}/jsonrpc",
        content=payload,
        headers={"Content-Type": "application/json-rpc; charset=utf-8"},
    )

    assert response.status_code == 200
    assert response.json()["id"] == 5


async def test_invalid_json_is_a_400_invalid_json_data(emu: EmulatorUnderTest) -> None:
    response = httpx.post(
        f"{emu.url}/jsonrpc", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.text == "Invalid JSON data"


async def test_a_body_that_is_not_an_object_is_invalid_json_rpc_data(
    emu: EmulatorUnderTest,
) -> None:
    response = httpx.post(f"{emu.url}/jsonrpc", json=[1, 2])

    assert response.status_code == 400
    assert response.text == "Invalid JSON-RPC data"


async def test_rpc_errors_are_http_200_with_odoos_error_object(emu: EmulatorUnderTest) -> None:
    body = emu.rpc.call(
        "object",
        "execute_kw",
        ["demo", emu.rpc.uid, emu.rpc.secret, "no.such.model", "search", [[]], {}],
    )

    assert set(body) == {"jsonrpc", "id", "error"}
    assert body["jsonrpc"] == "2.0"
    assert body["id"] == 1
    error = body["error"]
    assert error["code"] == 200
    assert error["message"] == "Odoo Server Error"
    assert set(error["data"]) == {"name", "message", "arguments", "context", "debug"}
    assert error["data"]["name"] == "odoo.exceptions.UserError"
    assert error["data"]["message"] == "Object no.such.model doesn't exist"
    assert error["data"]["arguments"] == ["Object no.such.model doesn't exist"]
    assert error["data"]["context"] == {}
    assert error["data"]["debug"].startswith("Traceback (most recent call last):")


async def test_a_key_error_is_named_builtins_key_error_with_the_quoted_key(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    broken = emu.order(session_id, "Order 1")
    if emu.version == 18:
        del broken["lines"]
    else:
        del broken["data"]["sequence_number"]
    body = emu.rpc.call(
        "object",
        "execute_kw",
        [
            "demo",
            emu.rpc.uid,
            emu.rpc.secret,
            "pos.order",
            "sync_from_ui" if emu.version == 18 else "create_from_ui",
            [[broken]],
            {},
        ],
    )

    data = body["error"]["data"]
    assert data["name"] == "builtins.KeyError"
    missing = "lines" if emu.version == 18 else "sequence_number"
    assert data["message"] == f"'{missing}'"
    assert data["arguments"] == [missing]


async def test_a_method_returning_none_has_no_result_key(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.execute("pos.session", "create", {"config_id": 1})
    method = "set_opening_control" if emu.version == 18 else "set_cashbox_pos"

    body = emu.rpc.call(
        "object",
        "execute_kw",
        [
            "demo",
            emu.rpc.uid,
            emu.rpc.secret,
            "pos.session",
            method,
            [[session_id], 50.0, "float"],
            {},
        ],
    )

    assert body == {"jsonrpc": "2.0", "id": 1}
    session = (await emu.control.records("demo", "pos.session", [["id", "=", session_id]]))[0]
    assert session["state"] == "opened"
    assert session["cash_register_balance_start"] == 50.0
