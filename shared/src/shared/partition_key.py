"""The header a message's partition is chosen by, where a consumer partitions its queue by key.

The connector spreads a register's Odoo work over partition queues with RabbitMQ's
consistent-hash exchange, which hashes one header: every event about a register carries the
register's id in it, so all of them land in the same partition, in publish order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REGISTER_ID_HEADER = "x-register-id"


def partition_headers(envelope: Mapping[str, Any]) -> dict[str, str]:
    """`x-register-id` for an envelope (a decoded event) whose data names a register."""
    data = envelope.get("data")
    register_id = data.get("register_id") if isinstance(data, Mapping) else None
    return {REGISTER_ID_HEADER: str(register_id)} if register_id else {}
