"""Projecting events into the read models, live from the consumer or replayed by a rebuild."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import structlog

from reporting.domain.business_calendar import parse_cutoff
from reporting.domain.projection import (
    announces_shift_close,
    order_fact,
    refund_fact,
    session_state,
    sync_count_move,
    sync_error_text,
)
from reporting.repository import chat, event_log, facts, reference_data
from reporting.repository.event_log import LogPosition
from shared.events.contracts import (
    OrderOdooSynced,
    OrderOdooSyncFailed,
    OrderPlaced,
    OrderRefunded,
    PaymentMethodState,
    RegisterState,
    SessionClosed,
    SessionOpened,
    ShopState,
    TenantState,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.events.registry import parse_data
from shared.postgres import Db

log = structlog.get_logger(__name__)

REPLAY_PAGE = 1000


class Projector:
    """Turns each event into fact rows and rollup increments; the same code serves rebuilds."""

    async def consume(self, db: Db, envelope: EventEnvelope, data: Any) -> None:
        """The consumer's entry: log the event, then project it, in the inbox's transaction."""
        if await event_log.log_event(db, envelope):
            await self.project(db, envelope, data, live=True)

    async def project(
        self, db: Db, envelope: EventEnvelope, data: EventData, *, live: bool
    ) -> None:
        """Applies one event; `live` is False during a rebuild, which must not notify anyone."""
        tenant_id, version = envelope.tenant_id, envelope.aggregate_version
        if isinstance(data, OrderPlaced):
            await self._order_placed(db, tenant_id, data)
        elif isinstance(data, OrderRefunded):
            if not await facts.record_refund(db, refund_fact(tenant_id, data)):
                log.info("refund_already_projected", refund_id=str(data.refund_id))
        elif isinstance(data, SessionOpened | SessionClosed):
            await reference_data.upsert_session(db, session_state(tenant_id, version, data))
            if announces_shift_close(data, live=live):
                await chat.claim_shift_close(
                    db, tenant_id, data.shop_id, data.session_id, data.business_date
                )
        elif isinstance(data, OrderOdooSynced | OrderOdooSyncFailed):
            await self._order_sync(db, tenant_id, data)
        elif isinstance(data, RegisterState):
            await self._register(db, envelope, data)
        elif isinstance(data, ShopState):
            await reference_data.upsert_shop_from_shop_event(
                db,
                tenant_id=tenant_id,
                shop_id=data.shop_id,
                name=data.name,
                currency=data.currency,
                timezone=data.timezone,
                cutoff=parse_cutoff(data.business_day_cutoff),
                version=version,
            )
        elif isinstance(data, PaymentMethodState):
            await reference_data.upsert_payment_method(
                db,
                tenant_id=tenant_id,
                payment_method_id=data.payment_method_id,
                code=data.code,
                name=data.name,
                kind=data.kind,
                version=version,
            )
        elif isinstance(data, TenantState):
            await reference_data.upsert_tenant(
                db,
                tenant_id=tenant_id,
                name=data.name,
                tier=data.tier,
                currency=data.default_currency,
                timezone=data.default_timezone,
                version=version,
            )

    async def _order_placed(self, db: Db, tenant_id: UUID, data: OrderPlaced) -> None:
        await facts.lock_order(db, data.order_id)
        if not await facts.place_order(db, order_fact(tenant_id, data)):
            log.info("order_already_projected", order_id=str(data.order_id))

    async def _order_sync(
        self, db: Db, tenant_id: UUID, data: OrderOdooSynced | OrderOdooSyncFailed
    ) -> None:
        await facts.lock_order(db, data.order_id)
        before = await facts.order_sync_state(db, tenant_id, data.order_id)
        if isinstance(data, OrderOdooSynced):
            await facts.mark_order_synced(db, tenant_id, data.order_id, data.odoo_order_id)
        else:
            await facts.mark_order_sync_failed(db, tenant_id, data.order_id, sync_error_text(data))
        after = await facts.order_sync_state(db, tenant_id, data.order_id)
        if after != before:
            await facts.move_sync_count(
                db, tenant_id, data.order_id, sync_count_move(before, after)
            )

    async def _register(self, db: Db, envelope: EventEnvelope, data: RegisterState) -> None:
        tenant_id = envelope.tenant_id
        await reference_data.upsert_register(
            db,
            tenant_id=tenant_id,
            register_id=data.register_id,
            shop_id=data.shop_id,
            name=data.name,
            receipt_prefix=data.receipt_prefix,
            active=data.active,
            tier=data.tenant_tier,
            version=envelope.aggregate_version,
        )
        await reference_data.upsert_shop_from_register_event(
            db,
            tenant_id=tenant_id,
            shop_id=data.shop_id,
            name=data.shop_name,
            currency=data.currency,
            timezone=data.timezone,
            cutoff=parse_cutoff(data.business_day_cutoff),
            info_at=envelope.occurred_at,
        )


async def rebuild(pool: asyncpg.Pool, projector: Projector, tenant_id: UUID | None) -> int:
    """Empties the read models of one tenant (or all) and replays the event log into them.

    Each tenant is rebuilt in one transaction holding its lock, so live events of that tenant
    wait for it and readers see either the old tables or the rebuilt ones, never half of each.
    Returns the number of events replayed.
    """
    replayed = 0
    async with pool.acquire() as db:
        tenants = [tenant_id] if tenant_id is not None else await event_log.logged_tenants(db)
        for tenant in tenants:
            async with db.transaction():
                await event_log.lock_tenant_for_rebuild(db, tenant)
                await event_log.clear_read_models(db, tenant)
                after: LogPosition | None = None
                while page := await event_log.logged_events(db, tenant, after, REPLAY_PAGE):
                    for logged in page:
                        envelope = logged.envelope
                        await projector.project(db, envelope, parse_data(envelope), live=False)
                    after = page[-1].position
                    replayed += len(page)
            log.info("read_models_rebuilt", tenant_id=str(tenant))
    return replayed
