"""The one place that builds the reporting service: its queues, projector, notifier and the
box of the chat bot tokens."""

from __future__ import annotations

from uuid import UUID

from fastapi import FastAPI

from reporting.api import build_app
from reporting.consumer import CONSUMED_EVENTS, projection_batch, projection_handlers
from reporting.handlers import (
    PRODUCER,
    ChatCommands,
    ChatSettings,
    Projector,
    ReportQueries,
    rebuild,
)
from reporting.notifications import Notifier
from reporting.settings import SECRETS_KEY, ReportingSettings
from reporting.telegram_client import TelegramClient
from shared.broker import QueueSpec, Topology, topology_for
from shared.http_service import Lifespan
from shared.revocation import TOKEN_EVENTS, revocation_handlers
from shared.service_runtime import Backbone, migrated_pool, service_lifespan
from shared.structured_logging import configure_logging

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


def lifespan(settings: ReportingSettings) -> Lifespan:
    configured = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    # A missing or malformed key is said when the app is built, before the database is touched.
    box = SECRETS_KEY.box(configured, settings.dev_mode)

    def wire(backbone: Backbone) -> dict[str, object]:
        telegram = TelegramClient(settings.telegram_api_base, settings.telegram_timeout_s)
        backbone.close_on_stop(telegram.close)
        projector = Projector()
        queries = ReportQueries(backbone.pool)
        notifier = Notifier(
            pool=backbone.pool, settings=settings, queries=queries, box=box, telegram=telegram
        )
        if settings.projector_enabled:
            backbone.consume_in_batches(
                PROJECTION_QUEUE,
                projection_handlers(projector),
                projection_batch(projector),
                max_events=settings.projector_batch_max_events,
                window_s=settings.projector_batch_window_ms / 1000,
            )
        backbone.consume(TOKENS_QUEUE, revocation_handlers(backbone.verifier))
        backbone.run(notifier.run(), "notifier")
        return {
            "queries": queries,
            "chat_settings": ChatSettings(backbone.pool, box),
            "chat_commands": ChatCommands(
                pool=backbone.pool,
                box=box,
                telegram=telegram,
                queries=queries,
                public_url=settings.public_url,
            ),
            "notifier": notifier,
        }

    return service_lifespan(
        settings,
        wire,
        package="reporting",
        schema=settings.schema_name,
        producer=PRODUCER,
        queues=queues(settings),
        pool_max_size=_pool_max_size(settings),
    )


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    resolved = settings or ReportingSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, lifespan(resolved))


async def rebuild_read_models(settings: ReportingSettings, tenant_id: UUID | None) -> int:
    """What `reporting rebuild` runs: the same projection code over the retained event log."""
    async with migrated_pool(
        settings,
        package="reporting",
        schema=settings.schema_name,
        producer=PRODUCER,
        max_size=_pool_max_size(settings),
    ) as pool:
        return await rebuild(pool, Projector(), tenant_id)
