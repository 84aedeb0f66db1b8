"""Reporting read models at a million orders: the projector's rate, and the dashboard, daily
report and 30-day sales latency while the projector runs at full speed.

The million orders are written straight into the read-model tables with generate_series (the
projector would take many minutes to get there). The projector's rate is measured by pushing real
events through RabbitMQ into a service process that projects, on top of that volume: spread over
50 shops, and all into one shop (where every event's rollups are the same rows). The reports are
asked of a second process that only serves reports (REPORTING_PROJECTOR_ENABLED=false, as
report-serving replicas run), one request at a time: first on a quiet system, then while a
projecting process works through a backlog of a busy hour of the same tenant, the dashboard's own
shop among its shops, published while no projector ran. Only answers given while that backlog
lasts count.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
from bench_results import Check, Figures
from service_process import running_service

from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.events.envelope import EventEnvelope
from test_support.reporting import Events, Shop

ROOT = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ORDERS = int(os.environ.get("BENCH_REPORTING_ORDERS", "1000000"))
PROJECTOR_EVENTS = int(os.environ.get("BENCH_REPORTING_EVENTS", "20000"))
REQUESTS = int(os.environ.get("BENCH_REPORTING_REQUESTS", "600"))
# A backlog the projector takes about half a minute to work through.
LOAD_EVENTS = int(os.environ.get("BENCH_REPORTING_LOAD_EVENTS", "60000"))
SHOPS, REGISTERS_PER_SHOP, DAYS = 10, 4, 400
NAMESPACE = "benchreporting"
SCHEMA = "reporting"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def fresh_database(name: str) -> str:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


def reporting_service(
    dsn: str, *, projector: bool = True
) -> contextlib.AbstractAsyncContextManager[str]:
    """The service as a process of its own; without the projector it only serves reports, as
    the replicas that serve reports run beside the one that projects."""
    return running_service(
        "reporting",
        {
            "REPORTING_DATABASE_URL": dsn,
            "REPORTING_AMQP_URL": AMQP_URL,
            "REPORTING_BROKER_NAMESPACE": NAMESPACE,
            "REPORTING_DEV_MODE": "true",
            "REPORTING_LOG_LEVEL": "WARNING",
            "REPORTING_DB_POOL_MAX_SIZE": "20",
            "REPORTING_CONSUMER_PREFETCH": "100",
            "REPORTING_PROJECTOR_ENABLED": str(projector).lower(),
        },
    )


# One tenant, SHOPS shops of REGISTERS_PER_SHOP registers, DAYS days up to today, ORDERS orders
# spread evenly (about 250 per shop and day), 2% of them refunded, Odoo status for most.
_LOAD = """
CREATE TEMP TABLE bench_shops AS
    SELECT i AS shop_no, md5('shop' || i)::uuid AS shop_id FROM generate_series(0, {shops} - 1) i;
CREATE TEMP TABLE bench_registers AS
    SELECT s.shop_no, s.shop_id, r AS register_no,
           md5('register' || s.shop_no || '-' || r)::uuid AS register_id
    FROM bench_shops s, generate_series(0, {registers} - 1) r;

INSERT INTO tenants VALUES ('{tenant}', 'Bench Coffee', 'pro', 'EUR', 'Europe/Paris', 1);
INSERT INTO shops (tenant_id, shop_id, name, currency, timezone, business_day_cutoff, version)
    SELECT '{tenant}', shop_id, 'Shop ' || shop_no, 'EUR', 'Europe/Paris', '04:00', 1
    FROM bench_shops;
INSERT INTO registers
    SELECT '{tenant}', register_id, shop_id, 'Till ' || register_no, 'T' || register_no, true,
           'pro', 1
    FROM bench_registers;

INSERT INTO order_facts
SELECT '{tenant}', md5('order' || g)::uuid, r.shop_id, r.register_id,
       md5(r.register_id::text || d::text)::uuid, d,
       (d + time '06:00') AT TIME ZONE 'UTC' + (g % 46800) * interval '1 second',
       'T' || r.register_no || '-' || g, 'EUR', total, 0, total - total / 11, total / 11, total,
       'pos'
FROM generate_series(1::bigint, {orders}) g
CROSS JOIN LATERAL (SELECT 300 + (g * 7919) % 2000 AS total,
                           current_date - ((g / ({shops} * {registers})) % {days})::int AS d) v
JOIN bench_registers r
  ON r.shop_no = g % {shops} AND r.register_no = (g / {shops}) % {registers};

INSERT INTO refund_facts
SELECT tenant_id, md5('refund' || order_id)::uuid, order_id, shop_id, register_id, session_id,
       business_date, created_at + interval '5 minutes', currency, 'bench', net_total, tax_total,
       total
FROM order_facts WHERE abs(hashtext(order_id::text)::bigint) % 50 = 0;

INSERT INTO order_sync
SELECT tenant_id, order_id, CASE WHEN abs(hashtext(order_id::text)::bigint) % 100 = 0 THEN 'failed'
                                 ELSE 'synced' END, 1, NULL
FROM order_facts WHERE abs(hashtext(order_id::text)::bigint) % 10 <> 0;

INSERT INTO sessions (tenant_id, session_id, register_id, shop_id, business_date, state, currency,
                      opened_at, opened_by, opening_cash, closed_at, version)
SELECT DISTINCT '{tenant}'::uuid, session_id, register_id, shop_id, business_date,
       CASE WHEN business_date = current_date THEN 'open' ELSE 'closed' END, 'EUR',
       (business_date + time '05:30') AT TIME ZONE 'UTC', 'bench', 10000,
       CASE WHEN business_date = current_date THEN NULL
            ELSE (business_date + time '21:00') AT TIME ZONE 'UTC' END, 1
FROM order_facts;

INSERT INTO sales_slots (tenant_id, shop_id, business_date, register_id, slot, order_count, gross,
                         refund_count, refunds, sales_tax, refunds_tax, discounts)
SELECT tenant_id, shop_id, business_date, register_id, slot, sum(orders), sum(gross),
       sum(refund_count), sum(refunds), sum(sales_tax), sum(refunds_tax), 0
FROM (SELECT tenant_id, shop_id, business_date, register_id,
             date_bin('15 minutes', created_at, timestamptz '2000-01-01') AS slot,
             1 AS orders, total AS gross, 0 AS refund_count, 0 AS refunds,
             tax_total AS sales_tax, 0 AS refunds_tax
      FROM order_facts
      UNION ALL
      SELECT tenant_id, shop_id, business_date, register_id,
             date_bin('15 minutes', created_at, timestamptz '2000-01-01'),
             0, 0, 1, total, 0, tax_total
      FROM refund_facts) f
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO daily_totals
SELECT s.tenant_id, s.shop_id, s.business_date, s.register_id, sum(order_count), sum(gross),
       sum(refund_count), sum(refunds), sum(sales_tax), sum(refunds_tax), 0,
       max(y.synced), max(y.failed)
FROM sales_slots s
JOIN (SELECT o.shop_id, o.business_date, o.register_id,
             count(*) FILTER (WHERE y.state = 'synced') AS synced,
             count(*) FILTER (WHERE y.state = 'failed') AS failed
      FROM order_facts o LEFT JOIN order_sync y USING (tenant_id, order_id)
      GROUP BY 1, 2, 3) y USING (shop_id, business_date, register_id)
GROUP BY 1, 2, 3, 4;

INSERT INTO payment_totals
SELECT tenant_id, shop_id, business_date, register_id,
       (ARRAY['card', 'cash', 'twint'])[1 + abs(hashtext(order_id::text)::bigint) % 3],
       (ARRAY['card', 'cash', 'qr'])[1 + abs(hashtext(order_id::text)::bigint) % 3],
       count(*), sum(total), 0, 0
FROM order_facts GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO product_totals (tenant_id, shop_id, business_date, product_ref, product_name,
                            quantity, gross, discounts, total)
SELECT '{tenant}', s.shop_id, current_date - d, 'P' || p, 'Product ' || p, 30, 9000, 0, 9000
FROM bench_shops s, generate_series(0, {days} - 1) d, generate_series(1, 8) p;

ANALYZE;
"""


async def load_million_orders(dsn: str, tenant: uuid.UUID) -> float:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    started = time.perf_counter()
    try:
        await conn.execute(
            _LOAD.format(
                tenant=tenant,
                shops=SHOPS,
                registers=REGISTERS_PER_SHOP,
                days=DAYS,
                orders=ORDERS,
            )
        )
    finally:
        await conn.close()
    return time.perf_counter() - started


@dataclass
class ReportRequests:
    """The three reports a shop manager opens, asked for one at a time, in turn."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    shop_id: uuid.UUID
    samples: dict[str, list[float]] = field(default_factory=dict)

    def requests(self) -> dict[str, tuple[str, dict[str, Any]]]:
        today, shop = date.today(), str(self.shop_id)
        return {
            "dashboard": ("/v1/dashboard", {"shop_id": shop}),
            "sales_30_days": (
                "/v1/reports/sales",
                {"shop_id": shop, "from": today - timedelta(days=29), "to": today},
            ),
            "daily_report": (
                "/v1/reports/daily",
                {"shop_id": shop, "business_date": today - timedelta(days=1)},
            ),
        }

    async def ask_each(self, record: bool = True) -> None:
        for name, (path, params) in self.requests().items():
            started = time.perf_counter()
            response = await self.client.get(path, params=params, headers=self.headers)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text
            if record:
                self.samples.setdefault(name, []).append(elapsed)

    async def warm_up(self) -> None:
        for _ in range(50):  # connections, prepared statements, caches
            await self.ask_each(record=False)

    def figures(self, suffix: str) -> Figures:
        figures: Figures = {}
        for name, values in self.samples.items():
            figures[f"{name}_p50_ms{suffix}"] = statistics.median(values) * 1000
            figures[f"{name}_p99_ms{suffix}"] = _percentile(values, 0.99) * 1000
        figures[f"report_requests_each{suffix}"] = float(min(map(len, self.samples.values())))
        return figures


def _shops(count: int, tenant_id: uuid.UUID | None = None) -> list[Shop]:
    shops = [Shop.new(registers=2) for _ in range(count)]
    if tenant_id is not None:
        shops = [dataclasses.replace(shop, tenant_id=tenant_id) for shop in shops]
    return shops


def projector_events(count: int, shops: Sequence[Shop]) -> list[EventEnvelope]:
    """Real envelopes of a busy hour: reference data, sessions, orders and some refunds."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    result: list[EventEnvelope] = []
    tills = []
    for shop in shops:
        events = Events(shop)
        result += events.reference_data(now)
        for register_id in events.shop.register_ids:
            opened = events.session_opened(register_id, now)
            result.append(opened)
            tills.append((events, register_id, opened.aggregate_id))
    while len(result) < count:
        events, register_id, session_id = rng.choice(tills)
        order = events.order(register_id, session_id, now + timedelta(seconds=len(result)))
        result.append(order)
        if rng.random() < 0.05:
            result.append(events.refund(order, now, [(0, 1)]))
    return result[:count]


@dataclass
class Backlog:
    """Events published to the service, and how far its projector has got through them."""

    dsn: str
    envelopes: list[EventEnvelope]
    logged_before: int = 0
    started: float = 0.0
    finished: float = 0.0

    async def publish(self) -> None:
        bodies = [(e.type, str(e.id), e.model_dump_json().encode()) for e in self.envelopes]
        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": SCHEMA})
        try:
            self.logged_before = await conn.fetchval("SELECT count(*) FROM event_log")
        finally:
            await conn.close()
        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                f"{NAMESPACE}.pos.events", aio_pika.ExchangeType.TOPIC, durable=True
            )
            for offset in range(0, len(bodies), 500):
                await asyncio.gather(
                    *(
                        exchange.publish(
                            aio_pika.Message(body, message_id=event_id), routing_key=event_type
                        )
                        for event_type, event_id, body in bodies[offset : offset + 500]
                    )
                )
        finally:
            await connection.close()

    async def projected(self) -> None:
        """Waits until the projector has logged every event."""
        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": SCHEMA})
        try:
            for _ in range(6000):
                logged = await conn.fetchval("SELECT count(*) FROM event_log")
                if logged - self.logged_before >= len(self.envelopes):
                    break
                await asyncio.sleep(0.05)
            self.finished = time.perf_counter()
        finally:
            await conn.close()

    @property
    def events_per_s(self) -> float:
        return len(self.envelopes) / (self.finished - self.started)


async def projector_rate(dsn: str, count: int, shops: Sequence[Shop]) -> float:
    """Events per second from the first publish to the last event projected."""
    backlog = Backlog(dsn, projector_events(count, shops))
    backlog.started = time.perf_counter()
    await backlog.publish()
    await backlog.projected()
    return backlog.events_per_s


async def reports_while_projecting(reports: ReportRequests, backlog: Backlog) -> None:
    """Asks for the reports, in turn, for as long as the projector has a backlog."""
    projecting = asyncio.create_task(backlog.projected())
    while not projecting.done():
        await reports.ask_each()
    await projecting


async def _cleanup_broker() -> None:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        await channel.queue_delete(f"{NAMESPACE}.reports-sink")
        for name in ("events",):
            await channel.queue_delete(f"{NAMESPACE}.reporting.{name}")
            await channel.queue_delete(f"{NAMESPACE}.reporting.{name}.dlq")
    finally:
        await connection.close()


async def _reports_sink() -> None:
    """Binds report.daily_ready somewhere, as a consumer of it would: unroutable events retry."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{NAMESPACE}.pos.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(f"{NAMESPACE}.reports-sink", durable=True)
        await queue.bind(exchange, "report.*")
    finally:
        await connection.close()


async def run() -> Figures:
    dsn = await fresh_database("pos_bench_reporting")
    tenant = uuid.uuid4()
    await _reports_sink()
    try:
        async with reporting_service(dsn, projector=False) as url:
            load_s = await load_million_orders(dsn, tenant)
            async with reporting_service(dsn):
                spread = await projector_rate(dsn, PROJECTOR_EVENTS, _shops(50))
                one_shop = await projector_rate(dsn, PROJECTOR_EVENTS // 4, _shops(1))
            token = TokenIssuer(DEV_PRIVATE_KEY).issue(
                subject="bench", tenant_id=tenant, role=Role.MANAGER
            )
            headers = {"Authorization": f"Bearer {token}"}
            shop_id = uuid.UUID(bytes=_md5("shop0"))
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                quiet = ReportRequests(client, headers, shop_id)
                await quiet.warm_up()
                for _ in range(REQUESTS):
                    await quiet.ask_each()
                # A busy hour of the bench's own tenant, the dashboard's shop among its shops,
                # waiting in the queue while no projector runs; then one starts on it.
                shops = _shops(49, tenant)
                shop0 = dataclasses.replace(shops[0], shop_id=shop_id)
                busy = Backlog(dsn, projector_events(LOAD_EVENTS, [shop0, *shops[1:]]))
                await busy.publish()
                busy.started = time.perf_counter()
                async with reporting_service(dsn):
                    loaded = ReportRequests(client, headers, shop_id)
                    await reports_while_projecting(loaded, busy)
    finally:
        await _cleanup_broker()
    return {
        "orders_in_read_models": float(ORDERS),
        "bulk_load_s": load_s,
        "projector_events_per_s_50_shops": spread,
        "projector_events_per_s_one_shop": one_shop,
        **loaded.figures(""),
        # From the projector's start (process start-up included) to the backlog's end.
        "projector_events_per_s_while_reporting": busy.events_per_s,
        **quiet.figures("_quiet"),
    }


def done_when(figures: Figures) -> list[Check]:
    """Issue 17's targets for the projector and the reports."""
    targets: list[tuple[str, str, Callable[[float], bool]]] = [
        (
            "projector_events_per_s_50_shops",
            "projector >= 2,000 events/s with 50 shops",
            lambda rate: rate >= 2000,
        ),
        (
            "projector_events_per_s_one_shop",
            "projector >= 1,000 events/s with one shop",
            lambda rate: rate >= 1000,
        ),
    ]
    targets += [
        (
            f"{report}_p99_ms",
            f"{report} p99 < 10 ms at 1 M orders with the projector running",
            lambda ms: 0 < ms < 10,
        )
        for report in ("dashboard", "daily_report", "sales_30_days")
    ]
    return [
        Check(statement, passes(figures[key]), f"{key} = {figures[key]:,.2f}")
        if key in figures
        else Check(statement, passed=False, measured=f"not measured ({key} missing)")
        for key, statement, passes in targets
    ]


def _md5(text: str) -> bytes:
    return hashlib.md5(text.encode()).digest()  # noqa: S324 - matches Postgres md5() ids


if __name__ == "__main__":
    for key, value in asyncio.run(run()).items():
        print(f"{key:45} {value:12.2f}")
