"""What every service builds alike at start-up: its schema, pool, verifier, publisher, outbox
relay and consumers, the FastAPI lifespan that runs them, and how it tears them down again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NotRequired, TypedDict, Unpack

import asyncpg
import structlog
from fastapi import FastAPI

from shared.auth import TokenVerifier, public_key_for
from shared.batch_consumer import BatchEventConsumer, BatchHandler
from shared.broker import Publisher, QueueSpec, Topology, topology_for
from shared.consumer import EventConsumer, FailurePolicy, Handler, RedeliverThenDeadLetter
from shared.dead_letters.metrics import keep_dead_letter_metrics
from shared.housekeeping import Pruner, PruneRule, standard_rules
from shared.http_service import Lifespan
from shared.migrations import load_migrations, migrate, shared_migrations
from shared.outbox import OutboxRelay, stop_relay
from shared.postgres import create_pool
from shared.revocation import load_revocations, refresh_revocations
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


async def prepare_database(dsn: str, schema: str, package: str) -> None:
    """Applies shared's migrations and then the package's `migrations/` folder to `schema`."""
    migrations = shared_migrations() + load_migrations(
        package, resources.files(package) / "migrations"
    )
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, schema, migrations)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def migrated_pool(
    settings: ServiceSettings, *, package: str, schema: str, producer: str, max_size: int
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on `schema` once its migrations ran: all a command run beside the service needs."""
    await prepare_database(settings.database_url, schema, package)
    pool = await create_pool(
        settings.database_url, schema, producer, min(settings.db_pool_min_size, max_size), max_size
    )
    try:
        yield pool
    finally:
        await pool.close()


async def attach_consumers(consumers: list[EventConsumer], attached: asyncio.Event) -> None:
    """Keeps trying until every consumer is attached; HTTP is served meanwhile."""
    await asyncio.gather(*(consumer.attach() for consumer in consumers))
    attached.set()


@dataclass
class Backbone:
    """A running service's shared parts; the service adds its consumers and background tasks."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    verifier: TokenVerifier
    publisher: Publisher
    topology: Topology
    consumers: list[EventConsumer] = field(default_factory=list)
    consumers_attached: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    def consume(
        self,
        queue: str,
        handlers: Mapping[str, Handler],
        failure_policy: FailurePolicy | None = None,
    ) -> None:
        """Adds a consumer of one of the topology's queues (named without the namespace)."""
        self.consumers.append(
            EventConsumer(**self._consumer_parts(queue, handlers, failure_policy))
        )

    def consume_in_batches(
        self,
        queue: str,
        handlers: Mapping[str, Handler],
        apply_batch: BatchHandler,
        *,
        max_events: int,
        window_s: float,
    ) -> None:
        """Adds a consumer that applies up to `max_events` events per transaction; `handlers`
        apply one event, for a batch that failed and is applied again message by message."""
        parts = self._consumer_parts(queue, handlers, None)
        # The next batch is delivered while one commits.
        parts["prefetch"] = max(parts["prefetch"], 2 * max_events)
        self.consumers.append(
            BatchEventConsumer(
                apply_batch=apply_batch, max_events=max_events, window_s=window_s, **parts
            )
        )

    def _consumer_parts(
        self, queue: str, handlers: Mapping[str, Handler], failure_policy: FailurePolicy | None
    ) -> dict[str, Any]:
        specs = {spec.name: spec for spec in self.topology.queues}
        return {
            "name": queue,
            "queue": specs[self.settings.broker_name(queue)],
            "topology": self.topology,
            "handlers": handlers,
            "pool": self.pool,
            "amqp_url": self.settings.amqp_url,
            "prefetch": self.settings.consumer_prefetch,
            "failure_policy": failure_policy
            or RedeliverThenDeadLetter(self.settings.consumer_redeliveries),
            "reconnect_interval_s": self.settings.broker_reconnect_interval_s,
        }

    def run(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Runs `work` in the background until the service stops."""
        self.tasks.append(asyncio.create_task(work, name=name))

    def close_on_stop(self, close: Callable[[], Awaitable[object]]) -> None:
        """Awaits `close` once the consumers and background tasks are stopped (the last one
        registered first), while the pool and publisher are still open."""
        self.closers.append(close)

    async def follow_revocations(self) -> None:
        """Refuses revoked tokens now and keeps reloading them (other replicas record some)."""
        await load_revocations(self.pool, self.verifier)
        self.run(refresh_revocations(self.pool, self.verifier), "revocations")

    def attach_consumers(self) -> None:
        # The service answers while the broker is down; consumers keep trying to attach.
        self.run(attach_consumers(self.consumers, self.consumers_attached), "consumers")


@contextlib.asynccontextmanager
async def service_backbone(
    settings: ServiceSettings,
    *,
    package: str,
    schema: str,
    producer: str,
    queues: tuple[QueueSpec, ...] = (),
    verifier: TokenVerifier | None = None,
    pool_max_size: int | None = None,
    prune_rules: Sequence[PruneRule] = (),
) -> AsyncIterator[Backbone]:
    """Migrates `schema`, then runs the pool, publisher, outbox relay, housekeeping (the
    standard prune rules and `prune_rules`) and the dead-letter gauges until the block exits."""
    verifier = verifier or TokenVerifier(
        public_key_for(settings.jwt_public_key, settings.dev_mode, settings.env_prefix),
        settings.jwt_issuer,
    )
    async with migrated_pool(
        settings,
        package=package,
        schema=schema,
        producer=producer,
        max_size=pool_max_size or settings.db_pool_max_size,
    ) as pool:
        broker_topology = topology_for(settings, queues)
        publisher = Publisher(settings.amqp_url, broker_topology)
        backbone = Backbone(settings, pool, verifier, publisher, broker_topology)
        relay = OutboxRelay(
            dsn=settings.database_url,
            schema=schema,
            service=producer,
            publisher=publisher,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            gather_s=settings.outbox_gather_s,
        )
        relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
        pruner = Pruner(
            pool, [*standard_rules(settings), *prune_rules], settings.housekeeping_batch_size
        )
        backbone.run(pruner.run(settings.housekeeping_interval_s), "housekeeping")
        backbone.run(
            keep_dead_letter_metrics(pool, settings.dead_letter_metrics_interval_s),
            "dead-letter-metrics",
        )
        try:
            yield backbone
        finally:
            await stop_relay(relay, relay_task)
            for task in backbone.tasks:
                task.cancel()
            await asyncio.gather(*backbone.tasks, return_exceptions=True)
            for consumer in backbone.consumers:
                await consumer.stop()
            for close in reversed(backbone.closers):
                await close()
            await publisher.close()


# What a service adds to its backbone (consumers, background tasks, things to close on stop),
# returning what its routes find on `app.state`.
Wiring = Callable[[Backbone], Mapping[str, object]]


class BackboneParts(TypedDict):
    """What sets one service's backbone apart; see `service_backbone`."""

    package: str
    schema: str
    producer: str
    queues: NotRequired[tuple[QueueSpec, ...]]
    verifier: NotRequired[TokenVerifier | None]
    pool_max_size: NotRequired[int | None]
    prune_rules: NotRequired[Sequence[PruneRule]]


def service_lifespan(
    settings: ServiceSettings, wire: Wiring, **parts: Unpack[BackboneParts]
) -> Lifespan:
    """The FastAPI lifespan of a service: its backbone (see `service_backbone`), then what `wire`
    adds, revoked tokens followed, and consumers attaching in the background.

    `app.state` gets `pool`, `token_verifier`, `consumers` and `consumers_attached` (readiness
    and the shared routes read them) and whatever `wire` returns.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_backbone(settings, **parts) as backbone:
            state = wire(backbone)
            await backbone.follow_revocations()
            backbone.attach_consumers()
            app.state.pool = backbone.pool
            app.state.token_verifier = backbone.verifier
            app.state.consumers = backbone.consumers
            app.state.consumers_attached = backbone.consumers_attached
            for name, value in state.items():
                setattr(app.state, name, value)
            yield

    return lifespan
