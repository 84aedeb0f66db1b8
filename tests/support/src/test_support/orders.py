"""Test support for the orders service: talk to it as a tablet and as other services do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from orders.bootstrap import create_app, topology
from orders.settings import OrdersSettings
from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.broker import delete_topology
from shared.events.contracts import OrderOdooSynced, RegisterCreated, RegisterUpdated
from shared.events.envelope import EventData, EventEnvelope
from test_support.event_publishing import publish_as_another_service
from test_support.polling import eventually
from test_support.tcp_proxy import TcpProxy


@dataclass
class Register:
    register_id: uuid.UUID
    tenant_id: uuid.UUID
    shop_id: uuid.UUID
    name: str
    receipt_prefix: str
    currency: str = "EUR"
    timezone: str = "Europe/Paris"
    business_day_cutoff: str = "04:00"
    active: bool = True
    tenant_tier: str = "starter"
    version: int = 1


@dataclass
class OrdersWorld:
    """The service under test, and what a test needs to talk to it like a tablet would."""

    settings: OrdersSettings
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    issuer: TokenIssuer = field(default_factory=lambda: TokenIssuer(DEV_PRIVATE_KEY))

    @property
    def schema(self) -> str:
        return self.settings.schema_name

    def token(
        self,
        tenant_id: uuid.UUID,
        role: Role = Role.CASHIER,
        register_id: uuid.UUID | None = None,
        ttl: timedelta = timedelta(hours=1),
    ) -> dict[str, str]:
        token = self.issuer.issue(
            subject=f"{role.value}@test",
            tenant_id=tenant_id,
            role=role,
            register_id=register_id,
            ttl=ttl,
        )
        return {"Authorization": f"Bearer {token}"}

    def device(self, register: Register) -> dict[str, str]:
        return self.token(register.tenant_id, Role.CASHIER, register.register_id)

    def manager(self, tenant_id: uuid.UUID) -> dict[str, str]:
        return self.token(tenant_id, Role.MANAGER)

    def admin(self, tenant_id: uuid.UUID) -> dict[str, str]:
        return self.token(tenant_id, Role.ADMIN)

    async def publish(
        self,
        data: EventData,
        tenant_id: uuid.UUID,
        aggregate_id: uuid.UUID,
        version: int = 1,
        event_id: uuid.UUID | None = None,
    ) -> EventEnvelope:
        """Publishes an event as another service would."""
        return await publish_as_another_service(
            self.settings.amqp_url,
            self.settings.exchange_name,
            data,
            tenant_id=tenant_id,
            aggregate_id=aggregate_id,
            version=version,
            event_id=event_id,
        )

    async def create_register(
        self, tenant_id: uuid.UUID | None = None, **overrides: Any
    ) -> Register:
        """A register, as the registers service announces it; returns once the replica has it."""
        tenant = tenant_id or uuid.uuid4()
        prefix = overrides.pop("receipt_prefix", f"R{uuid.uuid4().hex[:4].upper()}")
        register = Register(
            register_id=uuid.uuid4(),
            tenant_id=tenant,
            shop_id=uuid.uuid4(),
            name=overrides.pop("name", "Till 1"),
            receipt_prefix=prefix,
            **overrides,
        )
        await self.announce(register, created=True)
        return register

    async def announce(self, register: Register, created: bool = False) -> None:
        contract = RegisterCreated if created else RegisterUpdated
        data = contract(
            register_id=register.register_id,
            shop_id=register.shop_id,
            name=register.name,
            receipt_prefix=register.receipt_prefix,
            active=register.active,
            currency=register.currency,
            timezone=register.timezone,
            business_day_cutoff=register.business_day_cutoff,
            tenant_tier=register.tenant_tier,
        )
        await self.publish(data, register.tenant_id, register.register_id, register.version)

        async def replica_has_it() -> bool:
            return bool(
                await self.pool.fetchval(
                    f"SELECT true FROM {self.schema}.registers "
                    "WHERE register_id = $1 AND version = $2",
                    register.register_id,
                    register.version,
                )
            )

        await eventually(replica_has_it, what="register replica update")

    async def publish_register(self, register: Register) -> EventEnvelope:
        """Publishes a register state without waiting for it to apply (it may be stale)."""
        data = RegisterUpdated(
            register_id=register.register_id,
            shop_id=register.shop_id,
            name=register.name,
            receipt_prefix=register.receipt_prefix,
            active=register.active,
            currency=register.currency,
            timezone=register.timezone,
            business_day_cutoff=register.business_day_cutoff,
            tenant_tier=register.tenant_tier,
        )
        return await self.publish(data, register.tenant_id, register.register_id, register.version)

    async def place_fails_while_inactive(self, register: Register) -> None:
        """Waits until the replica has seen every event sent, then expects a refusal."""
        envelope = await self.publish_register(register)

        async def handled() -> bool:
            return bool(
                await self.pool.fetchval(
                    f"SELECT true FROM {self.schema}.inbox WHERE event_id = $1", envelope.id
                )
            )

        await eventually(handled, what="stale register event handled")
        response = await self.client.post(
            "/v1/orders", json=self.order_body(register), headers=self.device(register)
        )
        assert response.status_code == 409, response.text

    async def stamp_synced(
        self, register: Register, order_id: str, odoo_order_id: int
    ) -> EventEnvelope:
        """The connector's success event; returns once the order shows it."""
        envelope = await self.publish(
            OrderOdooSynced(
                order_id=uuid.UUID(order_id), odoo_order_id=odoo_order_id, odoo_session_id=7
            ),
            register.tenant_id,
            uuid.UUID(order_id),
        )

        async def stamped() -> bool:
            return bool(
                await self.pool.fetchval(
                    f"SELECT true FROM {self.schema}.orders "
                    "WHERE order_id = $1 AND odoo_order_id = $2",
                    uuid.UUID(order_id),
                    odoo_order_id,
                )
            )

        await eventually(stamped, what="odoo stamp")
        return envelope

    def order_body(self, register: Register, **overrides: Any) -> dict[str, Any]:
        """A valid paid order: two flat whites and a croissant, prices including 10% tax."""
        currency = register.currency
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "register_id": str(register.register_id),
            "created_at": datetime.now(UTC).isoformat(),
            "lines": [
                {
                    "product_ref": "FW",
                    "product_name": "Flat white",
                    "quantity": "2",
                    "unit_price": {"amount": 350, "currency": currency},
                    "tax_rate_percent": "10",
                    "prices_include_tax": True,
                    "total": {"amount": 700, "currency": currency},
                },
                {
                    "product_ref": "CR",
                    "product_name": "Croissant",
                    "quantity": "1",
                    "unit_price": {"amount": 220, "currency": currency},
                    "tax_rate_percent": "10",
                    "prices_include_tax": True,
                    "total": {"amount": 220, "currency": currency},
                },
            ],
            "payments": [
                {"method": "card", "kind": "card", "amount": {"amount": 920, "currency": currency}}
            ],
            "total": {"amount": 920, "currency": currency},
        }
        body.update(overrides)
        return body

    async def place(self, register: Register, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/orders",
            json=self.order_body(register, **overrides),
            headers=self.device(register),
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def count(self, table: str, tenant_id: uuid.UUID) -> int:
        value: int = await self.pool.fetchval(
            f"SELECT count(*) FROM {self.schema}.{table} WHERE tenant_id = $1", tenant_id
        )
        return value


def proxied_url(amqp_url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(amqp_url)
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
    return parts._replace(netloc=netloc).geturl()


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = json.loads(response.text)
    return body


@contextlib.asynccontextmanager
async def running_orders(settings: OrdersSettings) -> AsyncIterator[OrdersWorld]:
    """The orders service in-process, with its consumers attached, and a client for it."""
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
            await asyncio.wait_for(app.state.consumers_attached.wait(), 30)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
                yield OrdersWorld(settings, client, app.state.pool)
    finally:
        await delete_topology(settings.amqp_url, topology(settings))
