"""The demo tenants of `make run` and of `make up`'s `demo` profile, seeded through the APIs as
an operator would: a platform admin token from the registers CLI, then a Starter and a Pro
tenant, the Pro one wired to the Odoo emulator.

`python -m deploy.demo --registers-url … --connector-url … --odoo-url …` seeds and prints the
tokens (the compose `demo-seed` job runs it with the service names as hosts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import httpx
import typer
from rich.console import Console

console = Console()


@dataclass(frozen=True)
class DemoTenant:
    name: str
    tier: str
    shop: str
    register: str
    prefix: str
    # The emulator's demo pos.config the register is linked to (Pro only).
    odoo_pos_config_id: int | None = None


DEMO_TENANTS = (
    DemoTenant("Demo Cafe (Starter)", "starter", "Demo Cafe", "Counter", "CAFE"),
    DemoTenant("Demo Bistro (Pro)", "pro", "Demo Bistro", "Bar", "BIS", odoo_pos_config_id=1),
)
# Codes are what a tablet sends as a payment's `method`; the ids are the emulator's demo methods.
DEMO_PAYMENT_METHODS = (
    {"code": "cash", "name": "Cash", "kind": "cash", "odoo_payment_method_id": 1},
    {"code": "card", "name": "Card", "kind": "card", "odoo_payment_method_id": 2},
)
# The emulator's demo database and its integration user (its README lists the seed).
DEMO_ODOO_LOGIN = {"database": "demo", "login": "pos-bot", "secret": "demo-pos-bot-key"}


@dataclass(frozen=True)
class DemoUrls:
    """Where the seeding finds the services, and where the connector finds the emulator."""

    registers: str = "http://127.0.0.1:8002"
    connector: str = "http://127.0.0.1:8004"
    odoo: str = "http://127.0.0.1:8069"


@dataclass(frozen=True)
class SeededTenant:
    demo: DemoTenant
    tenant_id: str
    register_id: str
    device_token: str
    manager_token: str
    admin_token: str


def platform_admin_token(env: dict[str, str] | None = None, subject: str = "devstack") -> str:
    """The registers service's own CLI, as an operator of a fresh install runs it."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "registers", "platform-admin-token", "--subject", subject],
        env={**os.environ, **(env or {})},
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"registers platform-admin-token failed:\n{done.stderr.decode()}")
    return done.stdout.decode().strip()


class RegistersApi:
    """Just enough of the registers API to seed the demo; finds what exists before creating."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> Any:
        response = self.client.request(
            method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json()

    def find_or_create(
        self, path: str, token: str, match: dict[str, Any], body: dict[str, Any]
    ) -> Any:
        items = self.call("GET", f"{path}?limit=250", token)["items"]
        for item in items:
            if all(item.get(key) == value for key, value in match.items()):
                return item
        return self.call("POST", path, token, json=body)

    def register(self, admin: str, shop_id: str, demo: DemoTenant) -> Any:
        listed = self.call("GET", f"/registers?shop_id={shop_id}&limit=250", admin)["items"]
        for item in listed:
            if item["receipt_prefix"] == demo.prefix:
                return item
        body: dict[str, Any] = {"name": demo.register, "receipt_prefix": demo.prefix}
        if demo.odoo_pos_config_id is not None:
            # Linked from birth: the emulator's pos.config is this register; none is cloned.
            body["odoo_pos_config_id"] = demo.odoo_pos_config_id
        return self.call("POST", f"/shops/{shop_id}/registers", admin, json=body)


def connect_odoo(urls: DemoUrls, tenant_id: str, admin_token: str) -> None:
    """Gives the connector the Pro tenant's Odoo login, as the tenant's admin does."""
    response = httpx.put(
        f"{urls.connector}/v1/tenants/{tenant_id}/odoo",
        json={"url": urls.odoo, **DEMO_ODOO_LOGIN},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    if response.status_code >= 400:
        raise SystemExit(f"the connector refused the demo Odoo settings: {response.text}")


def seed_demo(platform_token: str, urls: DemoUrls) -> list[SeededTenant]:
    seeded = []
    with httpx.Client(base_url=f"{urls.registers}/v1", timeout=10) as client:
        api = RegistersApi(client)
        for demo in DEMO_TENANTS:
            tenant = api.find_or_create(
                "/tenants",
                platform_token,
                {"name": demo.name},
                {
                    "name": demo.name,
                    "tier": demo.tier,
                    "default_currency": "EUR",
                    "default_timezone": "Europe/Paris",
                },
            )
            admin = api.call(
                "POST",
                "/tokens",
                platform_token,
                json={"role": "admin", "subject": "owner@demo", "tenant_id": tenant["id"]},
            )["token"]
            shop = api.find_or_create("/shops", admin, {"name": demo.shop}, {"name": demo.shop})
            register = api.register(admin, shop["id"], demo)
            for method in DEMO_PAYMENT_METHODS:
                api.find_or_create("/payment-methods", admin, {"code": method["code"]}, method)
            if demo.odoo_pos_config_id is not None:
                connect_odoo(urls, tenant["id"], admin)
            device = api.call(
                "POST",
                "/tokens",
                admin,
                json={
                    "role": "cashier",
                    "subject": f"tablet:{demo.prefix.lower()}",
                    "register_id": register["id"],
                },
            )["token"]
            manager = api.call(
                "POST", "/tokens", admin, json={"role": "manager", "subject": "manager@demo"}
            )["token"]
            seeded.append(SeededTenant(demo, tenant["id"], register["id"], device, manager, admin))
    return seeded


def print_tenants(seeded: list[SeededTenant]) -> None:
    for tenant in seeded:
        demo = tenant.demo
        console.print(
            f"\n[bold]{demo.name}[/bold]  tenant {tenant.tenant_id}, "
            f"register {demo.register!r} = {tenant.register_id}"
        )
        console.print(f"  device token (cashier): {tenant.device_token}", soft_wrap=True)
        console.print(f"  manager token:          {tenant.manager_token}", soft_wrap=True)
        console.print(f"  admin token:            {tenant.admin_token}", soft_wrap=True)
    console.print(
        "\nThe device token sells, refunds and opens and closes its register's sessions; the "
        "manager token reads orders and reports; the admin token sets up shops, registers, "
        'payment methods and tokens (README, "Who may do what").'
    )


def main(
    registers_url: str = typer.Option(DemoUrls.registers, envvar="DEMO_REGISTERS_URL"),
    connector_url: str = typer.Option(DemoUrls.connector, envvar="DEMO_CONNECTOR_URL"),
    odoo_url: str = typer.Option(
        DemoUrls.odoo, envvar="DEMO_ODOO_URL", help="the emulator as the connector reaches it"
    ),
) -> None:
    """Seeds the demo tenants (REGISTERS_* settings for the platform token) and prints tokens."""
    seeded = seed_demo(
        platform_admin_token(subject="demo-seed"),
        DemoUrls(registers_url, connector_url, odoo_url),
    )
    print_tenants(seeded)


if __name__ == "__main__":
    typer.run(main)
