"""The catalog: categories and products an admin keeps, and what one register may sell.

Every write locks the tenant row to bump its catalog revision, so a tenant's catalog writes are
serialised and each event carries the revision it produced (tenant first, as everywhere)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from registers import events
from registers.domain.catalog import (
    catalog_etag,
    category_name_taken,
    etag_matches,
    product_reference_taken,
    register_needed,
    unknown_category,
    unknown_places,
)
from registers.domain.edits import changed_fields, check_version, expected_version
from registers.http_mappers import (
    category_page,
    category_public,
    new_category,
    new_product,
    product_page,
    product_public,
    register_catalog,
    stored_prices,
)
from registers.http_models import (
    CategoryCreate,
    CategoryPage,
    CategoryPatch,
    CategoryPublic,
    ProductCreate,
    ProductPage,
    ProductPatch,
    ProductPublic,
    RegisterCatalog,
)
from registers.repository import Lock, get_shop
from registers.repository import catalog as repo
from registers.repository.catalog import CategoryRow, ProductRow
from registers.scope import own_register, own_tenant
from shared.actor import Actor
from shared.errors import NotFoundError
from shared.pagination import decode_cursor
from shared.postgres import Db


async def _own_category(db: Db, actor: Actor, category_id: UUID, lock: Lock = "") -> CategoryRow:
    category = await repo.get_category(db, actor.tenant_id, category_id, lock)
    if category is None:
        raise NotFoundError(f"There is no product category {category_id} in this tenant.")
    return category


async def _own_product(db: Db, actor: Actor, product_id: UUID, lock: Lock = "") -> ProductRow:
    product = await repo.get_product(db, actor.tenant_id, product_id, lock)
    if product is None:
        raise NotFoundError(f"There is no product {product_id} in this tenant.")
    return product


async def _check_references(db: Db, tenant_id: UUID, fields: dict[str, Any]) -> None:
    """The category, shops and registers a product names must be the tenant's own."""
    category_id = fields.get("category_id")
    if category_id is not None and await repo.get_category(db, tenant_id, category_id) is None:
        raise unknown_category(category_id)
    if unknown := await repo.unknown_shops(db, tenant_id, fields.get("shop_ids") or []):
        raise unknown_places("shops", "shop_ids", unknown)
    if unknown := await repo.unknown_registers(db, tenant_id, fields.get("register_ids") or []):
        raise unknown_places("registers", "register_ids", unknown)


def _product_fields(body: ProductPatch) -> dict[str, Any]:
    """The PATCH's fields as the product's columns hold them."""
    wanted = body.sent()
    if "prices" in wanted:
        wanted["prices"] = stored_prices(body.prices or [])
    if "tax_rate_percent" in wanted:
        wanted["tax_rate_percent"] = Decimal(str(body.tax_rate_percent))
    for places in ("shop_ids", "register_ids"):
        if places in wanted:
            wanted[places] = list(dict.fromkeys(wanted[places]))
    return wanted


class CatalogUseCases:
    _pool: asyncpg.Pool

    # Categories.

    async def create_category(self, actor: Actor, body: CategoryCreate) -> CategoryPublic:
        async with self._pool.acquire() as db, db.transaction():
            await own_tenant(db, actor, "FOR UPDATE")
            try:
                async with db.transaction():
                    category = await repo.insert_category(db, new_category(body, actor.tenant_id))
            except asyncpg.UniqueViolationError:
                raise category_name_taken(body.name) from None
            revision = await repo.bump_catalog_revision(db, actor.tenant_id)
            await events.emit(db, events.category_changed(category, revision))
        return category_public(category)

    async def get_category(self, actor: Actor, category_id: UUID) -> CategoryPublic:
        async with self._pool.acquire() as db:
            return category_public(await _own_category(db, actor, category_id))

    async def list_categories(self, actor: Actor, cursor: str | None, limit: int) -> CategoryPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_categories(db, actor.tenant_id, decode_cursor(cursor), limit)
        return category_page(rows, limit)

    async def patch_category(
        self, actor: Actor, category_id: UUID, body: CategoryPatch, if_match: str | None
    ) -> CategoryPublic:
        expected = expected_version(if_match)
        async with self._pool.acquire() as db, db.transaction():
            await own_tenant(db, actor, "FOR UPDATE")
            category = await _own_category(db, actor, category_id, "FOR UPDATE")
            check_version(category.version, expected, "product category")
            changes = changed_fields(category, body.sent())
            if not changes:
                return category_public(category)
            try:
                async with db.transaction():
                    updated = await repo.update_category(db, category_id, changes)
            except asyncpg.UniqueViolationError:
                raise category_name_taken(str(changes.get("name"))) from None
            revision = await repo.bump_catalog_revision(db, actor.tenant_id)
            await events.emit(db, events.category_changed(updated, revision, changes))
        return category_public(updated)

    # Products.

    async def create_product(self, actor: Actor, body: ProductCreate) -> ProductPublic:
        new = new_product(body, actor.tenant_id)
        async with self._pool.acquire() as db, db.transaction():
            await own_tenant(db, actor, "FOR UPDATE")
            await _check_references(
                db,
                actor.tenant_id,
                {
                    "category_id": new.category_id,
                    "shop_ids": new.shop_ids,
                    "register_ids": new.register_ids,
                },
            )
            try:
                async with db.transaction():
                    product = await repo.insert_product(db, new)
            except asyncpg.UniqueViolationError:
                raise product_reference_taken(body.reference) from None
            revision = await repo.bump_catalog_revision(db, actor.tenant_id)
            await events.emit(db, events.product_changed(product, revision))
        return product_public(product)

    async def get_product(self, actor: Actor, product_id: UUID) -> ProductPublic:
        async with self._pool.acquire() as db:
            return product_public(await _own_product(db, actor, product_id))

    async def list_products(
        self,
        actor: Actor,
        *,
        category_id: UUID | None,
        active: bool | None,
        cursor: str | None,
        limit: int,
    ) -> ProductPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_products(
                db,
                actor.tenant_id,
                category_id=category_id,
                active=active,
                before_seq=decode_cursor(cursor),
                limit=limit,
            )
        return product_page(rows, limit)

    async def patch_product(
        self, actor: Actor, product_id: UUID, body: ProductPatch, if_match: str | None
    ) -> ProductPublic:
        expected = expected_version(if_match)
        wanted = _product_fields(body)
        async with self._pool.acquire() as db, db.transaction():
            await own_tenant(db, actor, "FOR UPDATE")
            product = await _own_product(db, actor, product_id, "FOR UPDATE")
            check_version(product.version, expected, "product")
            changes = changed_fields(product, wanted)
            if not changes:
                return product_public(product)
            await _check_references(db, actor.tenant_id, changes)
            try:
                async with db.transaction():
                    updated = await repo.update_product(db, product_id, changes)
            except asyncpg.UniqueViolationError:
                raise product_reference_taken(str(changes.get("reference"))) from None
            revision = await repo.bump_catalog_revision(db, actor.tenant_id)
            await events.emit(db, events.product_changed(updated, revision, changes))
        return product_public(updated)

    # What a register sells.

    async def register_catalog(
        self, actor: Actor, register_id: UUID | None, if_none_match: str | None
    ) -> tuple[RegisterCatalog | None, str]:
        """The register's catalog and its ETag; None when `if_none_match` already names it."""
        wanted = actor.register_scope(register_id, "read the catalog")
        async with (
            self._pool.acquire() as db,
            db.transaction(readonly=True, isolation="repeatable_read"),
        ):
            if wanted is None:
                raise register_needed()
            register = await own_register(db, actor, wanted)
            shop = await get_shop(db, actor.tenant_id, register.shop_id)
            tenant = await own_tenant(db, actor)
            assert shop is not None
            etag = catalog_etag(tenant.catalog_revision, register.version, shop.version)
            if etag_matches(if_none_match, etag):
                return None, etag
            products = await repo.sold_at_register(
                db, actor.tenant_id, register.register_id, shop.shop_id, shop.currency
            )
            category_ids = sorted({p.category_id for p in products if p.category_id is not None})
            categories = await repo.categories_by_id(db, actor.tenant_id, category_ids)
        return register_catalog(register.register_id, shop.currency, products, categories), etag
