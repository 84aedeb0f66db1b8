"""Which errors say the database is away (a consumer waits, spending no retry) and which say a
query failed (the handler's failure)."""

import asyncpg
import pytest

from shared.postgres import is_database_unavailable, is_lost_connection


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.InterfaceError(
            "cannot call Connection.execute(): connection has been released back to the pool"
        ),
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
    ids=["closed", "released by the pool", "shutting down", "refused"],
)
def test_a_connection_lost_to_a_restart_is_the_database_being_away(error: Exception) -> None:
    assert is_database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"),
        ValueError("not a database error"),
    ],
    ids=["constraint", "bad call", "other"],
)
def test_a_failed_query_is_not_the_database_being_away(error: Exception) -> None:
    assert not is_database_unavailable(error)


def test_only_a_postgres_connection_lost_is_handled_again_at_once() -> None:
    assert is_lost_connection(asyncpg.InterfaceError("connection is closed"))
    assert is_lost_connection(asyncpg.exceptions.ConnectionDoesNotExistError("gone"))
    # Odoo's (or any other peer's) network error is the handler's failure, retried by tier.
    assert not is_lost_connection(ConnectionError("Odoo answered 503"))
