"""uvicorn's, aio-pika's and asyncpg's logs come out as our own JSON lines, with the same fields,
so that one `docker compose logs` stream can be read by a machine."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from shared.structured_logging import configure_logging, correlation_scope
from test_support.private_servers import free_port

# A process that serves like every service does (shared.http_service.serve), and whose one
# route fails, so uvicorn itself logs the exception.
_FAILING_SERVICE = """
    import sys
    import structlog
    from fastapi import FastAPI
    from shared.http_service import serve
    from shared.settings import ServiceSettings
    from shared.structured_logging import configure_logging

    configure_logging("probe", "INFO", json=True)
    structlog.get_logger().info("probe_started")
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the route failed")

    serve(lambda: app, ServiceSettings(), "127.0.0.1", int(sys.argv[1]))
"""


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}\nall of it:\n{text}")
    return parsed


def test_an_exception_uvicorn_logs_is_a_json_line_with_our_fields() -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", textwrap.dedent(_FAILING_SERVICE), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/boom", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert answer.status_code == 500
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)

    lines = _json_lines(stderr)
    ours = next(line for line in lines if line["event"] == "probe_started")
    failure = next(line for line in lines if line.get("logger") == "uvicorn.error")
    assert set(ours) <= set(failure)
    assert failure["service"] == "probe"
    assert failure["level"] == "error"
    assert failure["event"].strip() == "Exception in ASGI application"
    assert "RuntimeError: the route failed" in failure["exception"]
    assert failure["timestamp"].endswith("Z")


@pytest.fixture
def json_logging() -> Iterator[None]:
    """The test configures logging itself, once capsys holds standard error; afterwards the
    configuration, the root logger and the bound context are as they were (later tests must
    not write to this test's closed capture)."""
    config = structlog.get_config()
    bound = structlog.contextvars.get_contextvars()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**bound)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("json_logging")
def test_aio_pika_and_asyncpg_records_carry_the_service_and_the_correlation_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("probe", "INFO", json=True)
    with correlation_scope("corr-1"):
        structlog.get_logger().warning("ours", queue="orders.registers")
        logging.getLogger("aio_pika.robust_connection").error("Connection attempt failed")
        try:
            raise ConnectionResetError("reset by peer")
        except ConnectionResetError:
            logging.getLogger("asyncpg.pool").exception("error while releasing a connection")

    ours, pika, asyncpg = _json_lines(capsys.readouterr().err)
    assert ours["event"] == "ours"
    for line, logger in ((pika, "aio_pika.robust_connection"), (asyncpg, "asyncpg.pool")):
        assert set(ours) - {"queue"} <= set(line)
        assert line["logger"] == logger
        assert (line["service"], line["correlation_id"], line["level"]) == (
            "probe",
            "corr-1",
            "error",
        )
    assert pika["event"] == "Connection attempt failed"
    assert "ConnectionResetError: reset by peer" in asyncpg["exception"]


@pytest.mark.usefixtures("json_logging")
def test_httpx_request_lines_stay_out_even_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("probe", "INFO", json=True)
    # A Telegram bot's token is part of its API's URLs.
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot1:s3cr3t/x")
    logging.getLogger("asyncpg.connect").info("connected")

    lines = _json_lines(capsys.readouterr().err)
    assert [line["logger"] for line in lines] == ["asyncpg.connect"]
