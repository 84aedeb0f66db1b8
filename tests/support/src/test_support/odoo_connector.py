"""Test support for the connector: run it in-process, and speak to it as the other services do."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import httpx
from aio_pika.abc import AbstractIncomingMessage
from asgi_lifespan import LifespanManager

from odoo_connector.bootstrap import create_app, delete_broker_state, odoo_partitions
from odoo_connector.odoo_client import OdooClient, OdooEndpoint
from odoo_connector.settings import ConnectorSettings
from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.broker import QueueSpec
from shared.events.contracts import (
    OrderLineState,
    OrderPlaced,
    OrderRefunded,
    PaymentMethodCreated,
    PaymentState,
    RefundLineState,
    RegisterCreated,
    RegisterUpdated,
    SessionClosed,
    SessionOpened,
    TenantCreated,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.partition_key import partition_headers
from test_support.polling import eventually


def orders_queue(settings: ConnectorSettings) -> QueueSpec:
    """The orders' queue of a connector with one partition (the tests' default, so that a test
    knows where an order's dead letter goes)."""
    [partition] = odoo_partitions(settings).partitions
    return partition


@dataclass
class ProTenant:
    """A Pro tenant whose Odoo is an emulator database, with one register adopted in Odoo."""

    tenant_id: uuid.UUID
    database: str
    register_id: uuid.UUID
    shop_id: uuid.UUID
    pos_config_id: int
    seed: dict[str, Any]
    session_id: uuid.UUID = field(default_factory=uuid.uuid4)
    receipts: int = 0


@dataclass
class ConnectorWorld:
    settings: ConnectorSettings
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    issuer: TokenIssuer = field(default_factory=lambda: TokenIssuer(DEV_PRIVATE_KEY))

    @property
    def schema(self) -> str:
        return self.settings.schema_name

    def token(self, tenant_id: uuid.UUID, role: Role = Role.ADMIN) -> dict[str, str]:
        token = self.issuer.issue(
            subject=f"{role.value}@test", tenant_id=tenant_id, role=role, ttl=timedelta(hours=1)
        )
        return {"Authorization": f"Bearer {token}"}

    async def publish(
        self, data: EventData, tenant_id: uuid.UUID, aggregate_id: uuid.UUID, version: int = 1
    ) -> EventEnvelope:
        """Publishes an event as another service's outbox relay would (with the tenant header)."""
        envelope = EventEnvelope.wrap(
            data,
            tenant_id=tenant_id,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            producer="test",
        )
        connection = await aio_pika.connect(self.settings.amqp_url)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                self.settings.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await exchange.publish(
                aio_pika.Message(
                    envelope.model_dump_json().encode(),
                    message_id=str(envelope.id),
                    type=envelope.type,
                    headers={
                        "x-tenant-id": str(tenant_id),
                        **partition_headers(envelope.model_dump(mode="json")),
                    },
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=envelope.type,
            )
        finally:
            await connection.close()
        return envelope

    async def handled(self, envelope: EventEnvelope, within_s: float = 10) -> None:
        async def in_inbox() -> bool:
            return bool(
                await self.pool.fetchval(
                    f"SELECT true FROM {self.schema}.inbox WHERE event_id = $1", envelope.id
                )
            )

        await eventually(in_inbox, within_s=within_s, what=f"{envelope.type} handled")

    async def dead_letters(self, queue: QueueSpec) -> list[AbstractIncomingMessage]:
        """Takes every message from the queue's dead-letter queue."""
        connection = await aio_pika.connect(self.settings.amqp_url)
        found = []
        try:
            channel = await connection.channel()
            dlq = await channel.get_queue(queue.dead_letter_queue)
            while (message := await dlq.get(no_ack=True, fail=False)) is not None:
                found.append(message)
        finally:
            await connection.close()
        return found

    async def one_dead_letter(self, queue: QueueSpec) -> AbstractIncomingMessage:
        async def dead_lettered() -> list[AbstractIncomingMessage] | None:
            return await self.dead_letters(queue) or None

        messages = await eventually(dead_lettered, what=f"a dead letter of {queue.name}")
        assert len(messages) == 1, f"{len(messages)} dead letters"
        return messages[0]

    async def waiting_rounds(self, reason: str, spec: QueueSpec | None = None) -> float:
        """How often this connector's messages (of the orders' queue, by default) went round
        the wait queue for `reason`."""
        response = await self.client.get("/metrics")
        specs = [spec] if spec else odoo_partitions(self.settings).partitions
        queues = {f'queue="{s.name}"' for s in specs}
        total = 0.0
        for line in response.text.splitlines():
            if (
                line.startswith("events_waiting_total{")
                and f'reason="{reason}"' in line
                and any(queue in line for queue in queues)
            ):
                total += float(line.rsplit(" ", 1)[1])
        return total

    async def starter_tenant(self) -> uuid.UUID:
        tenant_id = uuid.uuid4()
        await self.handled(await self.publish(_tenant(tenant_id, "starter"), tenant_id, tenant_id))
        return tenant_id

    async def pro_tenant(self, odoo_url: str, seed: dict[str, Any]) -> ProTenant:
        """Tier, Odoo settings, payment methods and an adopted register, as in production."""
        tenant_id = uuid.uuid4()
        database = seed["database"]
        await self.handled(await self.publish(_tenant(tenant_id, "pro"), tenant_id, tenant_id))
        bot = next(u for u in seed["users"] if u["login"] == "pos-bot")
        response = await self.client.put(
            f"/v1/tenants/{tenant_id}/odoo",
            json={
                "url": odoo_url,
                "database": database,
                "login": "pos-bot",
                "secret": bot["api_key"],
            },
            headers=self.token(tenant_id),
        )
        assert response.status_code == 200, response.text
        for code, kind, key in (
            ("cash", "cash", "cash_payment_method_id"),
            ("card", "card", "card_payment_method_id"),
        ):
            method = PaymentMethodCreated(
                payment_method_id=uuid.uuid4(),
                code=code,
                name=code.title(),
                kind=kind,
                odoo_payment_method_id=seed[key],
            )
            await self.handled(await self.publish(method, tenant_id, method.payment_method_id))
        tenant = ProTenant(
            tenant_id=tenant_id,
            database=database,
            register_id=uuid.uuid4(),
            shop_id=uuid.uuid4(),
            pos_config_id=seed["pos_config_id"],
            seed=seed,
        )
        await self.adopt_register(tenant)
        await self.open_session(tenant)
        return tenant

    async def open_session(
        self,
        tenant: ProTenant,
        opening_cash: int = 0,
        *,
        session_id: uuid.UUID | None = None,
        register_id: uuid.UUID | None = None,
    ) -> None:
        """The orders service's session.opened for a till session (the tenant's own one by
        default)."""
        session_id = session_id or tenant.session_id
        opened = SessionOpened(
            session_id=session_id,
            register_id=register_id or tenant.register_id,
            shop_id=tenant.shop_id,
            business_date=date(2026, 11, 21),
            opened_at=datetime.now(UTC),
            currency="EUR",
            opening_cash=opening_cash,
            opened_by="cashier",
        )
        await self.handled(await self.publish(opened, tenant.tenant_id, session_id))

    async def adopt_register(self, tenant: ProTenant, version: int = 2) -> None:
        """The registers service's register.updated after adopting an existing pos.config."""
        envelope = await self.publish_register(
            tenant,
            tenant.register_id,
            version,
            name="Till 1",
            sync_state="synced",
            odoo_pos_config_id=tenant.pos_config_id,
        )
        await self.handled(envelope)

    async def publish_register(
        self,
        tenant: ProTenant,
        register_id: uuid.UUID,
        version: int,
        *,
        created: bool = False,
        **state: Any,
    ) -> EventEnvelope:
        """A register event of the tenant's shop as the registers service publishes it (by
        default a new Pro register waiting for its pos.config)."""
        values: dict[str, Any] = {
            "register_id": register_id,
            "shop_id": tenant.shop_id,
            "name": "Till 2",
            "receipt_prefix": "T2",
            "active": True,
            "currency": "EUR",
            "timezone": "Europe/Brussels",
            "business_day_cutoff": "04:00",
            "tenant_tier": "pro",
            "sync_state": "pending_create",
            **state,
        }
        data = RegisterCreated(**values) if created else RegisterUpdated(**values)
        return await self.publish(data, tenant.tenant_id, register_id, version)

    def order(self, tenant: ProTenant, **overrides: Any) -> OrderPlaced:
        return new_order(tenant, **overrides)

    def refund(self, tenant: ProTenant, order: OrderPlaced) -> OrderRefunded:
        """Gives back the croissant of `order`."""
        line = order.lines[1]
        return OrderRefunded(
            refund_id=uuid.uuid4(),
            order_id=order.order_id,
            register_id=order.register_id,
            shop_id=order.shop_id,
            session_id=order.session_id,
            business_date=order.business_date,
            created_at=datetime.now(UTC),
            currency="EUR",
            reason="stale",
            lines=[
                RefundLineState(
                    refund_line_id=uuid.uuid4(),
                    order_line_id=line.line_id,
                    product_ref=line.product_ref,
                    quantity="1",
                    net=line.net,
                    tax=line.tax,
                    total=line.total,
                )
            ],
            payments=[
                PaymentState(payment_id=uuid.uuid4(), method="card", kind="card", amount=line.total)
            ],
            net_total=line.net,
            tax_total=line.tax,
            total=line.total,
        )

    def session_closed(
        self,
        tenant: ProTenant,
        order_count: int,
        refund_count: int = 0,
        *,
        opening_cash: int = 0,
        expected_cash: int = 0,
        counted_cash: int | None = None,
    ) -> SessionClosed:
        now = datetime.now(UTC)
        return SessionClosed(
            session_id=tenant.session_id,
            register_id=tenant.register_id,
            shop_id=tenant.shop_id,
            business_date=date(2026, 11, 21),
            opened_at=now - timedelta(hours=8),
            closed_at=now,
            currency="EUR",
            opening_cash=opening_cash,
            expected_cash=expected_cash,
            counted_cash=expected_cash if counted_cash is None else counted_cash,
            cash_difference=0 if counted_cash is None else counted_cash - expected_cash,
            order_count=order_count,
            refund_count=refund_count,
            sales_total=0,
            refunds_total=0,
            net_total=0,
            tenders=[],
            opened_by="cashier",
            closed_by="cashier",
        )

    async def place(self, tenant: ProTenant, order: OrderPlaced) -> EventEnvelope:
        return await self.publish(order, tenant.tenant_id, order.order_id)

    async def synced_odoo_id(self, order_id: uuid.UUID, within_s: float = 10) -> int:
        async def synced() -> int | None:
            value: int | None = await self.pool.fetchval(
                f"SELECT odoo_order_id FROM {self.schema}.synced_orders WHERE order_id = $1",
                order_id,
            )
            return value

        return await eventually(synced, within_s=within_s, what=f"order {order_id} in Odoo")


def new_order(tenant: ProTenant, **overrides: Any) -> OrderPlaced:
    """Two espressos and a croissant (6.80 EUR incl. 10% tax), paid by card."""
    tenant.receipts += 1
    values: dict[str, Any] = {
        "order_id": uuid.uuid4(),
        "register_id": tenant.register_id,
        "shop_id": tenant.shop_id,
        "session_id": tenant.session_id,
        "receipt_number": f"T1-{tenant.receipts:06d}",
        "receipt_sequence": tenant.receipts,
        "business_date": date(2026, 11, 21),
        "created_at": datetime.now(UTC),
        "currency": "EUR",
        "lines": [
            _line("POS-ESP", "Espresso", "2", 250, 455, 500),
            _line("POS-CRO", "Croissant", "1", 180, 164, 180),
        ],
        "payments": [PaymentState(payment_id=uuid.uuid4(), method="card", kind="card", amount=680)],
        "net_total": 619,
        "tax_total": 61,
        "total": 680,
    }
    values.update(overrides)
    return OrderPlaced(**values)


def _tenant(tenant_id: uuid.UUID, tier: str) -> TenantCreated:
    return TenantCreated(
        tenant_id=tenant_id,
        name=f"{tier} cafe",
        tier=tier,
        default_currency="EUR",
        default_timezone="Europe/Brussels",
    )


def _line(ref: str, name: str, quantity: str, unit: int, net: int, total: int) -> OrderLineState:
    return OrderLineState(
        line_id=uuid.uuid4(),
        product_ref=ref,
        product_name=name,
        quantity=quantity,
        unit_price=unit,
        discount_percent="0",
        tax_rate_percent="10",
        prices_include_tax=True,
        gross=total,
        discount=0,
        net=net,
        tax=total - net,
        total=total,
    )


async def add_odoo_product(odoo_url: str, seed: dict[str, Any], default_code: str) -> int:
    """What a tenant's accountant does to map a product: one with that internal reference,
    made in Odoo through its JSON-RPC API."""
    admin = next(u for u in seed["users"] if u["login"] == "admin")
    client = OdooClient(timeout_s=10)
    try:
        endpoint = OdooEndpoint(odoo_url, seed["database"], "admin", admin["api_key"])
        uid = await client.authenticate(endpoint)
        assert uid is not None
        product_id: int = await client.execute_kw(
            endpoint,
            uid,
            "product.product",
            "create",
            [{"name": default_code.title(), "default_code": default_code, "list_price": 2.2}],
            {},
        )
    finally:
        await client.aclose()
    return product_id


async def delete_connector_topology(settings: ConnectorSettings) -> None:
    await delete_broker_state(settings)


@contextlib.asynccontextmanager
async def connector_app(settings: ConnectorSettings) -> AsyncIterator[ConnectorWorld]:
    """One connector replica in-process; its topology is left for the caller to delete."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        await asyncio.wait_for(app.state.consumers_attached.wait(), 30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://connector") as client:
            yield ConnectorWorld(settings, client, app.state.pool)


@contextlib.asynccontextmanager
async def running_connector(settings: ConnectorSettings) -> AsyncIterator[ConnectorWorld]:
    """The connector in-process, with its consumers attached; its topology goes at exit."""
    try:
        async with connector_app(settings) as world:
            yield world
    finally:
        await delete_connector_topology(settings)
