"""Orders through the running service, beside the same servers' raw limits, in one run.

The service is driven by a lean HTTP client (http_load.py) whose own CPU is reported, so a
reader can see it leaves the machine to the service. The service's CPU per order is read from
/proc for its whole process tree, from before the load until the relay has published it. Its
ceiling is the statement sequence of one order replayed raw from asyncpg (order_statements.py)
on the database the service migrated, at the same concurrency; the batch path is measured the
same way as the single one. `done_when` turns the figures into issue 17's targets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
from bench_results import Check, Figures, broker_connection
from http_load import LoadResult, RequestTemplate, load, placeholder_id
from order_statements import order_replay, statements_replayed
from process_cpu import (
    MachineTicks,
    command_line,
    cpu_by_pid,
    cpu_spent,
    is_local_process,
    process_tree,
)
from service_process import ServiceProcess, running_service_process

from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.events.contracts import RegisterCreated
from shared.events.envelope import EventEnvelope
from shared.postgres import Db, create_pool

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "10"))
WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", str(min(2.0, DURATION_S / 2))))
BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "100"))
# Tablets coming back online at once, each on its own register.
BATCH_CONCURRENCY = int(os.environ.get("BENCH_BATCH_CONCURRENCY", "8"))
# Names of the bench's databases and broker objects, so two benches on one server stay apart.
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "pos_bench")
NAMESPACE = os.environ.get("BENCH_NAMESPACE", "bench")
REGISTERS = max(8, BATCH_CONCURRENCY)
SCHEMA = "orders"
DRAIN_WITHIN_S = 60.0
# How often the service's Postgres connections are looked at during a load.
BACKEND_SAMPLE_EVERY_S = 0.02


@dataclass(frozen=True)
class Rate:
    done: int
    seconds: float
    # This process's CPU meanwhile: what driving the work cost on the client side.
    client_cpu_s: float
    # Postgres's, where its processes are on this machine.
    postgres_cpu_s: float | None = None

    @property
    def per_s(self) -> float:
        return self.done / self.seconds

    @property
    def client_cpu_ms_each(self) -> float:
        return self.client_cpu_s / self.done * 1000 if self.done else 0.0

    def figures(self, prefix: str) -> Figures:
        figures = {
            f"{prefix}_per_s": self.per_s,
            f"{prefix}_client_cpu_ms_per_order": self.client_cpu_ms_each,
        }
        if self.postgres_cpu_s is not None and self.done:
            figures[f"{prefix}_postgres_cpu_ms_per_order"] = self.postgres_cpu_s / self.done * 1000
        return figures


async def _for_duration(
    work: Callable[[int], Awaitable[None]], concurrency: int, duration_s: float
) -> Rate:
    """Runs `work` in `concurrency` loops for `duration_s`."""
    done = 0
    deadline = time.perf_counter() + duration_s

    async def loop(worker: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await work(worker)
            done += 1

    cpu_before, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    return Rate(done, time.perf_counter() - started, time.process_time() - cpu_before)


async def fresh_database(name: str) -> str:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


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

        return (await _for_duration(insert, CONCURRENCY, DURATION_S / 2)).per_s
    finally:
        await pool.close()


async def _quorum_queue_on(
    connection: aio_pika.abc.AbstractConnection, exchange_name: str, queue_name: str
) -> tuple[aio_pika.abc.AbstractExchange, aio_pika.abc.AbstractQueue]:
    """A durable topic exchange with a quorum queue bound to all it carries, on a confirming
    channel whose unroutable publishes raise."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await channel.declare_exchange(
        exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(
        queue_name, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await queue.bind(exchange, "#")
    return exchange, queue


async def raw_rabbitmq_rate() -> float:
    """Persistent, confirmed, mandatory publishes into a quorum queue, one by one per worker."""
    connection = await broker_connection()
    try:
        exchange, queue = await _quorum_queue_on(connection, f"{NAMESPACE}.raw", f"{NAMESPACE}.raw")
        body = b'{"total": 920}' * 40

        async def publish(_: int) -> None:
            await exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key="order.placed",
                mandatory=True,
            )

        rate = await _for_duration(publish, CONCURRENCY, DURATION_S / 2)
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
        return rate.per_s
    finally:
        await connection.close()


async def raw_order_statements_rate(dsn: str, registers: list[Register]) -> Rate:
    """One order's own statements, replayed raw on the service's database at the same
    concurrency, each loop on a register as the HTTP load spreads them."""
    pool = await create_pool(dsn, SCHEMA, "bench-raw", CONCURRENCY, CONCURRENCY)
    try:
        replays = [
            await order_replay(
                pool, r.tenant_id, r.register_id, _order(r.register_id, uuid.uuid4())
            )
            for r in registers
        ]

        async def place(worker: int) -> None:
            await replays[worker % len(replays)](pool)

        for worker in range(len(replays)):
            await place(worker)
        async with pool.acquire() as conn:
            backends = await _backend_pids(conn)
        postgres_before = cpu_by_pid(backends)
        # The full duration, as the service's: this is the ratio the issue's target is on.
        rate = await _for_duration(place, CONCURRENCY, DURATION_S)
        postgres_s = cpu_spent(postgres_before, cpu_by_pid(backends)) if backends else None
        return replace(rate, postgres_cpu_s=postgres_s)
    finally:
        await pool.close()


def orders_service(dsn: str) -> contextlib.AbstractAsyncContextManager[ServiceProcess]:
    return running_service_process(
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


@contextlib.asynccontextmanager
async def _event_sink() -> AsyncIterator[aio_pika.abc.AbstractExchange]:
    """A queue bound to every event, so the relay's publishes are routable, as in production;
    yields the events exchange."""
    connection = await broker_connection()
    try:
        exchange, queue = await _quorum_queue_on(
            connection, f"{NAMESPACE}.pos.events", f"{NAMESPACE}.sink"
        )
        try:
            yield exchange
        finally:
            await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()


@dataclass(frozen=True)
class Register:
    tenant_id: uuid.UUID
    register_id: uuid.UUID
    authorization: str


async def _seed_registers(exchange: aio_pika.abc.AbstractExchange) -> list[Register]:
    tenant = uuid.uuid4()
    issuer = TokenIssuer(DEV_PRIVATE_KEY)
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
            data, tenant_id=tenant, aggregate_id=register_id, aggregate_version=1, producer="bench"
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
        token = issuer.issue(
            subject="bench", tenant_id=tenant, role=Role.CASHIER, register_id=register_id
        )
        registers.append(Register(tenant, register_id, f"Bearer {token}"))
    return registers


# One timestamp for every order of the run, so each request body keeps its length.
CREATED_AT = datetime.now(UTC).isoformat()


def _order(register_id: uuid.UUID, order_id: uuid.UUID | str) -> dict[str, Any]:
    money = {"currency": "EUR"}
    return {
        "id": str(order_id),
        "register_id": str(register_id),
        "created_at": CREATED_AT,
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


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def single_template(url: str, register: Register) -> RequestTemplate:
    body = _compact(_order(register.register_id, placeholder_id(0)))
    headers = {"Authorization": register.authorization}
    return RequestTemplate.post_json(url, "/v1/orders", body, headers, ids=1)


def batch_template(url: str, register: Register, size: int) -> RequestTemplate:
    orders = [_order(register.register_id, placeholder_id(i)) for i in range(size)]
    headers = {"Authorization": register.authorization}
    return RequestTemplate.post_json(
        url, "/v1/orders/batch", _compact({"orders": orders}), headers, ids=size
    )


def created_one(status: int, _: bytes) -> int:
    return 1 if status == 201 else 0


def created_in_batch(status: int, body: bytes) -> int:
    if status != 200:
        return 0
    return sum(1 for result in json.loads(body)["results"] if result["outcome"] == "created")


@dataclass
class BackendSamples:
    """What the service's Postgres connections were doing, sampled through a load: how many
    were in each state, and which statements the active ones were running, with what they were
    waiting on ([running] when nothing: on a CPU or queued for one)."""

    samples: int = 0
    states: Counter[str] = field(default_factory=Counter)
    statements: Counter[str] = field(default_factory=Counter)

    def average(self, state: str) -> float:
        return self.states[state] / self.samples if self.samples else 0.0

    def top_statements(self, how_many: int = 5) -> str:
        total = sum(self.statements.values())
        return "; ".join(
            f"{count / total:.0%} {statement}"
            for statement, count in self.statements.most_common(how_many)
        )


async def _sample_backends(conn: asyncpg.Connection, until: asyncio.Event) -> BackendSamples:
    sampled = BackendSamples()
    while not until.is_set():
        rows = await conn.fetch(
            r"""SELECT state,
                       '[' || coalesce(wait_event_type || ':' || wait_event, 'running') || '] '
                       || left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement
                FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND backend_type = 'client backend'"""
        )
        sampled.samples += 1
        for row in rows:
            sampled.states[row["state"] or "unknown"] += 1
            if row["state"] == "active":
                sampled.statements[row["statement"]] += 1
        await asyncio.sleep(BACKEND_SAMPLE_EVERY_S)
    return sampled


@dataclass(frozen=True)
class Measured:
    """A load on the service with the CPU it cost, from its start until its events were out."""

    load: LoadResult
    service_cpu_s: float
    postgres_cpu_s: float | None
    machine_busy_fraction: float
    drain_s: float
    service_processes: int
    backends: BackendSamples

    def per_order_ms(self, cpu_s: float) -> float:
        return cpu_s / self.load.accepted * 1000 if self.load.accepted else 0.0


async def _backend_pids(conn: Db) -> list[int]:
    pids: list[int] = [
        r["pid"]
        for r in await conn.fetch(
            """SELECT pid FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()"""
        )
    ]
    # The server may be on another machine, where its processes are not ours to read.
    return [pid for pid in pids if is_local_process(pid, "postgres")]


async def _outbox_drained(conn: asyncpg.Connection) -> float:
    """Waits until the relay has published every event; returns the seconds it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < DRAIN_WITHIN_S:
        if not await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.outbox WHERE published_at IS NULL"
        ):
            break
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def measured(
    service: ServiceProcess, conn: asyncpg.Connection, work: Awaitable[LoadResult]
) -> Measured:
    await _outbox_drained(conn)
    tree = process_tree(service.pid)
    backends = await _backend_pids(conn)
    service_before, postgres_before = cpu_by_pid(tree), cpu_by_pid(backends)
    ticks_before = MachineTicks.now()
    loaded = asyncio.Event()
    sampler = asyncio.create_task(_sample_backends(conn, loaded))
    try:
        result = await work
    finally:
        loaded.set()
        backends_seen = await sampler
    ticks_after = MachineTicks.now()
    drain_s = await _outbox_drained(conn)
    tree = process_tree(service.pid)
    _NOTES["service_process_tree"] = _described(tree)
    backends = sorted({*backends, *await _backend_pids(conn)})
    return Measured(
        load=result,
        service_cpu_s=cpu_spent(service_before, cpu_by_pid(tree)),
        postgres_cpu_s=cpu_spent(postgres_before, cpu_by_pid(backends)) if backends else None,
        machine_busy_fraction=ticks_after.busy_fraction_since(ticks_before),
        drain_s=drain_s,
        service_processes=len(tree),
        backends=backends_seen,
    )


def _figures(prefix: str, run: Measured, orders_per_request: int) -> Figures:
    """A measured load as figures: `prefix`_orders_per_s and latencies of its requests."""
    load = run.load
    figures = {
        f"{prefix}_orders_per_s": load.accepted / load.wall_s,
        f"{prefix}_p50_ms": load.latency_ms(0.5),
        f"{prefix}_p99_ms": load.latency_ms(0.99),
        f"{prefix}_orders_not_created": float(load.requests * orders_per_request - load.accepted),
        f"{prefix}_service_cpu_ms_per_order": run.per_order_ms(run.service_cpu_s),
        f"{prefix}_generator_cpu_ms_per_order": run.per_order_ms(load.generator_cpu_s),
        f"{prefix}_machine_cpu_busy_pct": run.machine_busy_fraction * 100,
        f"{prefix}_outbox_drain_after_load_s": run.drain_s,
    }
    if run.postgres_cpu_s is not None:
        figures[f"{prefix}_postgres_cpu_ms_per_order"] = run.per_order_ms(run.postgres_cpu_s)
    for state in ("active", "idle in transaction"):
        name = state.replace(" ", "_")
        figures[f"{prefix}_postgres_connections_{name}_avg"] = run.backends.average(state)
    _NOTES[f"{prefix}_postgres_active_statements"] = run.backends.top_statements()
    return figures


async def _replicas_known(conn: asyncpg.Connection) -> None:
    for _ in range(200):
        if await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.registers") == REGISTERS:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the orders service never stored the bench's registers")


def _accepted_any(warm_up: LoadResult, what: str) -> None:
    if not warm_up.accepted:
        raise RuntimeError(f"{what} accepted nothing while warming up: {warm_up.first_failure}")


async def single_figures(
    dsn: str, exchange: aio_pika.abc.AbstractExchange
) -> tuple[Figures, list[Register]]:
    """Single orders through the running service, on registers it is told of first."""
    async with orders_service(dsn) as service:
        registers = await _seed_registers(exchange)
        conn = await asyncpg.connect(dsn)
        try:
            await _replicas_known(conn)
            singles = [
                single_template(service.url, registers[i % REGISTERS]) for i in range(CONCURRENCY)
            ]
            # Opens each register's session, and warms every worker process.
            _accepted_any(await load(service.url, singles, WARMUP_S, created_one), "POST /orders")
            single = await measured(
                service, conn, load(service.url, singles, DURATION_S, created_one)
            )
        finally:
            await conn.close()
    figures = {"service_processes": float(single.service_processes)}
    return figures | _figures("single", single, 1), registers


def _described(tree: list[int]) -> str:
    """The processes of a tree by what they run, the interpreter's path left out."""
    commands = Counter(" ".join((command_line(pid) or "?").split()[1:])[:80] or "?" for pid in tree)
    return "; ".join(f"{count} x {command}" for command, count in commands.items())


async def batch_figures(dsn: str, registers: list[Register]) -> Figures:
    """Batches through the running service, each connection a tablet on its own register."""
    async with orders_service(dsn) as service:
        conn = await asyncpg.connect(dsn)
        try:
            batches = [
                batch_template(service.url, registers[i], BATCH_SIZE)
                for i in range(BATCH_CONCURRENCY)
            ]
            warm_up = await load(service.url, batches, WARMUP_S, created_in_batch)
            if warm_up.first_failure is not None and warm_up.first_failure[0] in (404, 405):
                print("POST /v1/orders/batch is not served: the batch path is not measured")
                return {}
            _accepted_any(warm_up, "POST /orders/batch")
            batch = await measured(
                service, conn, load(service.url, batches, DURATION_S, created_in_batch)
            )
        finally:
            await conn.close()
    return {
        "batch_size": float(BATCH_SIZE),
        "batch_concurrency": float(BATCH_CONCURRENCY),
        **_figures("batch", batch, BATCH_SIZE),
    }


async def run() -> Figures:
    raw_database = f"{DATABASE_PREFIX}_raw"
    postgres = await raw_postgres_rate(await fresh_database(raw_database))
    await drop_database(raw_database)
    rabbitmq = await raw_rabbitmq_rate()
    service_dsn = await fresh_database(DATABASE_PREFIX)
    async with _event_sink() as exchange:
        single, registers = await single_figures(service_dsn, exchange)
        # Straight after the single orders, on their database and registers (which have an
        # open session), with the service stopped: the ceiling is measured as close to the
        # service as this machine allows, and no relay publishes what the replay writes.
        raw_order = await raw_order_statements_rate(service_dsn, registers[:CONCURRENCY])
        batch = await batch_figures(service_dsn, registers)
    await drop_database(DATABASE_PREFIX)
    orders_per_s = single["single_orders_per_s"]
    figures = {
        "concurrency": float(CONCURRENCY),
        "raw_postgres_insert_with_outbox_per_s": postgres,
        "raw_rabbitmq_confirmed_publishes_per_s": rabbitmq,
        **raw_order.figures("raw_order_statements"),
        **single,
        **batch,
        "single_vs_raw_order_statements_ratio": orders_per_s / raw_order.per_s,
        "single_vs_raw_postgres_ratio": orders_per_s / postgres,
        "single_vs_raw_rabbitmq_ratio": orders_per_s / rabbitmq,
    }
    if batch:
        figures["batch_vs_single_ratio"] = batch["batch_orders_per_s"] / orders_per_s
    return figures


# What the last run's loads found, in words, for `notes`.
_NOTES: dict[str, str] = {}


def notes() -> dict[str, str]:
    return {
        "raw_order_statements": statements_replayed(),
        "load_generator": "asyncio HTTP/1.1 keep-alive, one request in flight per connection",
        **_NOTES,
    }


def _check(figures: Figures, key: str, statement: str, passes: Callable[[float], bool]) -> Check:
    if key not in figures:
        return Check(statement, passed=False, measured=f"not measured ({key} missing)")
    value = figures[key]
    return Check(statement, passed=passes(value), measured=f"{key} = {value:,.2f}")


def done_when(figures: Figures) -> list[Check]:
    """Issue 17's targets for the orders service."""
    return [
        _check(
            figures,
            "single_service_cpu_ms_per_order",
            "service CPU per order <= 1.0 ms",
            lambda ms: 0 < ms <= 1.0,
        ),
        _check(
            figures,
            "single_vs_raw_order_statements_ratio",
            "orders >= 0.5 x the raw same-transaction rate",
            lambda ratio: ratio >= 0.5,
        ),
        _check(
            figures,
            "batch_vs_single_ratio",
            "batch path >= 5 x the single path's orders/s",
            lambda ratio: ratio >= 5,
        ),
    ]


if __name__ == "__main__":
    for key, value in asyncio.run(run()).items():
        print(f"{key:45} {value:12.2f}")
    print("(figures measured in this run; see run_all.py for the table, JSON and checks)")
