"""Which errors say the database is away (a consumer waits, spending no retry) and which say a
query failed (the handler's failure)."""

import asyncpg
import pytest

from shared.postgres import is_database_unavailable


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
