"""What the connector reports about a register's push to Odoo."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from registers import events
from registers import repository as repo
from shared.events.contracts import RegisterOdooSynced, RegisterOdooSyncFailed
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

log = structlog.get_logger(__name__)


class SyncResultUseCases:
    async def record_sync_result(
        self, db: Db, envelope: EventEnvelope, report: RegisterOdooSynced | RegisterOdooSyncFailed
    ) -> None:
        """The connector pushed a register to Odoo, or gave up on it: its sync status follows."""
        tenant_id, register_id = envelope.tenant_id, report.register_id
        tenant = await repo.get_tenant(db, tenant_id, "FOR SHARE")
        register = await repo.get_register(db, tenant_id, register_id, "FOR UPDATE")
        if tenant is None or register is None:
            log.warning("sync_result_for_unknown_register", register_id=str(register_id))
            return
        move = events.sync_report_move(register, report)
        if not move.moved:
            log.info("sync_result_changes_nothing", register_id=str(register_id))
            return
        shop = await repo.get_shop(db, tenant_id, register.shop_id)
        assert shop is not None
        await events.update_and_announce_register(
            db,
            register_id,
            move.fields(datetime.now(UTC)),
            shop=shop,
            tier=tenant.tier,
            changed=move.changed,
        )
        log.info("register_sync_recorded", register_id=str(register_id), sync=str(move))
