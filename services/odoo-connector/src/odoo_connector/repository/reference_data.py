"""Reference data (tenants' tiers and Odoo settings, registers, payment methods, products) and
the one read an Odoo-bound event makes of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from odoo_connector.domain import NamedTax
from shared.postgres import Db


@dataclass(frozen=True)
class RegisterRow:
    register_id: UUID
    tenant_id: UUID
    tenant_tier: str
    sync_state: str
    odoo_pos_config_id: int | None


@dataclass(frozen=True)
class SettingsRow:
    tenant_id: UUID
    url: str
    database: str
    login: str
    secret_encrypted: bytes
    odoo_version: int | None
    updated_at: datetime
    template_pos_config_id: int | None = None
    tax_mapping: tuple[NamedTax, ...] = ()


def _settings_row(tenant_id: UUID, row: asyncpg.Record) -> SettingsRow:
    """From a row holding odoo_settings' columns; tax_mapping is stored as the API's JSON."""
    return SettingsRow(
        tenant_id,
        row["url"],
        row["database"],
        row["login"],
        row["secret_encrypted"],
        row["odoo_version"],
        row["updated_at"],
        row["template_pos_config_id"],
        tuple(
            NamedTax(
                str(entry["rate_percent"]),
                bool(entry["prices_include_tax"]),
                int(entry["odoo_tax_id"]),
            )
            for entry in row["tax_mapping"] or ()
        ),
    )


@dataclass(frozen=True)
class OwnCashMethod:
    """The cash payment method the connector made for a register whose pos.config it created."""

    odoo_payment_method_id: int
    pos_config_method_ids: frozenset[int]


@dataclass(frozen=True)
class EventContext:
    """Everything an Odoo-bound event needs to know about its tenant and register."""

    tier: str | None
    settings: SettingsRow | None
    register: RegisterRow | None
    payment_method_ids: dict[str, int]
    own_cash_method: OwnCashMethod | None = None


async def event_context(db: Db, tenant_id: UUID, register_id: UUID) -> EventContext:
    """One round trip for the tier, the Odoo settings, the register and the payment methods."""
    row = await db.fetchrow(
        """SELECT COALESCE(t.tier, (SELECT tenant_tier FROM registers WHERE tenant_id = $1
                                     ORDER BY updated_at DESC LIMIT 1)) AS tier,
                  r.register_id, r.tenant_tier, r.sync_state, r.odoo_pos_config_id,
                  s.url, s.database, s.login, s.secret_encrypted, s.odoo_version, s.updated_at,
                  s.template_pos_config_id, s.tax_mapping,
                  (SELECT COALESCE(jsonb_object_agg(code, odoo_payment_method_id), '{}')
                   FROM payment_methods
                   WHERE tenant_id = $1 AND odoo_payment_method_id IS NOT NULL) AS methods,
                  c.odoo_payment_method_id AS own_cash_method_id, c.pos_config_method_ids
           FROM (SELECT 1) AS one
           LEFT JOIN tenants t ON t.tenant_id = $1
           LEFT JOIN registers r ON r.register_id = $2
           LEFT JOIN odoo_settings s ON s.tenant_id = $1
           LEFT JOIN register_cash_methods c
             ON c.register_id = $2 AND c.odoo_pos_config_id = r.odoo_pos_config_id""",
        tenant_id,
        register_id,
    )
    assert row is not None
    settings_row = _settings_row(tenant_id, row) if row["url"] is not None else None
    register_row = (
        RegisterRow(
            register_id, tenant_id, row["tenant_tier"], row["sync_state"], row["odoo_pos_config_id"]
        )
        if row["register_id"] is not None
        else None
    )
    own_cash = (
        OwnCashMethod(row["own_cash_method_id"], frozenset(row["pos_config_method_ids"] or ()))
        if row["own_cash_method_id"] is not None
        else None
    )
    return EventContext(row["tier"], settings_row, register_row, dict(row["methods"]), own_cash)


async def save_tenant_tier(db: Db, tenant_id: UUID, tier: str) -> None:
    await db.execute(
        """INSERT INTO tenants (tenant_id, tier) VALUES ($1, $2)
           ON CONFLICT (tenant_id) DO UPDATE SET tier = EXCLUDED.tier, updated_at = now()""",
        tenant_id,
        tier,
    )


async def save_register(
    db: Db,
    register_id: UUID,
    tenant_id: UUID,
    tenant_tier: str,
    sync_state: str,
    odoo_pos_config_id: int | None,
    version: int,
) -> None:
    """Keeps the newest version only: register events may arrive out of order."""
    await db.execute(
        """INSERT INTO registers (register_id, tenant_id, tenant_tier, sync_state,
                                  odoo_pos_config_id, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (register_id) DO UPDATE
           SET tenant_tier = EXCLUDED.tenant_tier, sync_state = EXCLUDED.sync_state,
               odoo_pos_config_id = COALESCE(EXCLUDED.odoo_pos_config_id,
                                             registers.odoo_pos_config_id),
               version = EXCLUDED.version, updated_at = now()
           WHERE registers.version < EXCLUDED.version""",
        register_id,
        tenant_id,
        tenant_tier,
        sync_state,
        odoo_pos_config_id,
        version,
    )


async def save_payment_method(
    db: Db, tenant_id: UUID, code: str, odoo_payment_method_id: int | None, active: bool
) -> None:
    await db.execute(
        """INSERT INTO payment_methods (tenant_id, code, odoo_payment_method_id, active)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, code) DO UPDATE
           SET odoo_payment_method_id = EXCLUDED.odoo_payment_method_id,
               active = EXCLUDED.active""",
        tenant_id,
        code,
        odoo_payment_method_id,
        active,
    )


async def save_settings(
    db: Db,
    tenant_id: UUID,
    url: str,
    database: str,
    login: str,
    secret_encrypted: bytes,
    odoo_version: int | None,
    template_pos_config_id: int | None,
    tax_mapping: Sequence[NamedTax],
) -> SettingsRow:
    row = await db.fetchrow(
        """INSERT INTO odoo_settings (tenant_id, url, database, login, secret_encrypted,
                                      odoo_version, template_pos_config_id, tax_mapping)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id) DO UPDATE
           SET url = EXCLUDED.url, database = EXCLUDED.database, login = EXCLUDED.login,
               secret_encrypted = EXCLUDED.secret_encrypted,
               odoo_version = EXCLUDED.odoo_version,
               template_pos_config_id = EXCLUDED.template_pos_config_id,
               tax_mapping = EXCLUDED.tax_mapping, updated_at = now()
           RETURNING *""",
        tenant_id,
        url,
        database,
        login,
        secret_encrypted,
        odoo_version,
        template_pos_config_id,
        [dataclasses.asdict(entry) for entry in tax_mapping],
    )
    assert row is not None
    return _settings_row(tenant_id, row)


async def settings(db: Db, tenant_id: UUID) -> SettingsRow | None:
    row = await db.fetchrow("SELECT * FROM odoo_settings WHERE tenant_id = $1", tenant_id)
    return _settings_row(tenant_id, row) if row else None


async def product_ids(db: Db, tenant_id: UUID, refs: list[str]) -> dict[str, int]:
    rows = await db.fetch(
        """SELECT product_ref, odoo_product_id FROM products
           WHERE tenant_id = $1 AND product_ref = ANY($2::text[])""",
        tenant_id,
        refs,
    )
    return {r["product_ref"]: r["odoo_product_id"] for r in rows}


async def save_product_ids(db: Db, tenant_id: UUID, found: dict[str, int]) -> None:
    await db.executemany(
        """INSERT INTO products (tenant_id, product_ref, odoo_product_id) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, product_ref) DO UPDATE
           SET odoo_product_id = EXCLUDED.odoo_product_id""",
        [(tenant_id, ref, product_id) for ref, product_id in found.items()],
    )
