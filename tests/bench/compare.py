"""Two bench runs side by side: `compare.py A.json B.json`, each figure of A and B and B / A.

With no argument, the two newest runs in bench-results/; with one, that run against the newest.
Figures measured on different machines, commits or settings are shown with those facts above
the table, since a ratio across them says less.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench_results import LATEST, read_run, results_dir
from rich.console import Console
from rich.table import Table


def _runs_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if p.name != LATEST)


def chosen_paths(arguments: list[str]) -> tuple[Path, Path]:
    if len(arguments) == 2:
        return Path(arguments[0]), Path(arguments[1])
    runs = _runs_in(results_dir())
    if len(arguments) == 1 and runs:
        return Path(arguments[0]), runs[-1]
    if not arguments and len(runs) >= 2:
        return runs[-2], runs[-1]
    raise SystemExit(
        "usage: compare.py A.json B.json (or one run, against the newest in "
        f"{results_dir()}; or none, for its two newest runs)"
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _cell(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    return f"{number:,.2f}"


def ratio(a: Any, b: Any) -> str:
    """B / A, or a dash where it means nothing (a missing side, a zero A)."""
    first, second = _number(a), _number(b)
    if first is None or second is None or first == 0:
        return "-"
    return f"{second / first:.2f}x"


def comparison_rows(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(suite.measure, A, B, B / A) for every figure either run holds, A's order first."""
    rows = []
    suites = list(dict.fromkeys([*a.get("suites", {}), *b.get("suites", {})]))
    for suite in suites:
        figures_a = a.get("suites", {}).get(suite, {})
        figures_b = b.get("suites", {}).get(suite, {})
        for key in dict.fromkeys([*figures_a, *figures_b]):
            first, second = figures_a.get(key), figures_b.get(key)
            rows.append((f"{suite}.{key}", _cell(first), _cell(second), ratio(first, second)))
    return rows


def _describe(label: str, path: Path, run: dict[str, Any]) -> str:
    machine, code = run.get("machine", {}), run.get("code", {})
    dirty = " (uncommitted changes)" if code.get("uncommitted_changes") else ""
    return (
        f"{label}: {path} — {run.get('started_at', '?')}, commit "
        f"{str(code.get('commit', '?'))[:10]}{dirty}, {machine.get('cores', '?')} cores, "
        f"Postgres {machine.get('postgres', '?')}, RabbitMQ {machine.get('rabbitmq', '?')}, "
        f"load average at start {machine.get('load_average_at_start', '?')}"
    )


def _check_lines(run: dict[str, Any]) -> dict[str, str]:
    return {
        check["statement"]: ("PASS " if check["passed"] else "FAIL ") + check["measured"]
        for check in run.get("checks", [])
    }


def main(arguments: list[str]) -> None:
    path_a, path_b = chosen_paths(arguments)
    a, b = read_run(path_a), read_run(path_b)
    console = Console()
    console.print(_describe("A", path_a, a))
    console.print(_describe("B", path_b, b))
    if a.get("settings") != b.get("settings"):
        console.print(f"settings differ: A {a.get('settings')} B {b.get('settings')}")
    table = Table(title="B against A")
    table.add_column("measure", overflow="fold")
    for heading in ("A", "B", "B / A"):
        table.add_column(heading, justify="right")
    for row in comparison_rows(a, b):
        table.add_row(*row)
    console.print(table)
    checks_a, checks_b = _check_lines(a), _check_lines(b)
    for statement in dict.fromkeys([*checks_a, *checks_b]):
        console.print(
            f"{statement}\n  A: {checks_a.get(statement, '-')}\n  B: {checks_b.get(statement, '-')}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
