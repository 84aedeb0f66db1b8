"""Projecting events into the read models, live from the consumer or replayed by a rebuild."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from reporting.domain.business_calendar import parse_cutoff
from reporting.domain.projection import (
    OrderFact,
    RefundFact,
    announces_shift_close,
    order_fact,
    refund_fact,
    session_state,
    sync_count_move,
    sync_error_text,
)
from reporting.repository import chat, event_log, facts, reference_data
from reporting.repository.event_log import LogPosition
from shared.batch_consumer import ReceivedEvent
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
    """Turns events into fact rows and rollup increments; the same code serves rebuilds."""

    async def consume(self, db: Db, envelope: EventEnvelope, data: Any) -> None:
        """The consumer's entry for one event, in the inbox's transaction."""
        await self.consume_batch(db, [ReceivedEvent(envelope, data, b"")])

    async def consume_batch(self, db: Db, received: Sequence[ReceivedEvent]) -> None:
        """The consumer's entry for a batch: log the events, then project those new to the log,
        in the inbox's transaction."""
        logged = await event_log.log_events(db, received)
        await self.project_batch(
            db, [(r.envelope, r.data) for r in received if r.envelope.id in logged], live=True
        )

    async def project(
        self, db: Db, envelope: EventEnvelope, data: EventData, *, live: bool
    ) -> None:
        """Applies one event; `live` is False during a rebuild, which must not notify anyone."""
        await self.project_batch(db, [(envelope, data)], live=live)

    async def project_batch(
        self, db: Db, events: Sequence[tuple[EventEnvelope, EventData]], *, live: bool
    ) -> None:
        """Applies events as one: reference data, sessions and Odoo verdicts one by one in the
        order given, then every order, then every refund, each kind in one statement.

        Any order of these gives the same read models, which is what lets a batch (and the
        prefetch before it) reorder them: version-guarded upserts keep the newest state; rollups
        are sums; an order placed after its verdict joins its verdict's count, a verdict after
        its order moves the count; a refund's product takes its sale's name whichever came first.
        """
        placed: list[OrderFact] = []
        refunds: list[RefundFact] = []
        judged: list[UUID] = []
        for envelope, data in events:
            if isinstance(data, OrderPlaced):
                placed.append(order_fact(envelope.tenant_id, data))
            elif isinstance(data, OrderRefunded):
                refunds.append(refund_fact(envelope.tenant_id, data))
            elif isinstance(data, OrderOdooSynced | OrderOdooSyncFailed):
                judged.append(data.order_id)
        if placed or judged:
            await facts.lock_orders(db, [order.order_id for order in placed] + judged)
        for envelope, data in events:
            if not isinstance(data, OrderPlaced | OrderRefunded):
                await self._project_state(db, envelope, data, live=live)
        if placed:
            new = await facts.place_orders(db, placed)
            for order in placed:
                if order.order_id not in new:
                    log.info("order_already_projected", order_id=str(order.order_id))
        if refunds:
            new = await facts.record_refunds(db, refunds)
            for refund in refunds:
                if refund.refund_id not in new:
                    log.info("refund_already_projected", refund_id=str(refund.refund_id))

    async def _project_state(
        self, db: Db, envelope: EventEnvelope, data: EventData, *, live: bool
    ) -> None:
        tenant_id, version = envelope.tenant_id, envelope.aggregate_version
        if isinstance(data, SessionOpened | SessionClosed):
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

    async def _order_sync(
        self, db: Db, tenant_id: UUID, data: OrderOdooSynced | OrderOdooSyncFailed
    ) -> None:
        # The order is locked by the caller (project_batch).
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
