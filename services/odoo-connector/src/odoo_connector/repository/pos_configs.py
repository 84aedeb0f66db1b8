"""Registers' pos.configs in Odoo: which one a register has, which names a create used, and the
register's own cash journal and method."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from shared.postgres import Db


async def record_pos_config(
    db: Db,
    register_id: UUID,
    tenant_id: UUID,
    tenant_tier: str,
    sync_state: str,
    odoo_pos_config_id: int,
) -> None:
    """The pos.config the connector made for a register, usable by its orders at once.

    A row made here has version 0, so the register's next event still updates the rest of it
    (and save_register keeps the id)."""
    await db.execute(
        """INSERT INTO registers (register_id, tenant_id, tenant_tier, sync_state,
                                  odoo_pos_config_id, version)
           VALUES ($1, $2, $3, $4, $5, 0)
           ON CONFLICT (register_id) DO UPDATE
           SET odoo_pos_config_id = EXCLUDED.odoo_pos_config_id, updated_at = now()
           WHERE registers.odoo_pos_config_id IS DISTINCT FROM EXCLUDED.odoo_pos_config_id""",
        register_id,
        tenant_id,
        tenant_tier,
        sync_state,
        odoo_pos_config_id,
    )


async def register_version(db: Db, register_id: UUID) -> int | None:
    """The newest version of the register the connector has seen (0: only its pos.config)."""
    value: int | None = await db.fetchval(
        "SELECT version FROM registers WHERE register_id = $1", register_id
    )
    return value


async def pos_config_of(db: Db, register_id: UUID) -> int | None:
    value: int | None = await db.fetchval(
        "SELECT odoo_pos_config_id FROM registers WHERE register_id = $1", register_id
    )
    return value


async def pos_configs_of_others(
    db: Db, tenant_id: UUID, register_id: UUID, config_ids: list[int]
) -> set[int]:
    """Which of these pos.configs another register of the tenant holds. Only the tenant's own
    registers count: another tenant's pos.config ids are ids in another Odoo."""
    rows = await db.fetch(
        """SELECT odoo_pos_config_id FROM registers
           WHERE tenant_id = $1 AND odoo_pos_config_id = ANY($2::integer[])
             AND register_id <> $3""",
        tenant_id,
        config_ids,
        register_id,
    )
    return {r["odoo_pos_config_id"] for r in rows}


async def note_pos_config_create(db: Db, register_id: UUID, name: str) -> None:
    await db.execute(
        """INSERT INTO pos_config_creates (register_id, names) VALUES ($1, ARRAY[$2])
           ON CONFLICT (register_id) DO UPDATE
           SET names = array_append(pos_config_creates.names, $2)
           WHERE NOT $2 = ANY(pos_config_creates.names)""",
        register_id,
        name,
    )


async def pos_config_create_names(db: Db, register_id: UUID) -> list[str]:
    names: list[str] | None = await db.fetchval(
        "SELECT names FROM pos_config_creates WHERE register_id = $1", register_id
    )
    return list(names or [])


@dataclass(frozen=True)
class CashMethodRow:
    journal_code: str
    odoo_journal_id: int | None
    odoo_payment_method_id: int | None


async def cash_method_of(db: Db, register_id: UUID) -> CashMethodRow | None:
    row = await db.fetchrow(
        """SELECT journal_code, odoo_journal_id, odoo_payment_method_id
           FROM register_cash_methods WHERE register_id = $1""",
        register_id,
    )
    return CashMethodRow(**dict(row)) if row else None


async def reserved_journal_codes(db: Db, tenant_id: UUID) -> set[str]:
    rows = await db.fetch(
        "SELECT journal_code FROM register_cash_methods WHERE tenant_id = $1", tenant_id
    )
    return {r["journal_code"] for r in rows}


async def reserve_journal_code(db: Db, register_id: UUID, tenant_id: UUID, code: str) -> bool:
    """False when another register of the tenant took the code first."""
    return bool(
        await db.fetchval(
            """INSERT INTO register_cash_methods (register_id, tenant_id, journal_code)
               VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true""",
            register_id,
            tenant_id,
            code,
        )
    )


async def record_cash_journal(db: Db, register_id: UUID, odoo_journal_id: int) -> None:
    await db.execute(
        "UPDATE register_cash_methods SET odoo_journal_id = $2 WHERE register_id = $1",
        register_id,
        odoo_journal_id,
    )


async def record_cash_method(
    db: Db, register_id: UUID, odoo_payment_method_id: int, pos_config_method_ids: list[int]
) -> None:
    await db.execute(
        """UPDATE register_cash_methods
           SET odoo_payment_method_id = $2, pos_config_method_ids = $3 WHERE register_id = $1""",
        register_id,
        odoo_payment_method_id,
        pos_config_method_ids,
    )


async def attach_cash_method(db: Db, register_id: UUID, odoo_pos_config_id: int) -> None:
    """The register's cash method is on this pos.config, made with it: its cash goes there."""
    await db.execute(
        """UPDATE register_cash_methods SET odoo_pos_config_id = $2
           WHERE register_id = $1 AND odoo_payment_method_id IS NOT NULL""",
        register_id,
        odoo_pos_config_id,
    )
