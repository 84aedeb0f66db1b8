"""The registers and orders services' HTTP APIs as the backfill calls them, with the tenant's
admin token."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

from odoo_connector.backfill.plan import Skipped

# The orders service learns a new register from an event: its import says "retry shortly".
REGISTER_WAIT_DELAYS_S = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


class BackfillError(Exception):
    """The run cannot go on; the message says what to fix."""


@dataclass(frozen=True)
class ShopSeen:
    id: str
    name: str
    currency: str


@dataclass(frozen=True)
class RegisterSeen:
    id: str
    shop_id: str
    receipt_prefix: str
    sync_state: str
    odoo_pos_config_id: int | None


@dataclass(frozen=True)
class PaymentMethodSeen:
    code: str
    kind: str
    active: bool
    odoo_payment_method_id: int | None


@dataclass(frozen=True)
class Imported:
    new: int
    already_present: int


@dataclass(frozen=True)
class ImportSummary:
    """The orders service's answer to one import batch."""

    sessions: Imported
    orders: Imported
    refunds: Imported
    skipped: tuple[Skipped, ...]


def _shop(item: dict[str, Any]) -> ShopSeen:
    return ShopSeen(item["id"], item["name"], item["currency"])


def _register(item: dict[str, Any]) -> RegisterSeen:
    return RegisterSeen(
        item["id"],
        item["shop_id"],
        item["receipt_prefix"],
        item["sync_state"],
        item.get("odoo_pos_config_id"),
    )


def _method(item: dict[str, Any]) -> PaymentMethodSeen:
    return PaymentMethodSeen(
        item["code"], item["kind"], item["active"], item.get("odoo_payment_method_id")
    )


def _summary(body: dict[str, Any]) -> ImportSummary:
    def imported(name: str) -> Imported:
        return Imported(body[name]["new"], body[name]["already_present"])

    skipped = [
        Skipped(kind, item["odoo_order_id"], item["reason"], item["detail"])
        for kind, key in (("order", "skipped_orders"), ("refund", "skipped_refunds"))
        for item in body[key]
    ]
    return ImportSummary(
        imported("sessions"), imported("orders"), imported("refunds"), tuple(skipped)
    )


class ServicesApi:
    """The registers and orders services as the tenant's admin sees them."""

    def __init__(self, registers: httpx.AsyncClient, orders: httpx.AsyncClient, token: str):
        self._registers = registers
        self._orders = orders
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = await client.request(method, path, headers=self._headers, **kwargs)
        except httpx.TransportError as error:
            raise BackfillError(f"{client.base_url} is unreachable ({error!r})") from None
        if response.status_code == 401:
            raise BackfillError(
                f"{client.base_url} refused the admin token (expired, revoked or not one of "
                "this platform's)"
            )
        if response.status_code == 403:
            raise BackfillError(f"{client.base_url} refused the token: {_detail(response)}")
        return response

    async def _ok(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(client, method, path, **kwargs)
        if response.status_code >= 300:
            raise BackfillError(
                f"{method} {path} answered {response.status_code}: {_detail(response)}"
            )
        return response.json()

    async def _all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 250}
            if cursor:
                params["cursor"] = cursor
            page = await self._ok(self._registers, "GET", path, params=params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    async def tenant_tier(self, tenant_id: UUID) -> str:
        response = await self._call(self._registers, "GET", f"/v1/tenants/{tenant_id}")
        if response.status_code == 404:
            raise BackfillError(f"the admin token is not a token of tenant {tenant_id}")
        if response.status_code != 200:
            raise BackfillError(f"reading tenant {tenant_id}: {_detail(response)}")
        tier: str = response.json()["tier"]
        return tier

    async def shops(self) -> list[ShopSeen]:
        return [_shop(item) for item in await self._all("/v1/shops")]

    async def registers(self) -> list[RegisterSeen]:
        return [_register(item) for item in await self._all("/v1/registers")]

    async def payment_methods(self) -> list[PaymentMethodSeen]:
        return [_method(item) for item in await self._all("/v1/payment-methods")]

    async def create_register(
        self, shop_id: str, name: str, prefixes: list[str], pos_config_id: int
    ) -> RegisterSeen:
        """A register linked to its pos.config from birth, so no create is ever queued for it."""
        for prefix in prefixes:
            response = await self._call(
                self._registers,
                "POST",
                f"/v1/shops/{shop_id}/registers",
                json={"name": name, "receipt_prefix": prefix, "odoo_pos_config_id": pos_config_id},
            )
            if response.status_code == 409 and "receipt_prefix" in response.text:
                continue
            if response.status_code != 201:
                raise BackfillError(f"creating register {name!r}: {_detail(response)}")
            return _register(response.json())
        raise BackfillError(f"the receipt prefixes {', '.join(prefixes)} are all taken")

    async def link_register(self, register_id: str, pos_config_id: int) -> RegisterSeen:
        linked = await self._ok(
            self._registers,
            "PATCH",
            f"/v1/registers/{register_id}",
            json={"odoo_pos_config_id": pos_config_id},
        )
        return _register(linked)

    async def import_batch(
        self, body: dict[str, Any], sleep: Callable[[float], Any] = asyncio.sleep
    ) -> ImportSummary:
        """Sends one batch, waiting while the orders service does not know a new register."""
        for delay in (*REGISTER_WAIT_DELAYS_S, None):
            response = await self._call(self._orders, "POST", "/v1/imports/orders", json=body)
            if response.status_code == 200:
                return _summary(response.json())
            if response.status_code == 422 and "retry shortly" in response.text and delay:
                await sleep(delay)
                continue
            raise BackfillError(
                f"the orders service refused a batch ({response.status_code}): {_detail(response)}"
            )
        raise AssertionError("unreachable")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail") if isinstance(body, dict) else body)[:500]
