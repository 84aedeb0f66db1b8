"""Registers service settings, read from REGISTERS_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTERS_", extra="ignore", frozen=True)

    http_port: int = 8002
    schema_name: str = "registers"
    # The only signing key in the system; every other service holds just the public half.
    jwt_private_key: str | None = None
    device_token_ttl_s: int = Field(default=365 * 24 * 3600, gt=0)
    person_token_ttl_s: int = Field(default=12 * 3600, gt=0)
    max_token_ttl_s: int = Field(default=2 * 365 * 24 * 3600, gt=0)
