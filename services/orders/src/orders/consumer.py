"""What the orders service consumes: register replicas and Odoo sync results."""

from __future__ import annotations

from collections.abc import Mapping

from orders.handlers import OrderHandlers
from shared.consumer import Handler

REGISTER_EVENTS = ("register.created", "register.updated")
SYNC_EVENTS = (
    "order.odoo_synced",
    "order.odoo_sync_failed",
    "refund.odoo_synced",
    "refund.odoo_sync_failed",
    "session.odoo_synced",
    "session.odoo_sync_failed",
)


def register_replica_handlers(handlers: OrderHandlers) -> Mapping[str, Handler]:
    return {
        "register.created": handlers.apply_register_state,
        "register.updated": handlers.apply_register_state,
    }


def odoo_sync_handlers(handlers: OrderHandlers) -> Mapping[str, Handler]:
    return {
        "order.odoo_synced": handlers.stamp_odoo_synced,
        "order.odoo_sync_failed": handlers.stamp_odoo_failed,
        "refund.odoo_synced": handlers.stamp_refund_synced,
        "refund.odoo_sync_failed": handlers.stamp_refund_failed,
        "session.odoo_synced": handlers.stamp_session_synced,
        "session.odoo_sync_failed": handlers.stamp_session_failed,
    }
