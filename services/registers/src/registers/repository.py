"""The registers schema's SQL. Every query is scoped to a tenant unless it is keyed by a row the
caller already read within its tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any, Literal
from uuid import UUID

import asyncpg

from shared.postgres import Db

Row = asyncpg.Record
Lock = Literal["", "FOR SHARE", "FOR UPDATE"]

# The columns a PATCH may set, per table; anything else is a programming error.
_UPDATABLE = {
    "tenants": {"name", "tier", "default_currency", "default_timezone"},
    "shops": {"name", "currency", "timezone", "business_day_cutoff", "prices_include_tax"},
    "registers": {
        "name",
        "receipt_prefix",
        "active",
        "odoo_pos_config_id",
        "sync_state",
        "sync_budget_version",
        "sync_attempts",
        "last_sync_error",
        "last_sync_error_at",
        "last_synced_at",
    },
    "payment_methods": {"name", "kind", "active", "odoo_payment_method_id"},
}
_KEYS = {
    "tenants": "tenant_id",
    "shops": "shop_id",
    "registers": "register_id",
    "payment_methods": "payment_method_id",
}


async def _update(db: Db, table: str, key: UUID, fields: Mapping[str, Any]) -> Row:
    """Sets `fields`, bumps the version, and returns the row as it now is."""
    unknown = set(fields) - _UPDATABLE[table]
    assert not unknown, f"not updatable in {table}: {unknown}"
    names = list(fields)
    assignments = ", ".join(f"{name} = ${index + 2}" for index, name in enumerate(names))
    separator = ", " if assignments else ""
    row = await db.fetchrow(
        f"""UPDATE {table} SET {assignments}{separator}version = version + 1, updated_at = now()
            WHERE {_KEYS[table]} = $1 RETURNING *""",
        key,
        *(fields[name] for name in names),
    )
    assert row is not None
    return row


def _page_clause(before_seq: int | None, first_param: int) -> str:
    return f"AND seq < ${first_param}" if before_seq is not None else ""


async def _tenant_page(
    db: Db, table: str, tenant_id: UUID, before_seq: int | None, limit: int
) -> Sequence[Row]:
    """One page of a tenant's rows of `table`, newest first."""
    params: list[Any] = [tenant_id, limit]
    if before_seq is not None:
        params.append(before_seq)
    return await db.fetch(
        f"""SELECT * FROM {table} WHERE tenant_id = $1 {_page_clause(before_seq, 3)}
            ORDER BY seq DESC LIMIT $2""",
        *params,
    )


# Tenants.


async def insert_tenant(
    db: Db, tenant_id: UUID, name: str, tier: str, currency: str, timezone: str
) -> Row:
    row = await db.fetchrow(
        """INSERT INTO tenants (tenant_id, name, tier, default_currency, default_timezone)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        tenant_id,
        name,
        tier,
        currency,
        timezone,
    )
    assert row is not None
    return row


async def get_tenant(db: Db, tenant_id: UUID, lock: Lock = "") -> Row | None:
    return await db.fetchrow(f"SELECT * FROM tenants WHERE tenant_id = $1 {lock}", tenant_id)


async def list_tenants(
    db: Db, only: UUID | None, before_seq: int | None, limit: int
) -> Sequence[Row]:
    params: list[Any] = [limit, only]
    if before_seq is not None:
        params.append(before_seq)
    return await db.fetch(
        f"""SELECT * FROM tenants WHERE ($2::uuid IS NULL OR tenant_id = $2)
            {_page_clause(before_seq, 3)} ORDER BY seq DESC LIMIT $1""",
        *params,
    )


async def update_tenant(db: Db, tenant_id: UUID, fields: Mapping[str, Any]) -> Row:
    return await _update(db, "tenants", tenant_id, fields)


# Shops.


async def insert_shop(
    db: Db,
    *,
    tenant_id: UUID,
    shop_id: UUID,
    name: str,
    currency: str,
    timezone: str,
    business_day_cutoff: time,
    prices_include_tax: bool,
) -> Row:
    row = await db.fetchrow(
        """INSERT INTO shops (shop_id, tenant_id, name, currency, timezone, business_day_cutoff,
                              prices_include_tax)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        shop_id,
        tenant_id,
        name,
        currency,
        timezone,
        business_day_cutoff,
        prices_include_tax,
    )
    assert row is not None
    return row


async def get_shop(db: Db, tenant_id: UUID, shop_id: UUID, lock: Lock = "") -> Row | None:
    return await db.fetchrow(
        f"SELECT * FROM shops WHERE tenant_id = $1 AND shop_id = $2 {lock}", tenant_id, shop_id
    )


async def list_shops(db: Db, tenant_id: UUID, before_seq: int | None, limit: int) -> Sequence[Row]:
    return await _tenant_page(db, "shops", tenant_id, before_seq, limit)


async def update_shop(db: Db, shop_id: UUID, fields: Mapping[str, Any]) -> Row:
    return await _update(db, "shops", shop_id, fields)


async def shop_has_registers(db: Db, shop_id: UUID) -> bool:
    return bool(await db.fetchval("SELECT true FROM registers WHERE shop_id = $1 LIMIT 1", shop_id))


# Registers.


async def insert_register(
    db: Db,
    *,
    tenant_id: UUID,
    shop_id: UUID,
    register_id: UUID,
    name: str,
    receipt_prefix: str,
    sync_state: str,
    odoo_pos_config_id: int | None,
) -> Row:
    row = await db.fetchrow(
        """INSERT INTO registers (register_id, tenant_id, shop_id, name, receipt_prefix,
                                  sync_state, odoo_pos_config_id,
                                  last_synced_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7,
                   CASE WHEN $6 = 'synced' THEN now() END) RETURNING *""",
        register_id,
        tenant_id,
        shop_id,
        name,
        receipt_prefix,
        sync_state,
        odoo_pos_config_id,
    )
    assert row is not None
    return row


async def get_register(db: Db, tenant_id: UUID, register_id: UUID, lock: Lock = "") -> Row | None:
    return await db.fetchrow(
        f"SELECT * FROM registers WHERE tenant_id = $1 AND register_id = $2 {lock}",
        tenant_id,
        register_id,
    )


async def list_registers(
    db: Db,
    tenant_id: UUID,
    *,
    shop_id: UUID | None,
    sync_state: str | None,
    before_seq: int | None,
    limit: int,
) -> Sequence[Row]:
    params: list[Any] = [tenant_id, limit, shop_id, sync_state]
    if before_seq is not None:
        params.append(before_seq)
    return await db.fetch(
        f"""SELECT * FROM registers
            WHERE tenant_id = $1 AND ($3::uuid IS NULL OR shop_id = $3)
              AND ($4::text IS NULL OR sync_state = $4) {_page_clause(before_seq, 5)}
            ORDER BY seq DESC LIMIT $2""",
        *params,
    )


async def lock_registers(db: Db, *, tenant_id: UUID, shop_id: UUID | None = None) -> Sequence[Row]:
    """A tenant's (or one shop's) registers, locked in one order so concurrent locks never cross."""
    return await db.fetch(
        """SELECT * FROM registers WHERE tenant_id = $1 AND ($2::uuid IS NULL OR shop_id = $2)
           ORDER BY register_id FOR UPDATE""",
        tenant_id,
        shop_id,
    )


async def update_register(db: Db, register_id: UUID, fields: Mapping[str, Any]) -> Row:
    return await _update(db, "registers", register_id, fields)


# Payment methods.


async def insert_payment_method(
    db: Db,
    *,
    tenant_id: UUID,
    payment_method_id: UUID,
    code: str,
    name: str,
    kind: str,
    odoo_payment_method_id: int | None,
) -> Row:
    row = await db.fetchrow(
        """INSERT INTO payment_methods (payment_method_id, tenant_id, code, name, kind,
                                        odoo_payment_method_id)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        payment_method_id,
        tenant_id,
        code,
        name,
        kind,
        odoo_payment_method_id,
    )
    assert row is not None
    return row


async def get_payment_method(
    db: Db, tenant_id: UUID, payment_method_id: UUID, lock: Lock = ""
) -> Row | None:
    return await db.fetchrow(
        f"""SELECT * FROM payment_methods WHERE tenant_id = $1 AND payment_method_id = $2
            {lock}""",
        tenant_id,
        payment_method_id,
    )


async def list_payment_methods(
    db: Db, tenant_id: UUID, before_seq: int | None, limit: int
) -> Sequence[Row]:
    return await _tenant_page(db, "payment_methods", tenant_id, before_seq, limit)


async def update_payment_method(db: Db, payment_method_id: UUID, fields: Mapping[str, Any]) -> Row:
    return await _update(db, "payment_methods", payment_method_id, fields)


# Tokens.


async def insert_token(
    db: Db,
    *,
    token_id: UUID,
    tenant_id: UUID,
    role: str,
    register_id: UUID | None,
    subject: str,
    issued_by: str,
    issued_at: datetime,
    expires_at: datetime,
) -> Row:
    row = await db.fetchrow(
        """INSERT INTO tokens (token_id, tenant_id, role, register_id, subject, issued_by,
                               issued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        token_id,
        tenant_id,
        role,
        register_id,
        subject,
        issued_by,
        issued_at,
        expires_at,
    )
    assert row is not None
    return row


async def get_token(db: Db, token_id: UUID, tenant_id: UUID | None, lock: Lock = "") -> Row | None:
    """A token by id, within `tenant_id` unless the caller may see every tenant's (None)."""
    return await db.fetchrow(
        f"""SELECT * FROM tokens WHERE token_id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)
            {lock}""",
        token_id,
        tenant_id,
    )


async def list_tokens(db: Db, tenant_id: UUID, before_seq: int | None, limit: int) -> Sequence[Row]:
    return await _tenant_page(db, "tokens", tenant_id, before_seq, limit)


async def revoke_token(db: Db, token_id: UUID, revoked_by: str) -> Row:
    row = await db.fetchrow(
        """UPDATE tokens SET revoked_at = now(), revoked_by = $2
           WHERE token_id = $1 RETURNING *""",
        token_id,
        revoked_by,
    )
    assert row is not None
    return row
