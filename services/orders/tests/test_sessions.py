"""Cash sessions: one open per register, closing counts the drawer."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.auth import Role
from test_support.orders import OrdersWorld, problem


async def test_only_one_session_opens_when_a_register_opens_concurrently(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(name="Bar")
    body = {
        "register_id": str(register.register_id),
        "opening_cash": {"amount": 10000, "currency": "EUR"},
    }
    responses = await asyncio.gather(
        *(
            world.client.post("/v1/sessions", json=body, headers=world.device(register))
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    conflict = next(r for r in responses if r.status_code == 409)
    assert "is already open on register 'Bar'" in problem(conflict)["detail"]
    assert await world.count("cash_sessions", register.tenant_id) == 1


async def test_closing_a_session_compares_counted_with_expected_cash(world: OrdersWorld) -> None:
    register = await world.create_register()
    headers = world.device(register)
    opened = await world.client.post(
        "/v1/sessions",
        json={
            "register_id": str(register.register_id),
            "opening_cash": {"amount": 5000, "currency": "EUR"},
        },
        headers=headers,
    )
    assert opened.status_code == 201
    cash = [
        {
            "method": "cash",
            "kind": "cash",
            "amount": {"amount": 920, "currency": "EUR"},
            "tendered": {"amount": 1000, "currency": "EUR"},
            "change": {"amount": 80, "currency": "EUR"},
        }
    ]
    cash_order = await world.place(register, payments=cash)
    await world.place(register)  # paid by card
    refund = await world.client.post(
        f"/v1/orders/{cash_order['id']}/refunds",
        json={
            "id": str(uuid.uuid4()),
            "lines": [{"order_line_id": cash_order["lines"][1]["id"], "quantity": "1"}],
            "payments": [
                {"method": "cash", "kind": "cash", "amount": {"amount": 220, "currency": "EUR"}}
            ],
            "reason": "stale croissant",
        },
        headers=headers,
    )
    assert refund.status_code == 201, refund.text
    closed = await world.client.post(
        f"/v1/sessions/{opened.json()['id']}/close",
        json={"counted_cash": {"amount": 5690, "currency": "EUR"}, "note": "till short"},
        headers=headers,
    )
    assert closed.status_code == 200, closed.text
    session = closed.json()
    # 5000 float + 920 cash sale − 220 cash refund.
    assert session["expected_cash"]["amount"] == 5700
    assert session["cash_difference"]["amount"] == -10
    totals = session["totals"]
    assert (totals["order_count"], totals["refund_count"]) == (2, 1)
    assert totals["sales_total"]["amount"] == 1840
    assert totals["net_total"]["amount"] == 1620
    tenders = {
        t["method"]: (t["sales"]["amount"], t["refunds"]["amount"]) for t in totals["tenders"]
    }
    assert tenders == {"cash": (920, 220), "card": (920, 0)}
    assert totals["first_receipt_number"] == f"{register.receipt_prefix}-1"
    assert totals["last_receipt_number"] == f"{register.receipt_prefix}-2"


async def test_a_closed_session_cannot_close_again(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    url = f"/v1/sessions/{order['session_id']}/close"
    body = {"counted_cash": {"amount": 0, "currency": "EUR"}}
    first = await world.client.post(url, json=body, headers=world.device(register))
    again = await world.client.post(url, json=body, headers=world.device(register))
    assert (first.status_code, again.status_code) == (200, 409)
    assert problem(again)["detail"].startswith(f"Session {order['session_id']} was already closed")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
async def test_the_back_office_closes_a_session_a_till_left_open_and_is_named_as_closer(
    world: OrdersWorld, role: Role
) -> None:
    register = await world.create_register()
    order = await world.place(register)
    closed = await world.client.post(
        f"/v1/sessions/{order['session_id']}/close",
        json={"counted_cash": {"amount": 0, "currency": "EUR"}, "note": "left open overnight"},
        headers=world.token(register.tenant_id, role),
    )
    assert closed.status_code == 200, closed.text
    session = closed.json()
    assert (session["state"], session["opened_by"]) == ("closed", "cashier@test")
    assert session["closed_by"] == f"{role.value}@test"
    # The till carries on in a session of its own.
    assert (await world.place(register))["session_id"] != order["session_id"]


async def test_after_a_close_the_next_order_opens_a_new_session(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    await world.client.post(
        f"/v1/sessions/{order['session_id']}/close",
        json={"counted_cash": {"amount": 0, "currency": "EUR"}},
        headers=world.device(register),
    )
    later = await world.place(register)
    assert later["session_id"] != order["session_id"]
    listed = await world.client.get(
        f"/v1/sessions?register_id={register.register_id}", headers=world.device(register)
    )
    assert [s["state"] for s in listed.json()["items"]] == ["open", "closed"]


async def test_orders_racing_a_close_land_in_a_session_that_counts_them(world: OrdersWorld) -> None:
    register = await world.create_register()
    first = await world.place(register)
    close = world.client.post(
        f"/v1/sessions/{first['session_id']}/close",
        json={"counted_cash": {"amount": 0, "currency": "EUR"}},
        headers=world.device(register),
    )
    orders = [
        world.client.post(
            "/v1/orders", json=world.order_body(register), headers=world.device(register)
        )
        for _ in range(10)
    ]
    results = await asyncio.gather(close, *orders)
    closed = results[0].json()
    placed = [r.json() for r in results[1:]]
    in_closed = [o for o in placed if o["session_id"] == first["session_id"]]
    assert closed["totals"]["order_count"] == 1 + len(in_closed)


async def test_counted_cash_in_another_currency_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    response = await world.client.post(
        f"/v1/sessions/{order['session_id']}/close",
        json={"counted_cash": {"amount": 0, "currency": "USD"}},
        headers=world.device(register),
    )
    assert response.status_code == 422
    assert problem(response)["detail"] == "counted_cash is in USD but the session counts EUR."
