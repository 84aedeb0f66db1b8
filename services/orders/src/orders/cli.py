"""`orders serve`: runs the orders service."""

from __future__ import annotations

import typer
import uvicorn

from orders.bootstrap import create_app
from orders.settings import OrdersSettings

cli = typer.Typer(help="The orders service: POS tablets post orders, refunds and cash sessions.")


@cli.command()
def serve(port: int | None = None, host: str | None = None) -> None:
    """Serve the orders API (settings from ORDERS_* environment variables)."""
    settings = OrdersSettings()
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
