"""HTTP bodies of the connector's admin API; never the same types as its events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class OdooSettingsPut(BaseModel):
    """A tenant's Odoo: where it is, which database, and as whom the connector logs in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(max_length=500)
    database: str = Field(min_length=1, max_length=200)
    login: str = Field(min_length=1, max_length=200)
    # An API key (preferred) or the user's password; stored encrypted, never shown again.
    secret: SecretStr
    # Only when the server cannot be asked (`common.version` blocked by a proxy).
    odoo_version: Literal[16, 17, 18] | None = None
    # The pos.config new registers are cloned from; without it, the first active one.
    template_pos_config_id: int | None = Field(default=None, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be the Odoo server's base URL, like https://mycompany.odoo.com")
        if parts.query or parts.fragment:
            raise ValueError("must be a base URL without a query or fragment")
        return value.strip().rstrip("/")

    @field_validator("secret")
    @classmethod
    def _usable_secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must be the Odoo user's API key (or password), not empty")
        if len(value.get_secret_value()) > 500:
            raise ValueError("must be at most 500 characters")
        return value


class OdooSettingsPublic(BaseModel):
    tenant_id: UUID
    url: str
    database: str
    login: str
    odoo_version: int | None
    template_pos_config_id: int | None = None
    secret_stored: bool
    updated_at: datetime


class OdooCheckPublic(BaseModel):
    reachable: bool
    authenticated: bool
    version: int | None = None
    template_pos_config: dict[str, Any] | None = None
    payment_methods: list[dict[str, Any]] = Field(default_factory=list)
    problem: str | None = None
