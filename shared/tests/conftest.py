"""Fixtures for the shared library's own tests: a schema of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.migrations import migrate, shared_migrations
from shared.postgres import create_pool


@pytest.fixture
def schema(broker_namespace: str) -> str:
    return f"shared_{broker_namespace}"


@pytest.fixture
async def pool(database_url: str, schema: str) -> AsyncIterator[asyncpg.Pool]:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema, shared_migrations())
    finally:
        await conn.close()
    created = await create_pool(database_url, schema, "shared-tests")
    yield created
    await created.close()
