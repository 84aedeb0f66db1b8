"""The one place that builds the orders service: pool, migrations, relay, consumers, verifier."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import structlog
from fastapi import FastAPI

from orders.api import build_app
from orders.consumer import (
    REGISTER_EVENTS,
    SYNC_EVENTS,
    odoo_sync_handlers,
    register_replica_handlers,
)
from orders.handlers import PRODUCER, OrderHandlers
from orders.settings import OrdersSettings
from shared.auth import TokenVerifier, public_key_for
from shared.broker import Publisher, QueueSpec, Topology, topology_for
from shared.consumer import EventConsumer, RedeliverThenDeadLetter
from shared.outbox import OutboxRelay, stop_relay
from shared.postgres import create_pool
from shared.revocation import (
    TOKEN_EVENTS,
    load_revocations,
    refresh_revocations,
    revocation_handlers,
)
from shared.service_runtime import attach_consumers, prepare_database
from shared.structured_logging import configure_logging

log = structlog.get_logger(__name__)


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
    verifier: TokenVerifier
    publisher: Publisher
    consumers: list[EventConsumer] = field(default_factory=list)
    consumers_attached: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def orders_runtime(settings: OrdersSettings) -> AsyncIterator[OrdersRuntime]:
    verifier = TokenVerifier(
        public_key_for(settings.jwt_public_key, settings.dev_mode), settings.jwt_issuer
    )
    await prepare_database(settings.database_url, settings.schema_name, "orders")
    pool = await create_pool(
        settings.database_url,
        settings.schema_name,
        PRODUCER,
        settings.db_pool_min_size,
        settings.db_pool_max_size,
    )
    broker_topology = topology(settings)
    publisher = Publisher(settings.amqp_url, broker_topology)
    handlers = OrderHandlers(pool)
    runtime = OrdersRuntime(settings, pool, handlers, verifier, publisher)
    relay = OutboxRelay(
        dsn=settings.database_url,
        schema=settings.schema_name,
        service=PRODUCER,
        publisher=publisher,
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
    specs = {spec.name: spec for spec in queues(settings)}
    for name, handler_map in (
        ("orders.registers", register_replica_handlers(handlers)),
        ("orders.odoo-sync", odoo_sync_handlers(handlers)),
        ("orders.tokens", revocation_handlers(verifier)),
    ):
        runtime.consumers.append(
            EventConsumer(
                name=name,
                queue=specs[settings.broker_name(name)],
                topology=broker_topology,
                handlers=handler_map,
                pool=pool,
                amqp_url=settings.amqp_url,
                prefetch=settings.consumer_prefetch,
                failure_policy=RedeliverThenDeadLetter(settings.consumer_redeliveries),
            )
        )
    # Orders are taken while the broker is down; consumers keep trying to attach meanwhile.
    await load_revocations(pool, verifier)
    runtime.tasks.append(
        asyncio.create_task(refresh_revocations(pool, verifier), name="revocations")
    )
    runtime.tasks.append(
        asyncio.create_task(
            attach_consumers(runtime.consumers, runtime.consumers_attached), name="consumers"
        )
    )
    try:
        yield runtime
    finally:
        await stop_relay(relay, relay_task)
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        for consumer in runtime.consumers:
            await consumer.stop()
        await publisher.close()
        await pool.close()


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    resolved = settings or OrdersSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, orders_runtime)
