"""What a use case that calls Odoo hands the consumer, the events it causes, and how its
outcomes are counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from prometheus_client import Counter

from shared.events.envelope import EventEnvelope
from shared.postgres import Db

PRODUCER = "odoo-connector"

# What the consumer commits, with the inbox row, once the Odoo side is done.
Apply = Callable[[Db], Awaitable[None]]

MESSAGES_PROCESSED = Counter(
    "connector_messages_processed_total",
    "Messages the connector finished",
    ["event_type", "outcome"],
)


async def nothing(db: Db) -> None:
    """The Apply of an event that leaves nothing to record."""
    return


def connector_event(data: Any, cause: EventEnvelope, aggregate_id: UUID) -> EventEnvelope:
    """The connector's event caused by `cause`: same tenant and correlation, caused by it."""
    return EventEnvelope.wrap(
        data,
        tenant_id=cause.tenant_id,
        aggregate_id=aggregate_id,
        aggregate_version=1,
        producer=PRODUCER,
        correlation_id=cause.correlation_id,
        causation_id=cause.id,
    )
