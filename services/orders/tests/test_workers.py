"""`orders serve` with several worker processes: each is a whole copy of the service, one of
them relays the outbox, and /metrics counts what every worker did, whichever one answers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from test_support.polling import eventually
from test_support.private_servers import free_port

pytestmark = pytest.mark.slow

WORKERS = 2


def _workers(pid: int) -> list[int]:
    """The worker processes under uvicorn's supervisor `pid` (not multiprocessing's tracker)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found


@pytest.fixture
def served(
    database_url: str, amqp_url: str, broker_namespace: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    port = free_port()
    schema = f"orders_{broker_namespace}"
    env = {
        **os.environ,
        "ORDERS_DATABASE_URL": database_url,
        "ORDERS_AMQP_URL": amqp_url,
        "ORDERS_BROKER_NAMESPACE": broker_namespace,
        "ORDERS_SCHEMA_NAME": schema,
        "ORDERS_DEV_MODE": "true",
        "ORDERS_LOG_LEVEL": "WARNING",
        "ORDERS_HTTP_PORT": str(port),
        "ORDERS_HTTP_WORKERS": str(WORKERS),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orders", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process, f"http://127.0.0.1:{port}", schema
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


async def _ready(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
            return (await client.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def _requests_counted(text: str, route: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "http_request_duration_seconds_count"
        and sample.labels.get("route") == route
    )


async def test_workers_each_serve_one_relays_and_metrics_count_them_all(
    served: tuple[subprocess.Popen[bytes], str, str], database_url: str
) -> None:
    process, base_url, schema = served
    await eventually(lambda: _ready(base_url), within_s=60, what="the service ready")
    assert len(_workers(process.pid)) == WORKERS

    conn = await asyncpg.connect(database_url)
    try:

        async def relays() -> tuple[int, int] | None:
            row = await conn.fetchrow(
                """SELECT count(*) AS standing,
                          count(*) FILTER (WHERE EXISTS (
                              SELECT 1 FROM pg_locks l WHERE l.pid = a.pid
                                AND l.locktype = 'advisory' AND l.granted
                                AND l.objid = hashtext($1)::oid)) AS leading
                   FROM pg_stat_activity a WHERE a.application_name = 'orders-outbox-relay'
                     AND a.datname = current_database()""",
                f"outbox-relay:{schema}",
            )
            assert row is not None
            found = (row["standing"], row["leading"])
            return found if found == (WORKERS, 1) else None

        # Every worker runs a relay; exactly one of them holds the lead.
        assert await eventually(relays, within_s=30, what="a relay per worker") == (WORKERS, 1)
    finally:
        await conn.close()

    # A connection each, so the kernel hands them to either worker.
    for _ in range(60):
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
            assert (await client.get("/healthz")).status_code == 200
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        scrapes = [(await client.get("/metrics")).text for _ in range(4)]
    assert {_requests_counted(text, "/healthz") for text in scrapes} == {60}
    for text in scrapes:
        # One worker's process figures would pass for the whole service's.
        assert "process_cpu_seconds_total" not in text
        assert "outbox_published_total" in text

    process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.wait, 60) == 0
