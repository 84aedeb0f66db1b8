"""What the reporting service consumes: every domain event its read models are built from."""

from __future__ import annotations

from collections.abc import Mapping

from reporting.handlers import Projector
from shared.consumer import Handler

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


def projection_handlers(projector: Projector) -> Mapping[str, Handler]:
    return dict.fromkeys(CONSUMED_EVENTS, projector.consume)
