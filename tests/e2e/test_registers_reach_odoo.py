"""A register an admin creates on a Pro tenant gets its own pos.config in the tenant's Odoo and
takes Pro orders there; renames and deactivations follow it; a push Odoo keeps refusing ends in
`sync_error` with the reason, until the admin's next edit sends it again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import RunningEmulator
from test_support.odoo_connector import ConnectorWorld, running_connector
from test_support.orders import Register
from test_support.polling import eventually
from test_support.registers import Tenant

from .conftest import System, pro_tenant_with_odoo
from .test_pro_tenant_reaches_odoo import _place, _synced


@pytest.fixture
async def connector(common: Callable[[str], Any]) -> AsyncIterator[ConnectorWorld]:
    """The connector with both retry schedules scaled to milliseconds (registers: 1, 5, 15,
    60, 240 minutes at 5 ms a minute) and a short settle before a create."""
    settings = ConnectorSettings(
        **common("connector"),
        retry_delays_ms=(60, 120, 240, 480, 960),
        register_retry_delays_ms=(5, 25, 75, 300, 1200),
        register_create_settle_ms=100,
        wait_ms=50,
    )
    async with running_connector(settings) as running:
        yield running


async def _in_state(
    system: System, tenant: Tenant, register: dict[str, Any], state: str, **expected: Any
) -> dict[str, Any]:
    """The register once its sync state (and these fields) are as expected."""

    async def reached() -> dict[str, Any] | None:
        current = await system.registers.get_register(tenant, register)
        matches = all(current[key] == value for key, value in expected.items())
        return current if current["sync_state"] == state and matches else None

    found: dict[str, Any] = await eventually(
        reached, within_s=20, what=f"register {register['id']} {state} with {expected}"
    )
    return found


async def _new_configs(odoo: RunningEmulator, seed: dict[str, Any]) -> list[dict[str, Any]]:
    configs = await odoo.control.records("demo", "pos.config")
    return [c for c in configs if c["id"] != seed["pos_config_id"]]


async def test_a_new_pro_register_gets_its_own_pos_config_and_its_card_and_cash_sales_land_there(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, shop, seed = await pro_tenant_with_odoo(system, connector, odoo)
    created = await system.registers.register(tenant, shop, name="Terrace")
    assert created["sync_state"] == "pending_create"
    synced = await _in_state(system, tenant, created, "synced")
    [config] = await _new_configs(odoo, seed)
    assert synced["odoo_pos_config_id"] == config["id"]
    assert (config["name"], config["active"]) == ("Terrace", True)
    assert config["journal_id"] == seed["pos_journal_id"]

    register = Register(
        register_id=uuid.UUID(created["id"]),
        tenant_id=tenant.id,
        shop_id=uuid.UUID(shop["id"]),
        name="Terrace",
        receipt_prefix=created["receipt_prefix"],
    )
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=created["id"]
    )
    by_card = await _place(system, register, device, seed["pos_product_ids"])
    card_order_id = (await _synced(system, by_card["id"], device))["odoo_order_id"]
    # The tablet's cash payment names no Odoo method: the register's own cash method takes it.
    by_cash = await _place_cash(system, register, device, seed["pos_product_ids"])
    cash_order_id = (await _synced(system, by_cash["id"], device))["odoo_order_id"]
    in_odoo = await odoo.control.records(
        "demo", "pos.order", [["id", "in", [card_order_id, cash_order_id]]]
    )
    sessions = await odoo.control.records(
        "demo", "pos.session", [["id", "in", sorted({o["session_id"] for o in in_odoo})]]
    )
    [cash_payment] = await odoo.control.records(
        "demo", "pos.payment", [["pos_order_id", "=", cash_order_id]]
    )
    [own_cash] = await odoo.control.records(
        "demo", "pos.payment.method", [["id", "=", cash_payment["payment_method_id"]]]
    )
    assert {s["config_id"] for s in sessions} == {config["id"]}
    assert [o["state"] for o in in_odoo] == ["paid", "paid"]
    assert own_cash["is_cash_count"] is True
    assert own_cash["id"] in config["payment_method_ids"]
    assert own_cash["id"] != seed["cash_payment_method_id"]


async def _place_cash(
    system: System, register: Register, device: dict[str, str], products: list[int]
) -> dict[str, Any]:
    body = system.orders.order_body(
        register,
        payments=[{"method": "cash", "kind": "cash", "amount": {"amount": 920, "currency": "EUR"}}],
    )
    for line, product in zip(body["lines"], products, strict=False):
        line["odoo_product_id"] = product
    response = await system.orders.client.post("/v1/orders", json=body, headers=device)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def test_a_rename_while_the_create_is_in_flight_ends_with_the_new_name_in_odoo(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, shop, seed = await pro_tenant_with_odoo(system, connector, odoo)
    # Every Odoo call takes a while: the rename comes while the create is on its way.
    await odoo.control.set_latency(300)
    created = await system.registers.register(tenant, shop, name="Terrace")

    async def template_read() -> bool:
        return bool(await odoo.control.calls(model="pos.payment.method", method="search_read"))

    await eventually(template_read, within_s=20, what="the connector reading the template")
    await system.registers.patch_register(tenant, created, name="Garden")
    synced = await _in_state(system, tenant, created, "synced", name="Garden")
    await odoo.control.clear_latency()
    creates = await odoo.control.calls(model="pos.config", method="create")
    configs = await _new_configs(odoo, seed)
    # Made under the name it had when it left, then renamed: one pos.config, the new name.
    assert [c["args"][0]["name"] for c in creates] == ["Terrace"]
    assert [(c["id"], c["name"]) for c in configs] == [(synced["odoo_pos_config_id"], "Garden")]


async def test_deactivating_a_register_archives_its_pos_config(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, shop, seed = await pro_tenant_with_odoo(system, connector, odoo)
    created = await system.registers.register(tenant, shop, name="Terrace")
    await _in_state(system, tenant, created, "synced")
    await system.registers.patch_register(tenant, created, active=False)
    await _in_state(system, tenant, created, "synced", active=False)
    [config] = await _new_configs(odoo, seed)
    assert (config["name"], config["active"]) == ("Terrace", False)


async def test_an_update_odoo_keeps_refusing_is_a_sync_error_until_the_next_edit_sends_it_again(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, shop, seed = await pro_tenant_with_odoo(system, connector, odoo)
    created = await system.registers.register(tenant, shop, name="Terrace")
    await _in_state(system, tenant, created, "synced")
    await odoo.control.fail("serialization_failure", count=1000, model="pos.config", method="write")
    await system.registers.patch_register(tenant, created, name="Garden")
    failed = await _in_state(system, tenant, created, "sync_error")
    assert failed["sync"]["attempts"] == 6
    assert "could not serialize access" in failed["sync"]["last_error"]
    assert len(await odoo.control.calls(model="pos.config", method="write")) == 6

    await odoo.control.clear_faults()
    await system.registers.patch_register(tenant, created, name="Patio")
    await _in_state(system, tenant, created, "synced", name="Patio")
    [config] = await _new_configs(odoo, seed)
    assert config["name"] == "Patio"
