"""The asyncpg pool, confined to one service's schema."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# What repositories take: a connection of the pool or one held on its own.
Db = asyncpg.Connection | PoolConnectionProxy

# A server that is away answers nothing, so without a bound a request would wait for the
# operating system's TCP time-out (minutes) before it could say "unavailable".
CONNECT_TIMEOUT_S = 5.0

# What asyncpg raises when the server is down, restarting, refusing connections or cut off
# mid-query. Not statement time-outs or query errors: those are about the request, not the server.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # Refused or reset connections, unreachable hosts and connect or pool-acquire time-outs.
    OSError,
    # Only "connection is closed" among these; see is_database_unavailable.
    asyncpg.InterfaceError,
    # Only "another operation is in progress": a pooled connection that took the server's
    # shutdown message a moment before it was handed out.
    asyncpg.exceptions.InternalClientError,
)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (rather than that a query failed)."""
    if isinstance(error, asyncpg.InterfaceError):
        # "released back to the pool": the pool took back a connection a restart broke while a
        # transaction still held it.
        return is_lost_connection(error)
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        return "another operation" in str(error)
    return isinstance(error, UNAVAILABLE_ERRORS)


def is_lost_connection(error: BaseException) -> bool:
    """Whether `error` is a Postgres connection that went away under the caller (a restart),
    as opposed to a network error from anything else the caller talks to."""
    if isinstance(error, asyncpg.InterfaceError):
        return "connection is closed" in str(error) or "released back to the pool" in str(error)
    return isinstance(error, asyncpg.PostgresConnectionError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


# What outlives a transaction on a connection: session advisory locks, LISTEN, SET without LOCAL,
# set_config, temporary tables, prepared statements and cursors.
_SESSION_STATE = re.compile(
    r"pg_(try_)?advisory_lock(_shared)?\s*\(|set_config\s*\(|\bCREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP"
    r"|(\A|;)\s*(LISTEN|PREPARE|DECLARE|SET\s+(?!LOCAL\b))",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def leaves_session_state(query: str) -> bool:
    """Whether `query` may leave state on its connection after its transaction ends."""
    return _SESSION_STATE.search(query) is not None


class PooledConnection(asyncpg.Connection):
    """A pooled connection that notes when a statement may leave session state behind, so the
    pool resets only those connections on release. Resetting every one (asyncpg's default) is a
    round trip on each release; most never hold anything past their transaction."""

    __slots__ = ("keeps_session_state",)

    def _note(self, query: str) -> None:
        if leaves_session_state(query):
            # Noted before the statement runs: one cancelled mid-way may still have taken a lock.
            self.keeps_session_state = True

    async def execute(self, query: str, *args: Any, **options: Any) -> str:
        self._note(query)
        status: str = await super().execute(query, *args, **options)
        return status

    async def executemany(self, command: str, args: Any, **options: Any) -> None:
        self._note(command)
        await super().executemany(command, args, **options)

    async def fetch(self, query: str, *args: Any, **options: Any) -> list[Any]:
        self._note(query)
        records: list[Any] = await super().fetch(query, *args, **options)
        return records

    async def fetchval(self, query: str, *args: Any, **options: Any) -> Any:
        self._note(query)
        return await super().fetchval(query, *args, **options)

    async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
        self._note(query)
        return await super().fetchrow(query, *args, **options)

    async def fetchmany(self, query: str, args: Any, **options: Any) -> list[Any]:
        self._note(query)
        records: list[Any] = await super().fetchmany(query, args, **options)
        return records


async def _reset_if_needed(conn: asyncpg.Connection) -> None:
    """The pool's reset on release; by then asyncpg has rolled back any open transaction."""
    if isinstance(conn, PooledConnection) and getattr(conn, "keeps_session_state", False):
        await conn.reset()
        conn.keeps_session_state = False


async def create_pool(
    dsn: str, schema: str, application_name: str, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=CONNECT_TIMEOUT_S,
        init=_init_connection,
        connection_class=PooledConnection,
        reset=_reset_if_needed,
        server_settings={"search_path": schema, "application_name": application_name},
    )
    return pool


async def connect(dsn: str, schema: str, application_name: str) -> asyncpg.Connection:
    """A single connection outside the pool, for LISTEN and advisory locks held for long."""
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn,
        timeout=CONNECT_TIMEOUT_S,
        server_settings={"search_path": schema, "application_name": application_name},
    )
    await _init_connection(conn)
    return conn


def jsonable(value: Any) -> Any:
    """Round-trips a value through JSON so jsonb columns and events hold the same shape."""
    return json.loads(json.dumps(value, default=str))
