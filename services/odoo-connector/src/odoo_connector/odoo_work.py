"""What a use case that calls Odoo hands the consumer, and how its outcomes are counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import Counter

from shared.postgres import Db

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
