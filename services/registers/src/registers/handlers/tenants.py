"""Tenants: the platform creates them; a tier change reaches every register."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog

from registers import events
from registers import repository as repo
from registers.domain.edits import changed_fields, check_version, expected_version
from registers.domain.sync import SyncMove, after_tier_change
from registers.domain.tenants import check_tier_change
from registers.http_mappers import new_tenant, tenant_page, tenant_public
from registers.http_models import TenantCreate, TenantPage, TenantPatch, TenantPublic
from registers.repository import TenantRow
from registers.scope import scope_of, tenant_in_scope
from shared.actor import Actor
from shared.pagination import decode_cursor
from shared.postgres import Db

log = structlog.get_logger(__name__)


class TenantUseCases:
    _pool: asyncpg.Pool

    async def create_tenant(self, actor: Actor, body: TenantCreate) -> TenantPublic:
        async with self._pool.acquire() as db, db.transaction():
            tenant = await repo.insert_tenant(db, new_tenant(body))
            await events.emit(db, events.tenant_created(tenant))
        return tenant_public(tenant)

    async def get_tenant(self, actor: Actor, tenant_id: UUID) -> TenantPublic:
        async with self._pool.acquire() as db:
            return tenant_public(await tenant_in_scope(db, actor, tenant_id))

    async def list_tenants(self, actor: Actor, cursor: str | None, limit: int) -> TenantPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_tenants(db, scope_of(actor), decode_cursor(cursor), limit)
        return tenant_page(rows, limit)

    async def patch_tenant(
        self, actor: Actor, tenant_id: UUID, body: TenantPatch, if_match: str | None
    ) -> TenantPublic:
        wanted = body.sent()
        async with self._pool.acquire() as db, db.transaction():
            tenant = await tenant_in_scope(db, actor, tenant_id, "FOR UPDATE")
            check_version(tenant.version, expected_version(if_match), "tenant")
            changes = changed_fields(tenant, wanted)
            check_tier_change(tenant.tier, changes, by_platform_admin=actor.is_platform_admin)
            if not changes:
                return tenant_public(tenant)
            updated = await repo.update_tenant(db, tenant_id, changes)
            await events.emit(db, events.tenant_updated(updated, changes))
            if "tier" in changes:
                await _apply_tier(db, updated)
        log.info("tenant_updated", tenant_id=str(tenant_id), changed=sorted(changes))
        return tenant_public(updated)


async def _apply_tier(db: Db, tenant: TenantRow) -> None:
    """Every register learns the tier; Pro queues the Odoo work each one now needs."""
    registers = await repo.lock_registers(db, tenant_id=tenant.tenant_id)
    shops = await repo.get_shops(db, tenant.tenant_id, [r.shop_id for r in registers])
    now = datetime.now(UTC)
    for register in registers:
        before = register.sync_status
        move = SyncMove(
            before, after_tier_change(before, tenant.tier, register.active, register.version + 1)
        )
        await events.update_and_announce_register(
            db,
            register.register_id,
            move.fields(now),
            shop=shops[register.shop_id],
            tier=tenant.tier,
            changed=("tenant_tier", *move.changed),
        )
