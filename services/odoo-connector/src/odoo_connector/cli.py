"""`odoo-connector serve`: runs the connector."""

from __future__ import annotations

import typer
import uvicorn

from odoo_connector.bootstrap import create_app
from odoo_connector.settings import ConnectorSettings

cli = typer.Typer(help="The Odoo connector: pushes Pro tenants' orders, refunds and sessions.")


@cli.command()
def serve(port: int | None = None, host: str | None = None) -> None:
    """Run the connector (settings from CONNECTOR_* environment variables)."""
    settings = ConnectorSettings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.http_host,
        port=port or settings.http_port,
        log_level="warning",
        access_log=False,
    )


@cli.callback()
def _root() -> None:
    """Keeps `serve` a named subcommand."""


def main() -> None:
    cli()
