"""A register's orders and refunds into its Odoo session: one batch at a time in the register's
lane, each order after its predecessor, the Odoo session opened with the till's float, and an
answer Odoo gave but we lost found again by our reference instead of sent twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from odoo_connector import repository as repo
from odoo_connector.domain import OdooOrder, OdooSessionGone, SessionTarget, amount
from odoo_connector.odoo_pos import OdooPos, Pushed, TenantOdoo, draft_failure
from odoo_connector.register_lanes import NotYet
from shared.consumer import PermanentHandlingError
from shared.events.contracts import OrderPlaced
from shared.postgres import Db
from shared.retry_topology import WaitForPrerequisite

log = structlog.get_logger(__name__)

MarkReceipts = Callable[[Db, UUID, list[int]], Awaitable[None]]


class OdooDidNotKeepOrder(Exception):  # noqa: N818
    """Odoo answered the create but the order is not there: transient, look again later."""


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


class OrderPush:
    """The register lane's runner of orders and refunds (`push`), and the receipts' marks."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        odoo_pos: OdooPos,
        predecessor_wait_max_s: float,
        wait_s: float,
    ) -> None:
        self._pool = pool
        self._odoo = odoo_pos
        self._predecessor_wait_max_s = predecessor_wait_max_s
        self._wait_s = wait_s

    async def mark(self, order: OrderPlaced, mark: MarkReceipts) -> None:
        """Marks the order's sale number (waiting, or settled) for the register's next order."""
        if order.receipt_sequence is not None:
            async with self._pool.acquire() as conn:
                await mark(conn, order.register_id, [order.receipt_sequence])

    async def push(self, db: Db, jobs: list[PushJob]) -> list[Any]:
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
            for index, result in zip(own, await self.push(db, [jobs[i] for i in own]), strict=True):
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
