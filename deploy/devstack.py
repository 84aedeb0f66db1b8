"""`make run`: the whole system as local processes against this machine's Postgres and RabbitMQ.

Starts every service that exists plus an Odoo emulator, seeds a demo Starter and a demo Pro
tenant, prints the URLs and tokens, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
import typer
from rich.console import Console
from rich.table import Table

from shared.auth import DEV_PRIVATE_KEY, Role, TokenIssuer
from shared.events.contracts import RegisterCreated
from shared.events.envelope import EventEnvelope

console = Console()
ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
DEMO = uuid.UUID("8d3c0f5e-2b1a-4c7e-9f60-1a2b3c4d5e6f")


def demo_id(name: str) -> uuid.UUID:
    """Stable ids, so demo tokens printed yesterday still work today."""
    return uuid.uuid5(DEMO, name)


@dataclass(frozen=True)
class DemoRegister:
    tenant_name: str
    tier: str
    tenant_id: uuid.UUID
    shop_id: uuid.UUID
    register_id: uuid.UUID
    name: str
    prefix: str


DEMO_REGISTERS = (
    DemoRegister(
        "Demo Cafe (Starter)",
        "starter",
        demo_id("tenant:cafe"),
        demo_id("shop:cafe"),
        demo_id("register:cafe-1"),
        "Counter",
        "CAFE",
    ),
    DemoRegister(
        "Demo Bistro (Pro)",
        "pro",
        demo_id("tenant:bistro"),
        demo_id("shop:bistro"),
        demo_id("register:bistro-1"),
        "Bar",
        "BIS",
    ),
)


async def ensure_database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(server_url)
    try:
        if not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


# The queues that must exist before demo registers are announced, so every service hears them.
CONSUMER_QUEUES = ("orders.registers", "reporting.events")


async def wait_for_queues(amqp_url: str, names: tuple[str, ...], within_s: float = 30) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        for name in names:
            deadline = time.monotonic() + within_s
            while True:
                channel = await connection.channel()
                try:
                    await channel.declare_queue(name, passive=True)
                    break
                except aio_pika.exceptions.ChannelClosed as missing:
                    if time.monotonic() > deadline:
                        message = f"queue {name} was not declared within {within_s:.0f}s"
                        raise SystemExit(message) from missing
                    await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def seed_registers(amqp_url: str, exchange: str) -> None:
    """Announces the demo registers as the registers service will once it exists."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        target = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for demo in DEMO_REGISTERS:
            data = RegisterCreated(
                register_id=demo.register_id,
                shop_id=demo.shop_id,
                name=demo.name,
                receipt_prefix=demo.prefix,
                active=True,
                currency="EUR",
                timezone="Europe/Paris",
                business_day_cutoff="04:00",
                tenant_tier=demo.tier,
                sync_state="pending_create" if demo.tier == "pro" else "local",
            )
            envelope = EventEnvelope.wrap(
                data,
                tenant_id=demo.tenant_id,
                aggregate_id=demo.register_id,
                aggregate_version=1,
                producer="devstack",
            )
            message = aio_pika.Message(
                envelope.model_dump_json().encode(), message_id=str(envelope.id)
            )
            # The orders service declares its queue as it starts; wait until it is bound.
            for _ in range(100):
                try:
                    await target.publish(message, routing_key=envelope.type, mandatory=True)
                    break
                except aio_pika.exceptions.DeliveryError:
                    await asyncio.sleep(0.2)
            else:
                raise SystemExit("no service consumed register events within 20 s")
    finally:
        await connection.close()


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], name: str, within_s: float = 60
) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited early; see {RUN_DIR / (name + '.log')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"{name} did not answer at {url} within {within_s:.0f}s")


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    RUN_DIR.mkdir(exist_ok=True)
    log = (RUN_DIR / f"{name}.log").open("ab")
    return subprocess.Popen(  # noqa: S603 - our own interpreter and modules
        [sys.executable, *args],
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
        cwd=ROOT,
        start_new_session=True,
    )


def main(
    database_url: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        envvar="DATABASE_URL",
        help="a Postgres server's maintenance database; the stack uses database pos_dev on it",
    ),
    amqp_url: str = typer.Option("amqp://guest:guest@127.0.0.1:5672/", envvar="AMQP_URL"),
    odoo_version: int = typer.Option(17, help="the emulated Odoo's version: 16, 17 or 18"),
    once: bool = typer.Option(False, help="start, seed, print, then stop (for a smoke check)"),
) -> None:
    """Runs the whole system locally until Ctrl-C."""
    stack_db = asyncio.run(ensure_database(database_url, "pos_dev"))
    common = {"DEV_MODE": "true", "LOG_JSON": "true"}
    services = {
        "odoo-emulator": (
            ["-m", "odoo_emulator", "--port", "8069", "--odoo-version", str(odoo_version)],
            {},
            "http://127.0.0.1:8069/web/webclient/version_info",
        ),
        "orders": (
            ["-m", "orders", "serve"],
            {
                f"ORDERS_{k}": v
                for k, v in {**common, "DATABASE_URL": stack_db, "AMQP_URL": amqp_url}.items()
            },
            "http://127.0.0.1:8001/readyz",
        ),
        "reporting": (
            ["-m", "reporting", "serve"],
            {
                f"REPORTING_{k}": v
                for k, v in {**common, "DATABASE_URL": stack_db, "AMQP_URL": amqp_url}.items()
            },
            "http://127.0.0.1:8003/readyz",
        ),
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, (args, env, probe) in services.items():
            processes[name] = start(name, args, env)
            wait_until_up(probe, processes[name], name)
        asyncio.run(wait_for_queues(amqp_url, CONSUMER_QUEUES))
        asyncio.run(seed_registers(amqp_url, "pos.events"))
        print_welcome(odoo_version)
        if not once:
            signal.signal(signal.SIGTERM, _interrupt)
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            dead = [name for name, process in processes.items() if process.poll() is not None]
            console.print(f"[red]{', '.join(dead)} stopped unexpectedly; see {RUN_DIR}[/red]")
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        console.print("[dim]stopped[/dim]")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def print_welcome(odoo_version: int) -> None:
    issuer = TokenIssuer(DEV_PRIVATE_KEY)
    urls = Table(title="Running", show_header=True)
    urls.add_column("service")
    urls.add_column("URL")
    urls.add_row("orders (POS tablets)", "http://127.0.0.1:8001/docs")
    urls.add_row("reporting (dashboards, X/Z)", "http://127.0.0.1:8003/docs")
    urls.add_row(f"Odoo {odoo_version} emulator", "http://127.0.0.1:8069/jsonrpc")
    console.print(urls)
    for demo in DEMO_REGISTERS:
        device = issuer.issue(
            subject=f"tablet:{demo.prefix.lower()}",
            tenant_id=demo.tenant_id,
            role=Role.CASHIER,
            register_id=demo.register_id,
            ttl=timedelta(days=30),
        )
        manager = issuer.issue(
            subject=f"manager:{demo.prefix.lower()}",
            tenant_id=demo.tenant_id,
            role=Role.MANAGER,
            ttl=timedelta(days=30),
        )
        console.print(
            f"\n[bold]{demo.tenant_name}[/bold]  register {demo.name!r} = {demo.register_id}"
        )
        console.print(f"  device token (cashier): {device}", soft_wrap=True)
        console.print(f"  manager token:          {manager}", soft_wrap=True)
    console.print(
        '\nTry:  curl -s -H "Authorization: Bearer <device token>" http://127.0.0.1:8001/v1/orders'
        f"\nLogs: {RUN_DIR.relative_to(ROOT)}/*.log   Stop: Ctrl-C\n"
    )


if __name__ == "__main__":
    typer.run(main)
