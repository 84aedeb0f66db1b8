"""Orders' use cases, one module per aggregate; each reads as load, decide (`orders.domain`),
write (`orders.repository`), emit (`orders.events`)."""

from __future__ import annotations

import asyncpg

from orders.handlers.catalog import CatalogReplicaHandlers
from orders.handlers.odoo_sync import OdooSyncHandlers
from orders.handlers.order_batch import OrderBatchHandlers
from orders.handlers.orders import OrderSaleHandlers
from orders.handlers.refunds import RefundHandlers
from orders.handlers.registers import RegisterReplicaCache, RegisterReplicaHandlers
from orders.handlers.sessions import SessionHandlers

__all__ = ["OrderHandlers"]


class OrderHandlers(
    OrderSaleHandlers,
    OrderBatchHandlers,
    RefundHandlers,
    SessionHandlers,
    RegisterReplicaHandlers,
    CatalogReplicaHandlers,
    OdooSyncHandlers,
):
    """Every use case of the service, for the routes and the consumers, on one pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._registers = RegisterReplicaCache()
