"""Refunds: partial, never more than sold, idempotent, their own records."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from test_support.orders import OrdersWorld, Register, problem


def refund_body(order: dict[str, Any], quantities: dict[int, str], amount: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lines": [
            {"order_line_id": order["lines"][index]["id"], "quantity": quantity}
            for index, quantity in quantities.items()
        ],
        "payments": [
            {"method": "card", "kind": "card", "amount": {"amount": amount, "currency": "EUR"}}
        ],
        "reason": "customer changed their mind",
    }


async def _refund(world: OrdersWorld, register: Register, order: dict[str, Any], body: Any) -> Any:
    return await world.client.post(
        f"/v1/orders/{order['id']}/refunds", json=body, headers=world.device(register)
    )


async def test_partial_refund_is_its_own_record_and_marks_the_order(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    response = await _refund(world, register, order, refund_body(order, {0: "1"}, 350))
    assert response.status_code == 201, response.text
    refund = response.json()
    assert refund["state"] == "refunded"
    assert refund["total"]["amount"] == 350
    fetched = (
        await world.client.get(f"/v1/orders/{order['id']}", headers=world.device(register))
    ).json()
    assert fetched["state"] == "partially_refunded"
    assert fetched["total"]["amount"] == 920, "the sale itself is never rewritten"
    assert [r["id"] for r in fetched["refunds"]] == [refund["id"]]
    assert fetched["lines"][0]["refunded_quantity"] == "1"


async def test_refunds_of_a_whole_line_add_up_to_exactly_its_total(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["lines"] = [
        {
            "product_ref": "TEA",
            "product_name": "Tea",
            "quantity": "3",
            "unit_price": {"amount": 333, "currency": "EUR"},
            "discount_percent": "10",
            "tax_rate_percent": "5.5",
            "prices_include_tax": True,
            "total": {"amount": 899, "currency": "EUR"},
        }
    ]
    body["total"] = {"amount": 899, "currency": "EUR"}
    body["payments"][0]["amount"]["amount"] = 899
    order = await world.place(register, **{k: body[k] for k in ("lines", "total", "payments")})
    totals = []
    # Cumulative shares of 899 over 3 units: round(299.67)=300, round(599.33)=599, 899.
    for amount in (300, 299, 300):
        response = await _refund(world, register, order, refund_body(order, {0: "1"}, amount))
        assert response.status_code == 201, response.text
        totals.append(response.json())
    assert sum(r["total"]["amount"] for r in totals) == 899
    assert sum(r["tax_total"]["amount"] for r in totals) == order["tax_total"]["amount"]
    fetched = (
        await world.client.get(f"/v1/orders/{order['id']}", headers=world.device(register))
    ).json()
    assert fetched["state"] == "refunded"


async def test_refund_cannot_exceed_sold_quantity(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    response = await _refund(world, register, order, refund_body(order, {0: "3"}, 1050))
    assert response.status_code == 422
    assert problem(response)["detail"] == (
        "lines[0]: line 1 (Flat white) has 2 left to refund (sold 2, already refunded 0); "
        "3 was asked for."
    )
    assert await world.count("refunds", register.tenant_id) == 0


async def test_two_partial_refunds_that_fit_succeed_and_a_third_is_refused(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    order = await world.place(register)
    first = await _refund(world, register, order, refund_body(order, {0: "1"}, 350))
    second = await _refund(world, register, order, refund_body(order, {0: "1"}, 350))
    third = await _refund(world, register, order, refund_body(order, {0: "1"}, 350))
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 422)
    assert "has 0 left to refund (sold 2, already refunded 2)" in problem(third)["detail"]


async def test_concurrent_refunds_never_refund_more_than_was_sold(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    responses = await asyncio.gather(
        *(_refund(world, register, order, refund_body(order, {0: "1"}, 350)) for _ in range(6))
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 422, 422, 422, 422]
    refunded = await world.pool.fetchval(
        f"SELECT sum(quantity) FROM {world.schema}.refund_lines WHERE tenant_id = $1",
        register.tenant_id,
    )
    assert refunded == 2


async def test_replayed_refund_returns_the_stored_one(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    body = refund_body(order, {1: "1"}, 220)
    first = await _refund(world, register, order, body)
    again = await _refund(world, register, order, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    changed = await _refund(world, register, order, {**body, "reason": "another"})
    assert changed.status_code == 409
    assert "already recorded with different content" in problem(changed)["detail"]
    assert await world.count("refunds", register.tenant_id) == 1


async def test_refund_payments_must_equal_the_refunded_amount(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    response = await _refund(world, register, order, refund_body(order, {0: "1"}, 400))
    assert response.status_code == 422
    assert problem(response)["detail"].startswith(
        "The payments add up to 4.00 EUR, more than the refund's 3.50 EUR"
    )


async def test_refund_of_a_line_the_order_does_not_have_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    body = refund_body(order, {0: "1"}, 350)
    stranger = str(uuid.uuid4())
    body["lines"][0]["order_line_id"] = stranger
    response = await _refund(world, register, order, body)
    assert response.status_code == 422
    assert problem(response)["detail"] == (
        f"lines[0].order_line_id: the order has no line {stranger}."
    )


async def test_refund_of_unknown_order_is_a_404(world: OrdersWorld) -> None:
    register = await world.create_register()
    order = await world.place(register)
    missing = {**order, "id": str(uuid.uuid4())}
    response = await _refund(world, register, missing, refund_body(order, {0: "1"}, 350))
    assert response.status_code == 404
    assert problem(response)["detail"] == f"No order {missing['id']} exists."


def _line(name: str, quantity: str, price: int, inclusive: bool, total: int) -> dict[str, Any]:
    return {
        "product_ref": name.upper(),
        "product_name": name,
        "quantity": quantity,
        "unit_price": {"amount": price, "currency": "EUR"},
        "tax_rate_percent": "10",
        "prices_include_tax": inclusive,
        "total": {"amount": total, "currency": "EUR"},
    }


async def test_every_refund_adds_up_and_its_parts_give_back_exactly_each_line(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    # 2 × 1.80 with 10 % in it: net 327, tax 33. 3 × 3.35 with 10 % on top: 1005 + 101.
    lines = [_line("Espresso", "2", 180, True, 360), _line("Wine", "3", 335, False, 1106)]
    payments = [{"method": "card", "kind": "card", "amount": {"amount": 1466, "currency": "EUR"}}]
    order = await world.place(
        register, lines=lines, payments=payments, total={"amount": 1466, "currency": "EUR"}
    )
    refunds = []
    for quantities, amount in (({0: "1", 1: "1"}, 180 + 369), ({0: "1", 1: "2"}, 180 + 737)):
        response = await _refund(world, register, order, refund_body(order, quantities, amount))
        assert response.status_code == 201, response.text
        refunds.append(response.json())

    # The first espresso back is priced as one espresso: 1.80 with 0.16 of tax in it.
    first_espresso = refunds[0]["lines"][0]
    assert [first_espresso[k]["amount"] for k in ("net", "tax", "total")] == [164, 16, 180]
    for refund in refunds:
        for refund_line in refund["lines"]:
            assert (
                refund_line["net"]["amount"] + refund_line["tax"]["amount"]
                == refund_line["total"]["amount"]
            )
        for figure in ("net", "tax", "total"):
            assert refund[f"{figure}_total" if figure != "total" else "total"]["amount"] == sum(
                refund_line[figure]["amount"] for refund_line in refund["lines"]
            )
    for sold in order["lines"]:
        parts = [rl for r in refunds for rl in r["lines"] if rl["order_line_id"] == sold["id"]]
        for figure in ("net", "tax", "total"):
            assert sum(p[figure]["amount"] for p in parts) == sold[figure]["amount"], figure
