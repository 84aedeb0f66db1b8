"""Registers: create, read, edit (with what each edit means for Odoo), retry a failed sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from registers import events
from registers import repository as repo
from registers.domain.edits import changed_fields, check_version, expected_version
from registers.domain.inputs import receipt_prefix_taken
from registers.domain.sync import (
    SyncState,
    after_patch,
    after_retry,
    initial_status,
    sync_changed,
    sync_fields,
)
from registers.domain.tenants import Tier
from registers.handlers.scope import own_register, own_shop, own_tenant
from registers.http_mappers import register_page, register_public
from registers.http_models import RegisterCreate, RegisterPage, RegisterPatch, RegisterPublic
from registers.repository import RegisterRow, ShopRow
from shared.actor import Actor
from shared.pagination import decode_cursor
from shared.postgres import Db

log = structlog.get_logger(__name__)


async def update_and_announce_register(
    db: Db,
    register_id: UUID,
    fields: Mapping[str, Any],
    *,
    shop: ShopRow,
    tier: Tier,
    changed: Iterable[str],
) -> RegisterRow:
    """Sets `fields` (none: only a new version) and writes the event of the new version."""
    updated = await repo.update_register(db, register_id, fields)
    await events.emit(db, events.register_updated(updated, shop, tier, changed))
    return updated


class RegisterUseCases:
    _pool: asyncpg.Pool

    async def create_register(
        self, actor: Actor, shop_id: UUID, body: RegisterCreate
    ) -> RegisterPublic:
        async with self._pool.acquire() as db, db.transaction():
            tenant = await own_tenant(db, actor, "FOR SHARE")
            shop = await own_shop(db, actor, shop_id, "FOR SHARE")
            status = initial_status(tenant.tier, body.odoo_pos_config_id)
            try:
                async with db.transaction():
                    register = await repo.insert_register(
                        db,
                        tenant_id=actor.tenant_id,
                        shop_id=shop_id,
                        register_id=uuid.uuid4(),
                        name=body.name,
                        receipt_prefix=body.receipt_prefix,
                        sync_state=status.state,
                        odoo_pos_config_id=status.odoo_pos_config_id,
                    )
            except asyncpg.UniqueViolationError:
                raise receipt_prefix_taken(body.receipt_prefix) from None
            await events.emit(db, events.register_created(register, shop, tenant.tier))
        log.info("register_created", register_id=str(register.register_id), sync=status.state)
        return register_public(register)

    async def get_register(self, actor: Actor, register_id: UUID) -> RegisterPublic:
        async with self._pool.acquire() as db:
            return register_public(await own_register(db, actor, register_id))

    async def list_registers(
        self,
        actor: Actor,
        *,
        shop_id: UUID | None,
        sync_state: SyncState | None,
        cursor: str | None,
        limit: int,
    ) -> RegisterPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_registers(
                db,
                actor.tenant_id,
                shop_id=shop_id,
                sync_state=sync_state,
                before_seq=decode_cursor(cursor),
                limit=limit,
            )
        return register_page(rows, limit)

    async def patch_register(
        self, actor: Actor, register_id: UUID, body: RegisterPatch, if_match: str | None
    ) -> RegisterPublic:
        wanted = body.sent()
        adopt = wanted.pop("odoo_pos_config_id", None)
        async with self._pool.acquire() as db, db.transaction():
            tenant = await own_tenant(db, actor, "FOR SHARE")
            register = await own_register(db, actor, register_id, "FOR UPDATE")
            check_version(register.version, expected_version(if_match), "register")
            edits = changed_fields(register, wanted)
            before = register.sync_status
            after = after_patch(
                before,
                tenant.tier,
                adopt=adopt,
                edited=edits.keys(),
                active=edits.get("active", register.active),
                version=register.version + 1,
            )
            if not edits and after == before:
                return register_public(register)
            fields = edits | sync_fields(before, after, datetime.now(UTC))
            try:
                async with db.transaction():
                    updated = await repo.update_register(db, register_id, fields)
            except asyncpg.UniqueViolationError:
                raise receipt_prefix_taken(wanted["receipt_prefix"]) from None
            shop = await own_shop(db, actor, register.shop_id)
            changed = (*sorted(edits), *sync_changed(before, after))
            await events.emit(db, events.register_updated(updated, shop, tenant.tier, changed))
        log.info(
            "register_updated",
            register_id=str(register_id),
            changed=sorted(edits),
            sync=f"{before.state}->{after.state}",
        )
        return register_public(updated)

    async def retry_sync(self, actor: Actor, register_id: UUID) -> RegisterPublic:
        async with self._pool.acquire() as db, db.transaction():
            tenant = await own_tenant(db, actor, "FOR SHARE")
            register = await own_register(db, actor, register_id, "FOR UPDATE")
            before = register.sync_status
            after = after_retry(before, tenant.tier, register.version + 1)
            updated = await update_and_announce_register(
                db,
                register_id,
                sync_fields(before, after, datetime.now(UTC)),
                shop=await own_shop(db, actor, register.shop_id),
                tier=tenant.tier,
                changed=sync_changed(before, after),
            )
        log.info("register_sync_retried", register_id=str(register_id), sync=after.state)
        return register_public(updated)
