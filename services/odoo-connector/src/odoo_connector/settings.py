"""Connector settings, read from CONNECTOR_* environment variables."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.retry_topology import RetrySchedule
from shared.settings import IntList, ServiceSettings


class ConnectorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTOR_", extra="ignore", frozen=True)

    http_port: int = 8004
    schema_name: str = "connector"
    # Fernet keys of the tenants' Odoo secrets, comma-separated: the first seals, every one opens
    # (README, "Rotating the secret keys"); the published dev key is refused first outside dev mode.
    credentials_key: str | None = None
    # Orders, refunds and sessions: 1, 2, 4, 8, 16 minutes, then the dead-letter queue.
    retry_delays_ms: IntList = (60_000, 120_000, 240_000, 480_000, 960_000)
    # Register creates and updates (pos.config): 1, 5, 15, 60, 240 minutes, then the DLQ.
    register_retry_delays_ms: IntList = (
        60_000,
        300_000,
        900_000,
        3_600_000,
        14_400_000,
    )
    # A new register's pos.config is made once its pending_create is this old: an admin who
    # links the register to an existing pos.config right after creating it gets no clone.
    register_create_settle_ms: int = Field(default=1_000, ge=0)
    # How long a message that waits (prerequisite missing, Odoo down) sits out per round.
    wait_ms: int = Field(default=5_000, gt=0)
    # A message waiting for a prerequisite (an Odoo outage, a register not in Odoo, a tenant the
    # connector never heard of) is dead-lettered with what it waited for after this long.
    max_wait_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    odoo_timeout_s: float = Field(default=30.0, gt=0)
    odoo_batch_size: int = Field(default=20, ge=1, le=100)
    # A register's order waits for the previous one (in flight on another replica, say): held in
    # its lane while the lane moves or for predecessor_hold_ms, then in wait rounds. It goes
    # without it once the previous one has not been seen for predecessor_wait_max_s: that one
    # may never come (placed while the tenant was Starter, or before the connector ran).
    predecessor_wait_max_s: float = Field(default=120.0, gt=0)
    predecessor_hold_ms: int = Field(default=1_000, ge=0)
    # Through an Odoo outage a message is held in the process (the queue keeps its order, and
    # the backlog goes in full batches the moment a probe succeeds) for at most this long, then
    # it waits in wait rounds. Below RabbitMQ's consumer_timeout (30 min by default), which
    # would close the channel on a message unacknowledged longer.
    outage_hold_s: float = Field(default=600.0, gt=0)
    # A message waiting for what comes earlier in its register's flow (the previous order, a
    # refund's original, the previous till session's close) is held in the process this long
    # before it takes a wait round; see consumer.IN_FLOW_WAITS. Short: what it waits for is
    # usually done within moments, and a wait round frees the process's hold on whatever the
    # wait itself may be holding up.
    flow_hold_s: float = Field(default=5.0, gt=0)
    # The orders' queue is this many partition queues (a register's events all go to one), each
    # consumed by one replica at a time; the replicas share them out evenly. More partitions
    # than replicas you will ever run: a change re-hashes the registers (see partitions.py).
    odoo_partitions: int = Field(default=16, ge=1, le=256)
    # How often a replica counts the replicas and takes or hands back partitions; a replica
    # gone is noticed at once (its locks go with its session), its partitions taken within this.
    partition_check_s: float = Field(default=0.5, gt=0)
    # Per partition queue, one consumer each: a prefetch that holds a partition's backlog lets
    # what a held message waits for be delivered behind it.
    orders_prefetch: int = Field(default=500, ge=1)
    breaker_failure_threshold: int = Field(default=3, ge=1)
    breaker_probe_initial_s: float = Field(default=1.0, gt=0)
    breaker_probe_max_s: float = Field(default=60.0, gt=0)
    # How long the receipts of what is in Odoo (synced orders, push attempts) are kept at least;
    # see housekeeping.py for what else keeps them.
    receipts_retention: timedelta = timedelta(days=400)
    # Where `odoo-connector backfill` hands a tenant's Odoo history over.
    orders_url: str = "http://127.0.0.1:8001"
    registers_url: str = "http://127.0.0.1:8002"

    @property
    def retry_schedule(self) -> RetrySchedule:
        return RetrySchedule.of(self.retry_delays_ms, self.wait_ms, self.max_wait_s)

    @property
    def register_retry_schedule(self) -> RetrySchedule:
        return RetrySchedule.of(self.register_retry_delays_ms, self.wait_ms, self.max_wait_s)
