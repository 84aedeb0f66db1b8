"""Odoo's answers, relayed by the connector: stamped on the order, refund or session they name."""

from __future__ import annotations

import structlog

from orders import repository as repo
from orders.domain.model import sync_error
from shared.events.contracts import (
    OrderOdooSynced,
    OrderOdooSyncFailed,
    RefundOdooSynced,
    RefundOdooSyncFailed,
    SessionOdooSynced,
    SessionOdooSyncFailed,
)
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

log = structlog.get_logger(__name__)


class OdooSyncHandlers:
    async def stamp_odoo_synced(
        self, db: Db, envelope: EventEnvelope, data: OrderOdooSynced
    ) -> None:
        found = await repo.mark_synced(
            db, "order", envelope.tenant_id, data.order_id, data.odoo_order_id, data.odoo_session_id
        )
        if not found:
            log.warning("odoo_sync_for_unknown_order", order_id=str(data.order_id))

    async def stamp_odoo_failed(
        self, db: Db, envelope: EventEnvelope, data: OrderOdooSyncFailed
    ) -> None:
        error = sync_error(data.error_class, data.message)
        await repo.mark_sync_failed(db, "order", envelope.tenant_id, data.order_id, error)

    async def stamp_refund_synced(
        self, db: Db, envelope: EventEnvelope, data: RefundOdooSynced
    ) -> None:
        found = await repo.mark_synced(
            db,
            "refund",
            envelope.tenant_id,
            data.refund_id,
            data.odoo_order_id,
            data.odoo_session_id,
        )
        if not found:
            log.warning("odoo_sync_for_unknown_refund", refund_id=str(data.refund_id))

    async def stamp_refund_failed(
        self, db: Db, envelope: EventEnvelope, data: RefundOdooSyncFailed
    ) -> None:
        error = sync_error(data.error_class, data.message)
        await repo.mark_sync_failed(db, "refund", envelope.tenant_id, data.refund_id, error)

    async def stamp_session_synced(
        self, db: Db, envelope: EventEnvelope, data: SessionOdooSynced
    ) -> None:
        last = data.odoo_session_ids[-1] if data.odoo_session_ids else None
        if not await repo.mark_session_synced(db, envelope.tenant_id, data.session_id, last):
            log.warning("odoo_sync_for_unknown_session", session_id=str(data.session_id))

    async def stamp_session_failed(
        self, db: Db, envelope: EventEnvelope, data: SessionOdooSyncFailed
    ) -> None:
        await repo.mark_session_sync_failed(
            db,
            envelope.tenant_id,
            data.session_id,
            sync_error(data.error_class, data.message),
            final=data.final,
        )
