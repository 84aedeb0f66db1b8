"""Every bad input gets a clear problem+json answer and leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest

from orders.api import router
from shared.auth import Role
from shared.http_fields import NUL_MESSAGE
from test_support.orders import OrdersWorld, Register, problem
from test_support.request_inputs import input_contract_tests


async def _post(world: OrdersWorld, register: Register, body: Any) -> Any:
    return await world.client.post("/v1/orders", json=body, headers=world.device(register))


async def _assert_nothing_written(world: OrdersWorld, register: Register) -> None:
    for table in ("orders", "order_lines", "order_payments", "cash_sessions"):
        assert await world.count(table, register.tenant_id) == 0, table
    assert await world.count("outbox", register.tenant_id) == 0
    # The receipt sequence was not consumed either: the next good order is number 1.
    order = await world.place(register)
    assert order["receipt_number"] == f"{register.receipt_prefix}-1"


async def test_malformed_json_is_a_400_naming_the_problem(world: OrdersWorld) -> None:
    register = await world.create_register()
    response = await world.client.post(
        "/v1/orders",
        content=b'{"id": "abc", "lines": [',
        headers={**world.device(register), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert problem(response)["detail"].startswith("The request body is not valid JSON")
    await _assert_nothing_written(world, register)


async def test_unknown_field_is_named_in_the_error(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["lines"][0]["colour"] = "blue"
    response = await _post(world, register, body)
    assert response.status_code == 422
    details = problem(response)
    assert details["errors"] == [
        {"field": "lines[0].colour", "message": "is not a field of this request; remove it"}
    ]
    await _assert_nothing_written(world, register)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "quantity must be greater than zero; got 0"),
        ("-2", "quantity must be greater than zero; got -2"),
        ("two", 'must be a decimal string such as "2" or "0.5"'),
        ("1.2345", "quantity may have at most 3 decimal places"),
    ],
)
async def test_quantity_must_be_a_positive_decimal_string(
    world: OrdersWorld, quantity: str, message: str
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["lines"][0]["quantity"] = quantity
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert message in problem(response)["detail"]
    assert problem(response)["errors"][0]["field"] == "lines[0].quantity"
    await _assert_nothing_written(world, register)


async def test_price_that_would_overflow_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["lines"][0]["unit_price"]["amount"] = 10**30
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "lines[0].unit_price.amount"
    assert "must be at most 10000000000000" in problem(response)["detail"]
    await _assert_nothing_written(world, register)


async def test_an_order_needs_at_least_one_line(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register, lines=[])
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert "lines" in problem(response)["detail"]
    assert "at least 1 item" in problem(response)["detail"]
    await _assert_nothing_written(world, register)


async def test_payment_in_another_currency_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register(currency="EUR")
    body = world.order_body(register)
    body["payments"][0]["amount"]["currency"] = "USD"
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert problem(response)["detail"] == (
        "payments[0].amount is in USD but this register sells in EUR."
    )
    await _assert_nothing_written(world, register)


async def test_unknown_currency_code_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["total"]["currency"] = "EUX"
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert "'EUX' is not an ISO 4217 currency code" in problem(response)["detail"]


async def test_line_total_that_does_not_match_is_refused_with_the_servers_figure(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["lines"][0]["total"]["amount"] = 699
    body["total"]["amount"] = 919
    body["payments"][0]["amount"]["amount"] = 919
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert problem(response)["detail"].startswith(
        "lines[0].total is 6.99 EUR but the line comes to 7.00 EUR"
    )
    await _assert_nothing_written(world, register)


async def test_order_total_must_equal_the_sum_of_lines(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["total"]["amount"] = 1000
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert problem(response)["detail"] == "total is 10.00 EUR but the lines add up to 9.20 EUR."


async def test_payments_must_cover_the_total(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["payments"][0]["amount"]["amount"] = 900
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert problem(response)["detail"] == (
        "The payments cover 9.00 EUR of the order's 9.20 EUR; 0.20 EUR is missing."
    )
    await _assert_nothing_written(world, register)


async def test_cash_change_must_add_up(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["payments"] = [
        {
            "method": "cash",
            "kind": "cash",
            "amount": {"amount": 920, "currency": "EUR"},
            "tendered": {"amount": 1000, "currency": "EUR"},
            "change": {"amount": 50, "currency": "EUR"},
        }
    ]
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert (
        "tendered (1000) minus change (50) must equal the amount (920)"
        in (problem(response)["detail"])
    )


async def test_a_device_token_cannot_post_for_another_register(world: OrdersWorld) -> None:
    register = await world.create_register()
    other = await world.create_register(tenant_id=register.tenant_id)
    response = await world.client.post(
        "/v1/orders", json=world.order_body(other), headers=world.device(register)
    )
    assert response.status_code == 403
    assert problem(response)["detail"] == (
        f"This device's token belongs to register {register.register_id}; "
        f"it cannot post orders on register {other.register_id}."
    )
    assert await world.count("orders", register.tenant_id) == 0


async def test_missing_token_is_a_401(world: OrdersWorld) -> None:
    register = await world.create_register()
    response = await world.client.post("/v1/orders", json=world.order_body(register))
    assert response.status_code == 401
    assert problem(response)["detail"] == "Send a bearer token in the Authorization header."
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_a_401(world: OrdersWorld) -> None:
    register = await world.create_register()
    expired = world.token(
        register.tenant_id, Role.CASHIER, register.register_id, ttl=timedelta(seconds=-5)
    )
    response = await world.client.post(
        "/v1/orders", json=world.order_body(register), headers=expired
    )
    assert response.status_code == 401
    assert problem(response)["detail"] == "The token has expired; sign in again."
    assert await world.count("orders", register.tenant_id) == 0


async def test_forged_token_is_a_401(world: OrdersWorld) -> None:
    register = await world.create_register()
    forged = jwt.encode(
        {
            "iss": "pos-platform",
            "sub": "mallory",
            "tenant_id": str(register.tenant_id),
            "role": "admin",
            "jti": str(uuid.uuid4()),
            "exp": 4102444800,
        },
        "a guessed secret, long enough for HS256 to take",
        algorithm="HS256",
    )
    response = await world.client.post(
        "/v1/orders",
        json=world.order_body(register),
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert response.status_code == 401
    assert problem(response)["detail"].startswith("The token is not valid")
    assert await world.count("orders", register.tenant_id) == 0


async def test_bad_cursor_is_refused_plainly(world: OrdersWorld) -> None:
    register = await world.create_register()
    response = await world.client.get("/v1/orders?cursor=%%%", headers=world.device(register))
    assert response.status_code == 422
    assert "cursor" in problem(response)["detail"]


# Every input Postgres would refuse is refused first, for every field of every route.


async def _tokens(world: OrdersWorld) -> list[dict[str, str]]:
    tenant_id = uuid.uuid4()
    return [
        world.admin(tenant_id),
        world.manager(tenant_id),
        world.token(tenant_id, Role.CASHIER, uuid.uuid4()),
    ]


(
    test_a_nul_in_any_text_input_is_refused_naming_it,
    test_an_integer_input_is_bounded_within_its_column,
) = input_contract_tests(router.routes, "orders", _tokens)


async def test_an_order_with_a_nul_in_a_line_is_refused_and_nothing_is_written(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["lines"][0]["product_name"] = "Esp\u0000resso"
    body["note"] = "\u0000"
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "lines[0].product_name", "message": NUL_MESSAGE},
        {"field": "note", "message": NUL_MESSAGE},
    ]
    await _assert_nothing_written(world, register)


async def test_an_odoo_payment_method_id_beyond_postgres_integer_is_refused(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    body["payments"][0]["odoo_payment_method_id"] = 2**31
    response = await _post(world, register, body)
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "payments[0].odoo_payment_method_id", "message": "must be at most 2147483647"}
    ]
    await _assert_nothing_written(world, register)
