"""`reporting serve` runs the service; `reporting rebuild` replays the event log."""

from __future__ import annotations

import asyncio
from uuid import UUID

import typer

from reporting.bootstrap import create_app, rebuild_read_models
from reporting.settings import ReportingSettings
from shared.dead_letters.cli import dead_letters_cli
from shared.http_service import serve as serve_app
from shared.structured_logging import configure_logging

cli = typer.Typer(help="The reporting service: dashboards, daily and X/Z reports, chat messages.")
cli.add_typer(dead_letters_cli(ReportingSettings), name="dead-letters")


@cli.command()
def serve(port: int | None = None, host: str | None = None) -> None:
    """Serve the reporting API (settings from REPORTING_* environment variables)."""
    settings = ReportingSettings()
    serve_app(create_app, settings, host, port)


@cli.command()
def rebuild(
    tenant: UUID | None = typer.Option(None, help="Rebuild only this tenant's read models"),
) -> None:
    """Empty the read models (of one tenant, or all) and replay them from the event log."""
    settings = ReportingSettings()
    configure_logging("reporting", settings.log_level, settings.log_json)
    replayed = asyncio.run(rebuild_read_models(settings, tenant))
    typer.echo(f"replayed {replayed} events into the read models")


def main() -> None:
    cli()
