from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.migrations import Migration, MigrationError, migrate


def _migrations(body: str = "CREATE TABLE widgets (id int)") -> list[Migration]:
    return [
        Migration("svc", "0001_widgets.sql", body),
        Migration("svc", "0002_more.sql", "ALTER TABLE widgets ADD COLUMN name text"),
    ]


async def test_two_instances_starting_together_apply_each_migration_once(
    database_url: str, broker_namespace: str
) -> None:
    schema = f"mig_{broker_namespace}"
    conns = [await asyncpg.connect(database_url) for _ in range(4)]
    try:
        applied = await asyncio.gather(*(migrate(c, schema, _migrations()) for c in conns))
        assert sorted(len(a) for a in applied) == [0, 0, 0, 2]
        columns = await conns[0].fetch(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = $1 AND table_name = 'widgets' ORDER BY ordinal_position""",
            schema,
        )
        assert [c["column_name"] for c in columns] == ["id", "name"]
    finally:
        for conn in conns:
            await conn.close()


async def test_a_migration_changed_after_it_ran_is_refused(
    database_url: str, broker_namespace: str
) -> None:
    schema = f"mig_{broker_namespace}"
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema, _migrations())
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrate(conn, schema, _migrations("CREATE TABLE widgets (id bigint)"))
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(
    database_url: str, broker_namespace: str
) -> None:
    schema = f"mig_{broker_namespace}"
    broken = [
        Migration("svc", "0001_broken.sql", "CREATE TABLE a (id int); CREATE TABLE a (id int);")
    ]
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.DuplicateTableError):
            await migrate(conn, schema, broken)
        exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.a")
        assert exists is None
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") == 0
    finally:
        await conn.close()
