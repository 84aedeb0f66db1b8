"""Placing orders: numbering, idempotency, totals, sessions, registers."""

from __future__ import annotations

import asyncio
import uuid

from test_support.orders import OrdersWorld, problem


async def test_order_gets_receipt_number_from_register_prefix_and_sequence(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="CAFE")
    first = await world.place(register)
    second = await world.place(register)
    assert (first["receipt_number"], second["receipt_number"]) == ("CAFE-1", "CAFE-2")


async def test_server_stores_its_own_line_figures(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    flat_white = order["lines"][0]
    # 700 including 10% tax: net = round(700 / 1.1) = 636, tax = 64.
    assert flat_white["net"]["amount"] == 636
    assert flat_white["tax"]["amount"] == 64
    assert order["total"] == {"amount": 920, "currency": "EUR"}
    assert order["tax_total"]["amount"] == 64 + 20
    assert order["state"] == "paid"
    assert order["sync_state"] == "local"


async def test_replaying_the_same_order_returns_the_stored_one(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    first = await world.client.post("/v1/orders", json=body, headers=world.device(register))
    again = await world.client.post("/v1/orders", json=body, headers=world.device(register))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await world.count("orders", register.tenant_id) == 1


async def test_an_order_reads_the_same_in_utc_whatever_offset_the_tablet_sent(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(timezone="Europe/Paris")
    body = world.order_body(register, created_at="2026-11-30T09:15:00.123+01:00")
    first = await world.client.post("/v1/orders", json=body, headers=world.device(register))
    again = await world.client.post("/v1/orders", json=body, headers=world.device(register))
    fetched = await world.client.get(
        f"/v1/orders/{first.json()['id']}", headers=world.device(register)
    )
    assert first.json()["created_at"] == "2026-11-30T08:15:00.123000Z"
    assert again.json() == first.json() == fetched.json()


async def test_same_order_id_with_a_different_body_is_a_conflict(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    await world.client.post("/v1/orders", json=body, headers=world.device(register))
    changed = {**body, "note": "extra hot"}
    response = await world.client.post("/v1/orders", json=changed, headers=world.device(register))
    assert response.status_code == 409
    assert "already recorded with different content" in problem(response)["detail"]


async def test_concurrent_replays_of_one_order_store_it_once(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    responses = await asyncio.gather(
        *(
            world.client.post("/v1/orders", json=body, headers=world.device(register))
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["receipt_number"] for r in responses}) == 1
    assert await world.count("orders", register.tenant_id) == 1


async def test_concurrent_orders_on_one_register_get_consecutive_receipt_numbers(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="T")
    responses = await asyncio.gather(
        *(
            world.client.post(
                "/v1/orders", json=world.order_body(register), headers=world.device(register)
            )
            for _ in range(20)
        )
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    numbers = sorted(int(r.json()["receipt_number"].split("-")[1]) for r in responses)
    assert numbers == list(range(1, 21))


async def test_first_order_opens_a_session_silently_with_no_cash(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    session = await world.client.get(
        f"/v1/sessions/{order['session_id']}", headers=world.device(register)
    )
    assert session.status_code == 200
    assert session.json()["state"] == "open"
    assert session.json()["opened_implicitly"] is True
    assert session.json()["opening_cash"]["amount"] == 0
    second = await world.place(register)
    assert second["session_id"] == order["session_id"]


async def test_order_for_unknown_register_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register()
    unknown = uuid.uuid4()
    body = world.order_body(register, register_id=str(unknown))
    token = world.token(register.tenant_id, register_id=unknown)
    response = await world.client.post("/v1/orders", json=body, headers=token)
    assert response.status_code == 422
    assert "is not known" in problem(response)["detail"]


async def test_order_for_deactivated_register_is_a_conflict(world: OrdersWorld) -> None:
    register = await world.create_register(name="Terrace")
    register.active, register.version = False, 2
    await world.announce(register)
    response = await world.client.post(
        "/v1/orders", json=world.order_body(register), headers=world.device(register)
    )
    assert response.status_code == 409
    assert problem(response)["detail"].startswith("Register 'Terrace' is deactivated")


async def test_an_older_register_event_does_not_undo_a_newer_one(world: OrdersWorld) -> None:
    register = await world.create_register()
    register.active, register.version = False, 3
    await world.announce(register)
    register.active, register.version = True, 2
    await world.publish_register(register)
    await world.place_fails_while_inactive(register)


async def test_pro_register_orders_wait_for_odoo_and_show_the_stamp(world: OrdersWorld) -> None:
    register = await world.create_register(tenant_tier="pro")
    order = await world.place(register)
    assert order["sync_state"] == "pending"
    await world.stamp_synced(register, order["id"], odoo_order_id=4242)
    fetched = await world.client.get(f"/v1/orders/{order['id']}", headers=world.device(register))
    assert fetched.json()["sync_state"] == "synced"
    assert fetched.json()["odoo_order_id"] == 4242


async def test_orders_are_listed_newest_first_with_a_cursor(world: OrdersWorld) -> None:
    register = await world.create_register()
    placed = [await world.place(register) for _ in range(5)]
    headers = world.device(register)
    first = (await world.client.get("/v1/orders?limit=3", headers=headers)).json()
    assert [o["id"] for o in first["items"]] == [o["id"] for o in reversed(placed)][:3]
    rest = (
        await world.client.get(f"/v1/orders?limit=3&cursor={first['next_cursor']}", headers=headers)
    ).json()
    assert [o["id"] for o in rest["items"]] == [placed[1]["id"], placed[0]["id"]]
    assert rest["next_cursor"] is None


async def test_orders_can_be_filtered_by_session_and_business_date(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    headers = world.device(register)
    by_session = await world.client.get(
        f"/v1/orders?session_id={order['session_id']}", headers=headers
    )
    assert [o["id"] for o in by_session.json()["items"]] == [order["id"]]
    other_day = await world.client.get("/v1/orders?business_date=2001-01-01", headers=headers)
    assert other_day.json()["items"] == []


async def test_health_and_readiness_answer(world: OrdersWorld) -> None:
    assert (await world.client.get("/healthz")).status_code == 200
    ready = await world.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
