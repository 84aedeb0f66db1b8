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


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    log_outages_not_attempts()


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
