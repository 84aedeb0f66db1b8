"""`odoo-connector serve`: runs the connector."""

from __future__ import annotations

import typer

from odoo_connector.bootstrap import create_app
from odoo_connector.settings import ConnectorSettings
from shared.http_service import serve as serve_app

cli = typer.Typer(help="The Odoo connector: pushes Pro tenants' orders, refunds and sessions.")


@cli.command()
def serve(port: int | None = None, host: str | None = None) -> None:
    """Run the connector (settings from CONNECTOR_* environment variables)."""
    settings = ConnectorSettings()
    serve_app(create_app(settings), settings, host, port)


@cli.callback()
def _root() -> None:
    """Keeps `serve` a named subcommand."""


def main() -> None:
    cli()
