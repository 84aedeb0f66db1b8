"""What every registers table shares: typed rows, a tenant's page, a versioned update."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from shared.postgres import Db

Row = TypeVar("Row")


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    # The columns an update may set; anything else is a programming error.
    updatable: frozenset[str] = frozenset()


TENANTS = Table(
    "tenants", "tenant_id", frozenset({"name", "tier", "default_currency", "default_timezone"})
)
SHOPS = Table(
    "shops",
    "shop_id",
    frozenset({"name", "currency", "timezone", "business_day_cutoff", "prices_include_tax"}),
)
REGISTERS = Table(
    "registers",
    "register_id",
    frozenset(
        {
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
        }
    ),
)
PAYMENT_METHODS = Table(
    "payment_methods",
    "payment_method_id",
    frozenset({"name", "kind", "active", "odoo_payment_method_id"}),
)
TOKENS = Table("tokens", "token_id")
PRODUCT_CATEGORIES = Table(
    "product_categories", "category_id", frozenset({"name", "odoo_category_id"})
)
PRODUCTS = Table(
    "products",
    "product_id",
    frozenset(
        {
            "reference",
            "name",
            "category_id",
            "prices",
            "tax_rate_percent",
            "prices_include_tax",
            "shop_ids",
            "register_ids",
            "active",
            "odoo_product_id",
        }
    ),
)

CUSTOMERS = Table(
    "customers",
    "customer_id",
    frozenset(
        {
            "name",
            "email",
            "phone",
            "vat",
            "street",
            "city",
            "zip",
            "country_code",
            "active",
            "odoo_partner_id",
        }
    ),
)


def typed(kind: Callable[..., Row], record: asyncpg.Record | None) -> Row:
    assert record is not None
    return kind(**record)


def typed_or_none(kind: Callable[..., Row], record: asyncpg.Record | None) -> Row | None:
    return None if record is None else kind(**record)


def all_typed(kind: Callable[..., Row], records: Sequence[asyncpg.Record]) -> list[Row]:
    return [kind(**record) for record in records]


async def get_in_tenant(
    db: Db, kind: Callable[..., Row], table: Table, tenant_id: Any, key: Any, lock: str = ""
) -> Row | None:
    """The row of `table` with that key, if it is the tenant's; `lock` as FOR UPDATE."""
    record = await db.fetchrow(
        f"SELECT * FROM {table.name} WHERE tenant_id = $1 AND {table.key} = $2 {lock}",
        tenant_id,
        key,
    )
    return typed_or_none(kind, record)


async def update(
    db: Db, kind: Callable[..., Row], table: Table, key: Any, fields: Mapping[str, Any]
) -> Row:
    """Sets `fields`, bumps the version, and returns the row as it now is."""
    unknown = set(fields) - table.updatable
    assert not unknown, f"not updatable in {table.name}: {unknown}"
    names = list(fields)
    assignments = ", ".join(f"{name} = ${index + 2}" for index, name in enumerate(names))
    separator = ", " if assignments else ""
    record = await db.fetchrow(
        f"""UPDATE {table.name} SET {assignments}{separator}version = version + 1,
                   updated_at = now()
            WHERE {table.key} = $1 RETURNING *""",
        key,
        *(fields[name] for name in names),
    )
    return typed(kind, record)


def page_clause(before_seq: int | None, first_param: int) -> str:
    return f"AND seq < ${first_param}" if before_seq is not None else ""


async def tenant_page(
    db: Db,
    kind: Callable[..., Row],
    table: Table,
    tenant_id: Any,
    before_seq: int | None,
    limit: int,
    filters: Mapping[str, tuple[str, Any]] | None = None,
) -> list[Row]:
    """One page of a tenant's rows of `table`, newest first; `filters` maps a column to its
    Postgres type and the value it must equal, None matching any."""
    params: list[Any] = [tenant_id, limit]
    conditions = ""
    for column, (pg_type, value) in (filters or {}).items():
        params.append(value)
        conditions += f" AND (${len(params)}::{pg_type} IS NULL OR {column} = ${len(params)})"
    if before_seq is not None:
        params.append(before_seq)
    records = await db.fetch(
        f"""SELECT * FROM {table.name} WHERE tenant_id = $1 {conditions}
            {page_clause(before_seq, len(params))} ORDER BY seq DESC LIMIT $2""",
        *params,
    )
    return all_typed(kind, records)
