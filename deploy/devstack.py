"""`make run`: the whole system as local processes against this machine's Postgres and RabbitMQ.

Starts every service that exists plus an Odoo emulator, seeds a demo Starter and a demo Pro
tenant, prints the URLs and tokens, and stops everything on Ctrl-C. Where a `prometheus`
binary is on the machine it runs too, with the compose stack's config and alert rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
import typer
from rich.console import Console
from rich.table import Table

from deploy.demo import DemoUrls, platform_admin_token, print_tenants, seed_demo
from deploy.local_prometheus import start_prometheus
from odoo_connector.bootstrap import delete_broker_state as delete_connector_broker_state
from odoo_connector.settings import ConnectorSettings
from orders.bootstrap import topology as orders_topology
from orders.settings import OrdersSettings
from registers.bootstrap import topology as registers_topology
from registers.settings import RegistersSettings
from reporting.bootstrap import topology as reporting_topology
from reporting.settings import ReportingSettings
from shared.broker import delete_topology

console = Console()
ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"


async def fresh_database(server_url: str, name: str) -> str:
    """The stack's database, emptied: the emulated Odoo starts empty on every run, and ids our
    database kept from a previous run (Odoo sessions, orders) would point at nothing."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


# The stack's exchange and queues are named under this, so it can delete them all at the start
# without touching anything else on the broker.
BROKER_NAMESPACE = "devstack"
# The queues that must exist before the demo is seeded, so every service hears of it at once.
CONSUMER_QUEUES = tuple(
    f"{BROKER_NAMESPACE}.{queue}"
    for queue in ("orders.registers", "reporting.events", "connector.odoo")
)


async def fresh_broker(amqp_url: str) -> None:
    """The stack's queues and exchanges, deleted with what they hold, as its database is: a
    `.dlq` kept from an earlier run would hold dead letters whose records went with that run's
    database. Every service declares its own again when it starts."""
    common: dict[str, Any] = {"amqp_url": amqp_url, "broker_namespace": BROKER_NAMESPACE}
    for topology in (
        orders_topology(OrdersSettings(**common)),
        registers_topology(RegistersSettings(**common)),
        reporting_topology(ReportingSettings(**common)),
    ):
        await delete_topology(amqp_url, topology)
    await delete_connector_broker_state(ConnectorSettings(**common))


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
        help="a Postgres server's maintenance database; the stack recreates database pos_dev on it",
    ),
    amqp_url: str = typer.Option("amqp://guest:guest@127.0.0.1:5672/", envvar="AMQP_URL"),
    odoo_version: int = typer.Option(17, help="the emulated Odoo's version: 16, 17 or 18"),
    once: bool = typer.Option(False, help="start, seed, print, then stop (for a smoke check)"),
) -> None:
    """Runs the whole system locally until Ctrl-C."""
    stack_db = asyncio.run(fresh_database(database_url, "pos_dev"))
    asyncio.run(fresh_broker(amqp_url))
    common = {
        "DEV_MODE": "true",
        "LOG_JSON": "true",
        "DATABASE_URL": stack_db,
        "AMQP_URL": amqp_url,
        "BROKER_NAMESPACE": BROKER_NAMESPACE,
    }

    def env_of(prefix: str) -> dict[str, str]:
        return {f"{prefix}_{key}": value for key, value in common.items()}

    services = {
        "odoo-emulator": (
            ["-m", "odoo_emulator", "--port", "8069", "--odoo-version", str(odoo_version)],
            {},
            "http://127.0.0.1:8069/web/webclient/version_info",
        ),
        "registers": (
            ["-m", "registers", "serve"],
            env_of("REGISTERS"),
            "http://127.0.0.1:8002/readyz",
        ),
        "orders": (["-m", "orders", "serve"], env_of("ORDERS"), "http://127.0.0.1:8001/readyz"),
        "reporting": (
            ["-m", "reporting", "serve"],
            env_of("REPORTING"),
            "http://127.0.0.1:8003/readyz",
        ),
        "odoo-connector": (
            ["-m", "odoo_connector", "serve"],
            env_of("CONNECTOR"),
            "http://127.0.0.1:8004/readyz",
        ),
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        for name, (args, env, probe) in services.items():
            processes[name] = start(name, args, env)
            wait_until_up(probe, processes[name], name)
        asyncio.run(wait_for_queues(amqp_url, CONSUMER_QUEUES))
        seeded = seed_demo(platform_admin_token(env_of("REGISTERS")), DemoUrls())
        # Optional, so not among the processes whose end stops the stack.
        prometheus = start_prometheus(RUN_DIR)
        print_welcome(odoo_version, prometheus is not None)
        print_tenants(seeded)
        print_hints()
        if not once:
            signal.signal(signal.SIGTERM, _interrupt)
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            dead = [name for name, process in processes.items() if process.poll() is not None]
            console.print(f"[red]{', '.join(dead)} stopped unexpectedly; see {RUN_DIR}[/red]")
    except KeyboardInterrupt:
        pass
    finally:
        stopping = [*processes.values(), *([prometheus] if prometheus else [])]
        for process in stopping:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in stopping:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        console.print("[dim]stopped[/dim]")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def print_welcome(odoo_version: int, with_prometheus: bool) -> None:
    urls = Table(title="Running", show_header=True)
    urls.add_column("service")
    urls.add_column("URL")
    urls.add_row("registers (admins: tenants, shops, tokens)", "http://127.0.0.1:8002/docs")
    urls.add_row("orders (POS tablets)", "http://127.0.0.1:8001/docs")
    urls.add_row("reporting (dashboards, X/Z)", "http://127.0.0.1:8003/docs")
    urls.add_row("odoo-connector (ops: health, metrics)", "http://127.0.0.1:8004/metrics")
    urls.add_row(f"Odoo {odoo_version} emulator", "http://127.0.0.1:8069/jsonrpc")
    if with_prometheus:
        urls.add_row(
            "Prometheus (deploy/prometheus: scrapes, alerts)", "http://127.0.0.1:9090/alerts"
        )
    console.print(urls)


def print_hints() -> None:
    console.print(
        '\nTry:  curl -s -H "Authorization: Bearer <device token>" http://127.0.0.1:8001/v1/orders'
        f"\nLogs: {RUN_DIR.relative_to(ROOT)}/*.log   Stop: Ctrl-C\n"
    )


if __name__ == "__main__":
    typer.run(main)
