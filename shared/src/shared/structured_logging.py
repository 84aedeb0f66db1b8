"""structlog set-up: JSON lines carrying the correlation id from request to event to consumer."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import stamina
import structlog
from stamina.instrumentation import PrometheusOnRetryHook

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


# What every line carries, ours and the libraries' alike: the service and correlation id bound
# in context, the level and a UTC timestamp.
_COMMON_FIELDS: tuple[Any, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)
_LIBRARY_HANDLER = "shared.structured_logging"


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    level_number = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            *_COMMON_FIELDS,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    route_library_logs(renderer, level_number)
    log_outages_not_attempts()


def route_library_logs(renderer: Any, level: int) -> None:
    """Renders what uvicorn, aio-pika, asyncpg and every other stdlib logger log as our own
    lines are rendered, plus `logger` (the library's logger name): one machine-readable stream."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_COMMON_FIELDS, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_LIBRARY_HANDLER)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Configured again (each in-process service of a test does): one handler, the latest.
    for earlier in [h for h in root.handlers if h.get_name() == _LIBRARY_HANDLER]:
        root.removeHandler(earlier)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO with its URL, and a URL may hold a secret (a Telegram
    # bot's token); the calls that matter are logged by our own code.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


def log_outages_not_attempts() -> None:
    """Leaves reconnect and retry attempts to metrics; shared.outages logs each outage once."""
    # aio-pika warns, and aiormq logs an error, on every reconnect attempt: every few seconds
    # for each connection while the broker is away. The outage log says what they would.
    logging.getLogger("aio_pika.robust_connection").setLevel(logging.ERROR)
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)
    # stamina logs every retry it schedules; its Prometheus counter keeps counting them.
    stamina.instrumentation.set_on_retry_hooks([PrometheusOnRetryHook])


def current_correlation_id() -> str | None:
    return _correlation_id.get()


@contextmanager
def correlation_scope(correlation_id: str | None, **fields: Any) -> Iterator[None]:
    """Everything logged or published inside carries this correlation id."""
    token = _correlation_id.set(correlation_id)
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id, **fields):
        try:
            yield
        finally:
            _correlation_id.reset(token)
