"""`make bench`: every benchmark, printed as figures and ratios measured in this run, and kept as
JSON in bench-results/ so two runs can be compared (compare.py).

A suite is a module here whose `run()` returns its figures as a dict of numbers; a module may
also offer `done_when(figures)`, the issue's targets it is measured against. Every key a suite
returns lands in the file as it is; `notes()`, if a module has it, says in words what a
figure measured (which statements were replayed, say), kept beside the figures. Name suites on
the command line (or in BENCH_SUITES, comma-separated) to run only those: `run_all.py orders`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from bench_results import Check, Figures, machine_facts, new_run, now, write_run
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
SUITES = {
    "orders": ("Orders service vs raw Postgres and RabbitMQ", "orders_bench.py"),
    "emulator": ("Odoo emulator", "emulator_bench.py"),
    "reporting": ("Reporting read models", "reporting_bench.py"),
    "connector": ("Odoo connector: sync lag and throughput", "connector_bench.py"),
}


def _load(file_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(file_name.removesuffix(".py"), HERE / file_name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _chosen(arguments: list[str]) -> list[str]:
    names = arguments or [n for n in os.environ.get("BENCH_SUITES", "").split(",") if n]
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        raise SystemExit(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    return names or list(SUITES)


def _formatted(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def _table(title: str, figures: Figures, seconds: float) -> Table:
    table = Table(title=title, caption=f"measured in {seconds:.0f} s")
    table.add_column("measure", overflow="fold")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, _formatted(value))
    return table


def _print_checks(console: Console, checks: list[Check]) -> None:
    for check in checks:
        verdict = "[green]PASS[/green]" if check.passed else "[red]FAIL[/red]"
        console.print(f"{verdict} {check.statement}: {check.measured}")


def main(arguments: list[str]) -> int:
    console = Console()
    started_at = now()
    run = new_run(started_at, asyncio.run(machine_facts()))
    machine = run["machine"]
    console.print(
        f"{machine['cores']} cores, Python {machine['python']}, Postgres {machine['postgres']}, "
        f"RabbitMQ {machine['rabbitmq']}, commit {run['code']['commit'][:10]}"
        + (" with uncommitted changes" if run["code"]["uncommitted_changes"] else "")
    )
    for name in _chosen(arguments):
        title, file_name = SUITES[name]
        console.print(f"[bold]{title}[/bold] …")
        began = time.perf_counter()
        try:
            module = _load(file_name)
            figures: Figures = asyncio.run(module.run())
        except Exception as error:
            # One broken suite must not cost the figures of the others.
            console.print(f"[red]{title} failed[/red]")
            traceback.print_exc()
            run["errors"][name] = repr(error)
            continue
        run["suites"][name] = figures
        console.print(_table(title, figures, time.perf_counter() - began))
        notes = getattr(module, "notes", None)
        if notes is not None:
            run["notes"][name] = notes()
            for key, text in run["notes"][name].items():
                console.print(f"{key}: {text}")
        done_when = getattr(module, "done_when", None)
        if done_when is not None:
            checks: list[Check] = done_when(figures)
            _print_checks(console, checks)
            run["checks"] += [{"suite": name, **check.as_json()} for check in checks]
    path = write_run(run, started_at)
    console.print(f"figures written to {path} (and latest.json beside it)")
    return 1 if run["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
