"""Test support for the reporting service: events as the other services send them, a fake chat."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import asyncpg
import httpx
import uvicorn
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reporting.bootstrap import PROJECTION_QUEUE, create_app
from reporting.domain import business_date, parse_cutoff
from reporting.repository import READ_MODEL_TABLES
from reporting.settings import ReportingSettings
from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.consumer import EVENTS_DUPLICATE
from shared.events.contracts import (
    OrderLineState,
    OrderOdooSynced,
    OrderOdooSyncFailed,
    OrderPlaced,
    OrderRefunded,
    PaymentMethodCreated,
    PaymentState,
    RefundLineState,
    RegisterCreated,
    SessionClosed,
    SessionOpened,
    ShopCreated,
    TenantCreated,
    TenderTotal,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.money import round_minor
from test_support.polling import eventually


@dataclass
class Shop:
    """A tenant's shop with its registers, as the registers service would announce them."""

    tenant_id: uuid.UUID
    shop_id: uuid.UUID
    register_ids: list[uuid.UUID]
    name: str = "Corner Cafe"
    tenant_name: str = "Test Coffee Ltd"
    timezone: str = "Europe/Paris"
    cutoff: str = "04:00"
    currency: str = "EUR"
    tier: str = "starter"

    @classmethod
    def new(cls, registers: int = 2, **fields: Any) -> Shop:
        return cls(uuid.uuid4(), uuid.uuid4(), [uuid.uuid4() for _ in range(registers)], **fields)

    def business_date(self, moment: datetime) -> Any:
        return business_date(moment, self.timezone, parse_cutoff(self.cutoff))


@dataclass
class Item:
    product_ref: str
    product_name: str
    quantity: int
    unit_price: int
    discount_percent: int = 0
    tax_rate_percent: str = "10"
    prices_include_tax: bool = True


COFFEE = Item("FW", "Flat white", 2, 350)
CROISSANT = Item("CR", "Croissant", 1, 220)


def _refund_part(
    line: dict[str, Any], before: Decimal, after: Decimal, given_back: tuple[int, int, int]
) -> tuple[int, int, int]:
    """Net, tax and total of a refund of a line from `before` to `after` refunded units, priced
    as the orders service prices it: the figure the price means on cumulative quantities, the
    tax at the line's rate, the tax kept where the rest can carry it, the last part the rest."""
    net, tax, total = line["net"], line["tax"], line["total"]
    left_net, left_tax, left_total = (
        net - given_back[0],
        tax - given_back[1],
        total - given_back[2],
    )
    sold = Decimal(line["quantity"])
    if after == sold:
        return left_net, left_tax, left_total
    rate = Decimal(line["tax_rate_percent"]) / 100
    if line["prices_include_tax"]:
        part_total = max(0, min(left_total, round_minor(total * after / sold) - given_back[2]))
        part_tax = part_total - round_minor(part_total / (1 + rate))
        part_tax = max(left_tax - (left_total - part_total), min(part_total, left_tax, part_tax))
        return part_total - part_tax, part_tax, part_total
    part_net = max(0, min(left_net, round_minor(net * after / sold) - given_back[0]))
    part_tax = max(0, min(left_tax, round_minor(part_net * rate)))
    return part_net, part_tax, part_net + part_tax


def _envelope(
    data: EventData, tenant_id: uuid.UUID, aggregate_id: uuid.UUID, version: int, at: datetime
) -> EventEnvelope:
    return EventEnvelope.wrap(
        data,
        tenant_id=tenant_id,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        producer="test",
        occurred_at=at,
    )


@dataclass
class Events:
    """Builds the events of a shop's trading, with the arithmetic the orders service applies."""

    shop: Shop
    order_versions: dict[uuid.UUID, int] = field(default_factory=dict)
    refunded: dict[uuid.UUID, Decimal] = field(default_factory=dict)
    given_back: dict[uuid.UUID, tuple[int, int, int]] = field(default_factory=dict)
    receipts: dict[uuid.UUID, int] = field(default_factory=dict)

    def reference_data(self, at: datetime) -> list[EventEnvelope]:
        shop = self.shop
        events = [
            _envelope(
                TenantCreated(
                    tenant_id=shop.tenant_id,
                    name=shop.tenant_name,
                    tier="pro" if shop.tier == "pro" else "starter",
                    default_currency=shop.currency,
                    default_timezone=shop.timezone,
                ),
                shop.tenant_id,
                shop.tenant_id,
                1,
                at,
            ),
            _envelope(
                ShopCreated(
                    shop_id=shop.shop_id,
                    name=shop.name,
                    currency=shop.currency,
                    timezone=shop.timezone,
                    business_day_cutoff=shop.cutoff,
                    prices_include_tax=True,
                ),
                shop.tenant_id,
                shop.shop_id,
                1,
                at,
            ),
        ]
        for index, register_id in enumerate(shop.register_ids):
            events.append(
                _envelope(
                    RegisterCreated(
                        register_id=register_id,
                        shop_id=shop.shop_id,
                        name=f"Till {index + 1}",
                        receipt_prefix=f"T{index + 1}",
                        active=True,
                        currency=shop.currency,
                        timezone=shop.timezone,
                        business_day_cutoff=shop.cutoff,
                        tenant_tier="pro" if shop.tier == "pro" else "starter",
                        shop_name=shop.name,
                    ),
                    shop.tenant_id,
                    register_id,
                    1,
                    at,
                )
            )
        return events

    def payment_method(self, code: str, name: str, kind: str, at: datetime) -> EventEnvelope:
        """The registers service announcing a payment method the tills pay by, by its code."""
        method_id = uuid.uuid4()
        return _envelope(
            PaymentMethodCreated(payment_method_id=method_id, code=code, name=name, kind=kind),
            self.shop.tenant_id,
            method_id,
            1,
            at,
        )

    def session_opened(
        self,
        register_id: uuid.UUID,
        at: datetime,
        opening_cash: int = 0,
        session_id: uuid.UUID | None = None,
    ) -> EventEnvelope:
        session_id = session_id or uuid.uuid4()
        return _envelope(
            SessionOpened(
                session_id=session_id,
                register_id=register_id,
                shop_id=self.shop.shop_id,
                business_date=self.shop.business_date(at),
                opened_at=at,
                currency=self.shop.currency,
                opening_cash=opening_cash,
                opened_by="alice@test",
            ),
            self.shop.tenant_id,
            session_id,
            1,
            at,
        )

    def session_closed(
        self,
        opened: EventEnvelope,
        at: datetime,
        *,
        expected_cash: int,
        counted_cash: int,
        order_count: int = 0,
        sales_total: int = 0,
    ) -> EventEnvelope:
        o = opened.data
        return _envelope(
            SessionClosed(
                session_id=o["session_id"],
                register_id=o["register_id"],
                shop_id=o["shop_id"],
                business_date=o["business_date"],
                opened_at=o["opened_at"],
                closed_at=at,
                currency=o["currency"],
                opening_cash=o["opening_cash"],
                expected_cash=expected_cash,
                counted_cash=counted_cash,
                cash_difference=counted_cash - expected_cash,
                order_count=order_count,
                refund_count=0,
                sales_total=sales_total,
                refunds_total=0,
                net_total=sales_total,
                tenders=[TenderTotal(method="cash", kind="cash", sales=0, refunds=0, net=0)],
                opened_by=o["opened_by"],
                closed_by="bob@test",
            ),
            self.shop.tenant_id,
            opened.aggregate_id,
            2,
            at,
        )

    def order(
        self,
        register_id: uuid.UUID,
        session_id: uuid.UUID,
        at: datetime,
        items: Sequence[Item] = (COFFEE, CROISSANT),
        payments: Sequence[tuple[str, str]] = (("card", "card"),),
        receipt_number: str | None = None,
        receipt_sequence: int | None = None,
    ) -> EventEnvelope:
        """A paid order; the total is split over `payments`, the last one taking the rest.

        Receipts are numbered per register in the order they are built, unless given."""
        lines = []
        for item in items:
            gross = item.quantity * item.unit_price
            discount = round_minor(Decimal(gross) * item.discount_percent / 100)
            rate = Decimal(item.tax_rate_percent) / 100
            if item.prices_include_tax:
                total = gross - discount
                net = round_minor(total / (1 + rate))
            else:
                net = gross - discount
                total = net + round_minor(net * rate)
            lines.append(
                OrderLineState(
                    line_id=uuid.uuid4(),
                    product_ref=item.product_ref,
                    product_name=item.product_name,
                    quantity=str(item.quantity),
                    unit_price=item.unit_price,
                    discount_percent=str(item.discount_percent),
                    tax_rate_percent=item.tax_rate_percent,
                    prices_include_tax=item.prices_include_tax,
                    gross=gross,
                    discount=discount,
                    net=net,
                    tax=total - net,
                    total=total,
                )
            )
        total = sum(line.total for line in lines)
        share = total // len(payments)
        paid = []
        for index, (method, kind) in enumerate(payments):
            amount = share if index < len(payments) - 1 else total - share * (len(payments) - 1)
            paid.append(
                PaymentState(payment_id=uuid.uuid4(), method=method, kind=kind, amount=amount)
            )
        order_id = uuid.uuid4()
        self.order_versions[order_id] = 1
        if receipt_sequence is None:
            receipt_sequence = self.receipts.get(register_id, 0) + 1
        self.receipts[register_id] = max(self.receipts.get(register_id, 0), receipt_sequence)
        return _envelope(
            OrderPlaced(
                order_id=order_id,
                register_id=register_id,
                shop_id=self.shop.shop_id,
                session_id=session_id,
                receipt_number=receipt_number or f"R{register_id.hex[:4]}-{receipt_sequence}",
                receipt_sequence=receipt_sequence,
                business_date=self.shop.business_date(at),
                created_at=at,
                currency=self.shop.currency,
                lines=lines,
                payments=paid,
                net_total=sum(line.net for line in lines),
                tax_total=sum(line.tax for line in lines),
                total=total,
            ),
            self.shop.tenant_id,
            order_id,
            1,
            at,
        )

    def refund(
        self,
        order: EventEnvelope,
        at: datetime,
        quantities: Sequence[tuple[int, int]],
        *,
        reason: str = "spilt",
        method: tuple[str, str] = ("card", "card"),
        register_id: uuid.UUID | None = None,
        session_id: uuid.UUID | None = None,
    ) -> EventEnvelope:
        """Refunds (line index, quantity) pairs of an order, priced as the orders service does,
        so a line refunded in parts adds up to the whole line exactly."""
        placed = order.data
        lines = []
        for index, quantity in quantities:
            line = placed["lines"][index]
            line_id = uuid.UUID(str(line["line_id"]))
            before = self.refunded.get(line_id, Decimal(0))
            after = self.refunded[line_id] = before + quantity
            earlier = self.given_back.get(line_id, (0, 0, 0))
            net, tax, total = _refund_part(line, before, after, earlier)
            self.given_back[line_id] = (earlier[0] + net, earlier[1] + tax, earlier[2] + total)
            lines.append(
                RefundLineState(
                    refund_line_id=uuid.uuid4(),
                    order_line_id=line_id,
                    product_ref=line["product_ref"],
                    quantity=str(quantity),
                    net=net,
                    tax=tax,
                    total=total,
                )
            )
        total = sum(line.total for line in lines)
        version = self.order_versions[order.aggregate_id] = (
            self.order_versions.get(order.aggregate_id, 1) + 1
        )
        return _envelope(
            OrderRefunded(
                refund_id=uuid.uuid4(),
                order_id=order.aggregate_id,
                register_id=register_id or placed["register_id"],
                shop_id=self.shop.shop_id,
                session_id=session_id or placed["session_id"],
                business_date=self.shop.business_date(at),
                created_at=at,
                currency=self.shop.currency,
                reason=reason,
                lines=lines,
                payments=[
                    PaymentState(
                        payment_id=uuid.uuid4(), method=method[0], kind=method[1], amount=total
                    )
                ],
                net_total=sum(line.net for line in lines),
                tax_total=sum(line.tax for line in lines),
                total=total,
            ),
            self.shop.tenant_id,
            order.aggregate_id,
            version,
            at,
        )

    def synced(self, order: EventEnvelope, odoo_order_id: int, at: datetime) -> EventEnvelope:
        return _envelope(
            OrderOdooSynced(order_id=order.aggregate_id, odoo_order_id=odoo_order_id),
            self.shop.tenant_id,
            order.aggregate_id,
            100,
            at,
        )

    def sync_failed(self, order: EventEnvelope, at: datetime) -> EventEnvelope:
        return _envelope(
            OrderOdooSyncFailed(
                order_id=order.aggregate_id, error_class="OdooError", message="no session"
            ),
            self.shop.tenant_id,
            order.aggregate_id,
            100,
            at,
        )


MENU = [
    Item("FW", "Flat white", 1, 350),
    Item("ES", "Espresso", 1, 220),
    Item("CR", "Croissant", 1, 240),
    Item("CK", "Cookie", 1, 185, discount_percent=10),
    Item("SW", "Sandwich", 1, 695),
    Item(
        "GB",
        "Gift box",
        1,
        1250,
        discount_percent=15,
        tax_rate_percent="20",
        prices_include_tax=False,
    ),
    Item("NP", "Newspaper", 1, 300, tax_rate_percent="0"),
]
METHODS = [("card", "card"), ("cash", "cash"), ("twint", "qr")]


def trading_day(
    shop: Shop, day: date, rng: random.Random, orders: int, refunds: int
) -> list[EventEnvelope]:
    """A day of sales and partial refunds across the shop's registers, from 07:00 to 02:00."""
    events = Events(shop)
    opened = {
        register_id: events.session_opened(register_id, at_local(shop, day, time(6, 45)), 10000)
        for register_id in shop.register_ids
    }
    result = [*events.reference_data(at_local(shop, day, time(6, 0))), *opened.values()]
    placed = []
    for _ in range(orders):
        register_id = rng.choice(shop.register_ids)
        minutes = rng.randrange(0, 19 * 60)  # 07:00 to 01:59 the next morning
        at = at_local(shop, day, time(7, 0)) + timedelta(minutes=minutes)
        items = [
            dataclasses.replace(i, quantity=rng.randint(1, 3))
            for i in rng.sample(MENU, rng.randint(1, 3))
        ]
        payments = rng.sample(METHODS, rng.randint(1, 2))
        order = events.order(register_id, opened[register_id].aggregate_id, at, items, payments)
        placed.append(order)
        result.append(order)
    for order in rng.sample(placed, refunds):
        line = rng.randrange(len(order.data["lines"]))
        later = order.occurred_at + timedelta(minutes=rng.randint(1, 30))
        if shop.business_date(later) != day:
            later = order.occurred_at
        result.append(
            events.refund(
                order,
                later,
                [(line, 1)],
                reason=rng.choice(["cold", "wrong order", "spilt"]),
                method=rng.choice(METHODS),
            )
        )
    return result


@dataclass
class ReportingWorld:
    """The service under test, a broker channel to feed it events, and tokens to ask it."""

    settings: ReportingSettings
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    app: Any
    exchange: AbstractExchange
    issuer: TokenIssuer = field(default_factory=lambda: TokenIssuer(DEV_PRIVATE_KEY))

    @property
    def schema(self) -> str:
        return self.settings.schema_name

    def token(self, tenant_id: uuid.UUID, role: Role = Role.MANAGER) -> dict[str, str]:
        token = self.issuer.issue(subject=f"{role.value}@test", tenant_id=tenant_id, role=role)
        return {"Authorization": f"Bearer {token}"}

    def pin_clock(self, now: datetime) -> datetime:
        """Makes `now` the present of the service's queries and notifier, so that what is today
        for a shop does not hang on the hour the test runs at; returns it."""
        self.app.state.queries.clock = lambda: now
        return now

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        for envelope in envelopes:
            await self.exchange.publish(
                aio_pika.Message(envelope.model_dump_json().encode(), message_id=str(envelope.id)),
                routing_key=envelope.type,
            )

    async def applied(self, envelopes: Sequence[EventEnvelope], within_s: float = 20) -> None:
        """Waits until every one of these events is in the event log (so projected)."""
        ids = list({e.id for e in envelopes})

        async def all_logged() -> bool:
            found = await self.pool.fetchval(
                f"SELECT count(*) FROM {self.schema}.event_log WHERE event_id = ANY($1::uuid[])",
                ids,
            )
            return bool(found == len(ids))

        await eventually(all_logged, within_s=within_s, what=f"{len(ids)} events projected")

    async def feed(self, envelopes: Sequence[EventEnvelope]) -> None:
        await self.publish(envelopes)
        await self.applied(envelopes)

    def duplicates_skipped(self) -> float:
        queue = self.settings.broker_name(PROJECTION_QUEUE)
        value: float = EVENTS_DUPLICATE.labels(queue)._value.get()
        return value

    async def read_models(self) -> dict[str, list[tuple[str, ...]]]:
        """Every read-model table's rows, sorted, to compare two ways of building them."""
        tables = {}
        for table in READ_MODEL_TABLES:
            rows = await self.pool.fetch(f"SELECT * FROM {self.schema}.{table}")
            tables[table] = sorted(tuple(map(str, row.values())) for row in rows)
        return tables

    async def get(self, path: str, tenant_id: uuid.UUID, **params: Any) -> dict[str, Any]:
        response = await self.client.get(path, params=params, headers=self.token(tenant_id))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = json.loads(response.text)
    return body


async def _exchange(settings: ReportingSettings) -> tuple[AbstractConnection, AbstractExchange]:
    connection = await aio_pika.connect(settings.amqp_url)
    channel: AbstractChannel = await connection.channel()
    exchange = await channel.declare_exchange(
        settings.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
    )
    return connection, exchange


@contextlib.asynccontextmanager
async def running_reporting(settings: ReportingSettings) -> AsyncIterator[ReportingWorld]:
    """The reporting service in-process, with its consumer attached, and a client for it."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        await asyncio.wait_for(app.state.consumers_attached.wait(), 30)
        connection, exchange = await _exchange(settings)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://reporting"
            ) as client:
                yield ReportingWorld(settings, client, app.state.pool, app, exchange)
        finally:
            await connection.close()


# The chat API's stand-in.


@dataclass
class SentMessage:
    bot_token: str
    chat_id: str
    text: str


class FakeChatApi:
    """Answers Telegram's sendMessage and setWebhook, records what was sent and where each bot's
    updates go, and fails on request."""

    def __init__(self) -> None:
        self.messages: list[SentMessage] = []
        # Per bot token: the webhook URL and its secret token, as setWebhook last set them.
        self.webhooks: dict[str, tuple[str, str]] = {}
        self.failures_left = 0
        self.calls = 0
        self.base_url = ""
        self.app = Starlette(
            routes=[
                Route("/bot{token}/sendMessage", self._send, methods=["POST"]),
                Route("/bot{token}/setWebhook", self._set_webhook, methods=["POST"]),
            ]
        )

    async def _set_webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        if not str(body.get("url", "")).startswith(("https://", "http://")):
            return JSONResponse(
                {"ok": False, "error_code": 400, "description": "Bad Request: bad webhook"},
                status_code=400,
            )
        self.webhooks[request.path_params["token"]] = (body["url"], body["secret_token"])
        return JSONResponse({"ok": True, "result": True, "description": "Webhook was set"})

    def fail_next(self, times: int) -> None:
        self.failures_left = times

    def texts_to(self, chat_id: str) -> list[str]:
        return [m.text for m in self.messages if m.chat_id == chat_id]

    async def _send(self, request: Request) -> JSONResponse:
        self.calls += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            return JSONResponse(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status_code=502
            )
        body = await request.json()
        token = request.path_params["token"]
        self.messages.append(SentMessage(token, str(body["chat_id"]), body["text"]))
        result = {"message_id": len(self.messages), "chat": {"id": body["chat_id"]}}
        return JSONResponse({"ok": True, "result": result})


@contextlib.asynccontextmanager
async def running_fake_chat() -> AsyncIterator[FakeChatApi]:
    fake = FakeChatApi()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake.app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        await eventually(lambda: _started(server), within_s=10, what="fake chat API start")
        yield fake
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def _started(server: uvicorn.Server) -> bool:
    return server.started


def at_local(shop: Shop, day: Any, clock: time) -> datetime:
    """A moment given as a date and wall-clock time in the shop's timezone."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(shop.timezone))


def hours_later(moment: datetime, hours: float) -> datetime:
    return moment + timedelta(hours=hours)
