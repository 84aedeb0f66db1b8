"""Orders throughput and latency against the running service, beside raw Postgres and RabbitMQ.

Each figure is measured in the same run on the same servers, so the ratios say how much of the
machine's raw capacity the service turns into accepted orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
from service_process import running_service

from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.events.contracts import RegisterCreated
from shared.events.envelope import EventEnvelope

ROOT = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "8"))
REGISTERS = 8
NAMESPACE = "bench"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _for_duration(
    work: Callable[[int], Awaitable[None]], concurrency: int, duration_s: float
) -> tuple[int, list[float], float]:
    """Runs `work` in `concurrency` loops for `duration_s`; returns count, latencies, seconds."""
    latencies: list[float] = []
    deadline = time.perf_counter() + duration_s

    async def loop(worker: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await work(worker)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    return len(latencies), latencies, time.perf_counter() - started


async def fresh_database(name: str) -> str:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


async def raw_postgres_rate(dsn: str) -> float:
    """Single-row INSERT plus an outbox row, committed, at the same concurrency."""
    pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)
    try:
        await pool.execute(
            "CREATE TABLE raw_orders (id uuid PRIMARY KEY, body jsonb);"
            "CREATE TABLE raw_outbox (seq bigserial PRIMARY KEY, body jsonb)"
        )
        body = '{"total": 920, "lines": [{"qty": "2"}]}'

        async def insert(_: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO raw_orders VALUES ($1, $2::jsonb)", uuid.uuid4(), body
                )
                await conn.execute("INSERT INTO raw_outbox (body) VALUES ($1::jsonb)", body)

        count, _, seconds = await _for_duration(insert, CONCURRENCY, DURATION_S / 2)
        return count / seconds
    finally:
        await pool.close()


async def raw_rabbitmq_rate() -> float:
    """Persistent, confirmed, mandatory publishes into a quorum queue, one by one per worker."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(
            f"{NAMESPACE}.raw", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            f"{NAMESPACE}.raw", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, "#")
        body = b'{"total": 920}' * 40

        async def publish(_: int) -> None:
            await exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key="order.placed",
                mandatory=True,
            )

        count, _, seconds = await _for_duration(publish, CONCURRENCY, DURATION_S / 2)
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
        return count / seconds
    finally:
        await connection.close()


def orders_service(dsn: str) -> contextlib.AbstractAsyncContextManager[str]:
    return running_service(
        "orders",
        {
            "ORDERS_DATABASE_URL": dsn,
            "ORDERS_AMQP_URL": AMQP_URL,
            "ORDERS_BROKER_NAMESPACE": NAMESPACE,
            "ORDERS_DEV_MODE": "true",
            "ORDERS_LOG_LEVEL": "WARNING",
            "ORDERS_DB_POOL_MAX_SIZE": "20",
        },
    )


async def _event_sink() -> tuple[aio_pika.abc.AbstractConnection, Any]:
    """A queue bound to every event, so the relay's publishes are routable, as in production."""
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await channel.declare_exchange(
        f"{NAMESPACE}.pos.events", aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(
        f"{NAMESPACE}.sink", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await queue.bind(exchange, "#")
    return connection, (exchange, queue)


async def _seed_registers(exchange: Any) -> list[tuple[uuid.UUID, uuid.UUID]]:
    tenant = uuid.uuid4()
    registers = []
    for index in range(REGISTERS):
        register_id = uuid.uuid4()
        data = RegisterCreated(
            register_id=register_id,
            shop_id=uuid.uuid4(),
            name=f"Till {index}",
            receipt_prefix=f"B{index}",
            active=True,
            currency="EUR",
            timezone="Europe/Paris",
            business_day_cutoff="04:00",
        )
        envelope = EventEnvelope.wrap(
            data,
            tenant_id=tenant,
            aggregate_id=register_id,
            aggregate_version=1,
            producer="bench",
        )
        for _ in range(100):
            try:
                await exchange.publish(
                    aio_pika.Message(envelope.model_dump_json().encode()),
                    routing_key=envelope.type,
                    mandatory=True,
                )
                break
            except aio_pika.exceptions.DeliveryError:
                await asyncio.sleep(0.1)
        registers.append((tenant, register_id))
    return registers


def _order(register_id: uuid.UUID) -> dict[str, Any]:
    money = {"currency": "EUR"}
    return {
        "id": str(uuid.uuid4()),
        "register_id": str(register_id),
        "created_at": datetime.now(UTC).isoformat(),
        "lines": [
            {
                "product_ref": "FW",
                "product_name": "Flat white",
                "quantity": "2",
                "unit_price": {**money, "amount": 350},
                "tax_rate_percent": "10",
                "prices_include_tax": True,
                "total": {**money, "amount": 700},
            },
            {
                "product_ref": "CR",
                "product_name": "Croissant",
                "quantity": "1",
                "unit_price": {**money, "amount": 220},
                "tax_rate_percent": "10",
                "prices_include_tax": True,
                "total": {**money, "amount": 220},
            },
        ],
        "payments": [{"method": "card", "kind": "card", "amount": {**money, "amount": 920}}],
        "total": {**money, "amount": 920},
    }


async def orders_load(dsn: str) -> dict[str, float]:
    connection, (exchange, queue) = await _event_sink()
    try:
        async with orders_service(dsn) as url:
            registers = await _seed_registers(exchange)
            conn = await asyncpg.connect(dsn)
            try:
                for _ in range(200):
                    if await conn.fetchval("SELECT count(*) FROM orders.registers") == REGISTERS:
                        break
                    await asyncio.sleep(0.05)
                issuer = TokenIssuer(DEV_PRIVATE_KEY)
                headers = {
                    register_id: {
                        "Authorization": "Bearer "
                        + issuer.issue(
                            subject="bench",
                            tenant_id=tenant,
                            role=Role.CASHIER,
                            register_id=register_id,
                        )
                    }
                    for tenant, register_id in registers
                }
                limits = httpx.Limits(max_connections=CONCURRENCY)
                async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
                    failures = 0

                    async def post(worker: int) -> None:
                        nonlocal failures
                        register_id = registers[worker % REGISTERS][1]
                        response = await client.post(
                            "/v1/orders", json=_order(register_id), headers=headers[register_id]
                        )
                        if response.status_code != 201:
                            failures += 1

                    for _ in range(20):  # warm-up
                        await post(0)
                    count, latencies, seconds = await _for_duration(post, CONCURRENCY, DURATION_S)
                drained_at = time.perf_counter()
                for _ in range(600):
                    if not await conn.fetchval(
                        "SELECT count(*) FROM orders.outbox WHERE published_at IS NULL"
                    ):
                        break
                    await asyncio.sleep(0.05)
                drain_s = time.perf_counter() - drained_at
            finally:
                await conn.close()
        return {
            "orders_per_s": count / seconds,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": _percentile(latencies, 0.99) * 1000,
            "failed": float(failures),
            "outbox_drain_after_load_s": drain_s,
        }
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await connection.close()


async def run() -> dict[str, float]:
    raw_dsn = await fresh_database("pos_bench_raw")
    postgres = await raw_postgres_rate(raw_dsn)
    rabbitmq = await raw_rabbitmq_rate()
    service_dsn = await fresh_database("pos_bench")
    load = await orders_load(service_dsn)
    return {
        "concurrency": float(CONCURRENCY),
        "raw_postgres_insert_with_outbox_per_s": postgres,
        "raw_rabbitmq_confirmed_publishes_per_s": rabbitmq,
        **{f"orders_{k}" if not k.startswith("orders") else k: v for k, v in load.items()},
        "orders_vs_raw_postgres_ratio": load["orders_per_s"] / postgres,
        "orders_vs_raw_rabbitmq_ratio": load["orders_per_s"] / rabbitmq,
    }


if __name__ == "__main__":
    for key, value in asyncio.run(run()).items():
        print(f"{key:45} {value:12.2f}")
