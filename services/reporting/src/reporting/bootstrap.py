"""The one place that builds the reporting service: pool, migrations, consumer, relay, notifier."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import structlog
from fastapi import FastAPI

from reporting.api import build_app
from reporting.consumer import CONSUMED_EVENTS, projection_handlers
from reporting.handlers import PRODUCER, ChatSettings, Projector, ReportQueries, rebuild
from reporting.notifications import Notifier
from reporting.secret_box import SecretBox, secrets_key_for
from reporting.settings import ReportingSettings
from reporting.telegram_client import TelegramClient
from shared.auth import TokenVerifier, public_key_for
from shared.broker import Publisher, QueueSpec, Topology, topology_for
from shared.consumer import EventConsumer, RedeliverThenDeadLetter
from shared.outbox import OutboxRelay, stop_relay
from shared.postgres import create_pool
from shared.service_runtime import attach_consumers, prepare_database
from shared.structured_logging import configure_logging

log = structlog.get_logger(__name__)

PROJECTION_QUEUE = "reporting.events"


def queues(settings: ReportingSettings) -> tuple[QueueSpec, ...]:
    limit = settings.consumer_delivery_limit
    return (QueueSpec(settings.broker_name(PROJECTION_QUEUE), CONSUMED_EVENTS, limit),)


def topology(settings: ReportingSettings) -> Topology:
    return topology_for(settings, queues(settings))


async def _pool(settings: ReportingSettings) -> asyncpg.Pool:
    return await create_pool(
        settings.database_url,
        settings.schema_name,
        PRODUCER,
        settings.db_pool_min_size,
        # The notifier holds one connection while a send is in flight and reads with another.
        max(settings.db_pool_max_size, 3),
    )


@dataclass
class ReportingRuntime:
    settings: ReportingSettings
    pool: asyncpg.Pool
    projector: Projector
    queries: ReportQueries
    chat_settings: ChatSettings
    notifier: Notifier
    verifier: TokenVerifier
    publisher: Publisher
    consumers: list[EventConsumer] = field(default_factory=list)
    consumers_attached: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def reporting_runtime(settings: ReportingSettings) -> AsyncIterator[ReportingRuntime]:
    verifier = TokenVerifier(
        public_key_for(settings.jwt_public_key, settings.dev_mode), settings.jwt_issuer
    )
    configured_key = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    box = SecretBox(secrets_key_for(configured_key, settings.dev_mode))
    await prepare_database(settings.database_url, settings.schema_name, "reporting")
    pool = await _pool(settings)
    broker_topology = topology(settings)
    publisher = Publisher(settings.amqp_url, broker_topology)
    telegram = TelegramClient(settings.telegram_api_base, settings.telegram_timeout_s)
    projector = Projector()
    queries = ReportQueries(pool)
    notifier = Notifier(pool=pool, settings=settings, queries=queries, box=box, telegram=telegram)
    runtime = ReportingRuntime(
        settings=settings,
        pool=pool,
        projector=projector,
        queries=queries,
        chat_settings=ChatSettings(pool, box),
        notifier=notifier,
        verifier=verifier,
        publisher=publisher,
    )
    relay = OutboxRelay(
        dsn=settings.database_url,
        schema=settings.schema_name,
        service=PRODUCER,
        publisher=publisher,
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
    runtime.consumers.append(
        EventConsumer(
            name=PROJECTION_QUEUE,
            queue=queues(settings)[0],
            topology=broker_topology,
            handlers=projection_handlers(projector),
            pool=pool,
            amqp_url=settings.amqp_url,
            prefetch=settings.consumer_prefetch,
            failure_policy=RedeliverThenDeadLetter(settings.consumer_redeliveries),
        )
    )
    # Reports are served while the broker is down; the consumer keeps trying to attach.
    runtime.tasks.append(
        asyncio.create_task(
            attach_consumers(runtime.consumers, runtime.consumers_attached), name="consumers"
        )
    )
    runtime.tasks.append(asyncio.create_task(notifier.run(), name="notifier"))
    try:
        yield runtime
    finally:
        await stop_relay(relay, relay_task)
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        for consumer in runtime.consumers:
            await consumer.stop()
        await telegram.close()
        await publisher.close()
        await pool.close()


async def rebuild_read_models(settings: ReportingSettings, tenant_id: UUID | None) -> int:
    """What `reporting rebuild` runs: the same projection code over the retained event log."""
    await prepare_database(settings.database_url, settings.schema_name, "reporting")
    pool = await _pool(settings)
    try:
        return await rebuild(pool, Projector(), tenant_id)
    finally:
        await pool.close()


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    resolved = settings or ReportingSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, reporting_runtime)
