"""Orders' use cases: each one a transaction that changes state and writes its events."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from orders import repository as repo
from orders.domain import (
    Figures,
    LineInput,
    business_date,
    format_quantity,
    line_amounts,
    refund_part,
)
from orders.http_models import (
    OrderCreate,
    OrderLinePublic,
    OrderPage,
    OrderPublic,
    PaymentPublic,
    RefundCreate,
    RefundLinePublic,
    RefundPublic,
    SessionClose,
    SessionOpen,
    SessionPage,
    SessionPublic,
    SessionTotalsPublic,
    TenderTotalPublic,
)
from shared.auth import Role, TokenClaims
from shared.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError
from shared.events.contracts import (
    OrderLineState,
    OrderOdooSynced,
    OrderOdooSyncFailed,
    OrderPlaced,
    OrderRefunded,
    PaymentState,
    RefundLineState,
    RefundOdooSynced,
    RefundOdooSyncFailed,
    RegisterState,
    SessionClosed,
    SessionOdooSynced,
    SessionOdooSyncFailed,
    SessionOpened,
    TenderTotal,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.money import Money, SignedMoney, format_money
from shared.outbox import write_event
from shared.pagination import decode_cursor, encode_cursor
from shared.postgres import Db

log = structlog.get_logger(__name__)

PRODUCER = "orders"
# A row as read back, or the same fields as just written.
Fields = Mapping[str, Any] | repo.Row
# Line and payment ids are derived, so a replayed order gets the same ones.
_ID_NAMESPACE = uuid.UUID("6f1c6a52-3f7e-4d59-9b0e-2f4a7c1d8e90")


def derived_id(*parts: object) -> UUID:
    return uuid.uuid5(_ID_NAMESPACE, ":".join(str(p) for p in parts))


def fingerprint(body: Any) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    tenant_id: UUID
    subject: str
    role: Role
    register_id: UUID | None

    @classmethod
    def from_claims(cls, claims: TokenClaims) -> Actor:
        if claims.role is Role.CASHIER and claims.register_id is None:
            # Without its register a till's token would have no scope at all.
            raise ForbiddenError(
                "This cashier token names no register; a till needs a device token issued for "
                "its register (POST /v1/tokens with role cashier and register_id)."
            )
        return cls(claims.tenant_id, claims.sub, claims.role, claims.register_id)

    def check_register(self, register_id: UUID, action: str) -> None:
        """A cashier is a till's device: it works on its own register only."""
        if self.role is Role.CASHIER and self.register_id != register_id:
            raise ForbiddenError(
                f"This device's token belongs to register {self.register_id}; "
                f"it cannot {action} on register {register_id}."
            )

    def register_scope(self, register_id: UUID | None, action: str) -> UUID | None:
        """The register a list is limited to: a cashier's own, whether it named it or not."""
        if self.role is not Role.CASHIER:
            return register_id
        if register_id is not None:
            self.check_register(register_id, action)
        return self.register_id


def _money(amount: int, currency: str) -> SignedMoney:
    return SignedMoney(amount=amount, currency=currency)


async def emit(
    db: Db, data: EventData, *, tenant_id: UUID, aggregate_id: UUID, aggregate_version: int
) -> None:
    await write_event(
        db,
        data,
        producer=PRODUCER,
        tenant_id=tenant_id,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
    )


async def session_totals(db: Db, sessions: Sequence[repo.Row]) -> dict[UUID, SessionTotalsPublic]:
    ids = [s["session_id"] for s in sessions]
    orders = {r["session_id"]: r for r in await repo.session_order_totals(db, ids)}
    refunds = {r["session_id"]: r for r in await repo.session_refund_totals(db, ids)}
    tenders: dict[UUID, list[repo.Row]] = defaultdict(list)
    for row in await repo.session_tender_totals(db, ids):
        tenders[row["session_id"]].append(row)
    result = {}
    for session in sessions:
        sid, currency = session["session_id"], session["currency"]
        o, r = orders.get(sid), refunds.get(sid)
        sales = o["sales_total"] if o else 0
        refunded = r["refunds_total"] if r else 0
        rows = tenders.get(sid, [])
        result[sid] = SessionTotalsPublic(
            order_count=o["order_count"] if o else 0,
            refund_count=r["refund_count"] if r else 0,
            sales_total=_money(sales, currency),
            refunds_total=_money(refunded, currency),
            net_total=_money(sales - refunded, currency),
            cash_sales=_money(sum(t["sales"] for t in rows if t["kind"] == "cash"), currency),
            cash_refunds=_money(sum(t["refunds"] for t in rows if t["kind"] == "cash"), currency),
            tenders=[
                TenderTotalPublic(
                    method=t["method"],
                    kind=t["kind"],
                    sales=_money(t["sales"], currency),
                    refunds=_money(t["refunds"], currency),
                    net=_money(t["sales"] - t["refunds"], currency),
                )
                for t in rows
            ],
            first_receipt_number=o["first_receipt_number"] if o else None,
            last_receipt_number=o["last_receipt_number"] if o else None,
        )
    return result


class OrderHandlers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # Registers.

    async def _register_for_sale(self, db: Db, actor: Actor, register_id: UUID) -> repo.Row:
        register = await repo.get_register(db, actor.tenant_id, register_id)
        if register is None:
            raise InvalidRequestError(
                f"Register {register_id} is not known. If it was created a moment ago, "
                "retry shortly; otherwise check the register id on this device.",
                field="register_id",
            )
        if not register["active"]:
            raise ConflictError(
                f"Register {register['name']!r} is deactivated; an admin must reactivate it "
                "before it can take orders or refunds."
            )
        return register

    # Sessions.

    async def _open_session_row(
        self,
        db: Db,
        actor: Actor,
        register: repo.Row,
        *,
        opening_cash: int,
        implicit: bool,
    ) -> repo.Row | None:
        """Opens a session, or returns None if another one won the race to open it."""
        now = datetime.now(UTC)
        try:
            async with db.transaction():
                session = await repo.insert_session(
                    db,
                    session_id=uuid.uuid4(),
                    tenant_id=actor.tenant_id,
                    register_id=register["register_id"],
                    shop_id=register["shop_id"],
                    business_date=business_date(
                        now, register["timezone"], register["business_day_cutoff"]
                    ),
                    currency=register["currency"],
                    opened_by=actor.subject,
                    opened_implicitly=implicit,
                    opening_cash=opening_cash,
                    sync_state="pending" if register["tenant_tier"] == "pro" else "local",
                )
        except asyncpg.UniqueViolationError:
            return None
        await emit(
            db,
            session_opened_event(session),
            tenant_id=actor.tenant_id,
            aggregate_id=session["session_id"],
            aggregate_version=session["version"],
        )
        return session

    async def _session_for_sale(self, db: Db, actor: Actor, register: repo.Row) -> repo.Row:
        """The register's open session, opened silently with no cash if there is none."""
        while True:
            session = await repo.find_open_session(db, register["register_id"])
            if session is not None:
                return session
            opened = await self._open_session_row(
                db, actor, register, opening_cash=0, implicit=True
            )
            if opened is not None:
                return opened

    async def open_session(self, actor: Actor, body: SessionOpen) -> SessionPublic:
        actor.check_register(body.register_id, "open a session")
        async with self._pool.acquire() as db, db.transaction():
            register = await self._register_for_sale(db, actor, body.register_id)
            require_currency(body.opening_cash.currency, register["currency"], "opening_cash")
            session = await self._open_session_row(
                db, actor, register, opening_cash=body.opening_cash.amount, implicit=False
            )
            if session is None:
                current = await repo.find_open_session(db, body.register_id)
                which = f" ({current['session_id']})" if current is not None else ""
                raise ConflictError(
                    f"A session{which} is already open on register {register['name']!r}; "
                    "close it before opening another."
                )
            return (await self._sessions_public(db, [session]))[0]

    async def close_session(
        self, actor: Actor, session_id: UUID, body: SessionClose
    ) -> SessionPublic:
        async with self._pool.acquire() as db, db.transaction():
            session = await repo.get_session(db, actor.tenant_id, session_id, for_update=True)
            if session is None:
                raise NotFoundError(f"No session {session_id} exists.")
            actor.check_register(session["register_id"], "close a session")
            if session["state"] != "open":
                raise ConflictError(
                    f"Session {session_id} was already closed at "
                    f"{session['closed_at'].isoformat()}."
                )
            if body.counted_cash.currency != session["currency"]:
                raise InvalidRequestError(
                    f"counted_cash is in {body.counted_cash.currency} but the session counts "
                    f"{session['currency']}.",
                    field="counted_cash",
                )
            totals = (await session_totals(db, [session]))[session_id]
            expected = expected_cash(session, totals)
            closed = await repo.close_session(
                db,
                session_id,
                closed_by=actor.subject,
                counted_cash=body.counted_cash.amount,
                expected_cash=expected,
                note=body.note,
            )
            await emit(
                db,
                session_closed_event(closed, totals),
                tenant_id=actor.tenant_id,
                aggregate_id=session_id,
                aggregate_version=closed["version"],
            )
            return (await self._sessions_public(db, [closed]))[0]

    async def get_session(self, actor: Actor, session_id: UUID) -> SessionPublic:
        async with self._pool.acquire() as db:
            session = await repo.get_session(db, actor.tenant_id, session_id)
            if session is None:
                raise NotFoundError(f"No session {session_id} exists.")
            actor.check_register(session["register_id"], "read sessions")
            return (await self._sessions_public(db, [session]))[0]

    async def list_sessions(
        self,
        actor: Actor,
        *,
        register_id: UUID | None,
        state: str | None,
        business_date: date | None,
        cursor: str | None,
        limit: int,
    ) -> SessionPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_sessions(
                db,
                actor.tenant_id,
                register_id=actor.register_scope(register_id, "read sessions"),
                state=state,
                business_date=business_date,
                before_seq=decode_cursor(cursor),
                limit=limit + 1,
            )
            page = rows[:limit]
            next_cursor = encode_cursor(page[-1]["seq"]) if len(rows) > limit else None
            return SessionPage(items=await self._sessions_public(db, page), next_cursor=next_cursor)

    async def _sessions_public(self, db: Db, sessions: Sequence[repo.Row]) -> list[SessionPublic]:
        totals = await session_totals(db, sessions)
        result = []
        for s in sessions:
            currency = s["currency"]
            of_session = totals[s["session_id"]]
            expected = (
                s["expected_cash"]
                if s["expected_cash"] is not None
                else expected_cash(s, of_session)
            )
            counted = s["counted_cash"]
            result.append(
                SessionPublic(
                    id=s["session_id"],
                    register_id=s["register_id"],
                    shop_id=s["shop_id"],
                    state=s["state"],
                    business_date=s["business_date"],
                    opened_at=s["opened_at"],
                    opened_by=s["opened_by"],
                    opened_implicitly=s["opened_implicitly"],
                    opening_cash=_money(s["opening_cash"], currency),
                    closed_at=s["closed_at"],
                    closed_by=s["closed_by"],
                    closing_note=s["closing_note"],
                    expected_cash=_money(expected, currency),
                    counted_cash=_money(counted, currency) if counted is not None else None,
                    cash_difference=(
                        _money(counted - expected, currency) if counted is not None else None
                    ),
                    totals=of_session,
                    source=s["source"],
                    odoo_session_id=s["odoo_session_id"],
                    odoo_session_name=s["odoo_session_name"],
                    sync_state=s["sync_state"],
                    sync_error=s["sync_error"],
                )
            )
        return result

    # Orders.

    async def place_order(self, actor: Actor, body: OrderCreate) -> tuple[OrderPublic, bool]:
        """Stores a paid order; returns it and whether it was new (a replay returns the first)."""
        actor.check_register(body.register_id, "post orders")
        request_fingerprint = fingerprint(body)
        async with self._pool.acquire() as db:
            replay = await self._order_replay(db, actor, body.id, request_fingerprint)
            if replay is not None:
                return replay, False
            try:
                async with db.transaction():
                    placed = await self._insert_order(db, actor, body, request_fingerprint)
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != "orders_pkey":
                    raise
                # The same id raced in from another request; it committed first.
                replay = await self._order_replay(db, actor, body.id, request_fingerprint)
                assert replay is not None
                return replay, False
            return placed, True

    async def _order_replay(
        self, db: Db, actor: Actor, order_id: UUID, request_fingerprint: str
    ) -> OrderPublic | None:
        stored = await repo.get_order_fingerprint(db, actor.tenant_id, order_id)
        if stored is None:
            return None
        if stored != request_fingerprint:
            raise ConflictError(
                f"Order {order_id} was already recorded with different content. A retry must "
                "send exactly the same body; a new sale needs a new id."
            )
        return (await self._orders_public(db, actor.tenant_id, [order_id]))[0]

    async def _insert_order(
        self, db: Db, actor: Actor, body: OrderCreate, request_fingerprint: str
    ) -> OrderPublic:
        register = await self._register_for_sale(db, actor, body.register_id)
        currency = register["currency"]
        lines, payments = _price_order(body, currency, actor.tenant_id)
        net_total = sum(line["net"] for line in lines)
        tax_total = sum(line["tax"] for line in lines)
        total = sum(line["total"] for line in lines)

        sequence = await repo.next_receipt_value(db, register["register_id"])
        session = await self._session_for_sale(db, actor, register)
        order = {
            "tenant_id": actor.tenant_id,
            "order_id": body.id,
            "register_id": register["register_id"],
            "shop_id": register["shop_id"],
            "session_id": session["session_id"],
            "receipt_number": f"{register['receipt_prefix']}-{sequence}",
            "receipt_sequence": sequence,
            "business_date": business_date(
                body.created_at, register["timezone"], register["business_day_cutoff"]
            ),
            "created_at": body.created_at,
            "currency": currency,
            "net_total": net_total,
            "tax_total": tax_total,
            "total": total,
            "customer_ref": body.customer_ref,
            "note": body.note,
            "source": "pos",
            "sync_state": "pending" if register["tenant_tier"] == "pro" else "local",
            "created_by": actor.subject,
            "request_fingerprint": request_fingerprint,
        }
        order["received_at"] = await repo.insert_order(db, order, lines, payments)
        await emit(
            db,
            order_placed_event(order, lines, payments),
            tenant_id=actor.tenant_id,
            aggregate_id=body.id,
            aggregate_version=1,
        )
        new = {**order, "state": "paid", "sync_error": None, "odoo_order_id": None}
        return _order_public(new, lines, payments, refunds=[], refunded={})

    async def get_order(self, actor: Actor, order_id: UUID) -> OrderPublic:
        async with self._pool.acquire() as db:
            found = await self._orders_public(db, actor.tenant_id, [order_id])
            if not found:
                raise NotFoundError(f"No order {order_id} exists.")
            actor.check_register(found[0].register_id, "read orders")
            return found[0]

    async def list_orders(
        self,
        actor: Actor,
        *,
        register_id: UUID | None,
        session_id: UUID | None,
        business_date: date | None,
        state: str | None,
        cursor: str | None,
        limit: int,
    ) -> OrderPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_orders(
                db,
                actor.tenant_id,
                register_id=actor.register_scope(register_id, "read orders"),
                session_id=session_id,
                business_date=business_date,
                state=state,
                before_seq=decode_cursor(cursor),
                limit=limit + 1,
            )
            page = rows[:limit]
            next_cursor = encode_cursor(page[-1]["seq"]) if len(rows) > limit else None
            items = await self._orders_public(
                db, actor.tenant_id, [r["order_id"] for r in page], rows=page
            )
            return OrderPage(items=items, next_cursor=next_cursor)

    async def _orders_public(
        self,
        db: Db,
        tenant_id: UUID,
        order_ids: Sequence[UUID],
        rows: Sequence[repo.Row] | None = None,
    ) -> list[OrderPublic]:
        """Orders with lines, payments and refunds, in the order of `order_ids`."""
        orders = rows if rows is not None else await repo.get_orders(db, tenant_id, order_ids)
        if not orders:
            return []
        ids = [o["order_id"] for o in orders]
        lines = _group(await repo.order_lines(db, tenant_id, ids), "order_id")
        payments = _group(await repo.order_payments(db, tenant_id, ids), "order_id")
        refunds = await self._refunds_public(db, tenant_id, ids)
        refunded: dict[UUID, Decimal] = defaultdict(Decimal)
        for order_refunds in refunds.values():
            for refund in order_refunds:
                for refund_line in refund.lines:
                    refunded[refund_line.order_line_id] += Decimal(refund_line.quantity)
        by_id = {o["order_id"]: o for o in orders}
        return [
            _order_public(
                by_id[order_id],
                lines.get(order_id, []),
                payments.get(order_id, []),
                refunds.get(order_id, []),
                refunded,
            )
            for order_id in order_ids
            if order_id in by_id
        ]

    # Refunds.

    async def refund_order(
        self, actor: Actor, order_id: UUID, body: RefundCreate
    ) -> tuple[RefundPublic, bool]:
        request_fingerprint = fingerprint(body)
        async with self._pool.acquire() as db:
            # Checked before a replay too: a refund id alone must not show another till's refund.
            sold = await repo.get_orders(db, actor.tenant_id, [order_id])
            if not sold:
                raise NotFoundError(f"No order {order_id} exists.")
            actor.check_register(sold[0]["register_id"], "refund orders")
            replay = await self._refund_replay(db, actor, order_id, body.id, request_fingerprint)
            if replay is not None:
                return replay, False
            try:
                async with db.transaction():
                    await self._insert_refund(db, actor, order_id, body, request_fingerprint)
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != "refunds_pkey":
                    raise
                replay = await self._refund_replay(
                    db, actor, order_id, body.id, request_fingerprint
                )
                assert replay is not None
                return replay, False
            refunds = await self._refunds_public(db, actor.tenant_id, [order_id])
            return next(r for r in refunds[order_id] if r.id == body.id), True

    async def _refund_replay(
        self, db: Db, actor: Actor, order_id: UUID, refund_id: UUID, request_fingerprint: str
    ) -> RefundPublic | None:
        stored = await repo.get_refund_fingerprint(db, actor.tenant_id, refund_id)
        if stored is None:
            return None
        if stored["order_id"] != order_id or stored["request_fingerprint"] != request_fingerprint:
            raise ConflictError(
                f"Refund {refund_id} was already recorded with different content. A retry must "
                "send exactly the same body; a new refund needs a new id."
            )
        refunds = await self._refunds_public(db, actor.tenant_id, [order_id])
        return next(r for r in refunds[order_id] if r.id == refund_id)

    async def _insert_refund(
        self, db: Db, actor: Actor, order_id: UUID, body: RefundCreate, request_fingerprint: str
    ) -> None:
        # Locking the order serializes its refunds, so two can never both take the last unit.
        order = await repo.lock_order(db, actor.tenant_id, order_id)
        if order is None:
            raise NotFoundError(f"No order {order_id} exists.")
        register = await self._register_for_sale(db, actor, order["register_id"])
        currency = order["currency"]
        if register["currency"] != currency:
            raise InvalidRequestError(
                f"Register {register['name']!r} works in {register['currency']}; this order was "
                f"paid in {currency}. Refund it at a register that takes {currency}."
            )
        order_lines = await repo.order_lines(db, actor.tenant_id, [order_id])
        sold = {line["line_id"]: line for line in order_lines}
        given_back = await repo.refunded_so_far(db, actor.tenant_id, order_id)
        already = {line_id: row["quantity"] for line_id, row in given_back.items()}
        lines = _refund_lines(body, sold, given_back, actor.tenant_id)
        total = sum(line["total"] for line in lines)
        payments = _refund_payments(body, currency, total, actor.tenant_id)

        session = await self._session_for_sale(db, actor, register)
        created_at = body.created_at or datetime.now(UTC)
        refund = {
            "tenant_id": actor.tenant_id,
            "refund_id": body.id,
            "order_id": order_id,
            "register_id": register["register_id"],
            "session_id": session["session_id"],
            "business_date": business_date(
                created_at, register["timezone"], register["business_day_cutoff"]
            ),
            "created_at": created_at,
            "currency": currency,
            "reason": body.reason,
            "net_total": sum(line["net"] for line in lines),
            "tax_total": sum(line["tax"] for line in lines),
            "total": total,
            "created_by": actor.subject,
            "request_fingerprint": request_fingerprint,
            "sync_state": "pending" if register["tenant_tier"] == "pro" else "local",
        }
        await repo.insert_refund(db, refund, lines, payments)
        version = await repo.set_order_refund_state(
            db, actor.tenant_id, order_id, state_after_refund(sold, already, lines)
        )
        await emit(
            db,
            order_refunded_event(refund, register["shop_id"], lines, payments, sold),
            tenant_id=actor.tenant_id,
            aggregate_id=order_id,
            aggregate_version=version,
        )

    async def _refunds_public(
        self, db: Db, tenant_id: UUID, order_ids: Sequence[UUID]
    ) -> dict[UUID, list[RefundPublic]]:
        refunds = await repo.refunds_of_orders(db, tenant_id, order_ids)
        if not refunds:
            return {}
        ids = [r["refund_id"] for r in refunds]
        lines = _group(await repo.refund_lines(db, tenant_id, ids), "refund_id")
        payments = _group(await repo.refund_payments(db, tenant_id, ids), "refund_id")
        result: dict[UUID, list[RefundPublic]] = defaultdict(list)
        for r in refunds:
            currency = r["currency"]
            result[r["order_id"]].append(
                RefundPublic(
                    id=r["refund_id"],
                    order_id=r["order_id"],
                    register_id=r["register_id"],
                    session_id=r["session_id"],
                    business_date=r["business_date"],
                    created_at=r["created_at"],
                    state=r["state"],
                    reason=r["reason"],
                    lines=[
                        RefundLinePublic(
                            id=line["refund_line_id"],
                            order_line_id=line["order_line_id"],
                            quantity=format_quantity(line["quantity"]),
                            net=_money(line["net"], currency),
                            tax=_money(line["tax"], currency),
                            total=_money(line["total"], currency),
                        )
                        for line in lines.get(r["refund_id"], [])
                    ],
                    payments=[
                        _payment_public(p, currency) for p in payments.get(r["refund_id"], [])
                    ],
                    net_total=_money(r["net_total"], currency),
                    tax_total=_money(r["tax_total"], currency),
                    total=_money(r["total"], currency),
                    source=r["source"],
                    sync_state=r["sync_state"],
                    sync_error=r["sync_error"],
                    odoo_order_id=r["odoo_order_id"],
                )
            )
        return result

    # Consumed events.

    async def apply_register_state(
        self, db: Db, envelope: EventEnvelope, data: RegisterState
    ) -> None:
        hours, minutes = (int(part) for part in data.business_day_cutoff.split(":")[:2])
        applied = await repo.upsert_register(
            db,
            tenant_id=envelope.tenant_id,
            register_id=data.register_id,
            shop_id=data.shop_id,
            name=data.name,
            receipt_prefix=data.receipt_prefix,
            active=data.active,
            currency=data.currency,
            timezone=data.timezone,
            business_day_cutoff=time(hours, minutes),
            prices_include_tax=data.prices_include_tax,
            tenant_tier=data.tenant_tier,
            version=envelope.aggregate_version,
        )
        if not applied:
            log.info("register_state_stale", register_id=str(data.register_id))

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
        await repo.mark_sync_failed(
            db, "order", envelope.tenant_id, data.order_id, f"{data.error_class}: {data.message}"
        )

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
        await repo.mark_sync_failed(
            db, "refund", envelope.tenant_id, data.refund_id, f"{data.error_class}: {data.message}"
        )

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
            f"{data.error_class}: {data.message}",
            final=data.final,
        )


# Pricing and checks, pure functions of the request and the register.


def require_currency(got: str, expected: str, field: str) -> None:
    if got != expected:
        raise InvalidRequestError(
            f"{field} is in {got} but this register sells in {expected}.", field=field
        )


def _price_order(
    body: OrderCreate, currency: str, tenant_id: UUID
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Recomputes every line and checks the tablet's figures and the payments against them."""
    lines: list[dict[str, Any]] = []
    for index, line in enumerate(body.lines):
        for field, money in (("unit_price", line.unit_price), ("total", line.total)):
            require_currency(money.currency, currency, f"lines[{index}].{field}")
        quantity = Decimal(line.quantity)
        amounts = line_amounts(
            LineInput(
                quantity=quantity,
                unit_price=line.unit_price.amount,
                discount_percent=Decimal(line.discount_percent),
                tax_rate_percent=Decimal(line.tax_rate_percent),
                prices_include_tax=line.prices_include_tax,
            )
        )
        if amounts.total != line.total.amount:
            raise InvalidRequestError(
                f"lines[{index}].total is {format_money(line.total.amount, currency)} but the "
                f"line comes to {format_money(amounts.total, currency)} "
                f"({line.quantity} × {format_money(line.unit_price.amount, currency)}, "
                f"{line.discount_percent}% discount, {line.tax_rate_percent}% tax "
                f"{'included' if line.prices_include_tax else 'added'}).",
                field=f"lines[{index}].total",
            )
        lines.append(
            {
                "line_id": derived_id(tenant_id, body.id, "line", index),
                "position": index,
                "product_ref": line.product_ref,
                "product_name": line.product_name,
                "odoo_product_id": line.odoo_product_id,
                "quantity": quantity,
                "unit_price": line.unit_price.amount,
                "discount_percent": Decimal(line.discount_percent),
                "tax_rate_percent": Decimal(line.tax_rate_percent),
                "prices_include_tax": line.prices_include_tax,
                "gross": amounts.gross,
                "discount": amounts.discount,
                "net": amounts.net,
                "tax": amounts.tax,
                "total": amounts.total,
            }
        )
    total = sum(line["total"] for line in lines)
    require_currency(body.total.currency, currency, "total")
    if body.total.amount != total:
        raise InvalidRequestError(
            f"total is {format_money(body.total.amount, currency)} but the lines add up to "
            f"{format_money(total, currency)}.",
            field="total",
        )
    payments: list[dict[str, Any]] = []
    for index, payment in enumerate(body.payments):
        checked: tuple[tuple[str, Money | None], ...] = (
            ("amount", payment.amount),
            ("tendered", payment.tendered),
            ("change", payment.change),
        )
        for field, paid in checked:
            if paid is not None:
                require_currency(paid.currency, currency, f"payments[{index}].{field}")
        payments.append(
            {
                "payment_id": derived_id(tenant_id, body.id, "payment", index),
                "position": index,
                "method": payment.method,
                "kind": payment.kind,
                "odoo_payment_method_id": payment.odoo_payment_method_id,
                "amount": payment.amount.amount,
                "tendered": payment.tendered.amount if payment.tendered else None,
                "change": payment.change.amount if payment.change else None,
            }
        )
    _payments_cover(sum(p["amount"] for p in payments), total, currency, "order")
    return lines, payments


def _payments_cover(paid: int, total: int, currency: str, what: str) -> None:
    if paid < total:
        raise InvalidRequestError(
            f"The payments cover {format_money(paid, currency)} of the {what}'s "
            f"{format_money(total, currency)}; {format_money(total - paid, currency)} is missing.",
            field="payments",
        )
    if paid > total:
        raise InvalidRequestError(
            f"The payments add up to {format_money(paid, currency)}, more than the {what}'s "
            f"{format_money(total, currency)}; record change on the cash payment "
            "(tendered and change) instead.",
            field="payments",
        )


def _refund_lines(
    body: RefundCreate,
    sold: dict[UUID, repo.Row],
    given_back: dict[UUID, repo.Row],
    tenant_id: UUID,
) -> list[dict[str, Any]]:
    seen: set[UUID] = set()
    lines: list[dict[str, Any]] = []
    for index, item in enumerate(body.lines):
        line = sold.get(item.order_line_id)
        if line is None:
            raise InvalidRequestError(
                f"lines[{index}].order_line_id: the order has no line {item.order_line_id}.",
                field=f"lines[{index}].order_line_id",
            )
        if item.order_line_id in seen:
            raise InvalidRequestError(
                f"lines[{index}]: line {item.order_line_id} appears twice; list each line once "
                "with the whole quantity to refund.",
                field=f"lines[{index}]",
            )
        seen.add(item.order_line_id)
        quantity = Decimal(item.quantity)
        earlier = given_back.get(item.order_line_id)
        refunded = earlier["quantity"] if earlier else Decimal(0)
        left = line["quantity"] - refunded
        if quantity > left:
            raise InvalidRequestError(
                f"lines[{index}]: line {line['position'] + 1} ({line['product_name']}) has "
                f"{format_quantity(left)} left to refund (sold "
                f"{format_quantity(line['quantity'])}, already refunded "
                f"{format_quantity(refunded)}); {item.quantity} was asked for.",
                field=f"lines[{index}].quantity",
            )
        part = refund_part(
            LineInput(
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount_percent=line["discount_percent"],
                tax_rate_percent=line["tax_rate_percent"],
                prices_include_tax=line["prices_include_tax"],
            ),
            _figures(line),
            refunded,
            _figures(earlier) if earlier else Figures(net=0, tax=0, total=0),
            quantity,
        )
        lines.append(
            {
                "refund_line_id": derived_id(tenant_id, body.id, "refund-line", index),
                "order_line_id": item.order_line_id,
                "position": index,
                "quantity": quantity,
                "net": part.net,
                "tax": part.tax,
                "total": part.total,
            }
        )
    return lines


def _figures(row: Fields) -> Figures:
    return Figures(net=row["net"], tax=row["tax"], total=row["total"])


def state_after_refund(
    sold: Mapping[UUID, Fields], already: Mapping[UUID, Decimal], lines: Sequence[Fields]
) -> str:
    """The order's state once `lines` are refunded on top of what was `already` refunded."""
    refunded_after = dict(already)
    for line in lines:
        refunded_after[line["order_line_id"]] = (
            refunded_after.get(line["order_line_id"], Decimal(0)) + line["quantity"]
        )
    fully = all(refunded_after.get(lid, 0) >= row["quantity"] for lid, row in sold.items())
    return "refunded" if fully else "partially_refunded"


def _refund_payments(
    body: RefundCreate, currency: str, total: int, tenant_id: UUID
) -> list[dict[str, Any]]:
    payments: list[dict[str, Any]] = []
    for index, payment in enumerate(body.payments):
        if payment.amount.currency != currency:
            raise InvalidRequestError(
                f"payments[{index}].amount is in {payment.amount.currency} but the order was "
                f"paid in {currency}.",
                field=f"payments[{index}].amount",
            )
        payments.append(
            {
                "payment_id": derived_id(tenant_id, body.id, "refund-payment", index),
                "position": index,
                "method": payment.method,
                "kind": payment.kind,
                "odoo_payment_method_id": payment.odoo_payment_method_id,
                "amount": payment.amount.amount,
            }
        )
    _payments_cover(sum(p["amount"] for p in payments), total, currency, "refund")
    return payments


def expected_cash(session: repo.Row, totals: SessionTotalsPublic) -> int:
    opening: int = session["opening_cash"]
    return opening + totals.cash_sales.amount - totals.cash_refunds.amount


def _group(rows: Sequence[repo.Row], key: str) -> dict[UUID, list[repo.Row]]:
    grouped: dict[UUID, list[repo.Row]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _line_state(line: dict[str, Any]) -> OrderLineState:
    return OrderLineState(
        line_id=line["line_id"],
        product_ref=line["product_ref"],
        product_name=line["product_name"],
        odoo_product_id=line["odoo_product_id"],
        quantity=format_quantity(line["quantity"]),
        unit_price=line["unit_price"],
        discount_percent=format_quantity(line["discount_percent"]),
        tax_rate_percent=format_quantity(line["tax_rate_percent"]),
        prices_include_tax=line["prices_include_tax"],
        gross=line["gross"],
        discount=line["discount"],
        net=line["net"],
        tax=line["tax"],
        total=line["total"],
    )


def _payment_state(payment: dict[str, Any]) -> PaymentState:
    return PaymentState(
        payment_id=payment["payment_id"],
        method=payment["method"],
        kind=payment["kind"],
        odoo_payment_method_id=payment["odoo_payment_method_id"],
        amount=payment["amount"],
        tendered=payment.get("tendered"),
        change=payment.get("change"),
    )


# Events, built from rows as written (or the same fields), for every path that writes them.


def session_opened_event(session: Fields) -> SessionOpened:
    return SessionOpened(
        session_id=session["session_id"],
        register_id=session["register_id"],
        shop_id=session["shop_id"],
        business_date=session["business_date"],
        opened_at=session["opened_at"],
        currency=session["currency"],
        opening_cash=session["opening_cash"],
        opened_by=session["opened_by"],
        opened_implicitly=session["opened_implicitly"],
        source=session.get("source", "pos"),
    )


def session_closed_event(closed: Fields, totals: SessionTotalsPublic) -> SessionClosed:
    """A closed session's event; its expected cash is the one stored at the close."""
    expected: int = closed["expected_cash"]
    return SessionClosed(
        session_id=closed["session_id"],
        register_id=closed["register_id"],
        shop_id=closed["shop_id"],
        business_date=closed["business_date"],
        opened_at=closed["opened_at"],
        closed_at=closed["closed_at"],
        currency=closed["currency"],
        opening_cash=closed["opening_cash"],
        expected_cash=expected,
        counted_cash=closed["counted_cash"],
        cash_difference=closed["counted_cash"] - expected,
        order_count=totals.order_count,
        refund_count=totals.refund_count,
        sales_total=totals.sales_total.amount,
        refunds_total=totals.refunds_total.amount,
        net_total=totals.net_total.amount,
        tenders=[
            TenderTotal(
                method=t.method,
                kind=t.kind,
                sales=t.sales.amount,
                refunds=t.refunds.amount,
                net=t.net.amount,
            )
            for t in totals.tenders
        ],
        first_receipt_number=totals.first_receipt_number,
        last_receipt_number=totals.last_receipt_number,
        opened_by=closed["opened_by"],
        closed_by=closed["closed_by"],
        note=closed["closing_note"],
        source=closed.get("source", "pos"),
    )


def order_placed_event(
    order: Fields, lines: Sequence[dict[str, Any]], payments: Sequence[dict[str, Any]]
) -> OrderPlaced:
    return OrderPlaced(
        order_id=order["order_id"],
        register_id=order["register_id"],
        shop_id=order["shop_id"],
        session_id=order["session_id"],
        receipt_number=order["receipt_number"],
        business_date=order["business_date"],
        created_at=order["created_at"],
        currency=order["currency"],
        lines=[_line_state(line) for line in lines],
        payments=[_payment_state(p) for p in payments],
        net_total=order["net_total"],
        tax_total=order["tax_total"],
        total=order["total"],
        customer_ref=order["customer_ref"],
        note=order["note"],
        source=order["source"],
        odoo_order_id=order.get("odoo_order_id"),
        receipt_sequence=order.get("receipt_sequence"),
    )


def order_refunded_event(
    refund: Fields,
    shop_id: UUID,
    lines: Sequence[dict[str, Any]],
    payments: Sequence[dict[str, Any]],
    sold: Mapping[UUID, Fields],
) -> OrderRefunded:
    """`sold` maps the order's line ids to its lines, for the product of each refunded line."""
    return OrderRefunded(
        refund_id=refund["refund_id"],
        order_id=refund["order_id"],
        register_id=refund["register_id"],
        shop_id=shop_id,
        session_id=refund["session_id"],
        business_date=refund["business_date"],
        created_at=refund["created_at"],
        currency=refund["currency"],
        reason=refund["reason"],
        lines=[
            RefundLineState(
                refund_line_id=line["refund_line_id"],
                order_line_id=line["order_line_id"],
                product_ref=sold[line["order_line_id"]]["product_ref"],
                quantity=format_quantity(line["quantity"]),
                net=line["net"],
                tax=line["tax"],
                total=line["total"],
            )
            for line in lines
        ],
        payments=[_payment_state(p) for p in payments],
        net_total=refund["net_total"],
        tax_total=refund["tax_total"],
        total=refund["total"],
        source=refund.get("source", "pos"),
        odoo_order_id=refund.get("odoo_order_id"),
    )


def _order_public(
    o: Fields,
    lines: Sequence[Fields],
    payments: Sequence[Fields],
    refunds: list[RefundPublic],
    refunded: Mapping[UUID, Decimal],
) -> OrderPublic:
    currency = o["currency"]
    return OrderPublic(
        id=o["order_id"],
        register_id=o["register_id"],
        shop_id=o["shop_id"],
        session_id=o["session_id"],
        receipt_number=o["receipt_number"],
        business_date=o["business_date"],
        created_at=o["created_at"],
        received_at=o["received_at"],
        state=o["state"],
        source=o["source"],
        lines=[
            _line_public(line, currency, refunded.get(line["line_id"], Decimal(0)))
            for line in lines
        ],
        payments=[_payment_public(p, currency) for p in payments],
        net_total=_money(o["net_total"], currency),
        tax_total=_money(o["tax_total"], currency),
        total=_money(o["total"], currency),
        customer_ref=o["customer_ref"],
        note=o["note"],
        refunds=refunds,
        sync_state=o["sync_state"],
        sync_error=o["sync_error"],
        odoo_order_id=o["odoo_order_id"],
    )


def _line_public(line: Fields, currency: str, refunded: Decimal) -> OrderLinePublic:
    return OrderLinePublic(
        id=line["line_id"],
        product_ref=line["product_ref"],
        product_name=line["product_name"],
        odoo_product_id=line["odoo_product_id"],
        quantity=format_quantity(line["quantity"]),
        refunded_quantity=format_quantity(refunded),
        unit_price=_money(line["unit_price"], currency),
        discount_percent=format_quantity(line["discount_percent"]),
        tax_rate_percent=format_quantity(line["tax_rate_percent"]),
        prices_include_tax=line["prices_include_tax"],
        gross=_money(line["gross"], currency),
        discount=_money(line["discount"], currency),
        net=_money(line["net"], currency),
        tax=_money(line["tax"], currency),
        total=_money(line["total"], currency),
    )


def _payment_public(payment: Fields, currency: str) -> PaymentPublic:
    tendered = payment.get("tendered")
    change = payment.get("change")
    return PaymentPublic(
        id=payment["payment_id"],
        method=payment["method"],
        kind=payment["kind"],
        odoo_payment_method_id=payment["odoo_payment_method_id"],
        amount=_money(payment["amount"], currency),
        tendered=_money(tendered, currency) if tendered is not None else None,
        change=_money(change, currency) if change is not None else None,
    )
