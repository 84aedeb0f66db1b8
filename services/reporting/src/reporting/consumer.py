"""What the reporting service consumes: every domain event its read models are built from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge, Histogram

from reporting.handlers import Projector
from shared.batch_consumer import BatchHandler, ReceivedEvent
from shared.consumer import Handler
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

CONSUMED_EVENTS = (
    "order.placed",
    "order.refunded",
    "session.opened",
    "session.closed",
    "order.odoo_synced",
    "order.odoo_sync_failed",
    "register.created",
    "register.updated",
    "shop.created",
    "shop.updated",
    "tenant.created",
    "tenant.updated",
    "payment_method.created",
    "payment_method.updated",
)

# How far the dashboards and reports trail the tills: the reporting-lag dashboard's figure.
PROJECTION_LAG_SECONDS = Histogram(
    "reporting_projection_lag_seconds",
    "From an event's occurred_at to its projection into the read models",
    ["event_type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
PROJECTOR_LAG_SECONDS = Gauge(
    "reporting_projector_lag_seconds",
    "How far the read models trail the tills: from the occurred_at of the oldest event in the "
    "projector's last committed batch to that commit",
)


def _projected(envelopes: Iterable[EventEnvelope]) -> None:
    now = datetime.now(UTC)
    oldest = 0.0
    for envelope in envelopes:
        lag = (now - envelope.occurred_at).total_seconds()
        PROJECTION_LAG_SECONDS.labels(envelope.type).observe(lag)
        oldest = max(oldest, lag)
    PROJECTOR_LAG_SECONDS.set(oldest)


def projection_handlers(projector: Projector) -> Mapping[str, Handler]:
    """One event per transaction: a batch that failed, applied again message by message."""

    async def project(db: Db, envelope: EventEnvelope, data: Any) -> None:
        await projector.consume(db, envelope, data)
        _projected([envelope])

    return dict.fromkeys(CONSUMED_EVENTS, project)


def projection_batch(projector: Projector) -> BatchHandler:
    async def project(db: Db, received: Sequence[ReceivedEvent]) -> None:
        await projector.consume_batch(db, received)
        _projected(r.envelope for r in received)

    return project
