"""`python -m deploy.migrate`: the compose stack's one-shot job. Applies every service's
migrations to its own schema (each service's usual settings: ORDERS_DATABASE_URL,
ORDERS_SCHEMA_NAME, ...), loads the broker topology when given the broker's management API,
then issues a platform admin token and prints it.

The services migrate and declare their queues at start too; running it first means that
replicas start on a ready schema and broker, and the first token of a fresh install is in
`docker compose logs migrate`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import typer

from deploy.broker_definitions import load_definitions
from odoo_connector.settings import ConnectorSettings
from orders.settings import OrdersSettings
from registers.bootstrap import issue_platform_admin_token
from registers.settings import RegistersSettings
from reporting.settings import ReportingSettings
from shared.service_runtime import prepare_database
from shared.structured_logging import configure_logging


def schemas() -> list[tuple[str, str, str]]:
    """(database URL, schema, package) of every service, from its own settings."""
    orders, registers = OrdersSettings(), RegistersSettings()
    reporting, connector = ReportingSettings(), ConnectorSettings()
    return [
        (orders.database_url, orders.schema_name, "orders"),
        (registers.database_url, registers.schema_name, "registers"),
        (reporting.database_url, reporting.schema_name, "reporting"),
        (connector.database_url, connector.schema_name, "odoo_connector"),
    ]


async def migrate_all() -> None:
    for database_url, schema, package in schemas():
        await prepare_database(database_url, schema, package)
        typer.echo(f"{package}: schema {schema} is up to date", err=True)


def main(
    subject: str = typer.Option("ops@compose", help="Who holds the printed token"),
    ttl_days: int = typer.Option(30, min=1, max=730),
    broker_management_url: str | None = typer.Option(
        None, envvar="BROKER_MANAGEMENT_URL", help="RabbitMQ's management API, for the topology"
    ),
    broker_user: str = typer.Option("guest", envvar="BROKER_USER"),
    broker_password: str = typer.Option("guest", envvar="BROKER_PASSWORD"),
) -> None:
    """Migrates every schema, loads the broker topology, prints a platform admin token."""
    registers = RegistersSettings()
    configure_logging("migrate", registers.log_level, registers.log_json)
    asyncio.run(migrate_all())
    if broker_management_url:
        load_definitions(broker_management_url, broker_user, broker_password)
        typer.echo("broker: exchanges, queues, bindings and policy loaded", err=True)
    token = asyncio.run(issue_platform_admin_token(registers, subject, timedelta(days=ttl_days)))
    typer.echo(f"platform admin token ({subject}, {ttl_days} days): {token}")


if __name__ == "__main__":
    typer.run(main)
