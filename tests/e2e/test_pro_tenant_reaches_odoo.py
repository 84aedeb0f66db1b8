"""A Pro tenant set up through the registers service sells through the orders service, and the
connector puts the sale and its refund into the tenant's Odoo; the Odoo id comes back to orders."""

from __future__ import annotations

import uuid
from typing import Any

from odoo_emulator.testing import RunningEmulator
from test_support.odoo_connector import ConnectorWorld
from test_support.orders import Register
from test_support.polling import eventually
from test_support.registers import Tenant

from .conftest import System, pro_tenant_with_odoo


async def _pro_register(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> tuple[Tenant, Register, dict[str, Any]]:
    """What an admin does: a Pro tenant, a shop, a register created linked to the Odoo
    pos.config the tenant already has, its card method mapped, the Odoo login for the connector."""
    tenant, shop, seed = await pro_tenant_with_odoo(system, connector, odoo)
    created = await system.registers.register(
        tenant, shop, name="Bar", odoo_pos_config_id=seed["pos_config_id"]
    )
    assert created["sync_state"] == "synced"
    register = Register(
        register_id=uuid.UUID(created["id"]),
        tenant_id=tenant.id,
        shop_id=uuid.UUID(created["shop_id"]),
        name="Bar",
        receipt_prefix=created["receipt_prefix"],
    )
    return tenant, register, seed


async def _place(
    system: System, register: Register, device: dict[str, str], products: list[int]
) -> dict[str, Any]:
    body = system.orders.order_body(register)
    for line, product in zip(body["lines"], products, strict=False):
        line["odoo_product_id"] = product

    async def accepted() -> dict[str, Any] | None:
        response = await system.orders.client.post("/v1/orders", json=body, headers=device)
        if response.status_code == 422 and "is not known" in response.text:
            return None
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    return await eventually(accepted, what="orders knowing the new register")


async def _synced(system: System, order_id: str, device: dict[str, str]) -> dict[str, Any]:
    async def stamped() -> dict[str, Any] | None:
        response = await system.orders.client.get(f"/v1/orders/{order_id}", headers=device)
        order: dict[str, Any] = response.json()
        return order if order["sync_state"] == "synced" else None

    return await eventually(stamped, within_s=20, what="the Odoo id stamped on the order")


async def test_a_pro_sale_lands_in_odoo_and_its_odoo_id_comes_back(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, register, seed = await _pro_register(system, connector, odoo)
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=str(register.register_id)
    )

    placed = await _place(system, register, device, seed["pos_product_ids"])
    assert placed["sync_state"] == "pending"
    synced = await _synced(system, placed["id"], device)

    [in_odoo] = await odoo.control.records("demo", "pos.order")
    assert synced["odoo_order_id"] == in_odoo["id"]
    assert in_odoo["pos_reference"] == f"Order {placed['receipt_number']}"
    assert in_odoo["state"] == "paid"
    assert in_odoo["amount_total"] == 9.2


async def test_a_pro_refund_lands_in_odoo_after_its_order(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, register, seed = await _pro_register(system, connector, odoo)
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=str(register.register_id)
    )
    placed = await _place(system, register, device, seed["pos_product_ids"])
    croissant = placed["lines"][1]

    refunded = await system.orders.client.post(
        f"/v1/orders/{placed['id']}/refunds",
        json={
            "id": str(uuid.uuid4()),
            "lines": [{"order_line_id": croissant["id"], "quantity": "1"}],
            "payments": [
                {"method": "card", "kind": "card", "amount": {"amount": 220, "currency": "EUR"}}
            ],
            "reason": "stale",
        },
        headers=device,
    )
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["sync_state"] == "pending"

    async def refund_in_odoo() -> list[dict[str, Any]] | None:
        orders = await odoo.control.records("demo", "pos.order")
        return orders if len(orders) == 2 else None

    original, refund = sorted(await eventually(refund_in_odoo, within_s=20), key=lambda o: o["id"])
    assert original["id"] == (await _synced(system, placed["id"], device))["odoo_order_id"]
    assert refund["amount_total"] == -2.2
    refund_lines = await odoo.control.records(
        "demo", "pos.order.line", [["order_id", "=", refund["id"]]]
    )
    original_lines = await odoo.control.records(
        "demo", "pos.order.line", [["order_id", "=", original["id"]]]
    )
    croissant_line = next(line for line in original_lines if line["qty"] == 1)
    assert [line["refunded_orderline_id"] for line in refund_lines] == [croissant_line["id"]]

    async def refund_stamped() -> dict[str, Any] | None:
        response = await system.orders.client.get(f"/v1/orders/{placed['id']}", headers=device)
        [shown] = response.json()["refunds"]
        return shown if shown["sync_state"] == "synced" else None

    stamped = await eventually(refund_stamped, within_s=20, what="the refund's Odoo id stamped")
    assert (stamped["odoo_order_id"], stamped["sync_error"]) == (refund["id"], None)
