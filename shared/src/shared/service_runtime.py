"""Start-up steps every service shares: migrate its schema, attach its consumers."""

from __future__ import annotations

import asyncio
from importlib import resources

import asyncpg
import structlog

from shared.consumer import EventConsumer
from shared.migrations import load_migrations, migrate, shared_migrations

log = structlog.get_logger(__name__)


async def prepare_database(dsn: str, schema: str, package: str) -> None:
    """Applies shared's migrations and then the package's `migrations/` folder to `schema`."""
    migrations = shared_migrations() + load_migrations(
        package, resources.files(package) / "migrations"
    )
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, schema, migrations)
    finally:
        await conn.close()


async def attach_consumers(consumers: list[EventConsumer], attached: asyncio.Event) -> None:
    """Keeps trying until every consumer is attached; HTTP is served meanwhile."""
    for consumer in consumers:
        delay = 0.5
        while True:
            try:
                await consumer.start()
                break
            except Exception as error:
                log.warning("consumer_start_failed", queue=consumer.queue.name, error=repr(error))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
    attached.set()
