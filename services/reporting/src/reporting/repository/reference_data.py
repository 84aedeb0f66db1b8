"""Reference data reports name things by: tenants, shops, registers, payment methods, sessions."""

from __future__ import annotations

from datetime import datetime, time
from uuid import UUID

from reporting.domain.projection import SessionState
from shared.postgres import Db


async def upsert_tenant(
    db: Db,
    *,
    tenant_id: UUID,
    name: str,
    tier: str,
    currency: str,
    timezone: str,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO tenants (tenant_id, name, tier, currency, timezone, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id) DO UPDATE
           SET name = excluded.name, tier = excluded.tier, currency = excluded.currency,
               timezone = excluded.timezone, version = excluded.version
           WHERE tenants.version < excluded.version""",
        tenant_id,
        name,
        tier,
        currency,
        timezone,
        version,
    )


# A shop event sets info_at to infinity, so no register event's copy of the shop overwrites it.
async def upsert_shop_from_shop_event(
    db: Db,
    *,
    tenant_id: UUID,
    shop_id: UUID,
    name: str,
    currency: str,
    timezone: str,
    cutoff: time,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO shops (tenant_id, shop_id, name, currency, timezone, business_day_cutoff,
                              version, info_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'infinity')
           ON CONFLICT (tenant_id, shop_id) DO UPDATE
           SET name = excluded.name, currency = excluded.currency, timezone = excluded.timezone,
               business_day_cutoff = excluded.business_day_cutoff, version = excluded.version,
               info_at = excluded.info_at
           WHERE shops.version < excluded.version""",
        tenant_id,
        shop_id,
        name,
        currency,
        timezone,
        cutoff,
        version,
    )


async def upsert_shop_from_register_event(
    db: Db,
    *,
    tenant_id: UUID,
    shop_id: UUID,
    name: str | None,
    currency: str,
    timezone: str,
    cutoff: time,
    info_at: datetime,
) -> None:
    """A register event's copy of its shop, used only until the shop's own events arrive."""
    await db.execute(
        """INSERT INTO shops (tenant_id, shop_id, name, currency, timezone, business_day_cutoff,
                              version, info_at)
           VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
           ON CONFLICT (tenant_id, shop_id) DO UPDATE
           SET name = COALESCE(excluded.name, shops.name), currency = excluded.currency,
               timezone = excluded.timezone, business_day_cutoff = excluded.business_day_cutoff,
               info_at = excluded.info_at
           WHERE shops.version = 0 AND shops.info_at < excluded.info_at""",
        tenant_id,
        shop_id,
        name,
        currency,
        timezone,
        cutoff,
        info_at,
    )


async def upsert_register(
    db: Db,
    *,
    tenant_id: UUID,
    register_id: UUID,
    shop_id: UUID,
    name: str,
    receipt_prefix: str,
    active: bool,
    tier: str,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO registers (tenant_id, register_id, shop_id, name, receipt_prefix, active,
                                  tier, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, register_id) DO UPDATE
           SET shop_id = excluded.shop_id, name = excluded.name,
               receipt_prefix = excluded.receipt_prefix, active = excluded.active,
               tier = excluded.tier, version = excluded.version
           WHERE registers.version < excluded.version""",
        tenant_id,
        register_id,
        shop_id,
        name,
        receipt_prefix,
        active,
        tier,
        version,
    )


async def upsert_payment_method(
    db: Db,
    *,
    tenant_id: UUID,
    payment_method_id: UUID,
    code: str,
    name: str,
    kind: str,
    version: int,
) -> None:
    await db.execute(
        """INSERT INTO payment_methods (tenant_id, payment_method_id, code, name, kind, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id, payment_method_id) DO UPDATE
           SET code = excluded.code, name = excluded.name, kind = excluded.kind,
               version = excluded.version
           WHERE payment_methods.version < excluded.version""",
        tenant_id,
        payment_method_id,
        code,
        name,
        kind,
        version,
    )


async def upsert_session(db: Db, session: SessionState) -> None:
    """Applies a session state if it is newer than the one held (closed outranks opened)."""
    await db.execute(
        """INSERT INTO sessions (tenant_id, session_id, register_id, shop_id, business_date, state,
                                 currency, opened_at, opened_by, opening_cash, closed_at,
                                 closed_by, expected_cash, counted_cash, closing_note, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT (tenant_id, session_id) DO UPDATE
           SET register_id = excluded.register_id, shop_id = excluded.shop_id,
               business_date = excluded.business_date, state = excluded.state,
               currency = excluded.currency, opened_at = excluded.opened_at,
               opened_by = excluded.opened_by, opening_cash = excluded.opening_cash,
               closed_at = excluded.closed_at, closed_by = excluded.closed_by,
               expected_cash = excluded.expected_cash, counted_cash = excluded.counted_cash,
               closing_note = excluded.closing_note, version = excluded.version
           WHERE sessions.version < excluded.version""",
        session.tenant_id,
        session.session_id,
        session.register_id,
        session.shop_id,
        session.business_date,
        session.state,
        session.currency,
        session.opened_at,
        session.opened_by,
        session.opening_cash,
        session.closed_at,
        session.closed_by,
        session.expected_cash,
        session.counted_cash,
        session.closing_note,
        session.version,
    )
