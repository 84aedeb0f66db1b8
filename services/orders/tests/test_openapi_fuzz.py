"""Property-based fuzzing of the orders API against its own OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from orders.api import router
from orders.domain.amounts import LineInput, line_amounts
from test_support.openapi_fuzzing import FuzzTarget, openapi_fuzz_test
from test_support.orders import OrdersWorld, Register

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@st.composite
def _line(draw: st.DrawFn, currency: str) -> dict[str, Any]:
    quantity = draw(st.decimals(Decimal("0.001"), Decimal(1000), places=3))
    line = LineInput(
        quantity=quantity,
        unit_price=draw(st.integers(0, 10**7)),
        discount_percent=draw(st.decimals(0, 100, places=2)),
        tax_rate_percent=draw(st.sampled_from([Decimal(0), Decimal("5.5"), Decimal(10)])),
        prices_include_tax=draw(st.booleans()),
    )
    return {
        "product_ref": draw(st.text(min_size=1, max_size=100)),
        "product_name": draw(st.text(min_size=1, max_size=200)),
        "quantity": str(quantity),
        "unit_price": {"amount": line.unit_price, "currency": currency},
        "discount_percent": str(line.discount_percent),
        "tax_rate_percent": str(line.tax_rate_percent),
        "prices_include_tax": line.prices_include_tax,
        "total": {"amount": line_amounts(line).total, "currency": currency},
    }


@st.composite
def _order(draw: st.DrawFn, register: Register) -> dict[str, Any]:
    """An order whose lines and payment add up (the server checks what a schema cannot say)."""
    lines = draw(st.lists(_line(register.currency), min_size=1, max_size=3))
    total = sum(line["total"]["amount"] for line in lines)
    money = {"amount": total, "currency": register.currency}
    kind = draw(st.sampled_from(["cash", "card", "qr", "other"]))
    return {
        "id": str(draw(st.uuids())),
        "register_id": str(register.register_id),
        "created_at": (NOW + timedelta(seconds=draw(st.integers(-86400, 86400)))).isoformat(),
        "lines": lines,
        "payments": [{"method": kind, "kind": kind, "amount": money}],
        "total": money,
        "customer_ref": draw(st.none() | st.text(max_size=100)),
        "note": draw(st.none() | st.text(max_size=1000)),
    }


def _refund_of_one(register: Register, order: dict[str, Any]) -> st.SearchStrategy[Any]:
    """One of the seeded order's two flat whites back (3.50): twice, then more than was sold."""
    line = order["lines"][0]
    assert (line["quantity"], line["total"]["amount"]) == ("2", 700)
    money = {"amount": 350, "currency": register.currency}
    return st.fixed_dictionaries(
        {
            "id": st.uuids().map(str),
            "lines": st.just([{"order_line_id": line["id"], "quantity": "1"}]),
            "payments": st.just([{"method": "card", "kind": "card", "amount": money}]),
            "reason": st.text(min_size=1, max_size=500),
        }
    )


def _cash(register: Register) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda amount: {"amount": amount, "currency": register.currency}, st.integers(0, 10**9)
    )


async def _target(world: OrdersWorld) -> FuzzTarget:
    register = await world.create_register()
    order = await world.place(register)
    return FuzzTarget(
        world.client,
        tokens=[
            world.device(register),
            world.admin(register.tenant_id),
            world.manager(register.tenant_id),
        ],
        known={
            "register_id": str(register.register_id),
            "order_id": order["id"],
            "session_id": order["session_id"],
            "order_line_id": order["lines"][0]["id"],
            "currency": register.currency,
        },
        bodies={
            ("POST", "/v1/orders"): _order(register),
            ("POST", "/v1/orders/batch"): st.fixed_dictionaries(
                {"orders": st.lists(_order(register), min_size=1, max_size=4)}
            ),
            ("POST", "/v1/orders/{order_id}/refunds"): _refund_of_one(register, order),
            ("POST", "/v1/sessions"): st.fixed_dictionaries(
                {"register_id": st.just(str(register.register_id)), "opening_cash": _cash(register)}
            ),
            ("POST", "/v1/sessions/{session_id}/close"): st.fixed_dictionaries(
                {"counted_cash": _cash(register)}, optional={"note": st.text(max_size=1000)}
            ),
        },
    )


test_every_answer_is_documented_and_none_is_a_5xx = openapi_fuzz_test(
    router.routes, _target, max_examples=60
)
