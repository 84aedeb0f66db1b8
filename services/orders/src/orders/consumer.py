"""What the orders service consumes: replicas of registers, catalog products and customers,
and Odoo sync results."""

from __future__ import annotations

from collections.abc import Mapping

from orders.handlers import OrderHandlers
from shared.consumer import Handler

# The registers service's data this service keeps replicas of: registers, the catalog's
# products and the customers an order may name. One queue, so one consumer keeps them all.
REGISTER_EVENTS = (
    "register.created",
    "register.updated",
    "catalog.product.created",
    "catalog.product.updated",
    "customer.created",
    "customer.updated",
)
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
        "catalog.product.created": handlers.apply_product_state,
        "catalog.product.updated": handlers.apply_product_state,
        "customer.created": handlers.apply_customer_state,
        "customer.updated": handlers.apply_customer_state,
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
