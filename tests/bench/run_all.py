"""`make bench`: every benchmark, printed as figures and ratios measured in this run."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
SUITES = (
    ("Orders service vs raw Postgres and RabbitMQ", "orders_bench.py"),
    ("Odoo emulator", "emulator_bench.py"),
    ("Reporting read models", "reporting_bench.py"),
    ("Odoo connector: sync lag and throughput", "connector_bench.py"),
)


def _load(file_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(file_name.removesuffix(".py"), HERE / file_name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    console = Console()
    for title, file_name in SUITES:
        console.print(f"[bold]{title}[/bold] …")
        results: dict[str, float] = asyncio.run(_load(file_name).run())
        table = Table(title=title)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for key, value in results.items():
            table.add_row(key, f"{value:,.2f}")
        console.print(table)


if __name__ == "__main__":
    main()
