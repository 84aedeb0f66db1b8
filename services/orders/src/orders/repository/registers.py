"""The local replica of registers, and their receipt counters."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from orders.domain.model import Register
from orders.repository.rows import typed, typed_or_none
from shared.postgres import Db


async def get_register(db: Db, tenant_id: UUID, register_id: UUID) -> Register | None:
    record = await db.fetchrow(
        "SELECT * FROM registers WHERE tenant_id = $1 AND register_id = $2",
        tenant_id,
        register_id,
    )
    return typed_or_none(Register, record)


async def get_register_version(
    db: Db, tenant_id: UUID, register_id: UUID
) -> tuple[Register, int] | None:
    """The register with the version of the event it was last set from."""
    record = await db.fetchrow(
        "SELECT * FROM registers WHERE tenant_id = $1 AND register_id = $2",
        tenant_id,
        register_id,
    )
    if record is None:
        return None
    return typed(Register, record), record["version"]


async def upsert_register(db: Db, register: Register, version: int) -> bool:
    """Applies a register state if it is newer than ours; returns whether it was applied."""
    applied = await db.fetchval(
        """INSERT INTO registers (register_id, tenant_id, shop_id, name, receipt_prefix, active,
                                  currency, timezone, business_day_cutoff, prices_include_tax,
                                  tenant_tier, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (register_id) DO UPDATE SET
               shop_id = EXCLUDED.shop_id, name = EXCLUDED.name,
               receipt_prefix = EXCLUDED.receipt_prefix, active = EXCLUDED.active,
               currency = EXCLUDED.currency, timezone = EXCLUDED.timezone,
               business_day_cutoff = EXCLUDED.business_day_cutoff,
               prices_include_tax = EXCLUDED.prices_include_tax,
               tenant_tier = EXCLUDED.tenant_tier, version = EXCLUDED.version,
               updated_at = now()
           WHERE registers.version < EXCLUDED.version AND registers.tenant_id = EXCLUDED.tenant_id
           RETURNING true""",
        register.register_id,
        register.tenant_id,
        register.shop_id,
        register.name,
        register.receipt_prefix,
        register.active,
        register.currency,
        register.timezone,
        register.business_day_cutoff,
        register.prices_include_tax,
        register.tenant_tier,
        version,
    )
    return bool(applied)


async def next_receipt_value(db: Db, register_id: UUID) -> int:
    """The register's next receipt number; the row stays locked until the caller commits."""
    value: int = await db.fetchval(
        """INSERT INTO receipt_sequences (register_id, last_value) VALUES ($1, 1)
           ON CONFLICT (register_id)
           DO UPDATE SET last_value = receipt_sequences.last_value + 1
           RETURNING last_value""",
        register_id,
    )
    return value


async def get_registers(db: Db, tenant_id: UUID, register_ids: Sequence[UUID]) -> list[Register]:
    records = await db.fetch(
        "SELECT * FROM registers WHERE tenant_id = $1 AND register_id = ANY($2::uuid[])",
        tenant_id,
        list(register_ids),
    )
    return [typed(Register, r) for r in records]
