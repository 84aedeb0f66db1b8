"""The faults an operator meets, each injected mid-stream and recovered from the way it happens:
the broker killed or dropping every connection, the database restarted, Odoo away or losing its
answers after it committed, and any one of our processes killed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.faults.stack import Stack
from tests.faults.tablet import FaultWindow
from tests.faults.tenant import ProTenant

# Odoo's session flow as the connector drives it, one lost answer each; the opening float goes
# with set_cashbox_pos on 16 and 17, set_opening_control on 18.
SESSION_METHODS = (
    "create",
    "post_closing_cash_details",
    "update_closing_control_state_session",
    "close_session_from_ui",
)
ORDER_ANSWERS_LOST = 6


@dataclass(frozen=True)
class Timings:
    """How long each fault lasts; the full mode holds them longer."""

    broker_down_s: float
    database_down_s: float
    odoo_down_s: float
    odoo_503_s: float
    lost_answers_window_s: float
    process_down_s: float


@dataclass
class Injection:
    """What a fault did, for the table; `settle` runs once the phase has drained, for faults
    whose effect is only known then (rules that fire when the calls come)."""

    stack: Stack
    tenant: ProTenant
    window: FaultWindow
    timings: Timings
    described: str = ""
    settle: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


@dataclass(frozen=True)
class Fault:
    key: str
    title: str
    run: Callable[[Injection], Awaitable[None]]
    # Only a database outage may answer 503: the broker or Odoo being away never fails a request.
    database_outage: bool = False


async def _broker_kill(injection: Injection) -> None:
    rabbitmq = injection.stack.rabbitmq
    # The helper writes out the node's tables first, as a node that has run a while has them on
    # disk; kill -9 of every broker process follows.
    await injection.stack.blocking(rabbitmq.kill)
    injection.window.begin()
    started = time.monotonic()
    await asyncio.sleep(injection.timings.broker_down_s)
    await injection.stack.blocking(rabbitmq.start)
    injection.window.end()
    injection.described = f"kill -9; back after {time.monotonic() - started:.1f}s"


async def _broker_close_connections(injection: Injection) -> None:
    rabbitmq = injection.stack.rabbitmq
    for _ in range(2):
        await injection.stack.blocking(rabbitmq.close_all_connections, "closed by the suite")
        if not injection.window.injected.is_set():
            injection.window.begin()
        await asyncio.sleep(2)
    injection.window.end()
    injection.described = "close_all_connections ×2"


async def _database_restart(injection: Injection) -> None:
    postgres = injection.stack.postgres
    await injection.stack.blocking(postgres.stop, "fast")
    injection.window.begin()
    started = time.monotonic()
    await asyncio.sleep(injection.timings.database_down_s)
    await injection.stack.blocking(postgres.start)
    injection.window.end()
    injection.described = f"stop, start; down {time.monotonic() - started:.1f}s"


async def _odoo_outage(injection: Injection) -> None:
    emulator = injection.stack.emulator
    timings = injection.timings
    await emulator.go_down()
    injection.window.begin()
    await asyncio.sleep(timings.odoo_down_s)
    await emulator.come_up()
    await asyncio.sleep(1)
    await emulator.fail(
        "http_503", fraction=1.0, service="object", database=injection.tenant.odoo_database
    )
    await asyncio.sleep(timings.odoo_503_s)
    await emulator.clear_faults()
    injection.window.end()
    injection.described = (
        f"down {timings.odoo_down_s:.0f}s, then 503 on object {timings.odoo_503_s:.0f}s"
    )


async def _odoo_lost_answers(injection: Injection) -> None:
    """Connection resets after Odoo committed, on order creates and every step of a session's
    opening and closing; counted rules stay armed until a call uses them up."""
    emulator = injection.stack.emulator
    database = injection.tenant.odoo_database
    v18 = injection.stack.odoo_version == 18
    armed = {("pos.order", "sync_from_ui" if v18 else "create_from_ui"): ORDER_ANSWERS_LOST}
    opening = "set_opening_control" if v18 else "set_cashbox_pos"
    armed.update({("pos.session", method): 1 for method in (*SESSION_METHODS, opening)})
    for (model, method), count in armed.items():
        await emulator.fail(
            "connection_reset",
            count=count,
            model=model,
            method=method,
            database=database,
            after_commit=True,
        )
    injection.window.begin()
    await asyncio.sleep(injection.timings.lost_answers_window_s)
    injection.window.end()

    async def count_lost() -> None:
        left = sum(rule["count"] or 0 for rule in (await emulator.faults())["rules"])
        await emulator.clear_faults()
        total = sum(armed.values())
        injection.described = f"{total - left}/{total} answers lost after commit"

    injection.settle.append(count_lost)


def _kill_process(name: str) -> Callable[[Injection], Awaitable[None]]:
    async def kill(injection: Injection) -> None:
        process = injection.stack.services[name]
        await asyncio.to_thread(process.kill)
        injection.window.begin()
        started = time.monotonic()
        await asyncio.sleep(injection.timings.process_down_s)
        process.start()
        await process.wait_ready()
        injection.window.end()
        injection.described = f"kill -9; ready after {time.monotonic() - started:.1f}s"

    return kill


FAULTS = {
    fault.key: fault
    for fault in (
        Fault("broker-kill", "RabbitMQ killed and restarted", _broker_kill),
        Fault("broker-close", "RabbitMQ closes all connections", _broker_close_connections),
        Fault("db-restart", "PostgreSQL restarted", _database_restart, database_outage=True),
        Fault("odoo-outage", "Odoo down, then 503 on object", _odoo_outage),
        Fault("odoo-lost-answers", "Odoo answers lost after commit", _odoo_lost_answers),
        Fault("kill-orders", "orders killed (kill -9)", _kill_process("orders")),
        Fault("kill-registers", "registers killed (kill -9)", _kill_process("registers")),
        Fault("kill-reporting", "reporting killed (kill -9)", _kill_process("reporting")),
        Fault("kill-connector", "one connector replica killed", _kill_process("connector-1")),
    )
}
QUICK = (
    "broker-kill",
    "broker-close",
    "db-restart",
    "odoo-outage",
    "odoo-lost-answers",
    "kill-connector",
)
FULL = tuple(FAULTS)
