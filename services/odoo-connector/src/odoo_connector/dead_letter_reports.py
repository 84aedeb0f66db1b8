"""What the connector says when it gives a message up: the aggregate's `*.odoo_sync_failed`, so
the order, refund, till session or register shows the failure and its reason in its own service.

Read from the event's data as sent, by field name, so an event the contract cannot read (an
unknown version, a field gone bad) still names what it was about.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.dead_letters.records import DeadLetter, as_uuid
from shared.events.contracts import (
    OrderOdooSyncFailed,
    RefundOdooSyncFailed,
    RegisterOdooSyncFailed,
    SessionOdooSyncFailed,
)
from shared.events.envelope import EventData, EventEnvelope

REASON_MAX = 500


def failure_event(dead: DeadLetter, error: Exception, producer: str) -> EventEnvelope | None:
    """The failure event for a dead letter of the connector's Odoo queues, or None when the
    dead letter names no aggregate another service keeps a sync state for."""
    report = _failure_report(dead, type(error).__name__, str(error)[:REASON_MAX])
    if report is None or dead.tenant_id is None:
        return None
    data, aggregate_id = report
    raw = dead.raw or {}
    return EventEnvelope.wrap(
        data,
        tenant_id=dead.tenant_id,
        aggregate_id=aggregate_id,
        aggregate_version=1,
        producer=producer,
        correlation_id=_text(raw.get("correlation_id")),
        causation_id=as_uuid(raw.get("id")),
    )


def _failure_report(
    dead: DeadLetter, error_class: str, message: str
) -> tuple[EventData, UUID] | None:
    fields = dead.data
    failure: dict[str, Any] = {"error_class": error_class, "message": message}
    if dead.event_type == "order.placed":
        order_id = as_uuid(fields.get("order_id")) or dead.aggregate_id
        if order_id is not None:
            return OrderOdooSyncFailed(order_id=order_id, **failure), order_id
    elif dead.event_type == "order.refunded":
        refund_id, order_id = as_uuid(fields.get("refund_id")), as_uuid(fields.get("order_id"))
        if refund_id is not None and order_id is not None:
            refund_failed = RefundOdooSyncFailed(refund_id=refund_id, order_id=order_id, **failure)
            return refund_failed, refund_id
    elif dead.event_type == "session.closed":
        session_id = as_uuid(fields.get("session_id")) or dead.aggregate_id
        if session_id is not None:
            return SessionOdooSyncFailed(session_id=session_id, final=True, **failure), session_id
    elif dead.event_type in ("register.created", "register.updated"):
        register_id = as_uuid(fields.get("register_id")) or dead.aggregate_id
        if register_id is not None:
            operation = "create" if fields.get("sync_state") == "pending_create" else "update"
            register_failed = RegisterOdooSyncFailed(
                register_id=register_id,
                operation=operation,
                attempts=dead.attempts,
                register_version=_int((dead.raw or {}).get("aggregate_version")),
                **failure,
            )
            return register_failed, register_id
    return None


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
