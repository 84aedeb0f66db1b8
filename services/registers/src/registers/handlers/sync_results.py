"""What the connector reports about a register's push to Odoo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import structlog

from registers import repository as repo
from registers.domain.sync import (
    SyncStatus,
    after_sync_failed,
    after_synced,
    sync_changed,
    sync_error_text,
    sync_fields,
)
from registers.handlers.registers import update_and_announce_register
from registers.repository import RegisterRow
from shared.events.contracts import RegisterOdooSynced, RegisterOdooSyncFailed
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

log = structlog.get_logger(__name__)

Transition = Callable[[SyncStatus, RegisterRow], SyncStatus]


class SyncResultUseCases:
    async def record_synced(
        self, db: Db, envelope: EventEnvelope, data: RegisterOdooSynced
    ) -> None:
        await _record_sync(
            db,
            envelope.tenant_id,
            data.register_id,
            lambda status, register: after_synced(
                status,
                odoo_pos_config_id=data.odoo_pos_config_id,
                pushed_name=data.pushed_name,
                pushed_active=data.pushed_active,
                register_version=data.register_version,
                name=register.name,
                active=register.active,
                version=register.version + 1,
            ),
        )

    async def record_sync_failed(
        self, db: Db, envelope: EventEnvelope, data: RegisterOdooSyncFailed
    ) -> None:
        await _record_sync(
            db,
            envelope.tenant_id,
            data.register_id,
            lambda status, _: after_sync_failed(
                status,
                register_version=data.register_version,
                error=sync_error_text(data.error_class, data.message),
                attempts=data.attempts,
            ),
        )


async def _record_sync(db: Db, tenant_id: UUID, register_id: UUID, transition: Transition) -> None:
    tenant = await repo.get_tenant(db, tenant_id, "FOR SHARE")
    register = await repo.get_register(db, tenant_id, register_id, "FOR UPDATE")
    if tenant is None or register is None:
        log.warning("sync_result_for_unknown_register", register_id=str(register_id))
        return
    before = register.sync_status
    after = transition(before, register)
    if after == before:
        log.info("sync_result_changes_nothing", register_id=str(register_id))
        return
    shop = await repo.get_shop(db, tenant_id, register.shop_id)
    assert shop is not None
    await update_and_announce_register(
        db,
        register_id,
        sync_fields(before, after, datetime.now(UTC)),
        shop=shop,
        tier=tenant.tier,
        changed=sync_changed(before, after),
    )
    log.info(
        "register_sync_recorded",
        register_id=str(register_id),
        sync=f"{before.state}->{after.state}",
    )
