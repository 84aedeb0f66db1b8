"""The services side by side on one exchange, each on its own schema, as `make run` has them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import RunningEmulator, running_emulator
from orders.settings import OrdersSettings
from registers.settings import RegistersSettings
from reporting.bootstrap import topology as reporting_topology
from reporting.settings import ReportingSettings
from shared.broker import delete_topology
from test_support.odoo_connector import ConnectorWorld, running_connector
from test_support.orders import OrdersWorld, Register, running_orders
from test_support.polling import eventually
from test_support.registers import RegistersWorld, Tenant, running_registers
from test_support.reporting import ReportingWorld, running_fake_chat, running_reporting
from test_support.service_settings import settings_for_test


@dataclass
class System:
    registers: RegistersWorld
    orders: OrdersWorld
    reporting: ReportingWorld


@pytest.fixture
def common(database_url: str, amqp_url: str, broker_namespace: str) -> Callable[[str], Any]:
    def settings_of(service: str) -> dict[str, Any]:
        return settings_for_test(
            service,
            database_url=database_url,
            amqp_url=amqp_url,
            broker_namespace=broker_namespace,
        )

    return settings_of


@pytest.fixture
async def system(common: Callable[[str], Any], amqp_url: str) -> AsyncIterator[System]:
    async with running_fake_chat() as chat_api:
        reporting_settings = ReportingSettings(
            **common("reporting"),
            telegram_api_base=chat_api.base_url,
            public_url="https://pos.example.test",
        )
        try:
            async with (
                running_orders(OrdersSettings(**common("orders"))) as orders,
                running_reporting(reporting_settings) as reporting,
                running_registers(RegistersSettings(**common("registers"))) as registers,
            ):
                yield System(registers, orders, reporting)
        finally:
            await delete_topology(amqp_url, reporting_topology(reporting_settings))


@pytest.fixture
async def connector(common: Callable[[str], Any]) -> AsyncIterator[ConnectorWorld]:
    """The Odoo connector beside the system, its retry schedule scaled to milliseconds."""
    settings = ConnectorSettings(
        **common("connector"),
        retry_delays_ms=(60, 120, 240, 480, 960),
        wait_ms=50,
        # One partition: a test knows which queue an order's dead letter is in.
        odoo_partitions=1,
    )
    async with running_connector(settings) as running:
        yield running


@pytest.fixture
async def odoo() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(version=17) as emulator:
        yield emulator


def as_order_register(tenant: Tenant, register: dict[str, Any]) -> Register:
    """A register the registers service answered, as the orders tests describe one."""
    return Register(
        register_id=uuid.UUID(register["id"]),
        tenant_id=tenant.id,
        shop_id=uuid.UUID(register["shop_id"]),
        name=register["name"],
        receipt_prefix=register["receipt_prefix"],
    )


async def post_order_until_accepted(
    system: System,
    register: Register,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """Posts as a tablet does (`body`, or the usual order): a register created a moment ago may
    need a retry or two."""
    body = body or system.orders.order_body(register)

    async def accepted() -> httpx.Response | None:
        response = await system.orders.client.post("/v1/orders", json=body, headers=headers)
        if response.status_code == 422 and "is not known" in response.text:
            return None
        return response

    return await eventually(accepted, what="orders knowing the new register")


async def pro_tenant_with_odoo(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
    """What a Pro tenant's admin does first: a shop, the card method mapped to Odoo's, and the
    Odoo login given to the connector. Returns the tenant, the shop and the emulator's seed."""
    seed = await odoo.control.seed("demo")
    tenant = await system.registers.tenant("pro")
    shop = await system.registers.shop(tenant, name="Harbour")
    await system.registers.ok(
        "POST",
        "/v1/payment-methods",
        tenant.admin,
        201,
        json={
            "code": "card",
            "name": "Card",
            "kind": "card",
            "odoo_payment_method_id": seed["card_payment_method_id"],
        },
    )
    bot = next(user for user in seed["users"] if user["login"] == "pos-bot")
    stored = await connector.client.put(
        f"/v1/tenants/{tenant.id}/odoo",
        json={"url": odoo.url, "database": "demo", "login": "pos-bot", "secret": bot["api_key"]},
        headers=tenant.admin,
    )
    assert stored.status_code == 200, stored.text
    return tenant, shop, seed
