"""The pool resets a released connection only when a statement on it may have left session state."""

from __future__ import annotations

import asyncio

import asyncpg

from shared.postgres import create_pool, leaves_session_state


async def _statements_sent_around_release(pool: asyncpg.Pool, statement: str) -> list[str]:
    """What one connection sent, from `statement` on through its release to the pool."""
    sent: list[str] = []
    async with pool.acquire() as conn:
        conn.add_query_logger(lambda record: sent.append(record.query))
        await conn.execute(statement)
    await asyncio.sleep(0.01)  # the logger's callbacks run on the next loop turns
    return sent


async def test_a_connection_that_held_nothing_goes_back_without_a_reset(
    database_url: str, schema: str
) -> None:
    pool = await create_pool(database_url, schema, "pool-tests", min_size=1, max_size=1)
    try:
        sent = await _statements_sent_around_release(pool, "SELECT 1")
    finally:
        await pool.close()
    assert sent == ["SELECT 1"]


async def test_a_session_lock_left_behind_is_released_with_the_connection(
    database_url: str, schema: str
) -> None:
    pool = await create_pool(database_url, schema, "pool-tests", min_size=1, max_size=1)
    other = await asyncpg.connect(database_url)
    try:
        sent = await _statements_sent_around_release(pool, "SELECT pg_advisory_lock(4242)")
        assert any("pg_advisory_unlock_all" in query for query in sent), sent
        assert await other.fetchval("SELECT pg_try_advisory_lock(4242)")
    finally:
        await other.close()
        await pool.close()


def test_statements_that_outlive_their_transaction_are_told_apart() -> None:
    assert leaves_session_state("SELECT pg_advisory_lock(hashtextextended($1, 0))")
    assert leaves_session_state('LISTEN "orders_outbox"')
    assert leaves_session_state("SET statement_timeout = 5")
    assert leaves_session_state("CREATE TEMP TABLE scratch (x int)")
    assert not leaves_session_state("SELECT pg_advisory_xact_lock(1)")
    assert not leaves_session_state("SET LOCAL lock_timeout = '1s'")
    assert not leaves_session_state("UPDATE orders\n   SET state = 'refunded'")
