"""Importing a Pro tenant's Odoo history: closed sessions with their orders and refunds, once.

Every id is derived from the tenant and the Odoo id, so a batch sent again finds its rows present
and writes nothing. A batch is one transaction; its events go through the outbox in an order
consumers can apply: session.opened, order.placed, order.refunded, session.closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from orders import repository as repo
from orders.domain.amounts import business_date, summed
from orders.domain.history import (
    RefundSkipped,
    check_refund_fits,
    imported_order,
    imported_order_id,
    imported_refund_id,
    imported_refund_rows,
    imported_session_id,
    refuse_duplicates,
)
from orders.domain.identity import fingerprint
from orders.domain.model import CashSession, Refund, RefundLine, RefundPayment, Register
from orders.domain.refund import state_after_refund
from orders.domain.sale import require_currency
from orders.domain.session import expected_cash
from orders.events import (
    emit,
    order_placed_event,
    order_refunded_event,
    session_closed_event,
    session_opened_event,
)
from orders.http_models import (
    ImportCountsPublic,
    ImportSummaryPublic,
    OdooHistoryImport,
    OrderImport,
    RefundImport,
    SkippedOrderPublic,
    SkippedRefundPublic,
)
from shared.actor import Actor
from shared.errors import ConflictError, InvalidRequestError
from shared.postgres import Db


class OdooHistoryImports:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def import_history(self, actor: Actor, body: OdooHistoryImport) -> ImportSummaryPublic:
        """Stores what is new in the batch, all or nothing, and says what was new."""
        refuse_duplicates(body)
        async with self._pool.acquire() as db, db.transaction():
            await repo.lock_history_imports(db, actor.tenant_id)
            return await _ImportRun(db, actor, body).run()


@dataclass
class _Tally:
    new: int = 0
    already_present: int = 0

    def public(self) -> ImportCountsPublic:
        return ImportCountsPublic(new=self.new, already_present=self.already_present)


@dataclass
class _NewRefund:
    item: RefundImport
    where: str
    refund_id: UUID
    session: CashSession
    register: Register
    lines: list[RefundLine]
    payments: list[RefundPayment]


@dataclass
class _ImportRun:
    """One batch inside its transaction, step by step, in the order its events must go out."""

    db: Db
    actor: Actor
    body: OdooHistoryImport
    registers: dict[UUID, Register] = field(default_factory=dict)
    # Odoo session id -> our row, for the sessions of the batch and those imported before.
    sessions: dict[int, CashSession] = field(default_factory=dict)
    new_sessions: dict[UUID, CashSession] = field(default_factory=dict)
    # Odoo order ids that are orders of ours the connector pushed to Odoo.
    pushed_from_here: dict[int, UUID] = field(default_factory=dict)
    counts: dict[str, _Tally] = field(
        default_factory=lambda: {kind: _Tally() for kind in ("sessions", "orders", "refunds")}
    )
    skipped_orders: list[SkippedOrderPublic] = field(default_factory=list)
    skipped_refunds: list[SkippedRefundPublic] = field(default_factory=list)

    @property
    def tenant_id(self) -> UUID:
        return self.actor.tenant_id

    async def run(self) -> ImportSummaryPublic:
        await self._load_registers()
        await self._import_sessions()
        await self._import_orders()
        await self._import_refunds()
        await self._close_new_sessions()
        return ImportSummaryPublic(
            sessions=self.counts["sessions"].public(),
            orders=self.counts["orders"].public(),
            refunds=self.counts["refunds"].public(),
            skipped_orders=self.skipped_orders,
            skipped_refunds=self.skipped_refunds,
        )

    async def _load_registers(self) -> None:
        body = self.body
        named = [
            *((s.register_id, f"sessions[{i}].register_id") for i, s in enumerate(body.sessions)),
            *((o.register_id, f"orders[{i}].register_id") for i, o in enumerate(body.orders)),
            *((r.register_id, f"refunds[{i}].register_id") for i, r in enumerate(body.refunds)),
        ]
        first_named_at: dict[UUID, str] = {}
        for register_id, where in named:
            first_named_at.setdefault(register_id, where)
        rows = await repo.get_registers(self.db, self.tenant_id, list(first_named_at))
        self.registers = {row.register_id: row for row in rows}
        for register_id, where in first_named_at.items():
            register = self.registers.get(register_id)
            if register is None:
                raise InvalidRequestError(
                    f"{where}: register {register_id} is not known. If it was created a moment "
                    "ago, retry shortly; otherwise check the register ids the backfill sends.",
                    field=where,
                )
            if register.tenant_tier != "pro":
                raise ConflictError(
                    f"Register {register.name!r} belongs to a Starter tenant; only a Pro "
                    "tenant's Odoo history can be imported. If the tenant was upgraded a moment "
                    "ago, retry shortly."
                )

    async def _import_sessions(self) -> None:
        body = self.body
        named = (
            {s.odoo_session_id for s in body.sessions}
            | {o.odoo_session_id for o in body.orders}
            | {r.odoo_session_id for r in body.refunds}
        )
        odoo_ids = {imported_session_id(self.tenant_id, odoo_id): odoo_id for odoo_id in named}
        for row in await repo.get_sessions(self.db, self.tenant_id, list(odoo_ids)):
            self.sessions[odoo_ids[row.session_id]] = row
        new = []
        for index, item in enumerate(body.sessions):
            if item.odoo_session_id in self.sessions:
                self.counts["sessions"].already_present += 1
                continue
            register = self.registers[item.register_id]
            for money_field in ("opening_cash", "counted_cash"):
                money = getattr(item, money_field)
                require_currency(
                    money.currency, register.currency, f"sessions[{index}].{money_field}"
                )
            new.append(item)
        for item in sorted(new, key=lambda s: s.opened_at):
            register = self.registers[item.register_id]
            session = await repo.insert_imported_session(
                self.db,
                session_id=imported_session_id(self.tenant_id, item.odoo_session_id),
                tenant_id=self.tenant_id,
                register_id=item.register_id,
                shop_id=register.shop_id,
                business_date=business_date(
                    item.opened_at, register.timezone, register.business_day_cutoff
                ),
                currency=register.currency,
                opened_at=item.opened_at,
                opened_by=item.opened_by,
                opening_cash=item.opening_cash.amount,
                closed_at=item.closed_at,
                closed_by=item.closed_by,
                counted_cash=item.counted_cash.amount,
                odoo_session_id=item.odoo_session_id,
                odoo_session_name=item.name,
            )
            await emit(
                self.db,
                session_opened_event(session),
                tenant_id=self.tenant_id,
                aggregate_id=session.session_id,
                aggregate_version=1,
            )
            self.sessions[item.odoo_session_id] = session
            self.new_sessions[session.session_id] = session
            self.counts["sessions"].new += 1

    def _new_session_for(
        self, odoo_session_id: int, register_id: UUID, where: str, what: str
    ) -> CashSession:
        """The session a new order or refund goes into: one this batch brings."""
        session = self.sessions.get(odoo_session_id)
        if session is None:
            raise InvalidRequestError(
                f"{where}.odoo_session_id: Odoo session {odoo_session_id} is neither in this "
                "batch nor imported before; send each session in the same batch as its orders "
                "and refunds.",
                field=f"{where}.odoo_session_id",
            )
        if session.session_id not in self.new_sessions:
            raise InvalidRequestError(
                f"{where}.odoo_session_id: Odoo session {odoo_session_id} was imported and "
                f"closed in an earlier batch without {what}; a closed session's totals are "
                "final, so every order and refund of a session travels in the batch that brings "
                "the session.",
                field=f"{where}.odoo_session_id",
            )
        if session.register_id != register_id:
            raise InvalidRequestError(
                f"{where}.register_id: Odoo session {odoo_session_id} is on register "
                f"{session.register_id}, not {register_id}; an order or refund is on the "
                "register of its session.",
                field=f"{where}.register_id",
            )
        return session

    async def _import_orders(self) -> None:
        body = self.body
        wanted = [imported_order_id(self.tenant_id, o.odoo_order_id) for o in body.orders]
        present = {row.order_id for row in await repo.get_orders(self.db, self.tenant_id, wanted)}
        odoo_ids = [o.odoo_order_id for o in body.orders] + [
            r.original_odoo_order_id for r in body.refunds
        ]
        for row in await repo.orders_by_odoo_id(self.db, self.tenant_id, odoo_ids):
            if row.source == "pos":
                self.pushed_from_here[row.odoo_order_id] = row.order_id
        new: list[tuple[int, OrderImport]] = []
        for index, item in enumerate(body.orders):
            if imported_order_id(self.tenant_id, item.odoo_order_id) in present:
                self.counts["orders"].already_present += 1
            elif item.odoo_order_id in self.pushed_from_here:
                self.skipped_orders.append(
                    SkippedOrderPublic(
                        odoo_order_id=item.odoo_order_id,
                        reason="pushed_from_here",
                        detail=f"Odoo order {item.odoo_order_id} is order "
                        f"{self.pushed_from_here[item.odoo_order_id]}, taken here and pushed to "
                        "Odoo; it is not imported again.",
                    )
                )
            else:
                new.append((index, item))
        await self._refuse_receipt_clashes(new)
        prepared = []
        for index, item in new:
            where = f"orders[{index}]"
            session = self._new_session_for(
                item.odoo_session_id, item.register_id, where, f"Odoo order {item.odoo_order_id}"
            )
            register = self.registers[item.register_id]
            prepared.append(
                imported_order(item, where, register, session, created_by=self.actor.subject)
            )
        for new_order in sorted(prepared, key=lambda p: p.order.created_at):
            order = await repo.insert_order(
                self.db, new_order.order, new_order.lines, new_order.payments
            )
            await emit(
                self.db,
                order_placed_event(order, new_order.lines, new_order.payments),
                tenant_id=self.tenant_id,
                aggregate_id=order.order_id,
                aggregate_version=1,
            )
            self.counts["orders"].new += 1

    async def _refuse_receipt_clashes(self, new: Sequence[tuple[int, OrderImport]]) -> None:
        clashes = await repo.receipt_numbers_in_use(
            self.db,
            [item.register_id for _, item in new],
            [item.receipt_number for _, item in new],
        )
        if not clashes:
            return
        clash = clashes[0]
        index = next(
            i
            for i, item in new
            if (item.register_id, item.receipt_number) == (clash.register_id, clash.receipt_number)
        )
        register = self.registers[clash.register_id]
        raise ConflictError(
            f"orders[{index}].receipt_number {clash.receipt_number!r} is already used on "
            f"register {register.name!r} by order {clash.order_id}. Odoo's pos_reference "
            "never looks like our receipt numbers (<prefix>-<n>); check what the backfill sends "
            "as receipt_number."
        )

    async def _import_refunds(self) -> None:
        wanted = {
            imported_refund_id(self.tenant_id, r.odoo_order_id, r.original_odoo_order_id)
            for r in self.body.refunds
        }
        present = await repo.existing_refund_ids(self.db, self.tenant_id, list(wanted))
        prepared: list[_NewRefund] = []
        for index, item in enumerate(self.body.refunds):
            refund_id = imported_refund_id(
                self.tenant_id, item.odoo_order_id, item.original_odoo_order_id
            )
            if refund_id in present:
                self.counts["refunds"].already_present += 1
                continue
            where = f"refunds[{index}]"
            earlier = self.sessions.get(item.odoo_session_id)
            if earlier is not None and earlier.session_id not in self.new_sessions:
                # Left out when its session came (a skipped refund): the session's totals are
                # final now, and sending the same batch again must not fail on it.
                self.skipped_refunds.append(
                    SkippedRefundPublic(
                        odoo_order_id=item.odoo_order_id,
                        original_odoo_order_id=item.original_odoo_order_id,
                        reason="session_already_imported",
                        detail=(
                            f"Odoo session {item.odoo_session_id} was imported and closed "
                            "without this refund; its totals are final, so it stays out."
                        ),
                    )
                )
                continue
            session = self._new_session_for(
                item.odoo_session_id, item.register_id, where, f"Odoo refund {item.odoo_order_id}"
            )
            register = self.registers[item.register_id]
            lines, payments = imported_refund_rows(item, where, refund_id, register)
            prepared.append(_NewRefund(item, where, refund_id, session, register, lines, payments))
        for refund in sorted(prepared, key=lambda r: r.item.created_at):
            try:
                await self._insert_refund(refund)
            except RefundSkipped as skip:
                self.skipped_refunds.append(
                    SkippedRefundPublic(
                        odoo_order_id=refund.item.odoo_order_id,
                        original_odoo_order_id=refund.item.original_odoo_order_id,
                        reason=skip.reason,
                        detail=skip.detail,
                    )
                )
            else:
                self.counts["refunds"].new += 1

    async def _insert_refund(self, new: _NewRefund) -> None:
        """Links the refund to its original and stores it; raises RefundSkipped if it cannot."""
        item, register = new.item, new.register
        original = item.original_odoo_order_id
        if original in self.pushed_from_here:
            raise RefundSkipped(
                "original_pushed_from_here",
                f"Odoo order {original} is order {self.pushed_from_here[original]}, taken here "
                "and pushed to Odoo; a refund made in Odoo cannot be linked to its lines here.",
            )
        order_id = imported_order_id(self.tenant_id, original)
        # Locking the order serializes its refunds with any a till makes at the same time.
        order = await repo.lock_order(self.db, self.tenant_id, order_id)
        if order is None:
            raise RefundSkipped(
                "original_not_imported",
                f"Odoo order {original} is neither in this batch nor imported before.",
            )
        if order.currency != register.currency:
            raise InvalidRequestError(
                f"{new.where}.register_id: Odoo order {original} was paid in {order.currency} "
                f"but register {register.name!r} works in {register.currency}.",
                field=f"{new.where}.register_id",
            )
        order_lines = await repo.order_lines(self.db, self.tenant_id, [order_id])
        sold = {line.line_id: line for line in order_lines}
        already = await repo.refunded_quantities(self.db, self.tenant_id, order_id)
        check_refund_fits(item, new.lines, sold, already)
        figures = summed(new.lines)
        refund = Refund(
            tenant_id=self.tenant_id,
            refund_id=new.refund_id,
            order_id=order_id,
            register_id=item.register_id,
            session_id=new.session.session_id,
            business_date=business_date(
                item.created_at, register.timezone, register.business_day_cutoff
            ),
            created_at=item.created_at,
            currency=register.currency,
            reason=item.reason,
            net_total=figures.net,
            tax_total=figures.tax,
            total=figures.total,
            created_by=self.actor.subject,
            request_fingerprint=fingerprint(item),
            source="odoo_pulled",
            odoo_order_id=item.odoo_order_id,
            sync_state="synced",
        )
        await repo.insert_refund(self.db, refund, new.lines, new.payments)
        version = await repo.set_order_refund_state(
            self.db, self.tenant_id, order_id, state_after_refund(sold, already, new.lines)
        )
        await emit(
            self.db,
            order_refunded_event(refund, register.shop_id, new.lines, new.payments, sold),
            tenant_id=self.tenant_id,
            aggregate_id=order_id,
            aggregate_version=version,
        )

    async def _close_new_sessions(self) -> None:
        if not self.new_sessions:
            return
        totals = await repo.session_totals(self.db, list(self.new_sessions))
        for session in self.new_sessions.values():
            of_session = totals[session.session_id]
            closed = await repo.set_expected_cash(
                self.db, session.session_id, expected_cash(session, of_session)
            )
            await emit(
                self.db,
                session_closed_event(closed, of_session),
                tenant_id=self.tenant_id,
                aggregate_id=session.session_id,
                aggregate_version=closed.version,
            )
