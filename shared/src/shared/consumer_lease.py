"""One active consumer of a queue across a service's replicas.

Whoever holds the queue's lease (a session-level Postgres advisory lock, on a connection kept
for it) consumes; the other replicas stand by and take over within a second of the holder's
process or database connection going away. The broker hands a queue with several consumers
each of them every other stretch of messages; for a queue whose work is ordered per key (a
register's orders in Odoo) that turns batches into ping-pong between replicas waiting on each
other. With one active consumer the messages arrive in the order they were published.

The lease is for speed, not for safety: what keeps the order and the exactly-once is the
consumer's own (a register's lock, the inbox). A moment with two consumers, say a lease lost
to a database restart that its holder has not noticed yet, costs batches, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

log = structlog.get_logger(__name__)


class QueueLease:
    def __init__(
        self, pool: asyncpg.Pool, name: str, retry_s: float = 1.0, check_s: float = 1.0
    ) -> None:
        self.name = name
        self._pool = pool
        self._retry_s = retry_s
        self._check_s = check_s
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def acquire(self) -> None:
        """Returns once this process holds the lease; tries again every `retry_s`, through
        database outages too."""
        while True:
            if await self.try_acquire():
                log.info("consumer_lease_taken", lease=self.name)
                return
            await asyncio.sleep(self._retry_s)

    async def try_acquire(self) -> bool:
        """Takes the lease if it is free; False if another holds it or the database is away."""
        try:
            conn = await self._pool.acquire(timeout=self._retry_s * 5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False
        try:
            taken = await conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                self.name,
                timeout=self._retry_s * 5,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            taken = False
        if not taken:
            await self._give_back(conn)
            return False
        self._conn = conn
        return True

    async def lost(self) -> None:
        """Returns once the lease's connection stops answering (the server may have let the
        lock go): the holder must stop consuming and acquire again."""
        assert self._conn is not None
        while True:
            await asyncio.sleep(self._check_s)
            try:
                await self._conn.fetchval("SELECT 1", timeout=self._check_s * 2)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                break
        log.warning("consumer_lease_lost", lease=self.name)
        await self.release()

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # The pool's reset on release unlocks every advisory lock of the session.
            await self._give_back(conn)

    async def _give_back(self, conn: asyncpg.pool.PoolConnectionProxy) -> None:
        try:
            await self._pool.release(conn, timeout=self._retry_s * 5)
        except Exception:
            # A broken connection: closing it ends the session, and the lock with it.
            with contextlib.suppress(Exception):
                conn.terminate()
