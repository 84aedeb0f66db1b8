"""A bench run as a JSON file: every suite's figures, the machine they were measured on, the code.

Files go to bench-results/ at the repository root (or BENCH_RESULTS_DIR): one per run, named by
its start time, and latest.json, a copy of the newest.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

ROOT = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
LATEST = "latest.json"
# A broker that accepts TCP but never answers the AMQP handshake would hang a run for good.
CONNECT_WITHIN_S = 15.0

Figures = dict[str, float]


def results_dir() -> Path:
    return Path(os.environ.get("BENCH_RESULTS_DIR", ROOT / "bench-results"))


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, our own arguments
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def code_facts() -> dict[str, Any]:
    return {
        "commit": _git("rev-parse", "HEAD") or "unknown",
        # Uncommitted changes make the commit only an approximation of what ran.
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


async def machine_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }
    try:
        conn = await asyncpg.connect(SERVER_URL, timeout=CONNECT_WITHIN_S)
        try:
            facts["postgres"] = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        facts["postgres"] = f"unreachable: {error!r}"
    try:
        connection = await broker_connection()
        try:
            transport = connection.transport
            assert transport is not None
            version = transport.connection.server_properties.get("version", "unknown")
            facts["rabbitmq"] = str(version)
        finally:
            await connection.close()
    except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as error:
        facts["rabbitmq"] = f"unreachable: {error!r}"
    return facts


async def broker_connection() -> aio_pika.abc.AbstractConnection:
    """A connection to the bench's broker, or TimeoutError if it does not answer in time."""
    try:
        return await asyncio.wait_for(aio_pika.connect(AMQP_URL), CONNECT_WITHIN_S)
    except TimeoutError as error:
        raise TimeoutError(
            f"RabbitMQ at {AMQP_URL} did not complete the AMQP handshake within "
            f"{CONNECT_WITHIN_S:.0f} s; check that the broker answers (rabbitmqctl status)"
        ) from error


def new_run(started_at: datetime, machine: dict[str, Any]) -> dict[str, Any]:
    # What shapes the figures; where they are written does not.
    settings = {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith("BENCH_") and k != "BENCH_RESULTS_DIR"
    }
    return {
        "started_at": started_at.isoformat(),
        "code": code_facts(),
        "machine": machine,
        "settings": settings,
        "suites": {},
        "notes": {},
        "checks": [],
        "errors": {},
    }


def write_run(run: dict[str, Any], started_at: datetime) -> Path:
    """Writes the run under its start time and as latest.json; returns the first path."""
    directory = results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(run, indent=2, sort_keys=False) + "\n"
    path = directory / f"{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text)
    (directory / LATEST).write_text(text)
    return path


def read_run(path: Path) -> dict[str, Any]:
    run: dict[str, Any] = json.loads(path.read_text())
    return run


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Check:
    """One of an issue's "done when" lines, worked out from a run's figures."""

    statement: str
    passed: bool
    measured: str

    def as_json(self) -> dict[str, Any]:
        return {"statement": self.statement, "passed": self.passed, "measured": self.measured}
