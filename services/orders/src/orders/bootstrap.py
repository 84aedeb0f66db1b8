"""The one place that builds the orders service: pool, migrations, relay, consumers, verifier."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI

from orders.api import build_app
from orders.consumer import (
    REGISTER_EVENTS,
    SYNC_EVENTS,
    odoo_sync_handlers,
    register_replica_handlers,
)
from orders.handlers import PRODUCER, OrderHandlers
from orders.imports import OdooHistoryImports
from orders.settings import OrdersSettings
from shared.auth import TokenVerifier
from shared.broker import QueueSpec, Topology, topology_for
from shared.consumer import EventConsumer
from shared.revocation import TOKEN_EVENTS, revocation_handlers
from shared.service_runtime import service_backbone
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


@dataclass
class OrdersRuntime:
    settings: OrdersSettings
    pool: asyncpg.Pool
    handlers: OrderHandlers
    imports: OdooHistoryImports
    verifier: TokenVerifier
    consumers_attached: asyncio.Event
    consumers: list[EventConsumer]


@contextlib.asynccontextmanager
async def orders_runtime(settings: OrdersSettings) -> AsyncIterator[OrdersRuntime]:
    async with service_backbone(
        settings,
        package="orders",
        schema=settings.schema_name,
        producer=PRODUCER,
        queues=queues(settings),
    ) as backbone:
        handlers = OrderHandlers(backbone.pool)
        backbone.consume("orders.registers", register_replica_handlers(handlers))
        backbone.consume("orders.odoo-sync", odoo_sync_handlers(handlers))
        backbone.consume("orders.tokens", revocation_handlers(backbone.verifier))
        await backbone.follow_revocations()
        # Orders are taken while the broker is down; consumers keep trying to attach meanwhile.
        backbone.attach_consumers()
        yield OrdersRuntime(
            settings,
            backbone.pool,
            handlers,
            OdooHistoryImports(backbone.pool),
            backbone.verifier,
            backbone.consumers_attached,
            backbone.consumers,
        )


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    resolved = settings or OrdersSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, orders_runtime)
