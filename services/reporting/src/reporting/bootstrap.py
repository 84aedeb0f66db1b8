"""The one place that builds the reporting service: pool, migrations, consumer, relay, notifier."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from shared.auth import TokenVerifier
from shared.broker import QueueSpec, Topology, topology_for
from shared.consumer import EventConsumer
from shared.postgres import create_pool
from shared.revocation import TOKEN_EVENTS, revocation_handlers
from shared.service_runtime import prepare_database, service_backbone
from shared.structured_logging import configure_logging

log = structlog.get_logger(__name__)

PROJECTION_QUEUE = "reporting.events"
TOKENS_QUEUE = "reporting.tokens"


def queues(settings: ReportingSettings) -> tuple[QueueSpec, ...]:
    limit = settings.consumer_delivery_limit
    return (
        QueueSpec(settings.broker_name(PROJECTION_QUEUE), CONSUMED_EVENTS, limit),
        QueueSpec(settings.broker_name(TOKENS_QUEUE), TOKEN_EVENTS, limit),
    )


def topology(settings: ReportingSettings) -> Topology:
    return topology_for(settings, queues(settings))


def _pool_max_size(settings: ReportingSettings) -> int:
    # The notifier holds one connection while a send is in flight and reads with another.
    return max(settings.db_pool_max_size, 3)


@dataclass
class ReportingRuntime:
    settings: ReportingSettings
    pool: asyncpg.Pool
    projector: Projector
    queries: ReportQueries
    chat_settings: ChatSettings
    notifier: Notifier
    verifier: TokenVerifier
    consumers_attached: asyncio.Event
    consumers: list[EventConsumer]


@contextlib.asynccontextmanager
async def reporting_runtime(settings: ReportingSettings) -> AsyncIterator[ReportingRuntime]:
    configured_key = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    box = SecretBox(secrets_key_for(configured_key, settings.dev_mode))
    telegram = TelegramClient(settings.telegram_api_base, settings.telegram_timeout_s)
    try:
        async with service_backbone(
            settings,
            package="reporting",
            schema=settings.schema_name,
            producer=PRODUCER,
            queues=queues(settings),
            pool_max_size=_pool_max_size(settings),
        ) as backbone:
            projector = Projector()
            queries = ReportQueries(backbone.pool)
            notifier = Notifier(
                pool=backbone.pool, settings=settings, queries=queries, box=box, telegram=telegram
            )
            backbone.consume(PROJECTION_QUEUE, projection_handlers(projector))
            backbone.consume(TOKENS_QUEUE, revocation_handlers(backbone.verifier))
            await backbone.follow_revocations()
            # Reports are served while the broker is down; consumers keep trying to attach.
            backbone.attach_consumers()
            backbone.run(notifier.run(), "notifier")
            yield ReportingRuntime(
                settings=settings,
                pool=backbone.pool,
                projector=projector,
                queries=queries,
                chat_settings=ChatSettings(backbone.pool, box),
                notifier=notifier,
                verifier=backbone.verifier,
                consumers_attached=backbone.consumers_attached,
                consumers=backbone.consumers,
            )
    finally:
        await telegram.close()


async def rebuild_read_models(settings: ReportingSettings, tenant_id: UUID | None) -> int:
    """What `reporting rebuild` runs: the same projection code over the retained event log."""
    await prepare_database(settings.database_url, settings.schema_name, "reporting")
    pool = await create_pool(
        settings.database_url,
        settings.schema_name,
        PRODUCER,
        settings.db_pool_min_size,
        _pool_max_size(settings),
    )
    try:
        return await rebuild(pool, Projector(), tenant_id)
    finally:
        await pool.close()


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    resolved = settings or ReportingSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, reporting_runtime)
