"""A tablet back online posts its queue: each order answered as POST /v1/orders would answer it
alone, in the order sent, and every new one written in one transaction with set-based SQL.
(A body that does not fit the schema is refused whole by the route, naming orders[i].<field>.)

All or nothing at the database: if the transaction fails (the database goes away, say), nothing
of the batch is stored and the tablet sends the same batch again; each order is idempotent by its
id, so what a retry finds stored is answered "replayed".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

import asyncpg

from orders import repository as repo
from orders.domain.catalog import Customer
from orders.domain.identity import fingerprint
from orders.domain.model import Order, Register
from orders.domain.sale import PricedOrder, new_order, price_order
from orders.events import order_placed_envelope
from orders.handlers.catalog import NamedCatalog
from orders.handlers.refunds import refunds_public
from orders.handlers.registers import register_for_sale
from orders.handlers.sessions import session_for_sale
from orders.http_mappers import order_public
from orders.http_models import (
    FieldProblemPublic,
    OrderBatchCreate,
    OrderBatchPublic,
    OrderBatchResultPublic,
    OrderCreate,
    OrderProblemPublic,
    OrderPublic,
)
from orders.repository import order_batch as batch_repo
from orders.repository.rows import grouped
from shared.actor import Actor
from shared.errors import ConflictError, DomainError
from shared.outbox import add_events
from shared.postgres import Db

# A batch that lost a race for one of its ids to another request is tried again whole: the next
# try finds that order stored and answers it as a replay. Each lost race is an id that has since
# committed, and ids only ever become stored, so a batch of n orders loses at most n races.

Outcome = Literal["created", "replayed", "refused"]


@dataclass(frozen=True)
class _Answer:
    order_id: UUID
    outcome: Outcome
    problem: OrderProblemPublic | None = None


@dataclass(frozen=True)
class _Accepted:
    """An order that passed every check and is to be created."""

    body: OrderCreate
    register: Register
    priced: PricedOrder
    fingerprint: str
    customer: Customer | None


def _problem(error: DomainError) -> OrderProblemPublic:
    """The problem+json body POST /v1/orders answers this error with."""
    errors = [FieldProblemPublic(field=error.field, message=error.detail)] if error.field else []
    return OrderProblemPublic(
        type=error.type_, title=error.title, status=error.status, detail=error.detail, errors=errors
    )


def _changed_content(order_id: UUID) -> ConflictError:
    return ConflictError(
        f"Order {order_id} was already recorded with different content. A retry must "
        "send exactly the same body; a new sale needs a new id."
    )


class _Registers:
    """Each register of the batch read and checked once, as `register_for_sale` checks it."""

    def __init__(self, db: Db, actor: Actor) -> None:
        self._db = db
        self._actor = actor
        self._found: dict[UUID, Register | DomainError] = {}

    async def for_sale(self, register_id: UUID) -> Register:
        if register_id not in self._found:
            try:
                self._found[register_id] = await register_for_sale(
                    self._db, self._actor, register_id
                )
            except DomainError as error:
                self._found[register_id] = error
        found = self._found[register_id]
        if isinstance(found, DomainError):
            raise found
        return found


async def _decide(
    db: Db, actor: Actor, submitted: Sequence[OrderCreate]
) -> tuple[list[_Answer], list[_Accepted]]:
    """Each order's outcome, in the order sent, as if each were posted alone one after another:
    an id already stored (or accepted earlier in the batch) is a replay or a conflict."""
    known = await batch_repo.stored_fingerprints(db, actor.tenant_id, [o.id for o in submitted])
    named = await NamedCatalog.read(db, actor.tenant_id, submitted)
    registers = _Registers(db, actor)
    answers: list[_Answer] = []
    accepted: list[_Accepted] = []
    for read in submitted:
        order_id = read.id
        try:
            actor.check_register(read.register_id, "post orders")
            request_fingerprint = fingerprint(read)
            if order_id in known:
                if known[order_id] != request_fingerprint:
                    raise _changed_content(order_id)
                answers.append(_Answer(order_id, "replayed"))
                continue
            register = await registers.for_sale(read.register_id)
            catalog = named.for_sale(read, register)
            priced = price_order(read, register.currency, actor.tenant_id, catalog.products)
        except DomainError as error:
            answers.append(_Answer(order_id, "refused", _problem(error)))
            continue
        known[order_id] = request_fingerprint
        accepted.append(_Accepted(read, register, priced, request_fingerprint, catalog.customer))
        answers.append(_Answer(order_id, "created"))
    return answers, accepted


async def _create(db: Db, actor: Actor, accepted: Sequence[_Accepted]) -> list[Order]:
    """Numbers the orders on their registers in the order given, puts them in their registers'
    open sessions, and writes them with their order.placed events."""
    counts = Counter(a.register.register_id for a in accepted)
    next_value = await batch_repo.reserve_receipt_values(db, counts)
    sessions = {}
    for a in accepted:
        if a.register.register_id not in sessions:
            session = await session_for_sale(db, actor, a.register)
            sessions[a.register.register_id] = session.session_id
    orders = []
    for a in accepted:
        register_id = a.register.register_id
        orders.append(
            new_order(
                a.body,
                a.register,
                a.priced,
                session_id=sessions[register_id],
                sequence=next_value[register_id],
                created_by=actor.subject,
                request_fingerprint=a.fingerprint,
                customer=a.customer,
            )
        )
        next_value[register_id] += 1
    stored = await batch_repo.insert_orders(
        db,
        orders,
        [line for a in accepted for line in a.priced.lines],
        [payment for a in accepted for payment in a.priced.payments],
    )
    await add_events(
        db,
        [
            order_placed_envelope(order, a.priced.lines, a.priced.payments)
            for order, a in zip(stored, accepted, strict=True)
        ],
    )
    return stored


async def _stored_orders_public(
    db: Db, tenant_id: UUID, order_ids: Sequence[UUID]
) -> dict[UUID, OrderPublic]:
    if not order_ids:
        return {}
    orders = await repo.get_orders(db, tenant_id, order_ids)
    lines = grouped(await repo.order_lines(db, tenant_id, order_ids), lambda line: line.order_id)
    payments = grouped(await repo.order_payments(db, tenant_id, order_ids), lambda p: p.order_id)
    refunds = await refunds_public(db, tenant_id, order_ids)
    return {
        o.order_id: order_public(
            o, lines[o.order_id], payments[o.order_id], refunds.get(o.order_id, [])
        )
        for o in orders
    }


async def _place(db: Db, actor: Actor, submitted: Sequence[OrderCreate]) -> OrderBatchPublic:
    answers, accepted = await _decide(db, actor, submitted)
    orders: dict[UUID, OrderPublic] = {}
    if accepted:
        created = await _create(db, actor, accepted)
        orders = {
            order.order_id: order_public(order, a.priced.lines, a.priced.payments, refunds=[])
            for order, a in zip(created, accepted, strict=True)
        }
    stored_before = [a.order_id for a in answers if a.outcome == "replayed"]
    orders |= await _stored_orders_public(
        db, actor.tenant_id, [i for i in dict.fromkeys(stored_before) if i not in orders]
    )
    return OrderBatchPublic(
        results=[
            OrderBatchResultPublic(
                id=a.order_id,
                outcome=a.outcome,
                order=orders[a.order_id] if a.outcome != "refused" else None,
                problem=a.problem,
            )
            for a in answers
        ]
    )


class OrderBatchHandlers:
    _pool: asyncpg.Pool

    async def place_order_batch(self, actor: Actor, batch: OrderBatchCreate) -> OrderBatchPublic:
        """Each order of the batch created, replayed or refused, answered in the order sent."""
        tries = len(batch.orders) + 1
        async with self._pool.acquire() as db:
            for attempt in range(1, tries + 1):
                try:
                    async with db.transaction():
                        return await _place(db, actor, batch.orders)
                except asyncpg.UniqueViolationError as error:
                    if error.constraint_name != "orders_pkey" or attempt == tries:
                        raise
        raise AssertionError("unreachable: the last try returns or raises")
