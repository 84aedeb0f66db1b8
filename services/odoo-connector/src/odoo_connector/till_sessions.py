"""A till session in its tenant's Odoo: its opening float remembered before its orders open an
Odoo session with it, and that Odoo session closed with the till's counted cash once every order
and refund of it is in Odoo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Counter

from odoo_connector import repository as repo
from odoo_connector.domain import SessionCloseRefusedError, amount, minor_units
from odoo_connector.odoo_destinations import OdooDestinations
from odoo_connector.odoo_pos import OdooPos, TenantOdoo
from odoo_connector.odoo_work import MESSAGES_PROCESSED, Apply, connector_event, nothing
from odoo_connector.register_lanes import RegisterLanes, Ticket
from shared.events.contracts import (
    SessionClosed,
    SessionOdooSynced,
    SessionOdooSyncFailed,
    SessionOpened,
)
from shared.events.envelope import EventEnvelope
from shared.money import format_money
from shared.outbox import add_event
from shared.postgres import Db
from shared.retry_topology import WaitForPrerequisite

log = structlog.get_logger(__name__)

SESSION_CLOSES_REFUSED = Counter(
    "connector_session_closes_refused_total",
    "Odoo session closes Odoo refused or answered with the Force Close wizard",
    ["final"],
)


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


class TillSessions:
    """session.opened and session.closed of a Pro tenant's registers, in the register's lane."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        odoo_pos: OdooPos,
        lanes: RegisterLanes,
        destinations: OdooDestinations,
    ) -> None:
        self._pool = pool
        self._odoo = odoo_pos
        self._lanes = lanes
        self._destinations = destinations

    async def prepare_session_open(
        self, envelope: EventEnvelope, data: SessionOpened, ticket: Ticket
    ) -> Apply:
        """Remembers the till's float, in the register's lane, before its orders open a session
        in Odoo with it (whatever the tier: a tenant may turn Pro mid-session)."""
        if data.source == "odoo_pulled":
            return nothing
        await self._lanes.run(ticket, ("till",), self._save_till_sessions, (envelope, data))
        return nothing

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
            return nothing
        with self._destinations.credentials_wait(envelope.tenant_id):
            target = await self._destinations.destination(envelope, data.register_id)
            if target is None:
                return nothing
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
            await add_event(db, connector_event(synced, envelope, data.session_id))
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
            await add_event(conn, connector_event(failed, envelope, data.session_id))
        log.warning(
            "odoo_session_close_refused",
            tenant_id=str(envelope.tenant_id),
            session_id=str(data.session_id),
            reason=str(error)[:500],
            final=final,
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
