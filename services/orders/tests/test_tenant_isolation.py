"""No request reads or changes another tenant's data; a foreign id is simply not found."""

from __future__ import annotations

import uuid

from orders.testing import OrdersWorld, problem


async def test_another_tenant_sees_nothing_and_changes_nothing(world: OrdersWorld) -> None:
    ours = await world.create_register()
    order = await world.place(ours)
    session_id = order["session_id"]
    intruder = world.manager(uuid.uuid4())
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
        headers=intruder,
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

    on_our_register = await client.post("/v1/orders", json=world.order_body(ours), headers=intruder)
    assert on_our_register.status_code == 422
    assert "is not known" in problem(on_our_register)["detail"]
    opening = await client.post(
        "/v1/sessions",
        json={
            "register_id": str(ours.register_id),
            "opening_cash": {"amount": 0, "currency": "EUR"},
        },
        headers=intruder,
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
