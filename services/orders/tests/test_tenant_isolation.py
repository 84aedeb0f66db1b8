"""No request reads or changes another tenant's data (a foreign id is simply not found), and a
till reads and changes only its own register's."""

from __future__ import annotations

import uuid
from typing import Any

from shared.auth import Role
from test_support.orders import OrdersWorld, problem


async def test_another_tenant_sees_nothing_and_changes_nothing(world: OrdersWorld) -> None:
    ours = await world.create_register()
    order = await world.place(ours)
    session_id = order["session_id"]
    other_tenant = uuid.uuid4()
    intruder = world.manager(other_tenant)
    # A till of the other tenant, even one whose token named our register's id.
    intruding_till = world.token(other_tenant, Role.CASHIER, ours.register_id)
    client = world.client

    for url in (f"/v1/orders/{order['id']}", f"/v1/sessions/{session_id}"):
        response = await client.get(url, headers=intruder)
        assert response.status_code == 404, url
        assert problem(response)["detail"].startswith("No ")

    refund = await client.post(
        f"/v1/orders/{order['id']}/refunds",
        json={
            "id": str(uuid.uuid4()),
            "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": "1"}],
            "payments": [
                {"method": "card", "kind": "card", "amount": {"amount": 350, "currency": "EUR"}}
            ],
            "reason": "not mine",
        },
        headers=intruding_till,
    )
    assert refund.status_code == 404
    assert problem(refund)["detail"] == f"No order {order['id']} exists."

    close = await client.post(
        f"/v1/sessions/{session_id}/close",
        json={"counted_cash": {"amount": 0, "currency": "EUR"}},
        headers=intruder,
    )
    assert close.status_code == 404

    for url in ("/v1/orders", "/v1/sessions", f"/v1/orders?register_id={ours.register_id}"):
        listed = await client.get(url, headers=intruder)
        assert listed.status_code == 200
        assert listed.json()["items"] == [], url

    on_our_register = await client.post(
        "/v1/orders", json=world.order_body(ours), headers=intruding_till
    )
    assert on_our_register.status_code == 422
    assert "is not known" in problem(on_our_register)["detail"]
    opening = await client.post(
        "/v1/sessions",
        json={
            "register_id": str(ours.register_id),
            "opening_cash": {"amount": 0, "currency": "EUR"},
        },
        headers=intruding_till,
    )
    assert opening.status_code == 422

    # Our data is untouched by all of that.
    ours_now = await client.get(f"/v1/orders/{order['id']}", headers=world.device(ours))
    assert ours_now.json()["refunds"] == []
    session = await client.get(f"/v1/sessions/{session_id}", headers=world.device(ours))
    assert session.json()["state"] == "open"


async def test_reusing_another_tenants_order_id_neither_leaks_nor_clashes(
    world: OrdersWorld,
) -> None:
    ours = await world.create_register()
    theirs = await world.create_register()
    body = world.order_body(ours)
    await world.client.post("/v1/orders", json=body, headers=world.device(ours))
    same_id = world.order_body(theirs, id=body["id"])
    response = await world.client.post("/v1/orders", json=same_id, headers=world.device(theirs))
    assert response.status_code == 201
    assert response.json()["register_id"] == str(theirs.register_id)


def _refund_of_one(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": "1"}],
        "payments": [
            {"method": "card", "kind": "card", "amount": {"amount": 350, "currency": "EUR"}}
        ],
        "reason": "returned",
    }


async def test_a_till_neither_reads_nor_changes_another_registers_orders_and_sessions(
    world: OrdersWorld,
) -> None:
    ours = await world.create_register(name="Till 1")
    theirs = await world.create_register(ours.tenant_id, name="Till 2")
    order = await world.place(ours)
    session_id = order["session_id"]
    other_till = world.device(theirs)
    client = world.client
    where = f"belongs to register {theirs.register_id}"

    for url in (
        f"/v1/orders/{order['id']}",
        f"/v1/sessions/{session_id}",
        f"/v1/orders?register_id={ours.register_id}",
        f"/v1/sessions?register_id={ours.register_id}",
    ):
        response = await client.get(url, headers=other_till)
        assert response.status_code == 403, url
        assert where in problem(response)["detail"], url

    writes = [
        ("/v1/orders", world.order_body(ours)),
        (f"/v1/orders/{order['id']}/refunds", _refund_of_one(order)),
        (
            "/v1/sessions",
            {
                "register_id": str(ours.register_id),
                "opening_cash": {"amount": 0, "currency": "EUR"},
            },
        ),
        (f"/v1/sessions/{session_id}/close", {"counted_cash": {"amount": 0, "currency": "EUR"}}),
    ]
    for url, body in writes:
        response = await client.post(url, json=body, headers=other_till)
        assert response.status_code == 403, url
        assert where in problem(response)["detail"], url

    ours_now = (await client.get(f"/v1/orders/{order['id']}", headers=world.device(ours))).json()
    assert ours_now["refunds"] == []
    session = await client.get(f"/v1/sessions/{session_id}", headers=world.device(ours))
    assert session.json()["state"] == "open"
    assert await world.count("orders", ours.tenant_id) == 1


async def test_a_tills_lists_hold_its_own_register_only_and_a_managers_every_register(
    world: OrdersWorld,
) -> None:
    ours = await world.create_register(name="Till 1")
    theirs = await world.create_register(ours.tenant_id, name="Till 2")
    await world.place(ours)
    await world.place(theirs)

    async def registers_listed(path: str, headers: dict[str, str]) -> list[str]:
        response = await world.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return [item["register_id"] for item in response.json()["items"]]

    for path in ("/v1/orders", "/v1/sessions"):
        assert await registers_listed(path, world.device(ours)) == [str(ours.register_id)]
        assert await registers_listed(path, world.device(theirs)) == [str(theirs.register_id)]
        listed = await registers_listed(path, world.manager(ours.tenant_id))
        assert sorted(listed) == sorted([str(ours.register_id), str(theirs.register_id)])


async def test_a_cashier_token_without_a_register_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register()
    await world.place(register)
    response = await world.client.get(
        "/v1/orders", headers=world.token(register.tenant_id, Role.CASHIER)
    )
    assert response.status_code == 403
    assert "names no register" in problem(response)["detail"]
