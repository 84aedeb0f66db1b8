"""Orders service settings, read from ORDERS_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, available_cores


class OrdersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", frozen=True)

    http_port: int = 8001
    # The order path is CPU-bound in Python: one worker process per core the container has.
    http_workers: int = Field(default_factory=available_cores, ge=1)
    schema_name: str = "orders"
