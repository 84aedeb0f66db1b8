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
from orders.events import emit, order_placed_event
from orders.handlers.refunds import refunds_public
from orders.handlers.registers import register_for_sale
from orders.handlers.sessions import session_for_sale
from orders.http_mappers import order_public
from orders.http_models import OrderCreate, OrderPage, OrderPublic
from orders.repository.rows import grouped
from shared.actor import Actor
from shared.errors import ConflictError, NotFoundError
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
    if stored != request_fingerprint:
        raise ConflictError(
            f"Order {order_id} was already recorded with different content. A retry must "
            "send exactly the same body; a new sale needs a new id."
        )
    orders = await repo.get_orders(db, actor.tenant_id, [order_id])
    return (await _orders_public(db, actor.tenant_id, orders))[0]


async def _insert_order(
    db: Db, actor: Actor, body: OrderCreate, request_fingerprint: str
) -> OrderPublic:
    register = await register_for_sale(db, actor, body.register_id)
    priced = price_order(body, register.currency, actor.tenant_id)
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


class OrderSaleHandlers:
    _pool: asyncpg.Pool

    async def place_order(self, actor: Actor, body: OrderCreate) -> tuple[OrderPublic, bool]:
        """Stores a paid order; returns it and whether it was new (a replay returns the first)."""
        actor.check_register(body.register_id, "post orders")
        request_fingerprint = fingerprint(body)
        async with self._pool.acquire() as db:
            replay = await _order_replay(db, actor, body.id, request_fingerprint)
            if replay is not None:
                return replay, False
            try:
                async with db.transaction():
                    placed = await _insert_order(db, actor, body, request_fingerprint)
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != "orders_pkey":
                    raise
                # The same id raced in from another request; it committed first.
                replay = await _order_replay(db, actor, body.id, request_fingerprint)
                assert replay is not None
                return replay, False
            return placed, True

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
