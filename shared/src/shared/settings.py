"""The settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _int_list(value: Any) -> Any:
    """`200,400,800` or `[200, 400, 800]` from the environment; anything else as given."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        text = text[1:-1] if text.endswith("]") else text[1:]
    return tuple(part.strip() for part in text.split(",") if part.strip())


# A list of integers that an operator may write as `200,400,800` or as JSON. Without NoDecode,
# pydantic-settings takes a list from the environment as JSON only, and the comma form fails.
IntList = Annotated[tuple[int, ...], NoDecode, BeforeValidator(_int_list)]


def available_cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a container's CPU quota."""
    cores = len(os.sched_getaffinity(0))
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, int(quota))) if quota is not None else cores


def _cgroup_cpu_quota() -> float | None:
    """The CPU limit of this process's cgroup in cores (v2's cpu.max, v1's CFS quota)."""
    try:
        limit, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            limit = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text().strip()
            period = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if limit in ("max", "-1"):
        return None
    try:
        return int(limit) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


class ServiceSettings(BaseSettings):
    """Connection and identity settings common to every service."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefixes every exchange and queue name, so several deployments (or test runs) share a broker.
    broker_namespace: str = ""
    exchange: str = "pos.events"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # Worker processes serving HTTP, each a whole copy of the service (README, "Workers").
    http_workers: int = Field(default=1, ge=1)
    log_level: str = "INFO"
    log_json: bool = True
    dev_mode: bool = False
    jwt_public_key: str | None = None
    jwt_issuer: str = "pos-platform"
    db_pool_min_size: int = Field(default=2, ge=1)
    db_pool_max_size: int = Field(default=10, ge=1)
    outbox_poll_interval_s: float = Field(default=2.0, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1)
    # How long the relay, woken by a notification, waits for the rest of the burst to commit.
    outbox_gather_s: float = Field(default=0.005, ge=0, le=1)
    consumer_prefetch: int = Field(default=50, ge=1)
    consumer_delivery_limit: int = Field(default=20, ge=1)
    consumer_redeliveries: int = Field(default=5, ge=0)
    # How often a consumer's connection tries the broker again while it is away.
    broker_reconnect_interval_s: float = Field(default=2.0, gt=0)
    # Housekeeping (README, "Housekeeping"): how long rows are kept, as seconds or ISO 8601
    # (P7D), and how the pruner goes about it.
    outbox_retention: timedelta = timedelta(days=7)
    inbox_retention: timedelta = timedelta(days=30)
    dead_letter_retention: timedelta = timedelta(days=30)
    housekeeping_interval_s: float = Field(default=300.0, gt=0)
    housekeeping_batch_size: int = Field(default=1000, ge=1, le=100_000)
    # How often the dead-letter gauges are read from the database.
    dead_letter_metrics_interval_s: float = Field(default=15.0, gt=0)

    @property
    def env_prefix(self) -> str:
        """What this service's environment variables start with, such as `REGISTERS_`."""
        return str(self.model_config.get("env_prefix") or "")

    def broker_name(self, name: str) -> str:
        return f"{self.broker_namespace}.{name}" if self.broker_namespace else name

    @property
    def exchange_name(self) -> str:
        return self.broker_name(self.exchange)
