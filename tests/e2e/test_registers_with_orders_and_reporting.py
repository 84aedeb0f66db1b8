"""Registers made in the registers service reach the orders and reporting services through
RabbitMQ, and so do its tokens and their revocation."""

from __future__ import annotations

import asyncio
from typing import Any

from test_support.polling import eventually
from test_support.registers import Tenant, bearer

from .conftest import System, as_order_register, post_order_until_accepted


async def _till(system: System, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    shop = await system.registers.shop(tenant, name="Harbour", currency="EUR")
    return await system.registers.register(tenant, shop, **overrides)


async def test_an_order_is_taken_for_a_register_created_a_moment_ago(system: System) -> None:
    tenant = await system.registers.tenant("starter")
    register = await _till(system, tenant, receipt_prefix="HARB")
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet-1", register_id=register["id"]
    )

    response = await post_order_until_accepted(system, as_order_register(tenant, register), device)

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["receipt_number"].startswith("HARB-")
    assert order["sync_state"] == "local"


async def test_a_pro_registers_orders_wait_for_odoo(system: System) -> None:
    tenant = await system.registers.tenant("pro")
    register = await _till(system, tenant)
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet-1", register_id=register["id"]
    )
    response = await post_order_until_accepted(system, as_order_register(tenant, register), device)
    assert response.json()["sync_state"] == "pending"


async def test_a_token_revoked_in_registers_is_refused_by_orders(system: System) -> None:
    tenant = await system.registers.tenant()
    register = await _till(system, tenant)
    issued = await system.registers.issue(
        tenant.admin, role="cashier", subject="lost tablet", register_id=register["id"]
    )
    device = bearer(issued["token"])
    first = await post_order_until_accepted(system, as_order_register(tenant, register), device)
    assert first.status_code == 201

    revoked = await system.registers.client.delete(
        f"/v1/tokens/{issued['id']}", headers=tenant.admin
    )
    assert revoked.status_code == 204

    async def refused() -> bool:
        response = await system.orders.client.get("/v1/orders", headers=device)
        return response.status_code == 401 and "revoked" in response.json()["detail"]

    await eventually(refused, what="orders refusing the revoked token")


async def test_an_expired_token_from_registers_is_refused_by_orders(system: System) -> None:
    tenant = await system.registers.tenant()
    register = await _till(system, tenant)
    device = await system.registers.token_for(
        tenant.admin,
        role="cashier",
        subject="tablet",
        register_id=register["id"],
        ttl_seconds=2,
    )
    assert (await system.orders.client.get("/v1/orders", headers=device)).status_code == 200
    await asyncio.sleep(2.5)
    expired = await system.orders.client.get("/v1/orders", headers=device)
    assert expired.status_code == 401
    assert expired.json()["detail"] == "The token has expired; sign in again."


async def test_a_deactivated_register_stops_taking_orders(system: System) -> None:
    tenant = await system.registers.tenant()
    register = await _till(system, tenant)
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=register["id"]
    )
    order_register = as_order_register(tenant, register)
    await post_order_until_accepted(system, order_register, device)

    await system.registers.patch_register(tenant, register, active=False)

    async def refused() -> bool:
        response = await system.orders.client.post(
            "/v1/orders", json=system.orders.order_body(order_register), headers=device
        )
        return response.status_code == 409 and "is deactivated" in response.json()["detail"]

    await eventually(refused, what="orders refusing a deactivated register")


async def test_reporting_names_the_shop_and_register_from_registers_events(
    system: System,
) -> None:
    tenant = await system.registers.tenant()
    register = await _till(system, tenant, name="Window till")
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=register["id"]
    )
    await post_order_until_accepted(system, as_order_register(tenant, register), device)
    manager = await system.registers.token_for(tenant.admin, role="manager", subject="boss")

    async def dashboard() -> dict[str, Any] | None:
        response = await system.reporting.client.get(
            "/v1/dashboard", params={"shop_id": register["shop_id"]}, headers=manager
        )
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or body["totals"]["order_count"] != 1:
            return None
        return body

    board = await eventually(dashboard, what="the order on the dashboard")
    assert board["shop_name"] == "Harbour"
    assert board["currency"] == "EUR"
    assert [card["name"] for card in board["registers"]] == ["Window till"]
