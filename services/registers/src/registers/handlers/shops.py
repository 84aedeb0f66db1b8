"""Shops: a tenant's places of sale; their registers carry their figures to the tills."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from registers import events
from registers import repository as repo
from registers.domain.edits import changed_fields, check_version, expected_version
from registers.domain.shops import check_shop_changes
from registers.http_mappers import new_shop, shop_page, shop_patch_fields, shop_public
from registers.http_models import ShopCreate, ShopPage, ShopPatch, ShopPublic
from registers.scope import own_shop, own_tenant
from shared.actor import Actor
from shared.pagination import decode_cursor


class ShopUseCases:
    _pool: asyncpg.Pool

    async def create_shop(self, actor: Actor, body: ShopCreate) -> ShopPublic:
        async with self._pool.acquire() as db, db.transaction():
            tenant = await own_tenant(db, actor, "FOR SHARE")
            shop = await repo.insert_shop(db, new_shop(body, tenant))
            await events.emit(db, events.shop_created(shop))
        return shop_public(shop)

    async def get_shop(self, actor: Actor, shop_id: UUID) -> ShopPublic:
        async with self._pool.acquire() as db:
            return shop_public(await own_shop(db, actor, shop_id))

    async def list_shops(self, actor: Actor, cursor: str | None, limit: int) -> ShopPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_shops(db, actor.tenant_id, decode_cursor(cursor), limit)
        return shop_page(rows, limit)

    async def patch_shop(
        self, actor: Actor, shop_id: UUID, body: ShopPatch, if_match: str | None
    ) -> ShopPublic:
        wanted = shop_patch_fields(body)
        async with self._pool.acquire() as db, db.transaction():
            tenant = await own_tenant(db, actor, "FOR SHARE")
            shop = await own_shop(db, actor, shop_id, "FOR UPDATE")
            check_version(shop.version, expected_version(if_match), "shop")
            changes = changed_fields(shop, wanted)
            if not changes:
                return shop_public(shop)
            has_registers = "currency" in changes and await repo.shop_has_registers(db, shop_id)
            check_shop_changes(changes, has_registers=has_registers)
            updated = await repo.update_shop(db, shop_id, changes)
            await events.emit(db, events.shop_updated(updated, changes))
            # Registers carry their shop's figures to the orders service: refresh them all.
            for register in await repo.lock_registers(
                db, tenant_id=actor.tenant_id, shop_id=shop_id
            ):
                await events.update_and_announce_register(
                    db,
                    register.register_id,
                    {},
                    shop=updated,
                    tier=tenant.tier,
                    changed=events.shop_changes_as_register_fields(changes),
                )
        return shop_public(updated)
