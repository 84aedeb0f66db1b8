"""`odoo-connector serve`: runs the connector; `odoo-connector backfill`: brings a Pro tenant's
Odoo history home."""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from odoo_connector.backfill import (
    BackfillError,
    BackfillOptions,
    BackfillReport,
    ServicesApi,
    backfill,
)
from odoo_connector.bootstrap import create_app
from odoo_connector.breaker import CircuitBreakers
from odoo_connector.credentials import credentials_box
from odoo_connector.odoo_client import OdooClient
from odoo_connector.odoo_pos import OdooPos
from odoo_connector.settings import ConnectorSettings
from shared.dead_letters.cli import dead_letters_cli
from shared.http_service import serve as serve_app
from shared.postgres import create_pool

SKIPPED_SHOWN = 50

cli = typer.Typer(help="The Odoo connector: pushes Pro tenants' orders, refunds and sessions.")
cli.add_typer(dead_letters_cli(ConnectorSettings), name="dead-letters")


@cli.command()
def serve(port: int | None = None, host: str | None = None) -> None:
    """Run the connector (settings from CONNECTOR_* environment variables)."""
    settings = ConnectorSettings()
    serve_app(create_app, settings, host, port)


@cli.command("backfill")
def backfill_command(
    tenant: UUID = typer.Option(..., help="The Pro tenant whose Odoo history comes home"),
    since: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Only sessions started on or after this date (UTC)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read and map; send nothing"),
    shop: UUID | None = typer.Option(
        None, help="The shop for registers made for pos.configs that have none here"
    ),
    admin_token: str = typer.Option(
        ...,
        envvar="CONNECTOR_BACKFILL_ADMIN_TOKEN",
        help="An admin token of the tenant (registers and orders APIs)",
    ),
) -> None:
    """Import a Pro tenant's closed Odoo sessions, orders and refunds; a second run adds nothing."""
    options = BackfillOptions(tenant, since.date() if since else None, dry_run, shop)
    console = Console(stderr=True)
    try:
        report = asyncio.run(_backfill(ConnectorSettings(), options, admin_token, console))
    except BackfillError as error:
        console.print(f"[red]backfill failed:[/red] {error}")
        raise typer.Exit(1) from None
    Console().print(summary_table(report))


async def _backfill(
    settings: ConnectorSettings, options: BackfillOptions, token: str, console: Console
) -> BackfillReport:
    secrets = credentials_box(settings)
    try:
        pool = await create_pool(
            settings.database_url, settings.schema_name, "odoo-connector-backfill", 1, 2
        )
    except (OSError, ValueError, asyncpg.PostgresError) as error:
        raise BackfillError(f"the connector's database is unreachable: {error}") from None
    client = OdooClient(settings.odoo_timeout_s)
    breakers = CircuitBreakers(
        client.probe,
        settings.breaker_failure_threshold,
        settings.breaker_probe_initial_s,
        settings.breaker_probe_max_s,
    )
    timeout = httpx.Timeout(120.0, connect=5.0)
    try:
        async with (
            httpx.AsyncClient(base_url=settings.registers_url, timeout=timeout) as registers,
            httpx.AsyncClient(base_url=settings.orders_url, timeout=timeout) as orders,
        ):
            api = ServicesApi(registers, orders, token)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("sessions", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                return await backfill(
                    pool, OdooPos(client, breakers), secrets, api, options, advance
                )
    finally:
        await breakers.close()
        await client.aclose()
        await pool.close()


def summary_table(report: BackfillReport) -> Table:
    """The run in one table: what was new, already here, skipped and why."""
    title = f"Odoo {report.odoo_version} backfill of tenant {report.tenant_id}"
    if report.dry_run:
        title += " (dry run: nothing sent)"
    table = Table(title=title)
    for column in ("", "new", "already present", "skipped"):
        table.add_column(column, justify="left" if not column else "right")
    for name in ("sessions", "orders", "refunds"):
        counts = getattr(report, name)
        table.add_row(
            name,
            str(counts.new),
            str(counts.already_present),
            str(report.skipped_count(name.rstrip("s"))),
        )
    table.add_row("cancelled orders (not imported)", "", "", str(report.cancelled))
    table.add_row(
        "orders of sessions still open in Odoo", "", "", str(report.orders_in_open_sessions)
    )
    for created in report.registers_created:
        verb = "would create" if report.dry_run else "created"
        table.add_row(f"register {verb}: {created}", "", "", "")
    reasons: dict[tuple[str, str], int] = {}
    for skipped in report.skipped:
        key = (skipped.kind, skipped.reason)
        reasons[key] = reasons.get(key, 0) + 1
    for (kind, reason), count in sorted(reasons.items()):
        table.add_row(f"skipped {kind}: {reason}", "", "", str(count))
    # Each skipped item, so the owner can look it up in Odoo; a long list is cut.
    for skipped in report.skipped[:SKIPPED_SHOWN]:
        table.add_row(f"  {skipped.kind} {skipped.odoo_id}: {skipped.detail}", "", "", "")
    if len(report.skipped) > SKIPPED_SHOWN:
        table.add_row(f"  ... and {len(report.skipped) - SKIPPED_SHOWN} more", "", "", "")
    if report.dry_run:
        for number, batch in enumerate(report.batches, 1):
            table.add_row(
                f"batch {number}: {', '.join(batch['sessions'])}",
                f"{batch['orders']} orders",
                f"{batch['refunds']} refunds",
                "",
            )
    return table


@cli.callback()
def _root() -> None:
    """Keeps `serve` a named subcommand."""


def main() -> None:
    cli()
