"""The connector's use cases: learn tenants and registers, push orders and refunds to each Pro
tenant's Odoo (in a register's lane, through order_push), and record dead letters. Till sessions
are till_sessions' use cases, registers register_push's, a tenant's Odoo settings odoo_settings'."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Histogram

from odoo_connector import repository as repo
from odoo_connector.dead_letter_reports import failure_event
from odoo_connector.domain import RefundNotMappableError, odoo_order, odoo_refund
from odoo_connector.odoo_destinations import OdooDestinations, payment_methods
from odoo_connector.odoo_pos import OdooPos, Pushed
from odoo_connector.odoo_settings import OdooSettings
from odoo_connector.odoo_work import MESSAGES_PROCESSED, PRODUCER, connector_event, nothing
from odoo_connector.odoo_work import Apply as Apply
from odoo_connector.order_push import OrderPush, PushJob
from odoo_connector.register_lanes import RegisterLanes, Ticket
from odoo_connector.register_push import RegisterPush
from odoo_connector.till_sessions import SESSION_CLOSES_REFUSED, TillSessions
from shared.dead_letters.records import DeadLetter
from shared.events.contracts import (
    OrderOdooSynced,
    OrderPlaced,
    OrderRefunded,
    PaymentMethodState,
    RefundOdooSynced,
    RegisterState,
    SessionClosed,
    SessionOdooSyncFailed,
    SessionOpened,
    TenantState,
)
from shared.events.envelope import EventEnvelope
from shared.outbox import add_event
from shared.postgres import Db
from shared.retry_topology import WaitForPrerequisite
from shared.secret_box import SecretBox

log = structlog.get_logger(__name__)

SYNC_LAG_SECONDS = Histogram(
    "connector_sync_lag_seconds",
    "From order.placed occurred_at to the order being in Odoo",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


class ConnectorHandlers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        odoo_pos: OdooPos,
        lanes: RegisterLanes,
        secrets: SecretBox,
        predecessor_wait_max_s: float,
        register_create_settle_s: float = 0.0,
        wait_s: float = 5.0,
    ) -> None:
        self._pool = pool
        self._odoo = odoo_pos
        self._lanes = lanes
        self._destinations = OdooDestinations(pool, odoo_pos, secrets, predecessor_wait_max_s)
        self._order_push = OrderPush(pool, odoo_pos, predecessor_wait_max_s, wait_s)
        self._till_sessions = TillSessions(pool, odoo_pos, lanes, self._destinations)
        self._register_push = RegisterPush(
            pool,
            odoo_pos,
            lanes,
            register_create_settle_s,
            tenant_odoo=self._destinations.tenant_odoo,
            credentials_wait=self._destinations.credentials_wait,
            event=connector_event,
        )
        self.odoo_settings = OdooSettings(pool, odoo_pos, secrets)

    # ------------------------------------------------------------ reference data (one step)

    async def apply_tenant(self, db: Db, envelope: EventEnvelope, data: TenantState) -> None:
        await repo.save_tenant_tier(db, data.tenant_id, data.tier)

    async def apply_register(self, db: Db, envelope: EventEnvelope, data: RegisterState) -> None:
        await repo.save_register(
            db,
            data.register_id,
            envelope.tenant_id,
            data.tenant_tier,
            data.sync_state,
            data.odoo_pos_config_id,
            envelope.aggregate_version,
        )

    async def apply_payment_method(
        self, db: Db, envelope: EventEnvelope, data: PaymentMethodState
    ) -> None:
        await repo.save_payment_method(
            db, envelope.tenant_id, data.code, data.odoo_payment_method_id, data.active
        )

    # ------------------------------------------------------------ Odoo work (two steps)

    async def prepare_order(
        self, envelope: EventEnvelope, data: OrderPlaced, ticket: Ticket
    ) -> Apply:
        try:
            return await self._prepare_order(envelope, data, ticket)
        except WaitForPrerequisite:
            # Still coming: the next order keeps waiting for it, however long this takes.
            await self._order_push.mark(data, repo.note_waiting)
            raise
        except Exception:
            # Retried from a tier or given up: either way it no longer holds the next order back.
            await self._order_push.mark(data, repo.settle_receipts)
            raise

    async def _prepare_order(
        self, envelope: EventEnvelope, data: OrderPlaced, ticket: Ticket
    ) -> Apply:
        if data.source == "odoo_pulled":
            MESSAGES_PROCESSED.labels(envelope.type, "skipped_odoo_pulled").inc()
            await self._order_push.mark(data, repo.settle_receipts)
            return self._remember_imported(envelope, data)
        with self._destinations.credentials_wait(envelope.tenant_id):
            target = await self._destinations.destination(envelope, data.register_id)
            if target is None:
                # After an upgrade to Pro, the first Pro order must not wait for this one.
                await self._order_push.mark(data, repo.settle_receipts)
                return nothing
            products = await self._destinations.product_ids(envelope.tenant_id, target.odoo, data)
            methods = payment_methods(target.context, data.payments)
            taxes = await self._destinations.tax_map(envelope.tenant_id, target)
            job = PushJob(
                target.odoo,
                envelope.tenant_id,
                data.register_id,
                target.pos_config_id,
                data.business_date,
                odoo_order(data, products, methods, taxes),
                data.session_id,
                data.currency,
                data.receipt_sequence,
                self._destinations.float_wait_over(envelope),
            )
            pushed: Pushed = await self._lanes.run(
                ticket,
                ("push", data.business_date),
                self._order_push.push,
                job,
                data.receipt_sequence,
            )

        async def apply(db: Db) -> None:
            first = await repo.save_synced(
                db,
                order_id=data.order_id,
                kind="order",
                tenant_id=envelope.tenant_id,
                register_id=data.register_id,
                cash_session_id=data.session_id,
                business_date=data.business_date,
                odoo_order_id=pushed.odoo_order_id,
                odoo_session_id=pushed.odoo_session_id,
                line_ids=[str(line.line_id) for line in data.lines],
            )
            if first:
                synced = OrderOdooSynced(
                    order_id=data.order_id,
                    odoo_order_id=pushed.odoo_order_id,
                    odoo_session_id=pushed.odoo_session_id,
                )
                await add_event(db, connector_event(synced, envelope, data.order_id))
                SYNC_LAG_SECONDS.observe((datetime.now(UTC) - envelope.occurred_at).total_seconds())
                MESSAGES_PROCESSED.labels(envelope.type, "synced").inc()
                log.info(
                    "order_synced",
                    tenant_id=str(envelope.tenant_id),
                    order_id=str(data.order_id),
                    odoo_order_id=pushed.odoo_order_id,
                )

        return apply

    def _remember_imported(self, envelope: EventEnvelope, data: OrderPlaced) -> Apply:
        """An order imported from Odoo is there already; a till refund of it needs its Odoo id."""

        async def apply(db: Db) -> None:
            if data.odoo_order_id is None:
                return
            await repo.save_synced(
                db,
                order_id=data.order_id,
                kind="order",
                tenant_id=envelope.tenant_id,
                register_id=data.register_id,
                cash_session_id=data.session_id,
                business_date=data.business_date,
                odoo_order_id=data.odoo_order_id,
                odoo_session_id=None,
                line_ids=[str(line.line_id) for line in data.lines],
            )

        return apply

    async def prepare_refund(
        self, envelope: EventEnvelope, data: OrderRefunded, ticket: Ticket
    ) -> Apply:
        if data.source == "odoo_pulled":
            MESSAGES_PROCESSED.labels(envelope.type, "skipped_odoo_pulled").inc()
            return nothing
        with self._destinations.credentials_wait(envelope.tenant_id):
            target = await self._destinations.destination(envelope, data.register_id)
            if target is None:
                return nothing
            async with self._pool.acquire() as conn:
                original = await repo.synced(conn, data.order_id)
                if original is None and await repo.is_dead_lettered(
                    conn, data.order_id, "order.placed"
                ):
                    raise RefundNotMappableError(
                        f"the refunded order {data.order_id} was dead-lettered and is not in Odoo"
                    )
            if original is None:
                raise WaitForPrerequisite(
                    "original_not_in_odoo", f"order {data.order_id} is not in Odoo yet"
                )
            originals = await self._odoo.original_lines(
                target.odoo, original.odoo_order_id, [UUID(i) for i in original.line_ids]
            )
            methods = payment_methods(target.context, data.payments)
            taxes = await self._destinations.tax_map(envelope.tenant_id, target)
            job = PushJob(
                target.odoo,
                envelope.tenant_id,
                data.register_id,
                target.pos_config_id,
                data.business_date,
                odoo_refund(data, originals, methods, taxes),
                data.session_id,
                data.currency,
                float_wait_over=self._destinations.float_wait_over(envelope),
            )
            pushed: Pushed = await self._lanes.run(
                ticket, ("push", data.business_date), self._order_push.push, job
            )

        async def apply(db: Db) -> None:
            if await repo.save_synced(
                db,
                order_id=data.refund_id,
                kind="refund",
                tenant_id=envelope.tenant_id,
                register_id=data.register_id,
                cash_session_id=data.session_id,
                business_date=data.business_date,
                odoo_order_id=pushed.odoo_order_id,
                odoo_session_id=pushed.odoo_session_id,
                line_ids=[str(line.refund_line_id) for line in data.lines],
            ):
                synced = RefundOdooSynced(
                    refund_id=data.refund_id,
                    order_id=data.order_id,
                    odoo_order_id=pushed.odoo_order_id,
                    odoo_session_id=pushed.odoo_session_id,
                )
                await add_event(db, connector_event(synced, envelope, data.refund_id))
                MESSAGES_PROCESSED.labels(envelope.type, "synced").inc()
                log.info(
                    "refund_synced",
                    tenant_id=str(envelope.tenant_id),
                    order_id=str(data.order_id),
                    refund_id=str(data.refund_id),
                    odoo_order_id=pushed.odoo_order_id,
                )

        return apply

    async def prepare_session_open(
        self, envelope: EventEnvelope, data: SessionOpened, ticket: Ticket
    ) -> Apply:
        return await self._till_sessions.prepare_session_open(envelope, data, ticket)

    async def prepare_session_close(
        self, envelope: EventEnvelope, data: SessionClosed, ticket: Ticket
    ) -> Apply:
        return await self._till_sessions.prepare_session_close(envelope, data, ticket)

    async def prepare_register(
        self, envelope: EventEnvelope, data: RegisterState, ticket: Ticket
    ) -> Apply:
        return await self._register_push.prepare_register(envelope, data, ticket)

    # ------------------------------------------------------------ dead letters

    async def report_dead_letter(self, db: Db, dead: DeadLetter, error: Exception) -> None:
        """order.odoo_sync_failed (or its refund, session or register kin), so what the dead
        letter was about shows why in its own service."""
        event = failure_event(dead, error, PRODUCER)
        if event is None:
            return
        if event.type == SessionOdooSyncFailed.event_type:
            SESSION_CLOSES_REFUSED.labels("true").inc()
        await add_event(db, event)
