"""The one place that builds the orders service: its queues and what consumes them."""

from __future__ import annotations

from fastapi import FastAPI

from orders.api import build_app
from orders.consumer import (
    REGISTER_EVENTS,
    SYNC_EVENTS,
    odoo_sync_handlers,
    register_replica_handlers,
)
from orders.events import PRODUCER
from orders.handlers import OrderHandlers
from orders.imports import OdooHistoryImports
from orders.settings import OrdersSettings
from shared.broker import QueueSpec, Topology, topology_for
from shared.http_service import Lifespan
from shared.revocation import TOKEN_EVENTS, revocation_handlers
from shared.service_runtime import Backbone, service_lifespan
from shared.structured_logging import configure_logging


def queues(settings: OrdersSettings) -> tuple[QueueSpec, ...]:
    limit = settings.consumer_delivery_limit
    return (
        QueueSpec(settings.broker_name("orders.registers"), REGISTER_EVENTS, limit),
        QueueSpec(settings.broker_name("orders.odoo-sync"), SYNC_EVENTS, limit),
        QueueSpec(settings.broker_name("orders.tokens"), TOKEN_EVENTS, limit),
    )


def topology(settings: OrdersSettings) -> Topology:
    return topology_for(settings, queues(settings))


def wire(backbone: Backbone) -> dict[str, object]:
    handlers = OrderHandlers(backbone.pool)
    backbone.consume("orders.registers", register_replica_handlers(handlers))
    backbone.consume("orders.odoo-sync", odoo_sync_handlers(handlers))
    backbone.consume("orders.tokens", revocation_handlers(backbone.verifier))
    return {"handlers": handlers, "imports": OdooHistoryImports(backbone.pool)}


def lifespan(settings: OrdersSettings) -> Lifespan:
    return service_lifespan(
        settings,
        wire,
        package="orders",
        schema=settings.schema_name,
        producer=PRODUCER,
        queues=queues(settings),
    )


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    resolved = settings or OrdersSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, lifespan(resolved))
