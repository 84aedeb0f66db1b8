"""The one place that builds the registers service: its signing key, queue and what consumes it,
and the first token of a fresh install."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from registers.api import build_app
from registers.consumer import SYNC_RESULT_EVENTS, sync_result_handlers
from registers.handlers import PRODUCER, Actor, RegisterHandlers, TokenPolicy
from registers.http_models import TokenCreate
from registers.settings import RegistersSettings
from shared.auth import PLATFORM_TENANT_ID, Role, TokenIssuer, TokenVerifier, private_key_for
from shared.broker import QueueSpec, Topology, topology_for
from shared.http_service import Lifespan
from shared.service_runtime import Backbone, migrated_pool, service_lifespan
from shared.structured_logging import configure_logging

SYNC_RESULTS_QUEUE = "registers.odoo-sync"


def queues(settings: RegistersSettings) -> tuple[QueueSpec, ...]:
    return (
        QueueSpec(
            settings.broker_name(SYNC_RESULTS_QUEUE),
            SYNC_RESULT_EVENTS,
            settings.consumer_delivery_limit,
        ),
    )


def topology(settings: RegistersSettings) -> Topology:
    return topology_for(settings, queues(settings))


def public_key_of(private_key_pem: str) -> str:
    """The verification half of the signing key, so the two can never disagree."""
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def signing_keys(settings: RegistersSettings) -> tuple[TokenIssuer, TokenVerifier]:
    private_key = private_key_for(settings.jwt_private_key, settings.dev_mode, settings.env_prefix)
    return (
        TokenIssuer(private_key, settings.jwt_issuer),
        TokenVerifier(public_key_of(private_key), settings.jwt_issuer),
    )


def token_policy(settings: RegistersSettings) -> TokenPolicy:
    return TokenPolicy(
        device_ttl=timedelta(seconds=settings.device_token_ttl_s),
        person_ttl=timedelta(seconds=settings.person_token_ttl_s),
        max_ttl=timedelta(seconds=settings.max_token_ttl_s),
    )


def lifespan(settings: RegistersSettings) -> Lifespan:
    # A missing signing key is said when the app is built, before anything touches the database.
    issuer, verifier = signing_keys(settings)

    def wire(backbone: Backbone) -> dict[str, object]:
        handlers = RegisterHandlers(backbone.pool, issuer, verifier, token_policy(settings))
        backbone.consume(SYNC_RESULTS_QUEUE, sync_result_handlers(handlers))
        return {"handlers": handlers}

    return service_lifespan(
        settings,
        wire,
        package="registers",
        schema=settings.schema_name,
        producer=PRODUCER,
        queues=queues(settings),
        verifier=verifier,
    )


def create_app(settings: RegistersSettings | None = None) -> FastAPI:
    resolved = settings or RegistersSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, lifespan(resolved))


async def issue_platform_admin_token(
    settings: RegistersSettings, subject: str, ttl: timedelta
) -> str:
    """What `registers platform-admin-token` runs: the first token of a fresh install."""
    # A missing signing key is said before anything touches the database.
    issuer, verifier = signing_keys(settings)
    async with migrated_pool(
        settings, package="registers", schema=settings.schema_name, producer=PRODUCER, max_size=2
    ) as pool:
        handlers = RegisterHandlers(pool, issuer, verifier, token_policy(settings))
        # Whoever can run this command on the deployment already holds the platform's keys.
        console = Actor(PLATFORM_TENANT_ID, "registers-cli", Role.PLATFORM_ADMIN)
        issued = await handlers.issue_token(
            console,
            TokenCreate(
                role="platform_admin", subject=subject, ttl_seconds=int(ttl.total_seconds())
            ),
        )
    return issued.token
