"""Odoo connector: sync lag at a steady 100 orders/s, and throughput with one and two replicas.

The connector runs as its own process (or two), against an emulator whose every call is slowed
down (20 ms for the lag, 50 ms and 300 ms for the throughput). Lag is measured from an
order.placed being published to the connector's order.odoo_synced (what the orders service
stamps) arriving on the bus. Pro tenants, each with its own Odoo database and one register: ten,
and forty for the slow Odoo (where the registers' batches in parallel are what counts). With
two replicas the measure starts once both hold their share of the orders' partitions; the
orders per `create_from_ui` call say whether a register's orders still go in full batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
from aio_pika.abc import AbstractIncomingMessage
from service_process import running_service

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import RunningEmulator, running_emulator
from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.events.contracts import (
    PaymentMethodCreated,
    RegisterUpdated,
    SessionOpened,
    TenantCreated,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.partition_key import partition_headers
from test_support.odoo_connector import ProTenant, delete_connector_topology, new_order

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
LAG_SECONDS = float(os.environ.get("BENCH_CONNECTOR_LAG_SECONDS", "20"))
LAG_RATE = 100.0
THROUGHPUT_ORDERS = int(os.environ.get("BENCH_CONNECTOR_ORDERS", "3000"))
SLOW_ODOO_ORDERS = int(os.environ.get("BENCH_CONNECTOR_SLOW_ORDERS", "2000"))
# The connector processes' log level: DEBUG or INFO shows why orders wait when a phase stalls.
CONNECTOR_LOG_LEVEL = os.environ.get("BENCH_CONNECTOR_LOG_LEVEL", "WARNING")
TENANTS = 10
SLOW_ODOO_TENANTS = 40
NAMESPACE = "benchconnector"
SCHEMA = "connector"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _fresh_database(name: str) -> str:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


def _environment(dsn: str) -> dict[str, str]:
    return {
        "CONNECTOR_DATABASE_URL": dsn,
        "CONNECTOR_AMQP_URL": AMQP_URL,
        "CONNECTOR_BROKER_NAMESPACE": NAMESPACE,
        "CONNECTOR_DEV_MODE": "true",
        "CONNECTOR_LOG_LEVEL": CONNECTOR_LOG_LEVEL,
        "CONNECTOR_DB_POOL_MAX_SIZE": "20",
        "CONNECTOR_CONSUMER_PREFETCH": "200",
        "CONNECTOR_OUTBOX_POLL_INTERVAL_S": "0.5",
    }


class Bus:
    """Publishes as the other services do and times the connector's order.odoo_synced."""

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings
        self.published_at: dict[str, float] = {}
        self.synced_at: dict[str, float] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._all_synced = asyncio.Event()
        self.expected = 0

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(AMQP_URL)
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await channel.declare_exchange(
            self.settings.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        listen = await self._connection.channel()
        queue = await listen.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(self._exchange, routing_key="order.odoo_synced")
        await queue.consume(self._on_synced, no_ack=True)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def _on_synced(self, message: AbstractIncomingMessage) -> None:
        envelope = EventEnvelope.model_validate_json(message.body)
        order_id = envelope.data["order_id"]
        self.synced_at.setdefault(order_id, time.monotonic())
        if self.expected and len(self.synced_at) >= self.expected:
            self._all_synced.set()

    async def publish(self, data: EventData, tenant_id: uuid.UUID, aggregate_id: uuid.UUID) -> None:
        envelope = EventEnvelope.wrap(
            data, tenant_id=tenant_id, aggregate_id=aggregate_id, aggregate_version=2, producer="b"
        )
        assert self._exchange is not None
        await self._exchange.publish(
            aio_pika.Message(
                envelope.model_dump_json().encode(),
                message_id=str(envelope.id),
                type=envelope.type,
                # As the outbox relay publishes it: the register's id picks the partition.
                headers={
                    "x-tenant-id": str(tenant_id),
                    **partition_headers(envelope.model_dump(mode="json")),
                },
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=envelope.type,
        )

    def expect(self, count: int) -> None:
        self.published_at.clear()
        self.synced_at.clear()
        self._all_synced.clear()
        self.expected = count

    async def all_synced(self, within_s: float) -> None:
        try:
            await asyncio.wait_for(self._all_synced.wait(), within_s)
        except TimeoutError:
            raise TimeoutError(
                f"{len(self.synced_at)} of {self.expected} orders synced within {within_s:g} s "
                "(BENCH_CONNECTOR_LOG_LEVEL=INFO shows the connector's log)"
            ) from None


async def _pro_tenants(
    bus: Bus, url: str, emu: RunningEmulator, dsn: str, databases: list[str]
) -> list[ProTenant]:
    issuer = TokenIssuer(DEV_PRIVATE_KEY)
    tenants = []
    async with httpx.AsyncClient(base_url=url) as client:
        for database in databases:
            seed = await emu.control.seed(database)
            tenant_id = uuid.uuid4()
            await bus.publish(
                TenantCreated(
                    tenant_id=tenant_id,
                    name=database,
                    tier="pro",
                    default_currency="EUR",
                    default_timezone="Europe/Brussels",
                ),
                tenant_id,
                tenant_id,
            )
            token = issuer.issue(
                subject="admin", tenant_id=tenant_id, role=Role.ADMIN, ttl=timedelta(hours=1)
            )
            key = next(u for u in seed["users"] if u["login"] == "pos-bot")["api_key"]
            response = await client.put(
                f"/v1/tenants/{tenant_id}/odoo",
                json={"url": emu.url, "database": database, "login": "pos-bot", "secret": key},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            card = PaymentMethodCreated(
                payment_method_id=uuid.uuid4(),
                code="card",
                name="Card",
                kind="card",
                odoo_payment_method_id=seed["card_payment_method_id"],
            )
            await bus.publish(card, tenant_id, card.payment_method_id)
            tenant = ProTenant(
                tenant_id=tenant_id,
                database=database,
                register_id=uuid.uuid4(),
                shop_id=uuid.uuid4(),
                pos_config_id=seed["pos_config_id"],
                seed=seed,
            )
            register = RegisterUpdated(
                register_id=tenant.register_id,
                shop_id=tenant.shop_id,
                name="Till",
                receipt_prefix=database[-2:].upper(),
                active=True,
                currency="EUR",
                timezone="Europe/Brussels",
                business_day_cutoff="04:00",
                tenant_tier="pro",
                sync_state="synced",
                odoo_pos_config_id=tenant.pos_config_id,
            )
            await bus.publish(register, tenant_id, tenant.register_id)
            # The orders service's session.opened for the till session the orders are rung in:
            # without it an order waits for the opening float (up to
            # CONNECTOR_PREDECESSOR_WAIT_MAX_S) before Odoo's session opens.
            opened = SessionOpened(
                session_id=tenant.session_id,
                register_id=tenant.register_id,
                shop_id=tenant.shop_id,
                business_date=date.today(),
                opened_at=datetime.now(UTC),
                currency="EUR",
                opening_cash=0,
                opened_by="bench",
            )
            await bus.publish(opened, tenant_id, tenant.session_id)
            tenants.append(tenant)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        for _ in range(300):
            known = await conn.fetchval(
                """SELECT (SELECT count(*) FROM registers) + (SELECT count(*) FROM tenants)
                        + (SELECT count(*) FROM payment_methods)
                        + (SELECT count(*) FROM till_sessions)"""
            )
            if known == 4 * len(tenants):
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return tenants


@contextlib.asynccontextmanager
async def _replicas(dsn: str, count: int) -> AsyncIterator[str]:
    async with contextlib.AsyncExitStack() as stack:
        urls = [
            await stack.enter_async_context(running_service("odoo_connector", _environment(dsn)))
            for _ in range(count)
        ]
        await _shared_out(urls)
        yield urls[0]


async def _shared_out(urls: list[str], within_s: float = 30) -> None:
    """Returns once every replica holds its share of the orders' partitions."""
    partitions = ConnectorSettings().odoo_partitions
    fair = {partitions // len(urls), -(-partitions // len(urls))}
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient() as client:
        while True:
            held = [await _partitions_held(client, url) for url in urls]
            if all(h in fair for h in held) and sum(held) == partitions:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replicas hold {held} of {partitions} partitions")
            await asyncio.sleep(0.2)


async def _partitions_held(client: httpx.AsyncClient, url: str) -> int:
    text = (await client.get(f"{url}/metrics")).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("connector_partitions_held{")
    )


async def _place(bus: Bus, tenant: ProTenant) -> None:
    order = new_order(tenant)
    bus.published_at[str(order.order_id)] = time.monotonic()
    await bus.publish(order, tenant.tenant_id, order.order_id)


async def _warm_up(bus: Bus, tenants: list[ProTenant]) -> None:
    """One order per till first: logins, product lookups and Odoo sessions are not the steady
    state being measured."""
    bus.expect(len(tenants))
    for tenant in tenants:
        await _place(bus, tenant)
    await bus.all_synced(within_s=60)


async def _steady_lag(bus: Bus, tenants: list[ProTenant], emu: RunningEmulator) -> list[float]:
    await _warm_up(bus, tenants)
    total = int(LAG_SECONDS * LAG_RATE)
    bus.expect(total)
    started = time.monotonic()
    for i in range(total):
        await asyncio.sleep(max(0.0, started + i / LAG_RATE - time.monotonic()))
        await _place(bus, tenants[i % len(tenants)])
    await bus.all_synced(within_s=120)
    return [bus.synced_at[o] - bus.published_at[o] for o in bus.published_at]


def _throughput(orders: int) -> Any:
    async def measure(bus: Bus, tenants: list[ProTenant], emu: RunningEmulator) -> Any:
        await _warm_up(bus, tenants)
        await emu.control.clear_calls()
        bus.expect(orders)
        started = time.monotonic()
        for i in range(orders):
            await _place(bus, tenants[i % len(tenants)])
        await bus.all_synced(within_s=600)
        rate = orders / (max(bus.synced_at.values()) - started)
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
        return rate, orders / max(1, len(creates))

    return measure


async def _phase(
    dsn: str,
    settings: ConnectorSettings,
    replicas: int,
    latency_ms: float,
    tenant_count: int,
    measure: Any,
) -> Any:
    databases = [f"cafe-{i}" for i in range(tenant_count)]
    bus = Bus(settings)
    await bus.start()
    try:
        # The call log counts the create_from_ui calls of the measured stretch only.
        async with (
            running_emulator(version=17, databases=tuple(databases), call_log_size=50_000) as emu,
            _replicas(dsn, replicas) as url,
        ):
            tenants = await _pro_tenants(bus, url, emu, dsn, databases)
            await emu.control.set_latency(latency_ms)
            return await measure(bus, tenants, emu)
    finally:
        await bus.stop()
        await delete_connector_topology(settings)


async def run() -> dict[str, float]:
    results: dict[str, float] = {}
    for label, replicas, latency, tenant_count, measure in (
        ("lag", 1, 20.0, TENANTS, _steady_lag),
        ("one_replica", 1, 50.0, TENANTS, _throughput(THROUGHPUT_ORDERS)),
        ("two_replicas", 2, 50.0, TENANTS, _throughput(THROUGHPUT_ORDERS)),
        ("one_replica", 1, 300.0, SLOW_ODOO_TENANTS, _throughput(SLOW_ODOO_ORDERS)),
        ("two_replicas", 2, 300.0, SLOW_ODOO_TENANTS, _throughput(SLOW_ODOO_ORDERS)),
    ):
        suffix = f"at_{latency:g}ms_per_call" + (
            f"_{tenant_count}_registers" if tenant_count != TENANTS else ""
        )
        dsn = await _fresh_database(f"pos_bench_connector_{label}")
        settings = ConnectorSettings(
            database_url=dsn, amqp_url=AMQP_URL, broker_namespace=NAMESPACE, dev_mode=True
        )
        outcome = await _phase(dsn, settings, replicas, latency, tenant_count, measure)
        if label == "lag":
            results["lag_orders_per_s_offered"] = LAG_RATE
            results["sync_lag_p50_ms_at_20ms_per_call"] = statistics.median(outcome) * 1000
            results["sync_lag_p99_ms_at_20ms_per_call"] = _percentile(outcome, 0.99) * 1000
        else:
            rate, per_call = outcome
            results[f"throughput_orders_per_s_{label}_{suffix}"] = rate
            results[f"orders_per_odoo_call_{label}_{suffix}"] = per_call
    for suffix in ("at_50ms_per_call", f"at_300ms_per_call_{SLOW_ODOO_TENANTS}_registers"):
        one = results[f"throughput_orders_per_s_one_replica_{suffix}"]
        two = results[f"throughput_orders_per_s_two_replicas_{suffix}"]
        # The targets: >= 0.95 at 50 ms (and the same orders per call), >= 1.6 at 300 ms.
        results[f"two_replicas_over_one_{suffix}"] = two / one
    return results


if __name__ == "__main__":
    print(asyncio.run(run()))
