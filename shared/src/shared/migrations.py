"""Forward-only, numbered SQL migrations per service schema, applied under an advisory lock."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg
import structlog

log = structlog.get_logger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    source: str
    name: str
    sql: str

    @property
    def key(self) -> str:
        return f"{self.source}/{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(source: str, folder: Traversable) -> list[Migration]:
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            if not _NAME.match(entry.name):
                raise MigrationError(f"migration file {entry.name!r} is not named NNNN_words.sql")
            found.append(Migration(source, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.name)


def shared_migrations() -> list[Migration]:
    return load_migrations("shared", resources.files("shared") / "sql")


async def migrate(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Applies what is not yet applied and returns its keys; safe from many processes at once."""
    if not _SCHEMA.match(schema):
        raise MigrationError(f"schema name {schema!r} is not a plain lower-case identifier")
    applied_now: list[str] = []
    # The lock is per schema, so two instances of one service starting together apply once.
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrations:{schema}")
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                    key        text PRIMARY KEY,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch(f"SELECT key, checksum FROM {schema}.schema_migrations")
        done = {r["key"]: r["checksum"] for r in rows}
        for migration in migrations:
            if migration.key in done:
                if done[migration.key] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.key} was changed after it was applied; "
                        "migrations are forward-only: add a new one instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {schema}")
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (key, checksum) VALUES ($1, $2)",
                    migration.key,
                    migration.checksum,
                )
            applied_now.append(migration.key)
            log.info("migration_applied", schema=schema, migration=migration.key)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrations:{schema}")
    return applied_now
