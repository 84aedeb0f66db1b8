"""The connector's use cases: learn tenants and registers, push orders, refunds and session
closes to each Pro tenant's Odoo (registers through register_push), and record dead letters.
A tenant's Odoo settings are odoo_settings' use cases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

from odoo_connector import repository as repo
from odoo_connector.dead_letter_reports import failure_event
from odoo_connector.domain import (
    MissingPaymentMappingError,
    MissingProductMappingError,
    OdooCredentialsRejected,
    OdooOrder,
    OdooSessionGone,
    PaymentMethodMap,
    RefundNotMappableError,
    SessionCloseRefusedError,
    SessionTarget,
    TaxMap,
    amount,
    minor_units,
    odoo_order,
    odoo_refund,
    tax_map,
)
from odoo_connector.odoo_client import OdooEndpoint
from odoo_connector.odoo_pos import OdooPos, Pushed, TenantOdoo, draft_failure
from odoo_connector.odoo_settings import OdooSettings
from odoo_connector.odoo_work import MESSAGES_PROCESSED
from odoo_connector.odoo_work import Apply as Apply
from odoo_connector.odoo_work import nothing as _nothing
from odoo_connector.register_lanes import NotYet, RegisterLanes, Ticket
from odoo_connector.register_push import RegisterPush
from shared.consumer import PermanentHandlingError
from shared.dead_letters.records import DeadLetter
from shared.events.contracts import (
    OrderOdooSynced,
    OrderPlaced,
    OrderRefunded,
    PaymentMethodState,
    RefundOdooSynced,
    RegisterState,
    SessionClosed,
    SessionOdooSynced,
    SessionOdooSyncFailed,
    SessionOpened,
    TenantState,
)
from shared.events.envelope import EventEnvelope
from shared.money import format_money
from shared.outbox import add_event
from shared.postgres import Db
from shared.retry_topology import WaitForPrerequisite
from shared.secret_box import SecretBox

log = structlog.get_logger(__name__)

PRODUCER = "odoo-connector"

SESSION_CLOSES_REFUSED = Counter(
    "connector_session_closes_refused_total",
    "Odoo session closes Odoo refused or answered with the Force Close wizard",
    ["final"],
)
SYNC_LAG_SECONDS = Histogram(
    "connector_sync_lag_seconds",
    "From order.placed occurred_at to the order being in Odoo",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

MarkReceipts = Callable[[Db, UUID, list[int]], Awaitable[None]]


class OdooDidNotKeepOrder(Exception):  # noqa: N818
    """Odoo answered the create but the order is not there: transient, look again later."""


@dataclass(frozen=True)
class Destination:
    odoo: TenantOdoo
    pos_config_id: int
    context: repo.EventContext


@dataclass(frozen=True)
class PushJob:
    """One order or refund for the register's lane."""

    odoo: TenantOdoo
    tenant_id: UUID
    register_id: UUID
    pos_config_id: int
    business_date: date
    order: OdooOrder
    # The till session the order was taken in: its Odoo session opens with the till's float.
    cash_session_id: UUID
    currency: str
    # The register's sale number of an order (None for a refund, or from an older producer).
    receipt_sequence: int | None = None
    # Long enough in flight that a till session the connector never heard opening (opened
    # before it consumed session.opened) is opened in Odoo without a float of ours.
    float_wait_over: bool = False


@dataclass(frozen=True)
class CloseJob:
    odoo: TenantOdoo
    register_id: UUID
    cash_session_id: UUID
    counted_cash: int
    currency: str


@dataclass(frozen=True)
class ClosedInOdoo:
    odoo_session_ids: list[int]
    cash_difference: int


# A tenant's Odoo taxes are read again after this long: a tax created to fix a refused line is
# found without a restart.
TAXES_TTL_S = 60.0


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
        self._wait_s = wait_s
        self._pool = pool
        self._odoo = odoo_pos
        self._lanes = lanes
        self._secrets = secrets
        self._predecessor_wait_max_s = predecessor_wait_max_s
        self._logins: dict[tuple[UUID, Any], TenantOdoo] = {}
        # product_ref -> product.product per tenant; Odoo product ids do not change under us.
        self._products: dict[UUID, dict[str, int]] = {}
        self._taxes: dict[UUID, tuple[float, Any, TaxMap]] = {}
        self._register_push = RegisterPush(
            pool,
            odoo_pos,
            lanes,
            register_create_settle_s,
            tenant_odoo=self._tenant_odoo,
            credentials_wait=self._credentials_wait,
            event=self._event,
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
            await self._mark(data, repo.note_waiting)
            raise
        except Exception:
            # Retried from a tier or given up: either way it no longer holds the next order back.
            await self._mark(data, repo.settle_receipts)
            raise

    async def _prepare_order(
        self, envelope: EventEnvelope, data: OrderPlaced, ticket: Ticket
    ) -> Apply:
        if data.source == "odoo_pulled":
            MESSAGES_PROCESSED.labels(envelope.type, "skipped_odoo_pulled").inc()
            await self._mark(data, repo.settle_receipts)
            return self._remember_imported(envelope, data)
        with self._credentials_wait(envelope.tenant_id):
            target = await self._destination(envelope, data.register_id)
            if target is None:
                # After an upgrade to Pro, the first Pro order must not wait for this one.
                await self._mark(data, repo.settle_receipts)
                return _nothing
            products = await self._product_ids(envelope.tenant_id, target.odoo, data)
            methods = _payment_methods(target.context, data.payments)
            taxes = await self._tax_map(envelope.tenant_id, target)
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
                self._float_wait_over(envelope),
            )
            pushed: Pushed = await self._lanes.run(
                ticket, ("push", data.business_date), self._push, job, data.receipt_sequence
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
                await add_event(db, self._event(synced, envelope, data.order_id))
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
            return _nothing
        with self._credentials_wait(envelope.tenant_id):
            target = await self._destination(envelope, data.register_id)
            if target is None:
                return _nothing
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
            methods = _payment_methods(target.context, data.payments)
            taxes = await self._tax_map(envelope.tenant_id, target)
            job = PushJob(
                target.odoo,
                envelope.tenant_id,
                data.register_id,
                target.pos_config_id,
                data.business_date,
                odoo_refund(data, originals, methods, taxes),
                data.session_id,
                data.currency,
                float_wait_over=self._float_wait_over(envelope),
            )
            pushed: Pushed = await self._lanes.run(
                ticket, ("push", data.business_date), self._push, job
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
                await add_event(db, self._event(synced, envelope, data.refund_id))
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
        """Remembers the till's float, in the register's lane, before its orders open a session
        in Odoo with it (whatever the tier: a tenant may turn Pro mid-session)."""
        if data.source == "odoo_pulled":
            return _nothing
        await self._lanes.run(ticket, ("till",), self._save_till_sessions, (envelope, data))
        return _nothing

    async def _save_till_sessions(
        self, db: Db, items: list[tuple[EventEnvelope, SessionOpened]]
    ) -> list[Any]:
        for envelope, data in items:
            await repo.save_till_session(
                db,
                data.session_id,
                envelope.tenant_id,
                data.register_id,
                data.opening_cash,
                data.currency,
                data.opened_at,
            )
        return [None] * len(items)

    async def prepare_session_close(
        self, envelope: EventEnvelope, data: SessionClosed, ticket: Ticket
    ) -> Apply:
        if data.source == "odoo_pulled":
            # Closed in Odoo long ago; its orders were never ours to push.
            MESSAGES_PROCESSED.labels(envelope.type, "skipped_odoo_pulled").inc()
            return _nothing
        with self._credentials_wait(envelope.tenant_id):
            target = await self._destination(envelope, data.register_id)
            if target is None:
                return _nothing
            async with self._pool.acquire() as conn:
                orders = await repo.accounted_in_cash_session(conn, data.session_id, "order")
                refunds = await repo.accounted_in_cash_session(conn, data.session_id, "refund")
            if orders < data.order_count or refunds < data.refund_count:
                raise WaitForPrerequisite(
                    "session_orders_not_in_odoo",
                    f"{orders}/{data.order_count} orders and {refunds}/{data.refund_count} refunds "
                    "of the session are in Odoo",
                )
            job = CloseJob(
                target.odoo, data.register_id, data.session_id, data.counted_cash, data.currency
            )
            try:
                closed: ClosedInOdoo = await self._lanes.run(ticket, ("close",), self._close, job)
            except SessionCloseRefusedError as error:
                SESSION_CLOSES_REFUSED.labels("false").inc()
                await self._report_close_refused(envelope, data, error, final=False)
                raise
        MESSAGES_PROCESSED.labels(envelope.type, "closed").inc()

        async def apply(db: Db) -> None:
            synced = SessionOdooSynced(
                session_id=data.session_id,
                odoo_session_ids=closed.odoo_session_ids,
                cash_difference=closed.cash_difference,
            )
            await add_event(db, self._event(synced, envelope, data.session_id))
            log.info(
                "till_session_closed_in_odoo",
                tenant_id=str(envelope.tenant_id),
                session_id=str(data.session_id),
                odoo_session_ids=closed.odoo_session_ids,
                cash_difference=format_money(closed.cash_difference, data.currency),
            )

        return apply

    async def _report_close_refused(
        self, envelope: EventEnvelope, data: SessionClosed, error: Exception, *, final: bool
    ) -> None:
        """The reason shows on the till session in the orders API while the close is retried."""
        failed = SessionOdooSyncFailed(
            session_id=data.session_id,
            error_class=type(error).__name__,
            message=str(error)[:500],
            final=final,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await add_event(conn, self._event(failed, envelope, data.session_id))
        log.warning(
            "odoo_session_close_refused",
            tenant_id=str(envelope.tenant_id),
            session_id=str(data.session_id),
            reason=str(error)[:500],
            final=final,
        )

    async def prepare_register(
        self, envelope: EventEnvelope, data: RegisterState, ticket: Ticket
    ) -> Apply:
        return await self._register_push.prepare_register(envelope, data, ticket)

    async def _mark(self, order: OrderPlaced, mark: MarkReceipts) -> None:
        if order.receipt_sequence is not None:
            async with self._pool.acquire() as conn:
                await mark(conn, order.register_id, [order.receipt_sequence])

    async def _push(self, db: Db, jobs: list[PushJob]) -> list[Any]:
        """One batch of a register's orders and refunds for one business date."""
        first = jobs[0]
        if any(job.cash_session_id != first.cash_session_id for job in jobs):
            # An Odoo session takes one till session's orders: the first till session's go now,
            # the next one's run again right after (and wait until Odoo closed the previous).
            own = [i for i, job in enumerate(jobs) if job.cash_session_id == first.cash_session_id]
            mixed: list[Any] = [
                NotYet(
                    WaitForPrerequisite(
                        "previous_session_not_closed",
                        f"till session {first.cash_session_id} goes to Odoo first",
                    )
                )
            ] * len(jobs)
            for index, result in zip(
                own, await self._push(db, [jobs[i] for i in own]), strict=True
            ):
                mixed[index] = result
            return mixed
        results: list[Any] = [None] * len(jobs)
        going = await self._in_register_order(db, jobs, results)
        if not going:
            return results
        # Every Odoo call of the batch is logged with the tenant and the orders it carries.
        with structlog.contextvars.bound_contextvars(
            tenant_id=str(first.tenant_id),
            register_id=str(first.register_id),
            order_ids=[jobs[i].order.uuid for i in going],
        ):
            session = await self._session_for(db, first)
            try:
                await self._send(db, first.odoo, session, [(i, jobs[i]) for i in going], results)
            except OdooSessionGone:
                await repo.set_odoo_session_state(
                    db, first.register_id, session.odoo_session_id, "closed"
                )
                raise
            await self._follow_rescue(db, first, session, results)
        # Still under the register's lock: the other replica sees these as gone only once they
        # have had their try at Odoo, so none of its orders overtakes them.
        sent = [jobs[i].receipt_sequence for i in going]
        await repo.settle_receipts(db, first.register_id, [n for n in sent if n is not None])
        return results

    async def _in_register_order(
        self, db: Db, jobs: list[PushJob], results: list[Any]
    ) -> list[int]:
        """The jobs of the batch that may go now, in batch order; the others are answered NotYet.

        Order n of a register goes only after order n-1 is settled (sent at least once, given
        up on, not for Odoo) or goes earlier in this batch, or after it has waited
        predecessor_wait_max_s for one that is not coming (placed while the tenant was
        Starter, or before the connector was deployed): a predecessor seen waiting is coming.
        Whether a predecessor is settled is read under the register's lock, so it holds across
        replicas.
        """
        register_id = jobs[0].register_id
        in_batch = {job.receipt_sequence for job in jobs}
        predecessors = [n - 1 for job in jobs if (n := job.receipt_sequence) is not None and n > 1]
        settled = (
            await repo.settled_receipts(db, register_id, predecessors) if predecessors else set()
        )
        # Only those whose predecessor is nowhere near: one held by a batch-mate waits unstamped.
        stranded = [n + 1 for n in predecessors if n not in settled and n not in in_batch]
        waited = await repo.waiting_for_predecessor(db, register_id, stranded) if stranded else {}
        going: list[int] = []
        gone: set[int | None] = set()
        for index, job in enumerate(jobs):
            n = job.receipt_sequence
            if n is not None and n > 1 and n - 1 not in settled and n - 1 not in gone:
                wait = waited.get(n)
                if wait is None or wait.waited_s < self._predecessor_wait_max_s:
                    results[index] = NotYet(
                        WaitForPrerequisite(
                            "previous_order_not_sent",
                            f"order {n - 1} of register {register_id} has not gone to Odoo yet",
                        ),
                        hold_s=self._hold_for(wait),
                    )
                    continue
                log.warning(
                    "order_sent_without_its_predecessor",
                    register_id=str(register_id),
                    receipt_sequence=n,
                    waited_s=round(wait.waited_s, 1),
                )
            going.append(index)
            gone.add(n)
        held = [n for job in jobs if (n := job.receipt_sequence) is not None and n not in gone]
        if held:
            # Held here, they are on their way: their successors must keep waiting for them.
            await repo.note_waiting(db, register_id, held)
        return going

    def _hold_for(self, wait: repo.PredecessorWait | None) -> float:
        """A predecessor seen on its way (back from a wait round, or held on another replica)
        comes within a wait round: holding its successor that long lets a backlog drain in
        order at full speed, instead of a wait round per order as they come back shuffled
        after an outage. One never seen may never come: the lanes' short hold."""
        return 1.5 * self._wait_s if wait is not None and wait.predecessor_seen else 0.0

    async def _send(
        self,
        db: Db,
        odoo: TenantOdoo,
        session: SessionTarget,
        indexed: list[tuple[int, PushJob]],
        results: list[Any],
    ) -> None:
        orders = [job.order for _, job in indexed]
        sent_before = await repo.mark_attempted(db, [o.uuid for o in orders])
        # After a crash between Odoo's answer and our record, Odoo may have the order already.
        known = await self._odoo.find_orders(odoo, [o for o in orders if o.uuid in sent_before])
        # A redelivered order can be in one batch twice: Odoo gets it once (16 would keep both).
        to_send = list(
            {
                o.uuid: o for o in orders if o.uuid not in known or known[o.uuid].state == "draft"
            }.values()
        )
        if to_send:
            try:
                await self._odoo.create_orders(odoo, session, to_send)
            except PermanentHandlingError as error:
                # Odoo rolled the whole call back: halve it until the bad order stands alone.
                if len(indexed) == 1:
                    results[indexed[0][0]] = error
                    return
                middle = len(indexed) // 2
                await self._send(db, odoo, session, indexed[:middle], results)
                await self._send(db, odoo, session, indexed[middle:], results)
                return
        found = await self._odoo.find_orders(odoo, orders)
        for (index, _), order in zip(indexed, orders, strict=True):
            state = found.get(order.uuid)
            if state is None:
                results[index] = OdooDidNotKeepOrder(
                    f"Odoo answered but has no order {order.reference}"
                )
            elif state.state == "draft":
                results[index] = draft_failure(order)
            else:
                results[index] = Pushed(state.odoo_order_id, state.odoo_session_id)

    async def _session_for(self, db: Db, job: PushJob) -> SessionTarget:
        """The Odoo session of the job's till session, opened with its float if need be.

        One Odoo session serves a till session, across business dates too: Odoo keeps one open
        session per pos.config, and closing one at a date change would book a cash count nobody
        made. The register's next till session waits until Odoo has closed the previous one."""
        live = await repo.live_odoo_session(db, job.register_id)
        if live is not None:
            if live.cash_session_id == job.cash_session_id and live.state == "open":
                return SessionTarget(live.odoo_session_id, live.pricelist_id, job.odoo.uid)
            if await self._odoo.session_state(job.odoo, live.odoo_session_id) != "closed":
                raise WaitForPrerequisite(
                    "previous_session_not_closed",
                    f"Odoo session {live.odoo_session_id} of the register's till session "
                    f"{live.cash_session_id} is not closed yet",
                )
            # Closed in Odoo by hand (or under us): the next one opens.
            await repo.set_odoo_session_state(db, job.register_id, live.odoo_session_id, "closed")
        opening_cash = await repo.till_opening_cash(db, job.cash_session_id)
        if opening_cash is None and not job.float_wait_over:
            raise WaitForPrerequisite(
                "till_session_not_known",
                f"the opening of till session {job.cash_session_id} has not reached the "
                "connector yet",
            )
        target = await self._odoo.open_session(
            job.odoo,
            job.pos_config_id,
            amount(opening_cash, job.currency) if opening_cash is not None else None,
        )
        await repo.save_odoo_session(
            db, job.register_id, target.odoo_session_id, job.cash_session_id, target.pricelist_id
        )
        log.info(
            "odoo_session_opened",
            register_id=str(job.register_id),
            cash_session_id=str(job.cash_session_id),
            odoo_session_id=target.odoo_session_id,
        )
        return target

    async def _follow_rescue(
        self, db: Db, job: PushJob, session: SessionTarget, results: list[Any]
    ) -> None:
        """16/17 put orders for a session closed under us into a rescue session: that one is the
        till session's now, and is closed with it."""
        elsewhere = {
            r.odoo_session_id
            for r in results
            if isinstance(r, Pushed)
            and r.odoo_session_id is not None
            and r.odoo_session_id != session.odoo_session_id
        }
        for rescue_id in sorted(elsewhere):
            if not await self._odoo.is_live_rescue_session(job.odoo, rescue_id):
                # An order Odoo had already (a redelivery), in a session of its own time.
                continue
            await repo.set_odoo_session_state(
                db, job.register_id, session.odoo_session_id, "closed"
            )
            await repo.save_odoo_session(
                db, job.register_id, rescue_id, job.cash_session_id, session.pricelist_id
            )
            log.warning(
                "orders_went_to_odoo_rescue_session",
                register_id=str(job.register_id),
                odoo_session_id=session.odoo_session_id,
                rescue_session_id=rescue_id,
            )

    async def _close(self, db: Db, jobs: list[CloseJob]) -> list[Any]:
        """Closes a till session's Odoo sessions, oldest first: the others at the cash Odoo
        expects, the last with the till's counted cash, so the difference is booked once."""
        results: list[Any] = []
        for job in jobs:
            sessions = await repo.odoo_sessions_of_till(db, job.register_id, job.cash_session_id)
            session_ids = [session_id for session_id, _ in sessions]
            difference = 0.0
            try:
                for index, (session_id, state) in enumerate(sessions):
                    last = index == len(sessions) - 1
                    if state != "closed":
                        await repo.set_odoo_session_state(
                            db, job.register_id, session_id, "closing"
                        )
                    # Closed already (a lost answer): Odoo answers what it booked, nothing more.
                    booked = await self._odoo.close_session(
                        job.odoo,
                        session_id,
                        amount(job.counted_cash, job.currency) if last else None,
                    )
                    if state != "closed":
                        await repo.set_odoo_session_state(db, job.register_id, session_id, "closed")
                        log.info("odoo_session_closed", odoo_session_id=session_id)
                    if last:
                        difference = booked
            except Exception as error:
                results.append(error)
                continue
            results.append(ClosedInOdoo(session_ids, minor_units(difference, job.currency)))
        return results

    # ------------------------------------------------------------ lookups

    async def _destination(self, envelope: EventEnvelope, register_id: UUID) -> Destination | None:
        """Where the event goes in Odoo; None (counted) for a Starter tenant's event."""
        async with self._pool.acquire() as conn:
            context = await repo.event_context(conn, envelope.tenant_id, register_id)
        odoo = await self._tenant_odoo(envelope.tenant_id, context)
        if odoo is None:
            MESSAGES_PROCESSED.labels(envelope.type, "skipped_starter").inc()
            return None
        return Destination(odoo, _pos_config_of(register_id, context), context)

    async def _tenant_odoo(self, tenant_id: UUID, context: repo.EventContext) -> TenantOdoo | None:
        """The tenant's Odoo, logged in; None for Starter; waits while it cannot be used."""
        tier, settings = context.tier, context.settings
        if tier is None:
            raise WaitForPrerequisite(
                "tenant_unknown", f"tenant {tenant_id}'s tier is not known yet"
            )
        if tier == "starter":
            return None
        if settings is None:
            raise WaitForPrerequisite(
                "odoo_settings_missing",
                f"Pro tenant {tenant_id} has no Odoo settings (PUT /v1/tenants/{tenant_id}/odoo)",
            )
        key = (tenant_id, settings.updated_at)
        cached = self._logins.get(key)
        if cached is not None:
            self._odoo.check_breaker(cached.endpoint)
            return cached
        endpoint = OdooEndpoint(
            settings.url,
            settings.database,
            settings.login,
            self._secrets.open(settings.secret_encrypted),
        )
        odoo = await self._odoo.login(endpoint, settings.odoo_version)
        self._logins = {k: v for k, v in self._logins.items() if k[0] != tenant_id}
        self._logins[key] = odoo
        return odoo

    @contextlib.contextmanager
    def _credentials_wait(self, tenant_id: UUID) -> Iterator[None]:
        try:
            yield
        except OdooCredentialsRejected as error:
            self._logins = {k: v for k, v in self._logins.items() if k[0] != tenant_id}
            raise WaitForPrerequisite("odoo_credentials_rejected", str(error)) from None

    async def _product_ids(
        self, tenant_id: UUID, odoo: TenantOdoo, order: OrderPlaced
    ) -> dict[str, int]:
        """Lines without an odoo_product_id are mapped by default_code = product_ref (cached)."""
        wanted = sorted({line.product_ref for line in order.lines if line.odoo_product_id is None})
        cached = self._products.setdefault(tenant_id, {})
        if all(ref in cached for ref in wanted):
            return cached
        async with self._pool.acquire() as conn:
            known = await repo.product_ids(conn, tenant_id, wanted)
        missing = [ref for ref in wanted if ref not in known]
        if missing:
            found = await self._odoo.products_by_code(odoo, missing)
            if found:
                async with self._pool.acquire() as conn:
                    await repo.save_product_ids(conn, tenant_id, found)
            known.update(found)
            absent = [ref for ref in missing if ref not in found]
            if absent:
                raise MissingProductMappingError(
                    f"no Odoo product has default_code {', '.join(map(repr, absent))}: give the "
                    "product an odoo_product_id, or that internal reference in Odoo"
                )
        cached.update(known)
        return cached

    async def _tax_map(self, tenant_id: UUID, target: Destination) -> TaxMap:
        """The tenant's rate -> Odoo sale tax map, read from its Odoo now and then."""
        settings = target.context.settings
        assert settings is not None
        now = asyncio.get_running_loop().time()
        cached = self._taxes.get(tenant_id)
        fresh = cached is not None and now - cached[0] < TAXES_TTL_S
        if cached is not None and fresh and cached[1] == settings.updated_at:
            return cached[2]
        taxes = tax_map(await self._odoo.sale_taxes(target.odoo), settings.tax_mapping)
        self._taxes[tenant_id] = (now, settings.updated_at, taxes)
        return taxes

    def _float_wait_over(self, envelope: EventEnvelope) -> bool:
        age_s = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
        return age_s > self._predecessor_wait_max_s

    def _event(self, data: Any, cause: EventEnvelope, aggregate_id: UUID) -> EventEnvelope:
        return EventEnvelope.wrap(
            data,
            tenant_id=cause.tenant_id,
            aggregate_id=aggregate_id,
            aggregate_version=1,
            producer=PRODUCER,
            correlation_id=cause.correlation_id,
            causation_id=cause.id,
        )

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


def _pos_config_of(register_id: UUID, context: repo.EventContext) -> int:
    register = context.register
    if register is None:
        raise WaitForPrerequisite("register_unknown", f"register {register_id} is not known yet")
    if register.odoo_pos_config_id is None:
        raise WaitForPrerequisite(
            "register_not_in_odoo",
            f"register {register_id} has no pos.config in Odoo yet ({register.sync_state})",
        )
    return register.odoo_pos_config_id


def _payment_methods(context: repo.EventContext, payments: list[Any]) -> PaymentMethodMap:
    own = context.own_cash_method
    methods = PaymentMethodMap(
        context.payment_method_ids,
        own.odoo_payment_method_id if own else None,
        own.pos_config_method_ids if own else frozenset(),
    )
    absent = methods.unmapped(payments)
    if absent:
        raise MissingPaymentMappingError(
            f"payment method {', '.join(map(repr, absent))} has no Odoo payment method: set "
            "its odoo_payment_method_id"
        )
    return methods
