"""HTTP bodies of the connector's admin API; never the same types as its events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from shared.http_fields import OdooId, SecretText, Text


class TaxMappingEntry(BaseModel):
    """One till tax rate sent to an Odoo sale tax of the tenant's choosing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_percent: Decimal = Field(ge=0, le=100, max_digits=7, decimal_places=4)
    prices_include_tax: bool
    odoo_tax_id: OdooId


class OdooSettingsPut(BaseModel):
    """A tenant's Odoo: where it is, which database, and as whom the connector logs in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Text = Field(max_length=500)
    database: Text = Field(min_length=1, max_length=200)
    login: Text = Field(min_length=1, max_length=200)
    # An API key (preferred) or the user's password; stored encrypted, never shown again.
    secret: SecretText
    # Only when the server cannot be asked (`common.version` blocked by a proxy).
    odoo_version: Literal[16, 17, 18] | None = None
    # The pos.config new registers are cloned from; without it, the first active one.
    template_pos_config_id: OdooId | None = None
    # Rates the connector must not map by itself (by amount and price-include) to an Odoo tax.
    tax_mapping: list[TaxMappingEntry] = Field(default_factory=list, max_length=100)

    @field_validator("tax_mapping")
    @classmethod
    def _one_tax_per_rate(cls, value: list[TaxMappingEntry]) -> list[TaxMappingEntry]:
        seen: set[tuple[Decimal, bool]] = set()
        for entry in value:
            key = (entry.rate_percent.normalize(), entry.prices_include_tax)
            if key in seen:
                raise ValueError(
                    f"names {entry.rate_percent} % "
                    f"{'included' if entry.prices_include_tax else 'excluded'} twice; "
                    "give each rate one Odoo tax"
                )
            seen.add(key)
        return value

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
    tax_mapping: list[TaxMappingEntry] = Field(default_factory=list)
    secret_stored: bool
    updated_at: datetime


class TaxMappingPublic(BaseModel):
    """Where lines of a rate go in Odoo: named in the settings, or found by amount and
    price-include among the Odoo company's percent sale taxes (the oldest such tax)."""

    rate_percent: str
    prices_include_tax: bool
    odoo_tax_id: int
    odoo_tax_name: str
    source: Literal["settings", "found"]


class OdooCheckPublic(BaseModel):
    reachable: bool
    authenticated: bool
    version: int | None = None
    template_pos_config: dict[str, Any] | None = None
    payment_methods: list[dict[str, Any]] = Field(default_factory=list)
    tax_mapping: list[TaxMappingPublic] = Field(default_factory=list)
    problem: str | None = None
