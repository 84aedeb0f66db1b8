"""Checklist 25 and the control API: failures, latency, going down, the call log, tenants."""
# ruff: noqa: ASYNC212
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

import time

import httpx
import pytest
from emulator_scenarios import EmulatorUnderTest, OdooRpc, RpcError

VERSION_CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "params": {"service": "common", "method": "version", "args": []},
}


async def test_serialization_failure_is_returned_after_the_configured_delay(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    await emu.control.fail("serialization_failure", count=1, model="pos.order", delay_ms=50)

    started = time.perf_counter()
    with pytest.raises(RpcError) as raised:
        emu.rpc.push([emu.order(session_id, "Order 1")])
    elapsed = time.perf_counter() - started

    assert raised.value.name == "psycopg2.errors.SerializationFailure"
    assert raised.value.message == "could not serialize access due to concurrent update\n"
    assert elapsed >= 0.05
    assert await emu.control.records("demo", "pos.order") == []
    emu.rpc.push([emu.order(session_id, "Order 1")])  # the retry goes through
    assert len(await emu.control.records("demo", "pos.order")) == 1


async def test_a_killed_worker_closes_the_connection_without_an_answer(
    emu: EmulatorUnderTest,
) -> None:
    await emu.control.fail("timeout", count=1, delay_ms=100)

    started = time.perf_counter()
    with pytest.raises(httpx.RemoteProtocolError), httpx.Client(verify=False) as fresh:  # noqa: S501
        fresh.post(f"{emu.url}/jsonrpc", json=VERSION_CALL)

    assert time.perf_counter() - started >= 0.1


async def test_a_connection_reset_drops_the_call(emu: EmulatorUnderTest) -> None:
    await emu.control.fail("connection_reset", count=1)

    with pytest.raises(httpx.ReadError), httpx.Client(verify=False) as fresh:  # noqa: S501
        fresh.post(f"{emu.url}/jsonrpc", json=VERSION_CALL)

    assert emu.rpc.http.post(f"{emu.url}/jsonrpc", json=VERSION_CALL).status_code == 200


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_proxy_errors_answer_their_status_with_no_json_body(
    emu: EmulatorUnderTest, status: int
) -> None:
    await emu.control.fail(f"http_{status}", count=2)

    answers = [
        emu.rpc.http.post(f"{emu.url}/jsonrpc", json=VERSION_CALL).status_code for _ in range(3)
    ]

    assert answers == [status, status, 200]


async def test_a_chosen_odoo_exception_is_answered_as_odoo_would(emu: EmulatorUnderTest) -> None:
    await emu.control.fail(
        "odoo_error",
        count=1,
        model="pos.config",
        method="search_read",
        error_name="odoo.exceptions.AccessError",
        error_message="You are not allowed to access 'Point of Sale Configuration' records.",
    )

    assert emu.rpc.execute("pos.order", "search", []) == []  # another method is untouched
    with pytest.raises(RpcError) as raised:
        emu.rpc.execute("pos.config", "search_read", [], ["name"])

    assert raised.value.name == "odoo.exceptions.AccessError"
    assert emu.rpc.execute("pos.config", "search_read", [], ["name"]) == [{"id": 1, "name": "Shop"}]


async def test_a_failure_after_commit_keeps_the_effects_but_loses_the_answer(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session()
    await emu.control.fail("http_502", count=1, model="pos.order", after_commit=True)

    response = emu.rpc.http.post(
        f"{emu.url}/jsonrpc",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [
                    "demo",
                    emu.rpc.uid,
                    emu.rpc.secret,
                    "pos.order",
                    "sync_from_ui" if emu.version == 18 else "create_from_ui",
                    [[emu.order(session_id, "Order 1")]],
                    {},
                ],
            },
        },
    )

    assert response.status_code == 502
    assert len(await emu.control.records("demo", "pos.order")) == 1


async def test_a_fraction_of_calls_fails_reproducibly(emu: EmulatorUnderTest) -> None:
    await emu.control.fail("http_503", fraction=0.5, seed=7)

    statuses = [
        emu.rpc.http.post(f"{emu.url}/jsonrpc", json=VERSION_CALL).status_code for _ in range(40)
    ]

    assert 5 <= statuses.count(503) <= 35
    assert statuses.count(200) == 40 - statuses.count(503)
    await emu.control.clear_faults()
    assert emu.rpc.http.post(f"{emu.url}/jsonrpc", json=VERSION_CALL).status_code == 200


async def test_latency_is_added_to_each_call(emu: EmulatorUnderTest) -> None:
    await emu.control.set_latency(fixed_ms=60, jitter_ms=20)

    started = time.perf_counter()
    emu.rpc.http.post(f"{emu.url}/jsonrpc", json=VERSION_CALL)
    elapsed = time.perf_counter() - started
    await emu.control.clear_latency()

    assert 0.06 <= elapsed < 1.0
    assert (await emu.control.faults())["latency"] == {"fixed_ms": 0.0, "jitter_ms": 0.0}


async def test_going_down_refuses_connections_until_it_comes_back(emu: EmulatorUnderTest) -> None:
    emu.running.go_down()

    with pytest.raises(httpx.ConnectError), httpx.Client(verify=False) as fresh:  # noqa: S501
        fresh.post(f"{emu.url}/jsonrpc", json=VERSION_CALL)
    assert (await emu.control.health())["down"] is True

    emu.running.come_up()
    assert emu.rpc.http.post(f"{emu.url}/jsonrpc", json=VERSION_CALL).status_code == 200


async def test_going_down_through_the_control_api_for_a_while(emu: EmulatorUnderTest) -> None:
    keep_alive = httpx.Client(verify=False)  # noqa: S501
    assert keep_alive.post(f"{emu.url}/jsonrpc", json=VERSION_CALL).status_code == 200

    await emu.control.go_down(for_seconds=0.3)

    with pytest.raises(httpx.TransportError):
        keep_alive.post(f"{emu.url}/jsonrpc", json=VERSION_CALL)  # open connections are dropped too
    deadline = time.perf_counter() + 3
    while time.perf_counter() < deadline:
        try:
            assert keep_alive.post(f"{emu.url}/jsonrpc", json=VERSION_CALL).status_code == 200
            break
        except httpx.TransportError:
            time.sleep(0.05)  # noqa: ASYNC251  polling a server that runs in another thread
    else:
        pytest.fail("the emulator did not come back")
    keep_alive.close()


async def test_the_call_log_records_model_method_arguments_and_result_without_secrets(
    emu: EmulatorUnderTest,
) -> None:
    await emu.control.clear_calls()
    emu.rpc.execute("pos.config", "search_read", [["name", "=", "Shop"]], ["name"])
    with pytest.raises(RpcError):
        emu.rpc.execute("pos.config", "write", [1], {"stock_location_id": 1})

    read, failed = await emu.control.calls(model="pos.config")

    assert read["model_method"] == "search_read"
    assert read["args"] == [[["name", "=", "Shop"]], ["name"]]
    assert read["result"] == [{"id": 1, "name": "Shop"}]
    assert read["outcome"] == "ok"
    assert read["database"] == "demo"
    assert emu.rpc.secret not in str(read)
    assert failed["outcome"] == "error"
    assert failed["error"] == {
        "name": "builtins.ValueError",
        "message": "Invalid field 'stock_location_id' on model 'pos.config'",
    }
    assert await emu.control.calls(since=failed["seq"]) == []


async def test_the_call_log_keeps_the_order_payload_as_sent(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()
    pushed = emu.order(session_id, "Order 1")
    emu.rpc.push([pushed])

    (entry,) = await emu.control.calls(model="pos.order")

    assert entry["args"][0] == [pushed]


async def test_several_tenants_have_separate_databases_and_keys(emu: EmulatorUnderTest) -> None:
    tenant = await emu.control.create_database("tenant-b")
    uid = await emu.control.add_user("tenant-b", "connector", api_key="tenant-b-connector-key")
    rpc = OdooRpc(emu.url, "tenant-b", uid, "tenant-b-connector-key", emu.version)

    session_id = rpc.open_session(tenant["pos_config_id"])
    rpc.push([emu.order(session_id, "Order B", uid=uid)])

    assert len(await emu.control.records("tenant-b", "pos.order")) == 1
    assert await emu.control.records("demo", "pos.order") == []
    wrong_tenant = OdooRpc(emu.url, "demo", uid, "tenant-b-connector-key", emu.version)
    with pytest.raises(RpcError) as raised:
        wrong_tenant.execute("pos.order", "search", [])
    assert raised.value.name == "odoo.exceptions.AccessDenied"
    assert (
        rpc.call("common", "login", ["tenant-b", "connector", "tenant-b-connector-key"])["result"]
        == uid
    )


async def test_an_unknown_database_is_an_error_not_false(emu: EmulatorUnderTest) -> None:
    body = emu.rpc.call("common", "login", ["nope", "pos-bot", "x"])

    assert body["error"]["data"]["name"] == "psycopg2.OperationalError"
    assert 'database "nope" does not exist' in body["error"]["data"]["message"]


async def test_bad_fault_specs_are_rejected_by_the_control_api(emu: EmulatorUnderTest) -> None:
    with pytest.raises(RuntimeError, match="400"):
        await emu.control.fail("meteor_strike", count=1)
    with pytest.raises(RuntimeError, match="400"):
        await emu.control.fail("serialization_failure", count=1, after_commit=True)
