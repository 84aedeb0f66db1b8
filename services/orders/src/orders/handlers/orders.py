"""Orders: a till's paid sale, stored once whatever the retries, and read back with its refunds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from orders import repository as repo
from orders.domain.identity import fingerprint
from orders.domain.model import Order
from orders.domain.sale import new_order, price_order
from orders.events import emit, order_placed_envelope, order_placed_event
from orders.handlers.catalog import catalog_for_sale
from orders.handlers.refunds import refunds_public
from orders.handlers.registers import RegisterReplicaCache, register_for_sale
from orders.handlers.sessions import session_for_sale
from orders.http_mappers import order_public
from orders.http_models import OrderCreate, OrderPage, OrderPublic
from orders.repository.rows import grouped
from shared.actor import Actor
from shared.errors import ConflictError, DomainError, NotFoundError
from shared.pagination import decode_cursor
from shared.postgres import Db


async def _orders_public(db: Db, tenant_id: UUID, orders: Sequence[Order]) -> list[OrderPublic]:
    """The orders with their lines, payments and refunds, in the order given."""
    if not orders:
        return []
    ids = [o.order_id for o in orders]
    lines = grouped(await repo.order_lines(db, tenant_id, ids), lambda line: line.order_id)
    payments = grouped(await repo.order_payments(db, tenant_id, ids), lambda p: p.order_id)
    refunds = await refunds_public(db, tenant_id, ids)
    return [
        order_public(o, lines[o.order_id], payments[o.order_id], refunds.get(o.order_id, []))
        for o in orders
    ]


async def _order_replay(
    db: Db, actor: Actor, order_id: UUID, request_fingerprint: str
) -> OrderPublic | None:
    stored = await repo.get_order_fingerprint(db, actor.tenant_id, order_id)
    if stored is None:
        return None
    return await _stored_order(db, actor, order_id, stored, request_fingerprint)


async def _stored_order(
    db: Db, actor: Actor, order_id: UUID, stored: str, request_fingerprint: str
) -> OrderPublic:
    """The order stored under `order_id` with fingerprint `stored`, if this request is its
    replay; a conflict if it is not."""
    if stored != request_fingerprint:
        raise ConflictError(
            f"Order {order_id} was already recorded with different content. A retry must "
            "send exactly the same body; a new sale needs a new id."
        )
    orders = await repo.get_orders(db, actor.tenant_id, [order_id])
    return (await _orders_public(db, actor.tenant_id, orders))[0]


async def _raced_replay(
    db: Db, actor: Actor, order_id: UUID, request_fingerprint: str
) -> tuple[OrderPublic, bool]:
    """The answer when the same id raced in from another request that committed first."""
    replay = await _order_replay(db, actor, order_id, request_fingerprint)
    assert replay is not None
    return replay, False


async def _insert_order(
    db: Db, actor: Actor, body: OrderCreate, request_fingerprint: str
) -> OrderPublic:
    register = await register_for_sale(db, actor, body.register_id)
    catalog = await catalog_for_sale(db, actor.tenant_id, body, register)
    priced = price_order(body, register.currency, actor.tenant_id, catalog.products)
    sequence = await repo.next_receipt_value(db, register.register_id)
    session = await session_for_sale(db, actor, register)
    new = new_order(
        body,
        register,
        priced,
        session_id=session.session_id,
        sequence=sequence,
        created_by=actor.subject,
        request_fingerprint=request_fingerprint,
        customer=catalog.customer,
    )
    order = await repo.insert_order(db, new, priced.lines, priced.payments)
    await emit(
        db,
        order_placed_event(order, priced.lines, priced.payments),
        tenant_id=actor.tenant_id,
        aggregate_id=body.id,
        aggregate_version=1,
    )
    return order_public(order, priced.lines, priced.payments, refunds=[])


async def _place_step_by_step(
    db: Db, actor: Actor, body: OrderCreate, request_fingerprint: str
) -> tuple[OrderPublic, bool]:
    """A sale a statement at a time, reading everything afresh: the path for every case the one
    statement leaves, and the reference for what that statement must do."""
    replay = await _order_replay(db, actor, body.id, request_fingerprint)
    if replay is not None:
        return replay, False
    try:
        async with db.transaction():
            placed = await _insert_order(db, actor, body, request_fingerprint)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != "orders_pkey":
            raise
        return await _raced_replay(db, actor, body.id, request_fingerprint)
    return placed, True


# An order for `repo.place_order` is drafted before its session and receipt number are known:
# the statement finds them.
_FOUND_BY_THE_STATEMENT = UUID(int=0)


class OrderSaleHandlers:
    _pool: asyncpg.Pool
    _registers: RegisterReplicaCache

    async def place_order(self, actor: Actor, body: OrderCreate) -> tuple[OrderPublic, bool]:
        """Stores a paid order; returns it and whether it was new (a replay returns the first)."""
        actor.check_register(body.register_id, "post orders")
        request_fingerprint = fingerprint(body)
        async with self._pool.acquire() as db:
            placed = await self._place_in_one_statement(db, actor, body, request_fingerprint)
            if placed is not None:
                return placed
            return await _place_step_by_step(db, actor, body, request_fingerprint)

    async def _place_in_one_statement(
        self, db: Db, actor: Actor, body: OrderCreate, request_fingerprint: str
    ) -> tuple[OrderPublic, bool] | None:
        """The usual sale in one round trip, with the register as this process knows it; None
        when the step by step path must decide: an unknown, changed or deactivated register, no
        open session, or a body it refuses (a replay is answered before its body is judged)."""
        known = await self._registers.get(db, actor.tenant_id, body.register_id)
        if known is None or not known.register.active:
            # Read afresh next time: the event that changes it may reach another process.
            self._registers.forget(actor.tenant_id, body.register_id)
            return None
        try:
            catalog = await catalog_for_sale(db, actor.tenant_id, body, known.register)
            priced = price_order(body, known.register.currency, actor.tenant_id, catalog.products)
        except DomainError:
            return None
        draft = new_order(
            body,
            known.register,
            priced,
            session_id=_FOUND_BY_THE_STATEMENT,
            sequence=0,
            created_by=actor.subject,
            request_fingerprint=request_fingerprint,
            customer=catalog.customer,
        )
        try:
            outcome = await repo.place_order(
                db,
                draft,
                priced.lines,
                priced.payments,
                order_placed_envelope(draft, priced.lines, priced.payments),
                register_version=known.version,
            )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name != "orders_pkey":
                raise
            return await _raced_replay(db, actor, body.id, request_fingerprint)
        if outcome.stored_fingerprint is not None:
            stored = await _stored_order(
                db, actor, body.id, outcome.stored_fingerprint, request_fingerprint
            )
            return stored, False
        if outcome.order is None:
            if not outcome.register_current:
                self._registers.forget(actor.tenant_id, body.register_id)
            return None
        return order_public(outcome.order, priced.lines, priced.payments, refunds=[]), True

    async def get_order(self, actor: Actor, order_id: UUID) -> OrderPublic:
        async with self._pool.acquire() as db:
            found = await repo.get_orders(db, actor.tenant_id, [order_id])
            if not found:
                raise NotFoundError(f"No order {order_id} exists.")
            actor.check_register(found[0].register_id, "read orders")
            return (await _orders_public(db, actor.tenant_id, found))[0]

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
            page = await repo.list_orders(
                db,
                actor.tenant_id,
                register_id=actor.register_scope(register_id, "read orders"),
                session_id=session_id,
                business_date=business_date,
                state=state,
                before_seq=decode_cursor(cursor),
                limit=limit,
            )
            items = await _orders_public(db, actor.tenant_id, page.items)
            return OrderPage(items=items, next_cursor=page.next_cursor)
