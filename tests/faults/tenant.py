"""A Pro tenant set up the way its admin does it, through the public APIs only: a shop, cash and
card mapped to Odoo's methods, three registers (one linked to the Odoo database's demo pos.config,
two the connector clones from it), a device token per register and a till session open on each
with a float. Each fault gets a tenant and an Odoo database of its own, so that what one fault
leaves behind cannot pass or fail the next one's checks."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.faults.stack import Stack

OPENING_FLOAT = 10_000
REGISTER_NAMES = ("Bar", "Terrace", "Takeaway")


class SetupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Till:
    register_id: str
    name: str
    odoo_pos_config_id: int
    device_token: str


@dataclass(frozen=True)
class ProTenant:
    tenant_id: str
    admin_token: str
    manager_token: str
    odoo_database: str
    odoo_seed: dict[str, Any]
    tills: tuple[Till, ...]

    @property
    def product_ids(self) -> list[int]:
        return [int(i) for i in self.odoo_seed["pos_product_ids"]]

    def odoo_api_key(self, login: str) -> str:
        return str(next(u for u in self.odoo_seed["users"] if u["login"] == login)["api_key"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    expected: tuple[int, ...] = (200, 201),
    **kwargs: Any,
) -> Any:
    response = await client.request(method, url, headers=bearer(token), **kwargs)
    if response.status_code not in expected:
        raise SetupError(f"{method} {url} answered {response.status_code}: {response.text[:500]}")
    return response.json() if response.content else None


async def until(what: str, within_s: float, probe: Any) -> Any:
    """Polls `probe()` until it returns something other than None."""
    deadline = time.monotonic() + within_s
    while True:
        found = await probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise SetupError(f"{what} did not happen within {within_s:.0f}s")
        await asyncio.sleep(0.2)


async def pro_tenant(
    stack: Stack, client: httpx.AsyncClient, platform_token: str, name: str
) -> ProTenant:
    registers = stack.url("registers") + "/v1"
    seed = await stack.emulator.create_database(name)
    tenant = await call(
        client,
        "POST",
        f"{registers}/tenants",
        platform_token,
        json={
            "name": f"Fault suite {name}",
            "tier": "pro",
            "default_currency": "EUR",
            "default_timezone": "Europe/Paris",
        },
    )
    tenant_id = tenant["id"]
    admin = (
        await call(
            client,
            "POST",
            f"{registers}/tokens",
            platform_token,
            json={"role": "admin", "subject": "owner@fault-suite", "tenant_id": tenant_id},
        )
    )["token"]
    bot_key = next(u for u in seed["users"] if u["login"] == "pos-bot")["api_key"]
    await call(
        client,
        "PUT",
        f"{stack.url('connector-1')}/v1/tenants/{tenant_id}/odoo",
        admin,
        json={"url": stack.odoo_url, "database": name, "login": "pos-bot", "secret": bot_key},
    )
    shop = await call(client, "POST", f"{registers}/shops", admin, json={"name": "Harbour"})
    for code, kind, odoo_method in (
        ("cash", "cash", seed["cash_payment_method_id"]),
        ("card", "card", seed["card_payment_method_id"]),
    ):
        await call(
            client,
            "POST",
            f"{registers}/payment-methods",
            admin,
            json={
                "code": code,
                "name": code.title(),
                "kind": kind,
                "odoo_payment_method_id": odoo_method,
            },
        )
    created = []
    for index, register_name in enumerate(REGISTER_NAMES):
        body: dict[str, Any] = {"name": register_name, "receipt_prefix": f"R{index + 1}"}
        if index == 0:
            body["odoo_pos_config_id"] = seed["pos_config_id"]
        created.append(
            await call(
                client, "POST", f"{registers}/shops/{shop['id']}/registers", admin, json=body
            )
        )

    async def in_odoo(register_id: str) -> int:
        async def synced() -> int | None:
            register = await call(client, "GET", f"{registers}/registers/{register_id}", admin)
            if register["sync_state"] == "synced" and register["odoo_pos_config_id"]:
                return int(register["odoo_pos_config_id"])
            return None

        found: int = await until(f"register {register_id} in Odoo", 60, synced)
        return found

    config_ids = await asyncio.gather(*(in_odoo(r["id"]) for r in created))
    tills = []
    for register, config_id in zip(created, config_ids, strict=True):
        token = (
            await call(
                client,
                "POST",
                f"{registers}/tokens",
                admin,
                json={
                    "role": "cashier",
                    "subject": f"tablet:{register['receipt_prefix']}",
                    "register_id": register["id"],
                },
            )
        )["token"]
        tills.append(Till(register["id"], register["name"], config_id, token))
    manager = (
        await call(
            client,
            "POST",
            f"{registers}/tokens",
            admin,
            json={"role": "manager", "subject": "manager@fault-suite"},
        )
    )["token"]
    return ProTenant(tenant_id, admin, manager, name, seed, tuple(tills))


async def spare_device_token(
    stack: Stack, client: httpx.AsyncClient, tenant: ProTenant
) -> tuple[str, str]:
    """A second tablet's token for the first register, to be revoked: (token id, token)."""
    issued = await call(
        client,
        "POST",
        f"{stack.url('registers')}/v1/tokens",
        tenant.admin_token,
        json={
            "role": "cashier",
            "subject": f"spare-tablet:{uuid.uuid4().hex[:8]}",
            "register_id": tenant.tills[0].register_id,
        },
    )
    return str(issued["id"]), str(issued["token"])
