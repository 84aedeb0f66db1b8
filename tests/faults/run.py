"""`make faults` / `make faults-quick`: the system as real processes on a private database and
broker, a Pro tenant's three tills selling through every fault an operator will meet, and what
Odoo and the APIs hold afterwards checked. Exits 1 if any check fails."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import signal
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from tests.faults.checks import OrdersApi, Outcome, revoke_during_fault, verify, wait_for_drain
from tests.faults.faults import FAULTS, FULL, QUICK, Fault, Injection, Timings
from tests.faults.stack import ROOT, Stack, running_stack
from tests.faults.tablet import FaultWindow, Ledger, Tablet, TabletPlan
from tests.faults.tenant import pro_tenant, spare_device_token

# The last till's cashier counts 0.50 short at every close: Odoo must book it once, as a loss.
SHORT_AT_LAST_TILL = 50
# Wide enough for the table in CI's logs too, where there is no terminal to measure.
console = Console(width=None if Console().is_terminal else 240)


class Mode(enum.StrEnum):
    quick = "quick"
    full = "full"


@dataclass(frozen=True)
class Plan:
    faults: tuple[str, ...]
    versions: tuple[int, ...]
    tablet: TabletPlan
    timings: Timings
    drain_within_s: float
    phase_within_s: float


PLANS = {
    Mode.quick: Plan(
        QUICK,
        (17,),
        TabletPlan(orders=36, pace_s=0.05),
        Timings(
            broker_down_s=2,
            database_down_s=4,
            odoo_down_s=4,
            odoo_503_s=3,
            lost_answers_window_s=4,
            process_down_s=1,
        ),
        drain_within_s=60,
        phase_within_s=150,
    ),
    Mode.full: Plan(
        FULL,
        (17, 16, 18),
        TabletPlan(orders=120, pace_s=0.02),
        Timings(
            broker_down_s=5,
            database_down_s=8,
            odoo_down_s=10,
            odoo_503_s=6,
            lost_answers_window_s=8,
            process_down_s=3,
        ),
        drain_within_s=120,
        phase_within_s=360,
    ),
}


async def run_phase(
    stack: Stack,
    client: httpx.AsyncClient,
    platform_token: str,
    fault: Fault,
    plan: Plan,
    number: int,
    outcome: Outcome,
) -> None:
    tenant = await pro_tenant(stack, client, platform_token, f"faults-{number:02d}-{fault.key}")
    dlq_before = await stack.blocking(stack.dead_letter_queues)
    spare_id, spare = await spare_device_token(stack, client, tenant)
    ledger = outcome.ledger
    window = FaultWindow()
    injection = Injection(stack, tenant, window, plan.timings)
    tablets = [
        Tablet(
            client,
            stack.url("orders"),
            till,
            tenant.product_ids,
            ledger,
            window,
            seed=number * 10 + i,
            short_by=SHORT_AT_LAST_TILL if i == len(tenant.tills) - 1 else 0,
        )
        for i, till in enumerate(tenant.tills)
    ]
    ledger.inject_after = len(tablets) * plan.tablet.orders // 3

    async def inject_mid_stream() -> None:
        await ledger.due.wait()
        await fault.run(injection)

    revocation = asyncio.create_task(
        revoke_during_fault(stack, client, tenant, spare_id, spare, window)
    )
    try:
        await asyncio.gather(inject_mid_stream(), *(t.run(plan.tablet) for t in tablets))
        settled_at = max(window.recovered_at or 0.0, ledger.last_action_at)
        drained_at = await wait_for_drain(
            OrdersApi(stack, client, tenant), ledger, plan.drain_within_s
        )
        if drained_at is None:
            outcome.fail(f"not everything synced within {plan.drain_within_s:.0f}s of the end")
        else:
            outcome.drain_s = max(0.0, drained_at - settled_at)
        for settle in injection.settle:
            await settle()
        revoked = await asyncio.wait_for(revocation, 60)
        outcome.revocation = revoked.cell
        if revoked.failure is not None:
            outcome.fail(f"revoked token: {revoked.failure}")
        await verify(stack, client, tenant, ledger, dlq_before, outcome, fault.database_outage)
    except BaseException:
        # Cut short (a refusal, the time limit): what happened so far is the evidence.
        await keep_evidence(stack, tenant.odoo_database, ledger)
        raise
    else:
        if not outcome.passed:
            await keep_evidence(stack, tenant.odoo_database, ledger)
    finally:
        revocation.cancel()
        outcome.injected = injection.described or outcome.injected


async def keep_evidence(stack: Stack, database: str, ledger: Ledger) -> None:
    """What Odoo was asked and what the tills were told, beside the services' logs."""
    with contextlib.suppress(httpx.HTTPError, RuntimeError):
        calls = [c for c in await stack.emulator.calls() if c.get("database") == database]
        (stack.run_dir / f"{database}-odoo-calls.json").write_text(json.dumps(calls, indent=1))
    (stack.run_dir / f"{database}-tills.json").write_text(json.dumps(ledger.record(), indent=1))


async def guarded_phase(
    stack: Stack,
    client: httpx.AsyncClient,
    platform_token: str,
    fault: Fault,
    plan: Plan,
    number: int,
) -> Outcome:
    """One fault, bounded in time; whatever happens, the stack is whole again afterwards."""
    outcome = Outcome(fault.key, odoo_version=stack.odoo_version)
    started = time.monotonic()
    console.print(f"[bold]{fault.title}[/bold] (Odoo {stack.odoo_version}) …")
    try:
        await asyncio.wait_for(
            run_phase(stack, client, platform_token, fault, plan, number, outcome),
            plan.phase_within_s,
        )
    except TimeoutError:
        outcome.fail(f"the phase did not finish within {plan.phase_within_s:.0f}s")
    except Exception as error:
        outcome.fail(f"{type(error).__name__}: {error}")
    finally:
        outcome.seconds = time.monotonic() - started
        outcome.accepted = len(outcome.ledger.sales)
        outcome.unavailable = outcome.ledger.unavailable
        outcome.unreachable = outcome.ledger.unreachable
        for crash in stack.crashes():
            outcome.fail(crash)
        try:
            await asyncio.wait_for(stack.heal(), 180)
        except Exception as error:
            outcome.fail(f"the stack could not be made whole again: {error}")
    return outcome


async def run_all(plan: Plan, repeat: int, run_dir: Path) -> list[Outcome]:
    outcomes: list[Outcome] = []
    current = asyncio.current_task()
    assert current is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    console.print(f"Starting PostgreSQL, RabbitMQ, Odoo {plan.versions[0]} and the services …")
    async with (
        running_stack(run_dir, plan.versions[0]) as stack,
        httpx.AsyncClient(timeout=15) as client,
    ):
        platform_token = await stack.platform_admin_token()
        number = 0
        for version in plan.versions:
            if version != stack.odoo_version:
                await stack.restart_emulator(version)
            # Enough to hold a failed phase's calls when they are written out.
            await stack.emulator.set_call_log_size(100_000)
            for _ in range(repeat):
                for key in plan.faults:
                    number += 1
                    outcome = await guarded_phase(
                        stack, client, platform_token, FAULTS[key], plan, number
                    )
                    outcomes.append(outcome)
                    verdict = "[green]pass[/green]" if outcome.passed else "[red]FAIL[/red]"
                    console.print(f"  {verdict} in {outcome.seconds:.0f}s")
    return outcomes


def _ratio(done: int, of: int) -> str:
    return f"{done}/{of}"


def results_table(outcomes: list[Outcome], title: str) -> Table:
    table = Table(title=title)
    for column in (
        "fault",
        "Odoo",
        "injected",
        "accepted",
        "503s / no answer",
        "in Odoo",
        "dup",
        "missing",
        "refunds linked",
        "sessions closed",
        "Z reports",
        "dead letters",
        "revoked token",
        "drain",
        "time",
        "verdict",
    ):
        table.add_column(column, justify="left" if column in ("fault", "injected") else "right")
    for o in outcomes:
        table.add_row(
            o.fault,
            str(o.odoo_version),
            o.injected,
            str(o.accepted),
            f"{o.unavailable} / {o.unreachable}",
            str(o.in_odoo),
            str(o.duplicates),
            str(o.missing),
            _ratio(o.refunds_linked, o.refunds),
            _ratio(o.sessions_closed, o.sessions),
            _ratio(o.reports_right, o.reports),
            str(o.dead_letters),
            o.revocation,
            "-" if o.drain_s is None else f"{o.drain_s:.1f}s",
            f"{o.seconds:.0f}s",
            "[green]pass[/green]" if o.passed else "[red]FAIL[/red]",
        )
    return table


def main(
    mode: Mode = typer.Option(Mode.full, help="quick: CI's reduced set; full: before a release"),
    repeat: int = typer.Option(1, min=1, help="run the faults this many times"),
    fault: list[str] = typer.Option(
        [], help=f"only these faults (repeatable): {', '.join(FAULTS)}"
    ),
    odoo_version: list[int] = typer.Option(
        [], help="only these Odoo versions (repeatable; quick: 17, full: 17, 16, 18)"
    ),
    orders: int = typer.Option(0, min=0, help="orders per register and fault (0: the mode's)"),
) -> None:
    """Runs the fault suite and prints what each fault left behind."""
    plan = PLANS[mode]
    unknown = [key for key in fault if key not in FAULTS]
    if unknown:
        raise typer.BadParameter(f"unknown fault {', '.join(unknown)}", param_hint="--fault")
    plan = replace(
        plan,
        faults=tuple(fault) or plan.faults,
        versions=tuple(odoo_version) or plan.versions,
        tablet=replace(plan.tablet, orders=orders or plan.tablet.orders),
    )
    run_dir = ROOT / ".run" / "faults" / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        outcomes = asyncio.run(run_all(plan, repeat, run_dir))
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted; everything the suite started is stopped[/yellow]")
        raise typer.Exit(130) from None
    elapsed = time.monotonic() - started
    console.print(results_table(outcomes, f"Fault suite, {mode.value} mode, {elapsed:.0f}s"))
    for outcome in outcomes:
        for reason in outcome.failures:
            console.print(f"[red]{outcome.fault} (Odoo {outcome.odoo_version}):[/red] {reason}")
    console.print(f"Logs: {run_dir.relative_to(ROOT)}/")
    if not all(outcome.passed for outcome in outcomes):
        raise typer.Exit(1)


def cli() -> None:
    typer.run(main)
