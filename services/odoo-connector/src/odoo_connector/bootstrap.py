"""The one place that builds the connector: pool, outbox relay, Odoo client, breakers, consumers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
from fastapi import FastAPI

from odoo_connector.api import build_app
from odoo_connector.breaker import CircuitBreakers
from odoo_connector.consumer import (
    ODOO_EVENTS,
    REFERENCE_EVENTS,
    OdooEventConsumer,
    odoo_preparers,
    reference_handlers,
)
from odoo_connector.credentials import SecretBox, credentials_key_for
from odoo_connector.handlers import PRODUCER, ConnectorHandlers
from odoo_connector.odoo_client import OdooClient
from odoo_connector.odoo_pos import OdooPos
from odoo_connector.register_lanes import RegisterLanes
from odoo_connector.settings import ConnectorSettings
from shared.auth import TokenVerifier, public_key_for
from shared.broker import Publisher, QueueSpec, Topology, topology_for
from shared.consumer import EventConsumer, RedeliverThenDeadLetter
from shared.outbox import OutboxRelay, stop_relay
from shared.postgres import create_pool
from shared.retry_topology import RetryThroughTiers
from shared.service_runtime import attach_consumers, prepare_database
from shared.structured_logging import configure_logging


def reference_queue(settings: ConnectorSettings) -> QueueSpec:
    return QueueSpec(
        settings.broker_name("connector.reference"),
        REFERENCE_EVENTS,
        settings.consumer_delivery_limit,
    )


def odoo_queue(settings: ConnectorSettings) -> QueueSpec:
    return QueueSpec(
        settings.broker_name("connector.odoo"), ODOO_EVENTS, settings.consumer_delivery_limit
    )


def topology(settings: ConnectorSettings) -> Topology:
    return topology_for(settings, (reference_queue(settings), odoo_queue(settings)))


@dataclass
class ConnectorRuntime:
    settings: ConnectorSettings
    pool: asyncpg.Pool
    handlers: ConnectorHandlers
    verifier: TokenVerifier
    consumers: list[EventConsumer] = field(default_factory=list)
    consumers_attached: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def connector_runtime(settings: ConnectorSettings) -> AsyncIterator[ConnectorRuntime]:
    verifier = TokenVerifier(
        public_key_for(settings.jwt_public_key, settings.dev_mode), settings.jwt_issuer
    )
    secrets = SecretBox(credentials_key_for(settings.credentials_key, settings.dev_mode))
    await prepare_database(settings.database_url, settings.schema_name, "odoo_connector")
    pool = await create_pool(
        settings.database_url,
        settings.schema_name,
        PRODUCER,
        settings.db_pool_min_size,
        settings.db_pool_max_size,
    )
    broker_topology = topology(settings)
    publisher = Publisher(settings.amqp_url, broker_topology)
    relay = OutboxRelay(
        dsn=settings.database_url,
        schema=settings.schema_name,
        service=PRODUCER,
        publisher=publisher,
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
    client = OdooClient(settings.odoo_timeout_s)
    breakers = CircuitBreakers(
        client.probe,
        settings.breaker_failure_threshold,
        settings.breaker_probe_initial_s,
        settings.breaker_probe_max_s,
    )
    lanes = RegisterLanes(pool, settings.odoo_batch_size)
    handlers = ConnectorHandlers(pool, OdooPos(client, breakers), lanes, secrets)
    runtime = ConnectorRuntime(settings, pool, handlers, verifier)
    retry_policy = RetryThroughTiers(
        settings.retry_schedule,
        broker_topology,
        settings.amqp_url,
        on_dead_letter=handlers.record_dead_letter,
    )
    runtime.consumers += [
        EventConsumer(
            name="connector.reference",
            queue=reference_queue(settings),
            topology=broker_topology,
            handlers=reference_handlers(handlers),
            pool=pool,
            amqp_url=settings.amqp_url,
            prefetch=settings.consumer_prefetch,
            failure_policy=RedeliverThenDeadLetter(settings.consumer_redeliveries),
        ),
        OdooEventConsumer(
            name="connector.odoo",
            queue=odoo_queue(settings),
            topology=broker_topology,
            preparers=odoo_preparers(handlers),
            lanes=lanes,
            pool=pool,
            amqp_url=settings.amqp_url,
            prefetch=settings.consumer_prefetch,
            failure_policy=retry_policy,
        ),
    ]
    attaching = asyncio.create_task(
        attach_consumers(runtime.consumers, runtime.consumers_attached), name="consumers"
    )
    try:
        yield runtime
    finally:
        attaching.cancel()
        await asyncio.gather(attaching, return_exceptions=True)
        for consumer in runtime.consumers:
            await consumer.stop()
        await stop_relay(relay, relay_task)
        await retry_policy.close()
        await breakers.close()
        await client.aclose()
        await publisher.close()
        await pool.close()


def create_app(settings: ConnectorSettings | None = None) -> FastAPI:
    resolved = settings or ConnectorSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, connector_runtime)
