"""Registers: create, read, edit (with what each edit means for Odoo), retry a failed sync."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog

from registers import events
from registers import repository as repo
from registers.domain.edits import check_version, expected_version
from registers.domain.inputs import receipt_prefix_taken
from registers.domain.registers import edit_register
from registers.domain.sync import SyncMove, SyncState, after_retry, initial_status
from registers.http_mappers import new_register, register_page, register_public
from registers.http_models import RegisterCreate, RegisterPage, RegisterPatch, RegisterPublic
from registers.scope import own_register, own_shop, own_tenant
from shared.actor import Actor
from shared.pagination import decode_cursor

log = structlog.get_logger(__name__)


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
                    register = await repo.insert_register(db, new_register(body, shop, status))
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
        async with self._pool.acquire() as db, db.transaction():
            tenant = await own_tenant(db, actor, "FOR SHARE")
            register = await own_register(db, actor, register_id, "FOR UPDATE")
            check_version(register.version, expected_version(if_match), "register")
            edit = edit_register(register, tenant.tier, body.sent())
            if edit.changes_nothing:
                return register_public(register)
            try:
                async with db.transaction():
                    fields = edit.fields(datetime.now(UTC))
                    updated = await repo.update_register(db, register_id, fields)
            except asyncpg.UniqueViolationError:
                raise receipt_prefix_taken(edit.edits["receipt_prefix"]) from None
            shop = await own_shop(db, actor, register.shop_id)
            await events.emit(db, events.register_updated(updated, shop, tenant.tier, edit.changed))
        log.info(
            "register_updated",
            register_id=str(register_id),
            changed=sorted(edit.edits),
            sync=str(edit.sync),
        )
        return register_public(updated)

    async def retry_sync(self, actor: Actor, register_id: UUID) -> RegisterPublic:
        async with self._pool.acquire() as db, db.transaction():
            tenant = await own_tenant(db, actor, "FOR SHARE")
            register = await own_register(db, actor, register_id, "FOR UPDATE")
            before = register.sync_status
            move = SyncMove(before, after_retry(before, tenant.tier, register.version + 1))
            updated = await events.update_and_announce_register(
                db,
                register_id,
                move.fields(datetime.now(UTC)),
                shop=await own_shop(db, actor, register.shop_id),
                tier=tenant.tier,
                changed=move.changed,
            )
        log.info("register_sync_retried", register_id=str(register_id), sync=move.after.state)
        return register_public(updated)
