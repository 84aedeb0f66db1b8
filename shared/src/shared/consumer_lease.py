"""One active consumer of a queue across a service's replicas.

Whoever holds the queue's lease (a session-level Postgres advisory lock, on a connection of its
own) consumes; the other replicas stand by and take over within a second or two of the
holder's process or database session going away. The broker hands a queue with several
consumers each of them every other stretch of messages; for a queue whose work is ordered per
key (a register's orders in Odoo) that turns batches into ping-pong between replicas waiting on
each other. With one active consumer the messages arrive in the order they were published.

The lease is for speed, not for safety: what keeps the order and the exactly-once is the
consumer's own (a register's lock, the inbox). A moment with two consumers, say a lease lost
to a database restart that its holder has not noticed yet, costs batches, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

log = structlog.get_logger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]

_HOLDS = """SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
      AND objid::bigint = (hashtextextended($1, 0) & 4294967295))"""


class QueueLease:
    def __init__(
        self, connect: Connect, name: str, retry_s: float = 1.0, check_s: float = 1.0
    ) -> None:
        self.name = name
        self._connect = connect
        self._retry_s = retry_s
        self._check_s = check_s
        self._conn: asyncpg.Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def acquire(self) -> None:
        """Returns once this process holds the lease; tries again every `retry_s`, through
        database outages too."""
        while True:
            if await self.try_acquire():
                return
            await asyncio.sleep(self._retry_s)

    async def try_acquire(self) -> bool:
        """Takes the lease if it is free; False if another holds it or the database is away."""
        try:
            conn = await asyncio.wait_for(self._connect(), self._retry_s * 5)
        except Exception:
            return False
        try:
            taken = await conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                self.name,
                timeout=self._retry_s * 5,
            )
        except Exception:
            taken = False
        if not taken:
            await _close(conn)
            return False
        self._conn = conn
        log.info("consumer_lease_taken", lease=self.name)
        return True

    async def lost(self) -> None:
        """Returns once the lease cannot be shown to be held any more (its session ended, the
        server is away or does not answer): the holder must stop consuming and acquire again."""
        conn = self._conn
        assert conn is not None
        while True:
            await asyncio.sleep(self._check_s)
            try:
                holds = await asyncio.wait_for(conn.fetchval(_HOLDS, self.name), self._check_s * 2)
            except Exception:
                # Whatever the failure (a reset, a closed connection, a server shutting down,
                # a time-out), the server may have let the lock go: holding on could make two
                # consumers.
                break
            if not holds:
                break
        log.warning("consumer_lease_lost", lease=self.name)
        await self.release()

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Ending the session releases the lock with it.
            await _close(conn)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5)
    except Exception:
        with contextlib.suppress(Exception):
            conn.terminate()
