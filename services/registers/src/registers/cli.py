"""`registers serve` runs the registers service; `registers platform-admin-token` starts a
fresh install."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import typer

from registers.bootstrap import create_app, issue_platform_admin_token
from registers.events import PRODUCER
from registers.settings import RegistersSettings
from shared.auth import KeyConfigurationError
from shared.dead_letters.cli import dead_letters_cli
from shared.http_service import serve as serve_app
from shared.structured_logging import configure_logging

cli = typer.Typer(help="The registers service: tenants, shops, registers, payment methods, tokens.")
cli.add_typer(dead_letters_cli(RegistersSettings), name="dead-letters")


@cli.command()
def serve(port: int | None = None, host: str | None = None) -> None:
    """Serve the registers API (settings from REGISTERS_* environment variables)."""
    settings = RegistersSettings()
    serve_app(create_app, settings, host, port)


@cli.command("platform-admin-token")
def platform_admin_token(
    subject: str = typer.Option(..., help="Who will hold it, such as ops@example.com"),
    ttl_days: int = typer.Option(30, min=1, max=730, help="Days until it expires"),
) -> None:
    """Issue a platform admin token (recorded, revocable) and print it on standard output."""
    settings = RegistersSettings()
    # Logs go to standard error, so standard output carries the token alone.
    configure_logging(PRODUCER, settings.log_level, settings.log_json)
    try:
        token = asyncio.run(issue_platform_admin_token(settings, subject, timedelta(days=ttl_days)))
    except KeyConfigurationError as error:
        typer.echo(f"registers platform-admin-token: {error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(token)


def main() -> None:
    cli()
