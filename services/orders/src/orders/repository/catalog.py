"""The local replicas of the tenant's catalog products and customers."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from orders.domain.catalog import CatalogProduct, Customer
from shared.postgres import Db

_PRODUCT_COLUMNS = (
    "product_id, tenant_id, reference, name, shop_ids, register_ids, active, odoo_product_id"
)


async def upsert_product(db: Db, product: CatalogProduct, version: int) -> bool:
    """Applies a product state if it is newer than ours; returns whether it was applied."""
    applied = await db.fetchval(
        f"""INSERT INTO catalog_products ({_PRODUCT_COLUMNS}, version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (product_id) DO UPDATE SET
                reference = EXCLUDED.reference, name = EXCLUDED.name,
                shop_ids = EXCLUDED.shop_ids, register_ids = EXCLUDED.register_ids,
                active = EXCLUDED.active, odoo_product_id = EXCLUDED.odoo_product_id,
                version = EXCLUDED.version, updated_at = now()
            WHERE catalog_products.version < EXCLUDED.version
              AND catalog_products.tenant_id = EXCLUDED.tenant_id
            RETURNING true""",
        product.product_id,
        product.tenant_id,
        product.reference,
        product.name,
        list(product.shop_ids),
        list(product.register_ids),
        product.active,
        product.odoo_product_id,
        version,
    )
    return bool(applied)


async def get_products(
    db: Db, tenant_id: UUID, product_ids: Sequence[UUID]
) -> dict[UUID, CatalogProduct]:
    if not product_ids:
        return {}
    records = await db.fetch(
        f"""SELECT {_PRODUCT_COLUMNS} FROM catalog_products
            WHERE tenant_id = $1 AND product_id = ANY ($2::uuid[])""",
        tenant_id,
        list(set(product_ids)),
    )
    return {record["product_id"]: CatalogProduct(**record) for record in records}


async def upsert_customer(db: Db, customer: Customer, version: int) -> bool:
    applied = await db.fetchval(
        """INSERT INTO customers (customer_id, tenant_id, name, active, odoo_partner_id, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (customer_id) DO UPDATE SET
               name = EXCLUDED.name, active = EXCLUDED.active,
               odoo_partner_id = EXCLUDED.odoo_partner_id, version = EXCLUDED.version,
               updated_at = now()
           WHERE customers.version < EXCLUDED.version
             AND customers.tenant_id = EXCLUDED.tenant_id
           RETURNING true""",
        customer.customer_id,
        customer.tenant_id,
        customer.name,
        customer.active,
        customer.odoo_partner_id,
        version,
    )
    return bool(applied)


async def get_customers(
    db: Db, tenant_id: UUID, customer_ids: Sequence[UUID]
) -> dict[UUID, Customer]:
    if not customer_ids:
        return {}
    records = await db.fetch(
        """SELECT customer_id, tenant_id, name, active, odoo_partner_id FROM customers
           WHERE tenant_id = $1 AND customer_id = ANY ($2::uuid[])""",
        tenant_id,
        list(set(customer_ids)),
    )
    return {record["customer_id"]: Customer(**record) for record in records}
