"""The one place that builds the connector: the service backbone, the Odoo client, breakers,
register lanes and consumers."""

from __future__ import annotations

from fastapi import FastAPI

from odoo_connector.api import build_app
from odoo_connector.breaker import CircuitBreakers
from odoo_connector.consumer import (
    ODOO_EVENTS,
    REFERENCE_EVENTS,
    REGISTER_EVENTS,
    OdooEventConsumer,
    odoo_preparers,
    reference_handlers,
    register_preparers,
)
from odoo_connector.credentials import credentials_box
from odoo_connector.handlers import ConnectorHandlers
from odoo_connector.housekeeping import receipt_rules
from odoo_connector.odoo_client import OdooClient
from odoo_connector.odoo_pos import OdooPos
from odoo_connector.odoo_work import PRODUCER
from odoo_connector.register_lanes import RegisterLanes
from odoo_connector.settings import ConnectorSettings
from shared.broker import QueueSpec, Topology, delete_topology, topology_for
from shared.consumer_lease import QueueLease
from shared.http_service import Lifespan
from shared.postgres import connect
from shared.retry_topology import RetryThroughTiers, delete_retry_tiers
from shared.revocation import TOKEN_EVENTS, revocation_handlers
from shared.service_runtime import Backbone, service_lifespan
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


def registers_queue(settings: ConnectorSettings) -> QueueSpec:
    return QueueSpec(
        settings.broker_name("connector.registers"),
        REGISTER_EVENTS,
        settings.consumer_delivery_limit,
    )


def tokens_queue(settings: ConnectorSettings) -> QueueSpec:
    return QueueSpec(
        settings.broker_name("connector.tokens"), TOKEN_EVENTS, settings.consumer_delivery_limit
    )


def queues(settings: ConnectorSettings) -> tuple[QueueSpec, ...]:
    return (
        reference_queue(settings),
        odoo_queue(settings),
        registers_queue(settings),
        tokens_queue(settings),
    )


def topology(settings: ConnectorSettings) -> Topology:
    return topology_for(settings, queues(settings))


async def delete_broker_state(settings: ConnectorSettings) -> None:
    """Deletes the connector's queues (work, retry tiers, wait, dead letters) and exchanges,
    with what they hold; for a stack that starts afresh and for tests, never a running one."""
    for spec, schedule in (
        (registers_queue(settings), settings.register_retry_schedule),
        (odoo_queue(settings), settings.retry_schedule),
    ):
        await delete_retry_tiers(settings.amqp_url, topology(settings), spec, schedule)
    await delete_topology(settings.amqp_url, topology(settings))


def lifespan(settings: ConnectorSettings) -> Lifespan:
    # A missing or malformed key is said when the app is built, before the database is touched.
    secrets = credentials_box(settings)

    def wire(backbone: Backbone) -> dict[str, object]:
        client = OdooClient(settings.odoo_timeout_s)
        backbone.close_on_stop(client.aclose)
        breakers = CircuitBreakers(
            client.probe,
            settings.breaker_failure_threshold,
            settings.breaker_probe_initial_s,
            settings.breaker_probe_max_s,
        )
        backbone.close_on_stop(breakers.close)
        lanes = RegisterLanes(
            backbone.pool, settings.odoo_batch_size, settings.predecessor_hold_ms / 1000
        )
        handlers = ConnectorHandlers(
            backbone.pool,
            OdooPos(client, breakers),
            lanes,
            secrets,
            settings.predecessor_wait_max_s,
            settings.register_create_settle_ms / 1000,
            settings.wait_ms / 1000,
        )
        retry_policy = RetryThroughTiers(
            settings.retry_schedule,
            backbone.topology,
            settings.amqp_url,
        )
        backbone.close_on_stop(retry_policy.close)
        register_retry_policy = RetryThroughTiers(
            settings.register_retry_schedule,
            backbone.topology,
            settings.amqp_url,
        )
        backbone.close_on_stop(register_retry_policy.close)
        backbone.consume("connector.reference", reference_handlers(handlers))
        backbone.consume("connector.tokens", revocation_handlers(backbone.verifier))
        orders = odoo_queue(settings)
        # One replica at a time takes the orders' queue, so a register's orders reach it in
        # the order they were published and go in full batches; the others stand by.
        orders_lease = QueueLease(
            lambda: connect(settings.database_url, settings.schema_name, "odoo-connector lease"),
            f"{settings.schema_name}/{orders.name}",
        )
        for name, spec, preparers, policy, lease, prefetch in (
            (
                "connector.odoo",
                orders,
                odoo_preparers(handlers),
                retry_policy,
                orders_lease,
                settings.orders_prefetch,
            ),
            (
                "connector.registers",
                registers_queue(settings),
                register_preparers(handlers),
                register_retry_policy,
                None,
                settings.consumer_prefetch,
            ),
        ):
            backbone.consumers.append(
                OdooEventConsumer(
                    name=name,
                    queue=spec,
                    topology=backbone.topology,
                    preparers=preparers,
                    lanes=lanes,
                    odoo_back=breakers.wait_until_back,
                    outage_hold_s=settings.outage_hold_s,
                    flow_hold_s=settings.flow_hold_s,
                    pool=backbone.pool,
                    amqp_url=settings.amqp_url,
                    prefetch=prefetch,
                    failure_policy=policy,
                    reconnect_interval_s=settings.broker_reconnect_interval_s,
                    on_dead_letter=handlers.report_dead_letter,
                    lease=lease,
                )
            )
        return {"odoo_settings": handlers.odoo_settings}

    return service_lifespan(
        settings,
        wire,
        package="odoo_connector",
        schema=settings.schema_name,
        producer=PRODUCER,
        queues=queues(settings),
        prune_rules=receipt_rules(settings),
    )


def create_app(settings: ConnectorSettings | None = None) -> FastAPI:
    resolved = settings or ConnectorSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, lifespan(resolved))
