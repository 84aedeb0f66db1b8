"""The system under test as an operator runs it: a private PostgreSQL cluster and RabbitMQ node,
the Odoo emulator and the four services (the connector twice), each service its own process.

The shared servers on this machine carry other people's tests, so everything the suite takes
away is its own; all of it is stopped when the run ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx

from odoo_emulator.testing import EmulatorControl
from test_support.private_servers import (
    PrivatePostgres,
    PrivateRabbitMQ,
    free_port,
    private_postgres_cluster,
    private_rabbitmq_node,
)

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "pos"
# What the suite changes from a service's defaults: retries short enough that a run drains in
# seconds, polls short enough that an outage's end is noticed at once. The wait round stays the
# production one (CONNECTOR_WAIT_MS, 5 s), so the drain a fault reports is the catch-up an
# operator would see.
COMMON_SETTINGS = {
    "DEV_MODE": "true",
    "LOG_JSON": "true",
    "LOG_LEVEL": "INFO",
    "OUTBOX_POLL_INTERVAL_S": "0.5",
    "BROKER_RECONNECT_INTERVAL_S": "1",
}
CONNECTOR_SETTINGS = {
    "RETRY_DELAYS_MS": "200,400,800,1600,3200",
    "REGISTER_RETRY_DELAYS_MS": "200,400,800,1600,3200",
    "REGISTER_CREATE_SETTLE_MS": "200",
    "BREAKER_PROBE_INITIAL_S": "0.5",
    "BREAKER_PROBE_MAX_S": "2",
    "ODOO_TIMEOUT_S": "10",
}
CONNECTOR_REPLICAS = ("connector-1", "connector-2")
T = TypeVar("T")


@dataclass
class ServiceProcess:
    """One process of ours (`python -m <module> ...`), killed with its whole process group."""

    name: str
    args: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    ready_path: str = "/readyz"
    process: subprocess.Popen[bytes] | None = None
    # Set when the suite killed it on purpose; an exit otherwise is a crash to report.
    killed_on_purpose: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our modules
                [sys.executable, *self.args],
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=ROOT,
                start_new_session=True,
            )
        self.killed_on_purpose = False

    def kill(self) -> None:
        """SIGKILL to the process group, as the OOM killer or a pulled plug would."""
        self.killed_on_purpose = True
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.killed_on_purpose = True
        self.signal_group(signal.SIGTERM)
        if self.process is None:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=30)

    def signal_group(self, number: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, number)

    def crash(self) -> str | None:
        """Why the process is gone when nobody stopped it, else None."""
        if self.process is None or self.killed_on_purpose or self.process.poll() is None:
            return None
        return f"{self.name} exited by itself with code {self.process.returncode}"

    async def wait_ready(self, within_s: float = 90) -> float:
        """Seconds until it answered 200 on its readiness route."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if not self.running:
                    raise RuntimeError(f"{self.name} exited while starting; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.url + self.ready_path)).status_code == 200:
                        return time.monotonic() - started
                if time.monotonic() - started > within_s:
                    raise TimeoutError(f"{self.name} was not ready within {within_s:.0f}s")
                await asyncio.sleep(0.2)


@dataclass
class Stack:
    run_dir: Path
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMQ
    odoo_version: int
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    control: EmulatorControl | None = None
    # Every blocking call on the servers runs here, so that the end of the run can wait for one
    # in flight (a broker starting when Ctrl-C comes) before it takes the servers down.
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2))

    async def blocking(self, call: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, call, *args)

    @property
    def database_url(self) -> str:
        return self.postgres.url.rsplit("/", 1)[0] + f"/{DATABASE}"

    @property
    def odoo_url(self) -> str:
        return self.services["odoo-emulator"].url

    @property
    def emulator(self) -> EmulatorControl:
        assert self.control is not None
        return self.control

    def url(self, name: str) -> str:
        return self.services[name].url

    def service_env(self, prefix: str) -> dict[str, str]:
        env = {
            **COMMON_SETTINGS,
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.rabbitmq.amqp_url,
        }
        if prefix == "CONNECTOR":
            env.update(CONNECTOR_SETTINGS)
        return {f"{prefix}_{key}": value for key, value in env.items()}

    def define_processes(self) -> None:
        odoo_port, control_port = free_port(), free_port()
        emulator = ServiceProcess(
            "odoo-emulator",
            [
                *("-m", "odoo_emulator", "--port", str(odoo_port)),
                *("--control-port", str(control_port)),
                *("--odoo-version", str(self.odoo_version)),
            ],
            {},
            odoo_port,
            self.run_dir / "odoo-emulator.log",
            ready_path="/_emulator/health",
        )
        self.services["odoo-emulator"] = emulator
        self.control = EmulatorControl(f"http://127.0.0.1:{control_port}")
        modules = {
            "registers": ("registers", "REGISTERS"),
            "orders": ("orders", "ORDERS"),
            "reporting": ("reporting", "REPORTING"),
            **dict.fromkeys(CONNECTOR_REPLICAS, ("odoo_connector", "CONNECTOR")),
        }
        for name, (module, prefix) in modules.items():
            port = free_port()
            self.services[name] = ServiceProcess(
                name,
                ["-m", module, "serve", "--port", str(port)],
                self.service_env(prefix),
                port,
                self.run_dir / f"{name}.log",
            )

    async def start_all(self) -> None:
        for process in self.services.values():
            process.start()
        await asyncio.gather(*(p.wait_ready() for p in self.services.values()))

    async def restart_emulator(self, version: int) -> None:
        """A fresh emulated Odoo of another version on the same ports."""
        emulator = self.services["odoo-emulator"]
        emulator.stop()
        self.odoo_version = version
        emulator.args[emulator.args.index("--odoo-version") + 1] = str(version)
        emulator.start()
        await emulator.wait_ready()

    def stop_all(self) -> None:
        """SIGTERM to all at once, then SIGKILL to whoever is still there after 10 s."""
        for process in self.services.values():
            process.killed_on_purpose = True
            process.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.services.values():
            if process.process is None:
                continue
            try:
                process.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    def crashes(self) -> list[str]:
        return [why for p in self.services.values() if (why := p.crash()) is not None]

    async def heal(self) -> None:
        """Everything up again after a fault, whatever state the fault left it in."""
        if not self.postgres.running:
            await self.blocking(self.postgres.start)
        if not self.rabbitmq.running:
            await self.blocking(self.rabbitmq.start)
        with contextlib.suppress(httpx.HTTPError, RuntimeError):
            await self.emulator.come_up()
            await self.emulator.clear_faults()
        for process in self.services.values():
            if not process.running:
                process.start()
        await asyncio.gather(*(p.wait_ready() for p in self.services.values()))

    def dead_letter_queues(self) -> dict[str, int]:
        """Messages in each `.dlq` queue of the private node."""
        listed = self.rabbitmq.ctl("list_queues", "name", "messages", "--no-table-headers")
        counts: dict[str, int] = {}
        for row in listed.splitlines():
            parts = row.split()
            if len(parts) == 2 and parts[0].endswith(".dlq"):
                counts[parts[0]] = int(parts[1])
        return counts

    async def platform_admin_token(self) -> str:
        """The registers service's own CLI, as an operator of a fresh install runs it."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "registers",
            "platform-admin-token",
            "--subject",
            "fault-suite",
            env={**os.environ, **self.service_env("REGISTERS"), "REGISTERS_LOG_LEVEL": "WARNING"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"registers platform-admin-token failed: {err.decode()}")
        return out.decode().strip()


async def _create_database(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def _keep_logs(stack: Stack) -> None:
    """The servers' own logs beside ours: their directories are removed when they stop."""
    with contextlib.suppress(OSError):
        shutil.copy(stack.postgres.base_dir / "server.log", stack.run_dir / "postgres.log")
    with contextlib.suppress(OSError):
        shutil.copytree(
            stack.rabbitmq.base_dir / "log", stack.run_dir / "rabbitmq", dirs_exist_ok=True
        )


@contextlib.contextmanager
def _private_servers() -> Iterator[tuple[PrivatePostgres, PrivateRabbitMQ]]:
    # The connector partitions its orders' queue with the consistent-hash exchange type.
    with (
        private_postgres_cluster() as postgres,
        private_rabbitmq_node(("rabbitmq_consistent_hash_exchange",)) as rabbitmq,
    ):
        yield postgres, rabbitmq


@contextlib.asynccontextmanager
async def running_stack(run_dir: Path, odoo_version: int) -> AsyncIterator[Stack]:
    """Every server and service started and ready; all stopped on the way out."""
    servers = _private_servers()
    entering = asyncio.ensure_future(asyncio.to_thread(servers.__enter__))
    try:
        postgres, rabbitmq = await asyncio.shield(entering)
    except asyncio.CancelledError:
        # Interrupted while the servers start: let them finish starting, then take them down.
        with contextlib.suppress(Exception):
            await entering
            servers.__exit__(None, None, None)
        raise
    stack = Stack(run_dir, postgres, rabbitmq, odoo_version)
    try:
        await _create_database(postgres.url)
        stack.define_processes()
        await stack.start_all()
        yield stack
    finally:
        # Blocking on purpose: however we got here (a failure, Ctrl-C, a time-out), nothing of
        # ours may outlive the run, and there is nothing else left for the loop to do.
        try:
            stack.stop_all()
            if stack.control is not None:
                with contextlib.suppress(RuntimeError):
                    await stack.control.aclose()
        finally:
            stack.executor.shutdown(wait=True, cancel_futures=True)
            _keep_logs(stack)
            servers.__exit__(None, None, None)
