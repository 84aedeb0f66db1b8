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
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared.structured_logging import log_outages_not_attempts
from test_support.private_servers import (  # noqa: F401 - fixtures offered to every test
    private_postgres,
    private_rabbitmq,
    running_private_postgres,
    running_private_rabbitmq,
)


def pytest_configure(config: pytest.Config) -> None:
    # As every service's process does at start.
    log_outages_not_attempts()


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


RUN_PREFIX = f"pytest_{secrets.token_hex(4)}"


def _rabbitmqctl_names(what: str) -> list[str]:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return []
    try:
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments we build
            [ctl, "-q", what, "name"], capture_output=True, text=True, timeout=20, check=False
        )
    except subprocess.TimeoutExpired:
        return []
    return result.stdout.split() if result.returncode == 0 else []


async def _delete_run_names(url: str) -> None:
    """Deletes the queues and exchanges this run declared; best effort, never fails the run."""
    queues = [n for n in _rabbitmqctl_names("list_queues") if n.startswith(RUN_PREFIX)]
    exchanges = [n for n in _rabbitmqctl_names("list_exchanges") if n.startswith(RUN_PREFIX)]
    if not queues and not exchanges:
        return
    import aio_pika

    connection = await aio_pika.connect(url)
    try:
        for name in queues:
            channel = await connection.channel()
            await channel.queue_delete(name)
        for name in exchanges:
            channel = await connection.channel()
            await channel.exchange_delete(name)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def amqp_url(docker_available: bool) -> Iterator[str]:
    """The broker for this run. Runs share a vhost; every name a test declares starts with the
    run's prefix (see broker_namespace), and the run's names are deleted when it ends."""
    if docker_available:
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management-alpine") as container:
            params = container.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
        return
    url = os.environ.get("TEST_AMQP_URL", DEFAULT_AMQP_URL)
    yield url
    try:
        asyncio.run(_delete_run_names(url))
    except Exception as error:  # the run's result must not depend on tidying up
        print(f"broker clean-up skipped: {error!r}")


@pytest.fixture
def broker_namespace() -> str:
    """A prefix for exchange and queue names, so tests in one run never share a queue."""
    return f"{RUN_PREFIX}_{secrets.token_hex(3)}"
