"""The registers schema's SQL, and the typed rows it returns. Every query is scoped to a tenant
unless it is keyed by a row the caller already read within its tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal
from uuid import UUID

from registers.domain.sync import SyncState, SyncStatus
from registers.domain.tenants import Tier
from registers.domain.tokens import IssuableRole
from registers.repository.tables import (
    PAYMENT_METHODS,
    REGISTERS,
    SHOPS,
    TENANTS,
    TOKENS,
    all_typed,
    page_clause,
    tenant_page,
    typed,
    typed_or_none,
    update,
)
from shared.events.contracts import PaymentKind
from shared.postgres import Db

Lock = Literal["", "FOR SHARE", "FOR UPDATE"]


@dataclass(frozen=True)
class TenantRow:
    tenant_id: UUID
    seq: int
    name: str
    tier: Tier
    default_currency: str
    default_timezone: str
    catalog_revision: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ShopRow:
    shop_id: UUID
    tenant_id: UUID
    seq: int
    name: str
    currency: str
    timezone: str
    business_day_cutoff: time
    prices_include_tax: bool
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RegisterRow:
    register_id: UUID
    tenant_id: UUID
    shop_id: UUID
    seq: int
    name: str
    receipt_prefix: str
    active: bool
    odoo_pos_config_id: int | None
    sync_state: SyncState
    sync_budget_version: int
    sync_attempts: int
    last_sync_error: str | None
    last_sync_error_at: datetime | None
    last_synced_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def sync_status(self) -> SyncStatus:
        return SyncStatus(
            state=self.sync_state,
            odoo_pos_config_id=self.odoo_pos_config_id,
            budget_version=self.sync_budget_version,
            attempts=self.sync_attempts,
            last_error=self.last_sync_error,
        )


@dataclass(frozen=True)
class PaymentMethodRow:
    payment_method_id: UUID
    tenant_id: UUID
    seq: int
    code: str
    name: str
    kind: PaymentKind
    active: bool
    odoo_payment_method_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TokenRow:
    token_id: UUID
    tenant_id: UUID
    seq: int
    role: IssuableRole
    register_id: UUID | None
    subject: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


# Rows as a use case first writes them; the database adds seq, version and timestamps.


@dataclass(frozen=True)
class NewTenant:
    tenant_id: UUID
    name: str
    tier: Tier
    default_currency: str
    default_timezone: str


@dataclass(frozen=True)
class NewShop:
    shop_id: UUID
    tenant_id: UUID
    name: str
    currency: str
    timezone: str
    business_day_cutoff: time
    prices_include_tax: bool


@dataclass(frozen=True)
class NewRegister:
    register_id: UUID
    tenant_id: UUID
    shop_id: UUID
    name: str
    receipt_prefix: str
    sync_state: SyncState
    odoo_pos_config_id: int | None


@dataclass(frozen=True)
class NewPaymentMethod:
    payment_method_id: UUID
    tenant_id: UUID
    code: str
    name: str
    kind: PaymentKind
    odoo_payment_method_id: int | None


@dataclass(frozen=True)
class NewToken:
    token_id: UUID
    tenant_id: UUID
    role: IssuableRole
    register_id: UUID | None
    subject: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime


# Tenants.


async def insert_tenant(db: Db, tenant: NewTenant) -> TenantRow:
    record = await db.fetchrow(
        """INSERT INTO tenants (tenant_id, name, tier, default_currency, default_timezone)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        tenant.tenant_id,
        tenant.name,
        tenant.tier,
        tenant.default_currency,
        tenant.default_timezone,
    )
    return typed(TenantRow, record)


async def get_tenant(db: Db, tenant_id: UUID, lock: Lock = "") -> TenantRow | None:
    record = await db.fetchrow(f"SELECT * FROM tenants WHERE tenant_id = $1 {lock}", tenant_id)
    return typed_or_none(TenantRow, record)


async def list_tenants(
    db: Db, only: UUID | None, before_seq: int | None, limit: int
) -> list[TenantRow]:
    params: list[Any] = [limit, only]
    if before_seq is not None:
        params.append(before_seq)
    records = await db.fetch(
        f"""SELECT * FROM tenants WHERE ($2::uuid IS NULL OR tenant_id = $2)
            {page_clause(before_seq, 3)} ORDER BY seq DESC LIMIT $1""",
        *params,
    )
    return all_typed(TenantRow, records)


async def update_tenant(db: Db, tenant_id: UUID, fields: Mapping[str, Any]) -> TenantRow:
    return await update(db, TenantRow, TENANTS, tenant_id, fields)


# Shops.


async def insert_shop(db: Db, shop: NewShop) -> ShopRow:
    record = await db.fetchrow(
        """INSERT INTO shops (shop_id, tenant_id, name, currency, timezone, business_day_cutoff,
                              prices_include_tax)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        shop.shop_id,
        shop.tenant_id,
        shop.name,
        shop.currency,
        shop.timezone,
        shop.business_day_cutoff,
        shop.prices_include_tax,
    )
    return typed(ShopRow, record)


async def get_shop(db: Db, tenant_id: UUID, shop_id: UUID, lock: Lock = "") -> ShopRow | None:
    record = await db.fetchrow(
        f"SELECT * FROM shops WHERE tenant_id = $1 AND shop_id = $2 {lock}", tenant_id, shop_id
    )
    return typed_or_none(ShopRow, record)


async def get_shops(db: Db, tenant_id: UUID, shop_ids: Sequence[UUID]) -> dict[UUID, ShopRow]:
    records = await db.fetch(
        "SELECT * FROM shops WHERE tenant_id = $1 AND shop_id = ANY($2::uuid[])",
        tenant_id,
        list(shop_ids),
    )
    return {shop.shop_id: shop for shop in all_typed(ShopRow, records)}


async def list_shops(db: Db, tenant_id: UUID, before_seq: int | None, limit: int) -> list[ShopRow]:
    return await tenant_page(db, ShopRow, SHOPS, tenant_id, before_seq, limit)


async def update_shop(db: Db, shop_id: UUID, fields: Mapping[str, Any]) -> ShopRow:
    return await update(db, ShopRow, SHOPS, shop_id, fields)


async def shop_has_registers(db: Db, shop_id: UUID) -> bool:
    return bool(await db.fetchval("SELECT true FROM registers WHERE shop_id = $1 LIMIT 1", shop_id))


# Registers.


async def insert_register(db: Db, register: NewRegister) -> RegisterRow:
    record = await db.fetchrow(
        """INSERT INTO registers (register_id, tenant_id, shop_id, name, receipt_prefix,
                                  sync_state, odoo_pos_config_id,
                                  last_synced_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7,
                   CASE WHEN $6 = 'synced' THEN now() END) RETURNING *""",
        register.register_id,
        register.tenant_id,
        register.shop_id,
        register.name,
        register.receipt_prefix,
        register.sync_state,
        register.odoo_pos_config_id,
    )
    return typed(RegisterRow, record)


async def get_register(
    db: Db, tenant_id: UUID, register_id: UUID, lock: Lock = ""
) -> RegisterRow | None:
    record = await db.fetchrow(
        f"SELECT * FROM registers WHERE tenant_id = $1 AND register_id = $2 {lock}",
        tenant_id,
        register_id,
    )
    return typed_or_none(RegisterRow, record)


async def list_registers(
    db: Db,
    tenant_id: UUID,
    *,
    shop_id: UUID | None,
    sync_state: SyncState | None,
    before_seq: int | None,
    limit: int,
) -> list[RegisterRow]:
    filters = {"shop_id": ("uuid", shop_id), "sync_state": ("text", sync_state)}
    return await tenant_page(db, RegisterRow, REGISTERS, tenant_id, before_seq, limit, filters)


async def lock_registers(
    db: Db, *, tenant_id: UUID, shop_id: UUID | None = None
) -> list[RegisterRow]:
    """A tenant's (or one shop's) registers, locked in one order so concurrent locks never cross."""
    records = await db.fetch(
        """SELECT * FROM registers WHERE tenant_id = $1 AND ($2::uuid IS NULL OR shop_id = $2)
           ORDER BY register_id FOR UPDATE""",
        tenant_id,
        shop_id,
    )
    return all_typed(RegisterRow, records)


async def update_register(db: Db, register_id: UUID, fields: Mapping[str, Any]) -> RegisterRow:
    return await update(db, RegisterRow, REGISTERS, register_id, fields)


# Payment methods.


async def insert_payment_method(db: Db, method: NewPaymentMethod) -> PaymentMethodRow:
    record = await db.fetchrow(
        """INSERT INTO payment_methods (payment_method_id, tenant_id, code, name, kind,
                                        odoo_payment_method_id)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        method.payment_method_id,
        method.tenant_id,
        method.code,
        method.name,
        method.kind,
        method.odoo_payment_method_id,
    )
    return typed(PaymentMethodRow, record)


async def get_payment_method(
    db: Db, tenant_id: UUID, payment_method_id: UUID, lock: Lock = ""
) -> PaymentMethodRow | None:
    record = await db.fetchrow(
        f"""SELECT * FROM payment_methods WHERE tenant_id = $1 AND payment_method_id = $2
            {lock}""",
        tenant_id,
        payment_method_id,
    )
    return typed_or_none(PaymentMethodRow, record)


async def list_payment_methods(
    db: Db, tenant_id: UUID, before_seq: int | None, limit: int
) -> list[PaymentMethodRow]:
    return await tenant_page(db, PaymentMethodRow, PAYMENT_METHODS, tenant_id, before_seq, limit)


async def update_payment_method(
    db: Db, payment_method_id: UUID, fields: Mapping[str, Any]
) -> PaymentMethodRow:
    return await update(db, PaymentMethodRow, PAYMENT_METHODS, payment_method_id, fields)


# Tokens.


async def insert_token(db: Db, token: NewToken) -> TokenRow:
    record = await db.fetchrow(
        """INSERT INTO tokens (token_id, tenant_id, role, register_id, subject, issued_by,
                               issued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        token.token_id,
        token.tenant_id,
        token.role,
        token.register_id,
        token.subject,
        token.issued_by,
        token.issued_at,
        token.expires_at,
    )
    return typed(TokenRow, record)


async def get_token(
    db: Db, token_id: UUID, tenant_id: UUID | None, lock: Lock = ""
) -> TokenRow | None:
    """A token by id, within `tenant_id` unless the caller may see every tenant's (None)."""
    record = await db.fetchrow(
        f"""SELECT * FROM tokens WHERE token_id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)
            {lock}""",
        token_id,
        tenant_id,
    )
    return typed_or_none(TokenRow, record)


async def list_tokens(
    db: Db, tenant_id: UUID, before_seq: int | None, limit: int
) -> list[TokenRow]:
    return await tenant_page(db, TokenRow, TOKENS, tenant_id, before_seq, limit)


async def revoke_token(db: Db, token_id: UUID, revoked_by: str) -> TokenRow:
    record = await db.fetchrow(
        """UPDATE tokens SET revoked_at = now(), revoked_by = $2
           WHERE token_id = $1 RETURNING *""",
        token_id,
        revoked_by,
    )
    return typed(TokenRow, record)
