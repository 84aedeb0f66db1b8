"""Runs one of our services as its own process for a benchmark, the way it runs in production."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ServiceProcess:
    url: str
    # The process started; its worker processes, if any, are its descendants.
    pid: int


@contextlib.asynccontextmanager
async def running_service_process(
    module: str, settings: dict[str, str]
) -> AsyncIterator[ServiceProcess]:
    """`python -m <module> serve` on a free port with these environment settings, once /readyz
    answers; stopped afterwards."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "serve",
        "--port",
        str(port),
        env={**os.environ, **settings},
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_ready(url, process)
        yield ServiceProcess(url=url, pid=process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 15)


async def _wait_until_ready(url: str, process: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_WITHIN_S
    async with httpx.AsyncClient() as client:
        while loop.time() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the service at {url} exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the service at {url} was not ready within {READY_WITHIN_S:.0f} s")


@contextlib.asynccontextmanager
async def running_service(module: str, settings: dict[str, str]) -> AsyncIterator[str]:
    """As `running_service_process`, yielding the service's URL."""
    async with running_service_process(module, settings) as service:
        yield service.url
