"""Checklist 26 (JSON-2), and the proof: a real Odoo client from PyPI drives a POS day."""
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

import odoolib
import pytest
from emulator_scenarios import EmulatorUnderTest, order


async def test_odoo_client_lib_logs_in_opens_a_session_pushes_and_reads_back(
    emu: EmulatorUnderTest,
) -> None:
    bot = emu.seed["users"][1]
    connection = odoolib.get_connection(
        hostname="127.0.0.1",
        port=emu.running.port,
        protocol="jsonrpc",
        database="demo",
        login="pos-bot",
        password=bot["api_key"],
    )
    connection.check_login()
    assert connection.user_id == bot["uid"]
    assert connection.get_user_context()["uid"] == bot["uid"]

    configs = connection.get_model("pos.config").search_read(
        [("active", "=", True)], ["id", "name", "current_session_id", "payment_method_ids"]
    )
    assert [(c["name"], c["current_session_id"]) for c in configs] == [("Shop", False)]
    config = configs[0]

    sessions = connection.get_model("pos.session")
    session_id = sessions.create({"config_id": config["id"]})
    opening = "set_opening_control" if emu.version == 18 else "set_cashbox_pos"
    assert (
        getattr(sessions, opening)([session_id], 20.0, "float") is False
    )  # no `result` key reads as False
    assert sessions.read([session_id], ["state"])[0]["state"] == "opened"

    pushed = order(
        emu.version,
        session_id,
        "Order 00001-001-0001",
        lines=[(1, 2, 2.5)],
        payments=[(config["payment_method_ids"][0], 5.0)],
        uid=bot["uid"],
    )
    orders = connection.get_model("pos.order")
    if emu.version == 18:
        result = orders.sync_from_ui([pushed])
        order_id = result["pos.order"][0]["id"]
    else:
        result = orders.create_from_ui([pushed], draft=False)
        order_id = result[0]["id"]

    (read,) = orders.read(
        [order_id],
        ["name", "state", "pos_reference", "amount_total", "amount_paid", "session_id", "lines"],
    )
    assert read["state"] == "paid"
    assert read["name"] == "Shop/0001"
    assert read["pos_reference"] == "Order 00001-001-0001"
    assert read["amount_paid"] == 5.0
    assert read["session_id"][0] == session_id
    assert len(read["lines"]) == 1
    assert (
        connection.get_model("pos.config").read([config["id"]], ["current_session_id"])[0][
            "current_session_id"
        ][0]
        == session_id
    )
    stored = await emu.control.records("demo", "pos.order")
    assert [(o["id"], o["state"]) for o in stored] == [(order_id, "paid")]


@pytest.mark.parametrize("version", [18])
async def test_json2_answers_raw_json_and_maps_errors_to_statuses(emu: EmulatorUnderTest) -> None:
    await emu.control.set_behaviour(json2=True)
    key = emu.seed["users"][1]["api_key"]
    headers = {"Authorization": f"bearer {key}", "X-Odoo-Database": "demo"}

    found = emu.rpc.http.post(
        f"{emu.url}/json/2/pos.config/search_read",
        headers=headers,
        json={"domain": [["name", "=", "Shop"]], "fields": ["name"]},
    )
    assert found.status_code == 200
    assert found.json() == [{"id": 1, "name": "Shop"}]

    read = emu.rpc.http.post(
        f"{emu.url}/json/2/pos.config/read", headers=headers, json={"ids": [1], "fields": ["name"]}
    )
    assert read.json() == [{"id": 1, "name": "Shop"}]

    unauthorized = emu.rpc.http.post(
        f"{emu.url}/json/2/pos.config/search",
        headers={**headers, "Authorization": "bearer wrong"},
        json={"domain": []},
    )
    assert unauthorized.status_code == 401
    assert unauthorized.json()["name"] == "werkzeug.exceptions.Unauthorized"
    assert unauthorized.json()["arguments"] == ["Invalid apikey", 401]

    user_error = emu.rpc.http.post(
        f"{emu.url}/json/2/pos.session/create", headers=headers, json={"vals_list": {}}
    )
    assert user_error.status_code == 422
    assert set(user_error.json()) == {"name", "message", "arguments", "context", "debug"}
    assert user_error.json()["message"] == "You should assign a Point of Sale to your session."

    private = emu.rpc.http.post(
        f"{emu.url}/json/2/pos.order/_process_order", headers=headers, json={}
    )
    assert private.status_code == 403

    invalid_field = emu.rpc.http.post(
        f"{emu.url}/json/2/pos.config/write",
        headers=headers,
        json={"ids": [1], "vals": {"stock_location_id": 1}},
    )
    assert invalid_field.status_code == 500
    assert invalid_field.json()["name"] == "builtins.ValueError"


@pytest.mark.parametrize("version", [17])
async def test_json2_is_off_unless_asked_for(emu: EmulatorUnderTest) -> None:
    response = emu.rpc.http.post(f"{emu.url}/json/2/pos.config/search", json={"domain": []})

    assert response.status_code == 404
