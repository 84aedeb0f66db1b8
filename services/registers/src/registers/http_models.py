"""HTTP shapes of the registers API: `*Create`/`*Patch` in, `*Public` out. Never used as events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from registers.domain import SyncState, Tier

PaymentKind = Literal["cash", "card", "qr", "other"]
IssuableRole = Literal["cashier", "manager", "admin", "platform_admin"]

Name = Field(min_length=1, max_length=120)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Patch(_Input):
    def sent(self) -> set[str]:
        """The fields the caller sent; a PATCH changes only those."""
        return set(self.model_fields_set)


# Tenants.


class TenantCreate(_Input):
    name: str = Name
    tier: Tier = "starter"
    default_currency: str = Field(min_length=1, max_length=8)
    default_timezone: str = Field(min_length=1, max_length=64)


class TenantPatch(_Patch):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    tier: Tier | None = None
    default_currency: str | None = Field(default=None, min_length=1, max_length=8)
    default_timezone: str | None = Field(default=None, min_length=1, max_length=64)


class TenantPublic(BaseModel):
    id: UUID
    name: str
    tier: Tier
    default_currency: str
    default_timezone: str
    version: int
    created_at: datetime
    updated_at: datetime


class TenantPage(BaseModel):
    items: list[TenantPublic]
    next_cursor: str | None


# Shops.


class ShopCreate(_Input):
    name: str = Name
    currency: str | None = Field(
        default=None, min_length=1, max_length=8, description="Defaults to the tenant's currency"
    )
    timezone: str | None = Field(
        default=None, min_length=1, max_length=64, description="Defaults to the tenant's zone"
    )
    business_day_cutoff: str = Field(default="04:00", max_length=8)
    prices_include_tax: bool = True


class ShopPatch(_Patch):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    currency: str | None = Field(default=None, min_length=1, max_length=8)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    business_day_cutoff: str | None = Field(default=None, max_length=8)
    prices_include_tax: bool | None = None


class ShopPublic(BaseModel):
    id: UUID
    name: str
    currency: str
    timezone: str
    business_day_cutoff: str
    prices_include_tax: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ShopPage(BaseModel):
    items: list[ShopPublic]
    next_cursor: str | None


# Registers.


class RegisterCreate(_Input):
    name: str = Name
    receipt_prefix: str = Field(min_length=1, max_length=32)
    odoo_pos_config_id: int | None = Field(
        default=None,
        gt=0,
        description="Pro only: the Odoo pos.config this register is; nothing is created in Odoo",
    )


class RegisterPatch(_Patch):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    receipt_prefix: str | None = Field(default=None, min_length=1, max_length=32)
    active: bool | None = None
    odoo_pos_config_id: int | None = Field(
        default=None, gt=0, description="Links an existing Odoo pos.config (admin); sets synced"
    )


class RegisterSyncPublic(BaseModel):
    state: SyncState
    odoo_pos_config_id: int | None
    attempts: int
    last_error: str | None
    last_error_at: datetime | None
    last_synced_at: datetime | None


class RegisterPublic(BaseModel):
    id: UUID
    shop_id: UUID
    name: str
    receipt_prefix: str
    active: bool
    sync_state: SyncState
    odoo_pos_config_id: int | None
    sync: RegisterSyncPublic
    version: int
    created_at: datetime
    updated_at: datetime


class RegisterPage(BaseModel):
    items: list[RegisterPublic]
    next_cursor: str | None


# Payment methods.


class PaymentMethodCreate(_Input):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Name
    kind: PaymentKind
    odoo_payment_method_id: int | None = Field(default=None, gt=0)


class PaymentMethodPatch(_Patch):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    kind: PaymentKind | None = None
    active: bool | None = None
    odoo_payment_method_id: int | None = Field(default=None, gt=0)


class PaymentMethodPublic(BaseModel):
    id: UUID
    code: str
    name: str
    kind: PaymentKind
    active: bool
    odoo_payment_method_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class PaymentMethodPage(BaseModel):
    items: list[PaymentMethodPublic]
    next_cursor: str | None


# Tokens.


class TokenCreate(_Input):
    role: IssuableRole
    subject: str = Field(
        min_length=1, max_length=200, description="Who or what holds it: a person or a device"
    )
    register_id: UUID | None = Field(default=None, description="Required for a cashier device")
    tenant_id: UUID | None = Field(
        default=None, description="Platform admins only: the tenant the token is for"
    )
    ttl_seconds: int | None = Field(default=None, gt=0)


class TokenPublic(BaseModel):
    id: UUID
    tenant_id: UUID
    role: IssuableRole
    register_id: UUID | None
    subject: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="Shown once; store it on the device or in a password manager")


class TokenPage(BaseModel):
    items: list[TokenPublic]
    next_cursor: str | None
