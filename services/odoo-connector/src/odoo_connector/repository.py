"""The connector's SQL, beside the code that runs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

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
    updated_at: Any
    template_pos_config_id: int | None = None
    # [{"rate_percent": "10", "prices_include_tax": true, "odoo_tax_id": 7}, ...]
    tax_mapping: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class OdooSessionRow:
    odoo_session_id: int
    cash_session_id: UUID
    pricelist_id: int | None
    state: str


@dataclass(frozen=True)
class SyncedOrder:
    odoo_order_id: int
    odoo_session_id: int | None
    line_ids: list[str]


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
    settings_row = (
        SettingsRow(
            tenant_id,
            row["url"],
            row["database"],
            row["login"],
            row["secret_encrypted"],
            row["odoo_version"],
            row["updated_at"],
            row["template_pos_config_id"],
            row["tax_mapping"],
        )
        if row["url"] is not None
        else None
    )
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
    tax_mapping: list[dict[str, Any]],
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
        tax_mapping,
    )
    assert row is not None
    return SettingsRow(**dict(row))


async def settings(db: Db, tenant_id: UUID) -> SettingsRow | None:
    row = await db.fetchrow("SELECT * FROM odoo_settings WHERE tenant_id = $1", tenant_id)
    return SettingsRow(**dict(row)) if row else None


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


async def save_till_session(
    db: Db,
    session_id: UUID,
    tenant_id: UUID,
    register_id: UUID,
    opening_cash: int,
    currency: str,
    opened_at: datetime,
) -> None:
    await db.execute(
        """INSERT INTO till_sessions (session_id, tenant_id, register_id, opening_cash, currency,
                                      opened_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING""",
        session_id,
        tenant_id,
        register_id,
        opening_cash,
        currency,
        opened_at,
    )


async def till_opening_cash(db: Db, session_id: UUID) -> int | None:
    value = await db.fetchval(
        "SELECT opening_cash FROM till_sessions WHERE session_id = $1", session_id
    )
    return int(value) if value is not None else None


async def live_odoo_session(db: Db, register_id: UUID) -> OdooSessionRow | None:
    """The register's Odoo session that is not closed yet, whichever till session it serves."""
    row = await db.fetchrow(
        """SELECT odoo_session_id, cash_session_id, pricelist_id, state FROM odoo_pos_sessions
           WHERE register_id = $1 AND state <> 'closed'""",
        register_id,
    )
    return OdooSessionRow(**dict(row)) if row else None


async def save_odoo_session(
    db: Db,
    register_id: UUID,
    odoo_session_id: int,
    cash_session_id: UUID,
    pricelist_id: int | None,
) -> None:
    await db.execute(
        """INSERT INTO odoo_pos_sessions (register_id, odoo_session_id, cash_session_id,
                                          pricelist_id, state)
           VALUES ($1, $2, $3, $4, 'open')
           ON CONFLICT (register_id, odoo_session_id) DO UPDATE
           SET cash_session_id = EXCLUDED.cash_session_id, pricelist_id = EXCLUDED.pricelist_id,
               state = 'open', closed_at = NULL""",
        register_id,
        odoo_session_id,
        cash_session_id,
        pricelist_id,
    )


async def set_odoo_session_state(
    db: Db, register_id: UUID, odoo_session_id: int, state: str
) -> None:
    """`closing` when the connector starts Odoo's closing flow, `closed` once Odoo closed it
    (by us or under us): the register's next order then opens another."""
    await db.execute(
        """UPDATE odoo_pos_sessions
           SET state = $3, closed_at = CASE WHEN $3 = 'closed' THEN now() END
           WHERE register_id = $1 AND odoo_session_id = $2""",
        register_id,
        odoo_session_id,
        state,
    )


async def odoo_sessions_of_till(
    db: Db, register_id: UUID, cash_session_id: UUID
) -> list[tuple[int, str]]:
    """The Odoo sessions a till session's orders went to and their states, oldest first, closed
    ones too: a
    close whose answer was lost may have closed the last one already (and the register's next
    order seen it closed), and its difference is still the one to report."""
    rows = await db.fetch(
        """SELECT odoo_session_id, state FROM odoo_pos_sessions
           WHERE register_id = $1 AND cash_session_id = $2
           ORDER BY opened_at, odoo_session_id""",
        register_id,
        cash_session_id,
    )
    return [(r["odoo_session_id"], r["state"]) for r in rows]


async def mark_attempted(db: Db, references: list[str]) -> set[str]:
    """Records that these references go to Odoo now; returns those that had gone before."""
    rows = await db.fetch(
        """WITH wanted AS (SELECT unnest($1::text[]) AS reference),
                fresh AS (INSERT INTO push_attempts (reference) SELECT reference FROM wanted
                          ON CONFLICT DO NOTHING RETURNING reference)
           SELECT reference FROM wanted WHERE reference NOT IN (SELECT reference FROM fresh)""",
        references,
    )
    return {r["reference"] for r in rows}


async def save_synced(
    db: Db,
    *,
    order_id: UUID,
    kind: str,
    tenant_id: UUID,
    register_id: UUID,
    cash_session_id: UUID,
    business_date: date,
    odoo_order_id: int,
    odoo_session_id: int | None,
    line_ids: list[str],
) -> bool:
    """True the first time; a redelivered success records nothing twice."""
    inserted = await db.fetchval(
        """INSERT INTO synced_orders (order_id, kind, tenant_id, register_id, cash_session_id,
                                      business_date, odoo_order_id, odoo_session_id, line_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (order_id) DO NOTHING RETURNING true""",
        order_id,
        kind,
        tenant_id,
        register_id,
        cash_session_id,
        business_date,
        odoo_order_id,
        odoo_session_id,
        line_ids,
    )
    return bool(inserted)


async def synced(db: Db, order_id: UUID) -> SyncedOrder | None:
    row = await db.fetchrow(
        "SELECT odoo_order_id, odoo_session_id, line_ids FROM synced_orders WHERE order_id = $1",
        order_id,
    )
    return (
        SyncedOrder(row["odoo_order_id"], row["odoo_session_id"], row["line_ids"]) if row else None
    )


async def accounted_in_cash_session(db: Db, cash_session_id: UUID, kind: str) -> int:
    """Orders (or refunds) of a cash session that are in Odoo or were given up on (parked or
    discarded; a replayed one counts again once it is in Odoo)."""
    count: int = await db.fetchval(
        """SELECT (SELECT count(*) FROM synced_orders WHERE cash_session_id = $1 AND kind = $2)
                + (SELECT count(DISTINCT d.aggregate_id) FROM dead_letter_records d
                   WHERE d.envelope #>> '{data,session_id}' = $1::uuid::text
                     AND d.event_type = $3 AND d.status <> 'replayed'
                     AND NOT EXISTS (SELECT 1 FROM synced_orders s
                                     WHERE s.order_id = d.aggregate_id))""",
        cash_session_id,
        kind,
        "order.placed" if kind == "order" else "order.refunded",
    )
    return count


async def is_dead_lettered(db: Db, aggregate_id: UUID, event_type: str) -> bool:
    """Whether the event was given up on and not replayed since."""
    return bool(
        await db.fetchval(
            """SELECT true FROM dead_letter_records
               WHERE aggregate_id = $1 AND event_type = $2 AND status <> 'replayed' LIMIT 1""",
            aggregate_id,
            event_type,
        )
    )


async def settle_receipts(db: Db, register_id: UUID, sequences: list[int]) -> None:
    """These orders of the register no longer hold their successors back."""
    await db.execute(
        """INSERT INTO register_receipts (register_id, receipt_sequence, settled_at)
           SELECT $1, unnest($2::bigint[]), now()
           ON CONFLICT (register_id, receipt_sequence) DO UPDATE SET settled_at = now()
           WHERE register_receipts.settled_at IS NULL""",
        register_id,
        # One row may not be updated twice by one statement: a batch can hold an order twice.
        sorted(set(sequences)),
    )


async def settled_receipts(db: Db, register_id: UUID, sequences: list[int]) -> set[int]:
    rows = await db.fetch(
        """SELECT receipt_sequence FROM register_receipts
           WHERE register_id = $1 AND receipt_sequence = ANY($2::bigint[])
             AND settled_at IS NOT NULL""",
        register_id,
        sequences,
    )
    return {r["receipt_sequence"] for r in rows}


async def note_waiting(db: Db, register_id: UUID, sequences: list[int]) -> None:
    """These orders were just seen waiting: they are still coming."""
    await db.execute(
        """INSERT INTO register_receipts (register_id, receipt_sequence, last_waited_at)
           SELECT $1, unnest($2::bigint[]), now()
           ON CONFLICT (register_id, receipt_sequence) DO UPDATE SET last_waited_at = now()""",
        register_id,
        sorted(set(sequences)),
    )


@dataclass(frozen=True)
class PredecessorWait:
    # How long the order has waited for a predecessor that is not coming: since it was first
    # found waiting, or since its predecessor was last seen waiting, if later.
    waited_s: float
    # Whether its predecessor was ever seen (waiting, or held for its own predecessor): it is
    # on its way, not an order that never reached us.
    predecessor_seen: bool


async def waiting_for_predecessor(
    db: Db, register_id: UUID, sequences: list[int]
) -> dict[int, PredecessorWait]:
    """How each of these orders has waited for its predecessor, which is not settled."""
    rows = await db.fetch(
        """WITH stamped AS (
               INSERT INTO register_receipts (register_id, receipt_sequence, waiting_since)
               SELECT $1, unnest($2::bigint[]), now()
               ON CONFLICT (register_id, receipt_sequence) DO UPDATE
               SET waiting_since = COALESCE(register_receipts.waiting_since, now())
               RETURNING receipt_sequence, waiting_since)
           SELECT s.receipt_sequence,
                  extract(epoch FROM now() - GREATEST(s.waiting_since, p.last_waited_at))::float8
                      AS waited_s,
                  p.register_id IS NOT NULL AS predecessor_seen
           FROM stamped s
           LEFT JOIN register_receipts p
             ON p.register_id = $1 AND p.receipt_sequence = s.receipt_sequence - 1""",
        register_id,
        sorted(set(sequences)),
    )
    return {
        r["receipt_sequence"]: PredecessorWait(r["waited_s"], r["predecessor_seen"]) for r in rows
    }
