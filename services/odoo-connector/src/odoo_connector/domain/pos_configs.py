"""Registers as Odoo pos.configs: what a clone copies, what a write changes, which cash
journal code a register's own cash method takes."""

from __future__ import annotations

from typing import Any

from odoo_connector.domain.failures import CashJournalCodesExhaustedError
from shared.events.contracts import RegisterState

# The sync states in which the registers service waits for the connector.
PUSHED_STATES = ("pending_create", "pending_update")


def needs_pos_config_push(register: RegisterState) -> bool:
    """Whether the register's pos.config is to be created or written: a Pro tenant's register
    the registers service marked pending (Starter registers stay local)."""
    return register.sync_state in PUSHED_STATES and register.tenant_tier == "pro"


def may_still_be_linked(register: RegisterState, age_s: float, settle_s: float) -> bool:
    """Whether a register waiting for its create is young enough that it may yet be linked to an
    existing pos.config (by its admin or a backfill), which a create now would duplicate."""
    return register.sync_state == "pending_create" and age_s < settle_s


# A clone copies the template's relations only: its booleans include module_pos_* (which install
# modules) and admin-only receipt texts, which a new register must not inherit blindly.
_CLONED_TYPES = ("many2one", "many2many")
PAYMENT_METHOD_MODEL = "pos.payment.method"


def many2one_id(value: Any) -> int | None:
    """A many2one as read (`[id, name]`, a bare id, or false) as its id."""
    if isinstance(value, list) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def clonable_fields(fields: dict[str, dict[str, Any]]) -> list[str]:
    """The relational fields of pos.config a create may set, as this Odoo's `fields_get`
    describes them: stored, writable, not related. Anything else this Odoo lacks (the
    `stock_location_id` of old versions) is never named, since only its own fields are."""
    return sorted(
        name
        for name, info in fields.items()
        if info.get("type") in _CLONED_TYPES
        and not info.get("readonly")
        and info.get("store", True)
        and not info.get("related")
    )


def payment_method_ids_of(template: dict[str, Any], fields: dict[str, dict[str, Any]]) -> set[int]:
    return {
        int(i)
        for name, value in template.items()
        if fields.get(name, {}).get("type") == "many2many"
        and fields[name].get("relation") == PAYMENT_METHOD_MODEL
        for i in value or []
    }


def pos_config_clone(
    template: dict[str, Any],
    fields: dict[str, dict[str, Any]],
    cash_method_ids: set[int],
    register: RegisterState,
    own_cash_method_id: int | None = None,
) -> dict[str, Any]:
    """The create values of a register's pos.config: the template's relations, our name.

    A cash payment method belongs to one pos.config only (odoo-api.md 5), so the template's
    cash methods stay with the template: the clone shares its other methods and takes the
    register's own cash method instead."""
    values: dict[str, Any] = {}
    for name in clonable_fields(fields):
        if name not in template:
            continue
        info = fields[name]
        if info["type"] == "many2one":
            related = many2one_id(template[name])
            if related is not None:
                values[name] = related
            continue
        ids = [int(i) for i in template[name] or []]
        if info.get("relation") == PAYMENT_METHOD_MODEL:
            ids = [i for i in ids if i not in cash_method_ids]
            if own_cash_method_id is not None:
                ids.append(own_cash_method_id)
        values[name] = [[6, 0, ids]]
    values["name"] = register.name
    if "active" in fields:
        values["active"] = register.active
    return values


def pos_config_changes(current: dict[str, Any], register: RegisterState) -> dict[str, Any]:
    """What a write must change for the pos.config to carry the register's name and state."""
    wanted = {"name": register.name, "active": register.active}
    return {key: value for key, value in wanted.items() if current.get(key) != value}


# Odoo's own codes for new cash journals (account.journal.get_next_bank_cash_default_code), then
# room for many more registers; journal codes are at most 5 characters and unique per company.
_CASH_JOURNAL_CODES = tuple(f"CSH{n}" for n in range(1, 100)) + tuple(
    f"C{n:04d}" for n in range(100, 10000)
)


def cash_journal_code(taken: set[str]) -> str:
    """The first cash journal code neither the company's journals nor another register use."""
    upper = {code.upper() for code in taken}
    for code in _CASH_JOURNAL_CODES:
        if code not in upper:
            return code
    raise CashJournalCodesExhaustedError(
        f"every cash journal code from CSH1 to C9999 is taken ({len(taken)} codes in use)"
    )
