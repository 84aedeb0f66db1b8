"""Fixtures that give every test run its own Postgres database and its own broker names.

Testcontainers are used when a Docker engine answers; otherwise the servers named by
TEST_DATABASE_URL and TEST_AMQP_URL (defaults: this machine's) are used.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _docker_answers() -> bool:
    if os.environ.get("TEST_USE_TESTCONTAINERS", "auto") == "never":
        return False
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=2)
        client.ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def docker_available() -> bool:
    return _docker_answers()


@pytest.fixture(scope="session")
def server_database_url(docker_available: bool) -> Iterator[str]:
    """A URL of a Postgres server's maintenance database, where test databases are made."""
    if docker_available:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    yield os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _create_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(server_database_url: str) -> Iterator[str]:
    """A database of this test run's own, dropped when the run ends."""
    name = f"pos_test_{secrets.token_hex(4)}"
    asyncio.run(_create_database(server_database_url, name))
    try:
        yield _with_database(server_database_url, name)
    finally:
        asyncio.run(_drop_database(server_database_url, name))


def _rabbitmqctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    result = subprocess.run(  # noqa: S603 - fixed binary, arguments we build
        [ctl, "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    return result.returncode == 0


@pytest.fixture(scope="session")
def amqp_url(docker_available: bool) -> Iterator[str]:
    """An AMQP URL of this test run's own: a fresh vhost where the broker lets us make one."""
    if docker_available:
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management-alpine") as container:
            params = container.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
        return
    base = os.environ.get("TEST_AMQP_URL", DEFAULT_AMQP_URL)
    vhost = f"pos_test_{secrets.token_hex(4)}"
    if os.environ.get("TEST_AMQP_URL") is None and _rabbitmqctl("add_vhost", vhost):
        user = urlsplit(base).username or "guest"
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        try:
            yield urlunsplit(urlsplit(base)._replace(path="/" + quote(vhost, safe="")))
        finally:
            _rabbitmqctl("delete_vhost", vhost)
        return
    # A broker we may not administer: broker_namespace keeps runs apart by name instead.
    yield base


@pytest.fixture
def broker_namespace() -> str:
    """A prefix for exchange and queue names, so tests in one run never share a queue."""
    return f"t{secrets.token_hex(4)}"
