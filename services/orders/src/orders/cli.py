"""`orders serve`: runs the orders service."""

from __future__ import annotations

import typer

from orders.bootstrap import create_app
from orders.settings import OrdersSettings
from shared.dead_letters.cli import dead_letters_cli
from shared.http_service import serve as serve_app

cli = typer.Typer(help="The orders service: POS tablets post orders, refunds and cash sessions.")
cli.add_typer(dead_letters_cli(OrdersSettings), name="dead-letters")


@cli.command()
def serve(port: int | None = None, host: str | None = None) -> None:
    """Serve the orders API (settings from ORDERS_* environment variables)."""
    settings = OrdersSettings()
    serve_app(create_app, settings, host, port)


@cli.callback()
def _root() -> None:
    """Keeps `serve` a named subcommand."""


def main() -> None:
    cli()
