"""The catalog's SQL: categories, products, the tenant's catalog revision, and what a register may
sell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from registers.repository import Lock
from registers.repository.tables import (
    PRODUCT_CATEGORIES,
    PRODUCTS,
    all_typed,
    get_in_tenant,
    tenant_page,
    typed,
    update,
)
from shared.postgres import Db


@dataclass(frozen=True)
class CategoryRow:
    category_id: UUID
    tenant_id: UUID
    seq: int
    name: str
    odoo_category_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProductRow:
    product_id: UUID
    tenant_id: UUID
    seq: int
    reference: str
    name: str
    category_id: UUID | None
    prices: Mapping[str, int]  # minor units per currency code
    tax_rate_percent: Decimal
    prices_include_tax: bool
    shop_ids: Sequence[UUID]
    register_ids: Sequence[UUID]
    active: bool
    odoo_product_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewCategory:
    category_id: UUID
    tenant_id: UUID
    name: str
    odoo_category_id: int | None


@dataclass(frozen=True)
class NewProduct:
    product_id: UUID
    tenant_id: UUID
    reference: str
    name: str
    category_id: UUID | None
    prices: Mapping[str, int]
    tax_rate_percent: Decimal
    prices_include_tax: bool
    shop_ids: Sequence[UUID]
    register_ids: Sequence[UUID]
    odoo_product_id: int | None


async def bump_catalog_revision(db: Db, tenant_id: UUID) -> int:
    """Called in every catalog write's transaction; also serialises a tenant's catalog writes."""
    revision: int = await db.fetchval(
        """UPDATE tenants SET catalog_revision = catalog_revision + 1 WHERE tenant_id = $1
           RETURNING catalog_revision""",
        tenant_id,
    )
    return revision


# Categories.


async def insert_category(db: Db, category: NewCategory) -> CategoryRow:
    record = await db.fetchrow(
        """INSERT INTO product_categories (category_id, tenant_id, name, odoo_category_id)
           VALUES ($1, $2, $3, $4) RETURNING *""",
        category.category_id,
        category.tenant_id,
        category.name,
        category.odoo_category_id,
    )
    return typed(CategoryRow, record)


async def get_category(
    db: Db, tenant_id: UUID, category_id: UUID, lock: Lock = ""
) -> CategoryRow | None:
    return await get_in_tenant(db, CategoryRow, PRODUCT_CATEGORIES, tenant_id, category_id, lock)


async def list_categories(
    db: Db, tenant_id: UUID, before_seq: int | None, limit: int
) -> list[CategoryRow]:
    return await tenant_page(db, CategoryRow, PRODUCT_CATEGORIES, tenant_id, before_seq, limit)


async def update_category(db: Db, category_id: UUID, fields: Mapping[str, Any]) -> CategoryRow:
    return await update(db, CategoryRow, PRODUCT_CATEGORIES, category_id, fields)


# Products.


async def insert_product(db: Db, product: NewProduct) -> ProductRow:
    record = await db.fetchrow(
        """INSERT INTO products (product_id, tenant_id, reference, name, category_id, prices,
                                 tax_rate_percent, prices_include_tax, shop_ids, register_ids,
                                 odoo_product_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *""",
        product.product_id,
        product.tenant_id,
        product.reference,
        product.name,
        product.category_id,
        product.prices,
        product.tax_rate_percent,
        product.prices_include_tax,
        product.shop_ids,
        product.register_ids,
        product.odoo_product_id,
    )
    return typed(ProductRow, record)


async def get_product(
    db: Db, tenant_id: UUID, product_id: UUID, lock: Lock = ""
) -> ProductRow | None:
    return await get_in_tenant(db, ProductRow, PRODUCTS, tenant_id, product_id, lock)


async def list_products(
    db: Db,
    tenant_id: UUID,
    *,
    category_id: UUID | None,
    active: bool | None,
    before_seq: int | None,
    limit: int,
) -> list[ProductRow]:
    filters = {"category_id": ("uuid", category_id), "active": ("boolean", active)}
    return await tenant_page(db, ProductRow, PRODUCTS, tenant_id, before_seq, limit, filters)


async def update_product(db: Db, product_id: UUID, fields: Mapping[str, Any]) -> ProductRow:
    return await update(db, ProductRow, PRODUCTS, product_id, fields)


async def sold_at_register(
    db: Db, tenant_id: UUID, register_id: UUID, shop_id: UUID, currency: str
) -> list[ProductRow]:
    """Active products with a price in `currency` offered at the register or its shop, or
    everywhere; by reference, so the answer (and so its ETag) is stable."""
    records = await db.fetch(
        """SELECT * FROM products
           WHERE tenant_id = $1 AND active AND prices ? $4
             AND ((cardinality(shop_ids) = 0 AND cardinality(register_ids) = 0)
                  OR $3 = ANY (shop_ids) OR $2 = ANY (register_ids))
           ORDER BY reference""",
        tenant_id,
        register_id,
        shop_id,
        currency,
    )
    return all_typed(ProductRow, records)


async def categories_by_id(
    db: Db, tenant_id: UUID, category_ids: Sequence[UUID]
) -> list[CategoryRow]:
    records = await db.fetch(
        """SELECT * FROM product_categories WHERE tenant_id = $1 AND category_id = ANY ($2)
           ORDER BY name""",
        tenant_id,
        list(category_ids),
    )
    return all_typed(CategoryRow, records)


async def unknown_shops(db: Db, tenant_id: UUID, shop_ids: Sequence[UUID]) -> list[UUID]:
    return await _unknown(db, "shops", "shop_id", tenant_id, shop_ids)


async def unknown_registers(db: Db, tenant_id: UUID, register_ids: Sequence[UUID]) -> list[UUID]:
    return await _unknown(db, "registers", "register_id", tenant_id, register_ids)


async def _unknown(
    db: Db, table: str, key: str, tenant_id: UUID, ids: Sequence[UUID]
) -> list[UUID]:
    if not ids:
        return []
    records = await db.fetch(
        f"""SELECT wanted FROM unnest($2::uuid[]) AS wanted
            WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE tenant_id = $1 AND {key} = wanted)""",
        tenant_id,
        list(ids),
    )
    return [record["wanted"] for record in records]
