"""The one place that builds the connector: the service backbone, the Odoo client, breakers,
register lanes and consumers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

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
from odoo_connector.partitions import (
    OrderPartitions,
    PartitionedRetries,
    delete_hash_exchange,
    order_partitions,
    preflight,
    watch,
)
from odoo_connector.register_lanes import RegisterLanes
from odoo_connector.settings import ConnectorSettings
from shared.broker import QueueSpec, Topology, delete_topology, topology_for
from shared.consumer_lease import PartitionLeases, QueueLease
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
    """The orders' queue before it was partitioned: bound to nothing now, drained by one replica
    at a time of what it held, and where its dead letters are replayed to."""
    return QueueSpec(settings.broker_name("connector.odoo"), (), settings.consumer_delivery_limit)


def odoo_partitions(settings: ConnectorSettings) -> OrderPartitions:
    """The orders' queue: session and order events in partitions by register."""
    return order_partitions(settings, ODOO_EVENTS)


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
        *odoo_partitions(settings).partitions,
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
    partitions = odoo_partitions(settings)
    await delete_retry_tiers(
        settings.amqp_url,
        topology(settings),
        partitions.group,
        settings.retry_schedule,
        shared=True,
    )
    await delete_hash_exchange(settings.amqp_url, partitions)
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
        former = odoo_queue(settings)
        # One replica at a time drains the former orders' queue, in publish order.
        former_lease = QueueLease(
            lambda: connect(settings.database_url, settings.schema_name, "odoo-connector lease"),
            f"{settings.schema_name}/{former.name}",
        )
        partitions = odoo_partitions(settings)
        partitioned_policy = PartitionedRetries(
            RetryThroughTiers(
                settings.retry_schedule,
                backbone.topology,
                settings.amqp_url,
                shared_by=partitions.group,
            ),
            partitions,
            former,
        )
        backbone.close_on_stop(partitioned_policy.close)
        # Each partition is consumed by one replica at a time, so a register's orders reach it
        # in the order they were published and go in full batches; the replicas share the
        # partitions out, so each one adds throughput.
        leases = PartitionLeases(
            lambda: connect(
                settings.database_url, settings.schema_name, "odoo-connector partitions"
            ),
            f"{settings.schema_name}/{partitions.group.name}",
            len(partitions.partitions),
            settings.partition_check_s,
        )
        watch(leases)
        # After the consumers have stopped: their partitions are handed back as they stop.
        backbone.close_on_stop(leases.stop)
        orders = [
            (
                "connector.odoo",
                spec,
                odoo_preparers(handlers),
                partitioned_policy,
                leases.lease(number),
                settings.orders_prefetch,
            )
            for number, spec in enumerate(partitions.partitions)
        ]
        for name, spec, preparers, policy, lease, prefetch in (
            *orders,
            (
                "connector.odoo",
                former,
                odoo_preparers(handlers),
                retry_policy,
                former_lease,
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

    served = service_lifespan(
        settings,
        wire,
        package="odoo_connector",
        schema=settings.schema_name,
        producer=PRODUCER,
        queues=queues(settings),
        prune_rules=receipt_rules(settings),
    )

    @contextlib.asynccontextmanager
    async def checked_first(app: FastAPI) -> AsyncIterator[None]:
        # A broker without the consistent-hash exchange type stops the start, saying so.
        await preflight(
            settings.amqp_url, topology(settings), odoo_partitions(settings), odoo_queue(settings)
        )
        async with served(app):
            yield

    return checked_first


def create_app(settings: ConnectorSettings | None = None) -> FastAPI:
    resolved = settings or ConnectorSettings()
    configure_logging(PRODUCER, resolved.log_level, resolved.log_json)
    return build_app(resolved, lifespan(resolved))
