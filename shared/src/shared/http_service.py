"""What every service's FastAPI app has alike: problem+json, correlation ids, health, metrics."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.consumer import EventConsumer
from shared.problems import document_problems, install_problem_handlers
from shared.settings import ServiceSettings
from shared.structured_logging import correlation_scope

log = structlog.get_logger(__name__)

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"]
)

CORRELATION_HEADER = "x-correlation-id"


class CorrelationMiddleware:
    """Binds a correlation id (the caller's or a new one) for the request and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")[:100]
        correlation_id = incoming or str(uuid.uuid4())
        started = time.perf_counter()
        status = 500

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append(
                    (CORRELATION_HEADER.encode(), correlation_id.encode("latin-1"))
                )
            await send(message)

        with correlation_scope(correlation_id):
            try:
                await self.app(scope, receive, send_with_header)
            finally:
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                elapsed = time.perf_counter() - started
                REQUEST_SECONDS.labels(scope["method"], path, str(status)).observe(elapsed)
                if path not in ("/healthz", "/readyz", "/metrics"):
                    log.info(
                        "http_request",
                        method=scope["method"],
                        route=path,
                        status=status,
                        duration_ms=round(elapsed * 1000, 2),
                    )


ReadinessCheck = Callable[[FastAPI], Awaitable[str | None]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


# /readyz must answer while the database is away, not hang on a connect that never completes.
_READINESS_TIMEOUT_S = 2.0


async def postgres_readiness(app: FastAPI) -> str | None:
    """Ready when `app.state.pool` answers."""
    try:
        async with app.state.pool.acquire(timeout=_READINESS_TIMEOUT_S) as conn:
            await conn.fetchval("SELECT 1", timeout=_READINESS_TIMEOUT_S)
    except Exception as error:
        return f"Postgres is not reachable: {error!r}"
    return None


async def service_readiness(app: FastAPI) -> str | None:
    """Ready when Postgres answers and every consumer in `app.state.consumers` is consuming
    (or standing by for a queue another replica holds the lease of).

    HTTP keeps being served while the broker is away (orders are taken, the outbox holds their
    events); readiness says the process cannot do all of its work, which is what it is for.
    """
    failure = await postgres_readiness(app)
    if failure is not None:
        return failure
    consumers: list[EventConsumer] = getattr(app.state, "consumers", [])
    detached = sorted(consumer.queue.name for consumer in consumers if not consumer.ready)
    if detached:
        return f"not consuming from RabbitMQ: {', '.join(detached)}"
    return None


def _document_problems_in_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(FastAPI.openapi(app))
        return app.openapi_schema

    # FastAPI's documented way to extend the generated document.
    app.openapi = openapi  # type: ignore[method-assign]


def create_service_app(
    *,
    title: str,
    lifespan: Lifespan,
    readiness: ReadinessCheck,
) -> FastAPI:
    """A FastAPI app with the common middleware and `/healthz`, `/readyz`, `/metrics`."""
    app = FastAPI(title=title, lifespan=lifespan)
    install_problem_handlers(app)
    _document_problems_in_openapi(app)
    app.add_middleware(CorrelationMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, str]:
        failure = await readiness(app)
        if failure is not None:
            response.status_code = 503
            return {"status": "unavailable", "reason": failure}
        return {"status": "ready"}

    registry = _scraped_registry()

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


# Where the workers of one `serve` keep their metrics' values (prometheus-client's multiprocess
# mode); unset in a process serving alone, whose metrics are its own.
_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _scraped_registry() -> CollectorRegistry:
    directory = os.environ.get(_METRICS_DIR)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_AllWorkers(directory))
    return registry


class _AllWorkers(Collector):
    """What one scrape of a service with several workers answers: the counters, histograms and
    gauges of every worker, added up (gauges as each declares), and, for what a collector reads
    at scrape time (consumers attached, dead letters), the answering worker's own."""

    def __init__(self, directory: str) -> None:
        self._directory = directory

    def collect(self) -> Iterable[Metric]:
        _forget_dead_workers(self._directory)
        # prometheus-client leaves these two untyped.
        every_worker = multiprocess.MultiProcessCollector(None, path=self._directory)  # type: ignore[no-untyped-call]
        shared = list(every_worker.collect())  # type: ignore[no-untyped-call]
        yield from shared
        names = {family.name for family in shared}
        for family in REGISTRY.collect():
            # process_* and python_* would be one worker's CPU and memory, passed off as all's.
            if family.name not in names and not family.name.startswith(("process_", "python_")):
                yield family


_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db")


def _forget_dead_workers(directory: str) -> None:
    """Drops the live gauges of workers that are gone (uvicorn starts a new one instead)."""
    for name in os.listdir(directory):
        found = _LIVE_GAUGE_FILE.fullmatch(name)
        if found is not None and not _alive(int(found[1])):
            multiprocess.mark_process_dead(int(found[1]), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # Someone else's process: a pid reused, which is all the same not one of ours any more.
        return False
    return True


def serve(
    create_app: Callable[[], FastAPI],
    settings: ServiceSettings,
    host: str | None,
    port: int | None,
) -> None:
    """Serves the app `create_app` builds until interrupted, in `settings.http_workers` worker
    processes; requests are logged by the middleware, not by uvicorn.

    With several workers each one imports `create_app` by name and builds its own app, so all
    that the lifespan starts (pool, relay, consumers, background tasks) runs once per worker.
    """
    options: dict[str, Any] = {
        "host": host or settings.http_host,
        "port": port or settings.http_port,
        "log_level": "warning",
        "access_log": False,
        # uvicorn's own handlers would print plain text; its records go to our JSON instead.
        "log_config": None,
    }
    if settings.http_workers == 1:
        uvicorn.run(create_app(), **options)
        return
    factory = f"{create_app.__module__}:{create_app.__qualname__}"
    if "<" in factory:
        raise ValueError(f"{factory} cannot be imported by a worker: name a module's function")
    directory = tempfile.mkdtemp(prefix=f"{settings.env_prefix.lower() or 'service_'}metrics-")
    os.environ[_METRICS_DIR] = directory
    try:
        # Built here too, unused, so that the supervisor logs as the service does (JSON).
        create_app()
        uvicorn.run(factory, factory=True, workers=settings.http_workers, **options)
    finally:
        del os.environ[_METRICS_DIR]
        shutil.rmtree(directory, ignore_errors=True)
