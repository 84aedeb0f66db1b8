"""Test support for the registers service: talk to it as a platform admin, a tenant's admin, and
the connector do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from registers.bootstrap import create_app, topology
from registers.handlers import Actor, RegisterHandlers
from registers.http_models import TokenCreate
from registers.settings import RegistersSettings
from shared.auth import PLATFORM_TENANT_ID, Role
from shared.broker import delete_topology
from shared.events.contracts import RegisterOdooSynced, RegisterOdooSyncFailed
from shared.events.envelope import EventData, EventEnvelope
from test_support.event_publishing import publish_as_another_service
from test_support.polling import eventually

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = json.loads(response.text)
    return body


@dataclass
class Tenant:
    id: uuid.UUID
    admin: Headers
    tier: str


@dataclass
class RegistersWorld:
    """The service under test and what a test needs to drive it like its users do."""

    settings: RegistersSettings
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    handlers: RegisterHandlers
    platform: Headers

    @property
    def schema(self) -> str:
        return self.settings.schema_name

    async def ok(
        self, method: str, path: str, headers: Headers, expect: int = 200, **kwargs: Any
    ) -> dict[str, Any]:
        response = await self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == expect, response.text
        body: dict[str, Any] = response.json()
        return body

    async def issue(self, headers: Headers, **body: Any) -> dict[str, Any]:
        return await self.ok("POST", "/v1/tokens", headers, 201, json=body)

    async def token_for(self, headers: Headers, **body: Any) -> Headers:
        return bearer((await self.issue(headers, **body))["token"])

    async def tenant(
        self, tier: str = "starter", name: str = "Corner Cafe", **overrides: Any
    ) -> Tenant:
        """A tenant made by the platform admin, and an admin token of it."""
        body = {
            "name": name,
            "tier": tier,
            "default_currency": "EUR",
            "default_timezone": "Europe/Paris",
            **overrides,
        }
        created = await self.ok("POST", "/v1/tenants", self.platform, 201, json=body)
        tenant_id = uuid.UUID(created["id"])
        admin = await self.token_for(
            self.platform, role="admin", subject="owner@test", tenant_id=str(tenant_id)
        )
        return Tenant(tenant_id, admin, tier)

    async def shop(self, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
        body = {"name": "Main Street", "business_day_cutoff": "04:00", **overrides}
        return await self.ok("POST", "/v1/shops", tenant.admin, 201, json=body)

    async def register(
        self, tenant: Tenant, shop: dict[str, Any] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        shop = shop or await self.shop(tenant)
        body = {"name": "Till 1", "receipt_prefix": f"R{uuid.uuid4().hex[:6]}", **overrides}
        return await self.ok(
            "POST", f"/v1/shops/{shop['id']}/registers", tenant.admin, 201, json=body
        )

    async def get_register(self, tenant: Tenant, register: dict[str, Any]) -> dict[str, Any]:
        return await self.ok("GET", f"/v1/registers/{register['id']}", tenant.admin)

    async def patch_register(
        self, tenant: Tenant, register: dict[str, Any], **changes: Any
    ) -> dict[str, Any]:
        return await self.ok("PATCH", f"/v1/registers/{register['id']}", tenant.admin, json=changes)

    async def as_connector(
        self, tenant: Tenant, register: dict[str, Any], data: EventData
    ) -> EventEnvelope:
        """Publishes the connector's result and waits until the registers service handled it."""
        envelope = await publish_as_another_service(
            self.settings.amqp_url,
            self.settings.exchange_name,
            data,
            tenant_id=tenant.id,
            aggregate_id=uuid.UUID(register["id"]),
        )

        async def handled() -> bool:
            return bool(
                await self.pool.fetchval(
                    f"SELECT true FROM {self.schema}.inbox WHERE event_id = $1", envelope.id
                )
            )

        await eventually(handled, what=f"{data.event_type} handled")
        return envelope

    async def odoo_synced(
        self,
        tenant: Tenant,
        register: dict[str, Any],
        *,
        odoo_id: int,
        name: str,
        active: bool = True,
        operation: str = "create",
        version: int = 1,
    ) -> dict[str, Any]:
        await self.as_connector(
            tenant,
            register,
            RegisterOdooSynced(
                register_id=uuid.UUID(register["id"]),
                operation=operation,
                odoo_pos_config_id=odoo_id,
                pushed_name=name,
                pushed_active=active,
                register_version=version,
            ),
        )
        return await self.get_register(tenant, register)

    async def odoo_sync_failed(
        self,
        tenant: Tenant,
        register: dict[str, Any],
        *,
        version: int,
        operation: str = "create",
        message: str = "Odoo said no",
    ) -> dict[str, Any]:
        await self.as_connector(
            tenant,
            register,
            RegisterOdooSyncFailed(
                register_id=uuid.UUID(register["id"]),
                operation=operation,
                error_class="ValidationError",
                message=message,
                attempts=6,
                register_version=version,
            ),
        )
        return await self.get_register(tenant, register)

    async def events_of(self, aggregate_id: str | uuid.UUID) -> list[dict[str, Any]]:
        """The events the service wrote for one aggregate, in order (from its outbox)."""
        rows = await self.pool.fetch(
            f"SELECT envelope FROM {self.schema}.outbox WHERE aggregate_id = $1 ORDER BY seq",
            uuid.UUID(str(aggregate_id)),
        )
        return [dict(row["envelope"]) for row in rows]


@contextlib.asynccontextmanager
async def running_registers(settings: RegistersSettings) -> AsyncIterator[RegistersWorld]:
    """The registers service in-process, its consumer attached, and a platform admin token."""
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
            await asyncio.wait_for(app.state.consumers_attached.wait(), 30)
            handlers: RegisterHandlers = app.state.handlers
            issued = await handlers.issue_token(
                Actor(PLATFORM_TENANT_ID, "test-console", Role.PLATFORM_ADMIN),
                TokenCreate(role="platform_admin", subject="platform@test"),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://registers"
            ) as client:
                yield RegistersWorld(
                    settings, client, app.state.pool, handlers, bearer(issued.token)
                )
    finally:
        await delete_topology(settings.amqp_url, topology(settings))
