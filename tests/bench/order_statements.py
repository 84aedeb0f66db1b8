"""The statements the orders service sends to store one order, replayed straight from asyncpg.

The arguments are built once, by the service's own code; each replay patches in fresh ids and
sends the same statements on a pool made the way the service makes its own. What that reaches
at a given concurrency is the ceiling the service could approach if its Python cost nothing.

Where the service stores an order in one statement (`PLACE_ORDER_SQL`), that statement is
replayed; before it existed, the step by step sequence the service then ran.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

import orders.repository.orders as order_rows
from orders import repository as repo
from orders.domain.identity import fingerprint
from orders.domain.model import CashSession, NewOrder, Register, receipt_number
from orders.domain.sale import PricedOrder, new_order, price_order
from orders.events import PRODUCER, order_placed_event
from orders.http_models import OrderCreate
from shared.events.envelope import EventEnvelope
from shared.outbox import add_event

Replay = Callable[[asyncpg.Pool], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class _Sale:
    """One order as the service has it just before it writes: priced, numbered, announced."""

    register: Register
    priced: PricedOrder
    order: NewOrder
    event: EventEnvelope


async def _sale(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, register_id: uuid.UUID, body: OrderCreate
) -> tuple[_Sale, CashSession]:
    async with pool.acquire() as db:
        register = await repo.get_register(db, tenant_id, register_id)
        session = await repo.find_open_session(db, register_id)
    if register is None or session is None:
        raise RuntimeError(f"register {register_id} has no replica or no open session to replay on")
    priced = price_order(body, register.currency, tenant_id)
    order = new_order(
        body,
        register,
        priced,
        session_id=session.session_id,
        sequence=1,
        created_by="bench",
        request_fingerprint=fingerprint(body),
    )
    event = EventEnvelope.wrap(
        order_placed_event(order, priced.lines, priced.payments),
        tenant_id=tenant_id,
        aggregate_id=order.order_id,
        aggregate_version=1,
        producer=PRODUCER,
    )
    return _Sale(register, priced, order, event), session


def _fresh_ids_at(args: tuple[Any, ...], sale: _Sale) -> list[tuple[int, int]]:
    """Where in `args` the sale's ids are, as (position, how many): a single id (0) or a list
    of them; found by value, so the order of the arguments is the service's business."""
    single = {sale.order.order_id, sale.event.id}
    lists = [
        [line.line_id for line in sale.priced.lines],
        [payment.payment_id for payment in sale.priced.payments],
    ]
    places = []
    for position, value in enumerate(args):
        if isinstance(value, uuid.UUID) and value in single:
            places.append((position, 0))
        elif isinstance(value, list) and value in lists:
            places.append((position, len(value)))
    if len(places) != 4:
        raise RuntimeError(f"the order's ids were not all found in its arguments: {places}")
    return places


async def _one_statement(pool: asyncpg.Pool, sale: _Sale) -> Replay:
    async with pool.acquire() as db:
        version = await db.fetchval(
            "SELECT version FROM registers WHERE register_id = $1", sale.register.register_id
        )
    template = order_rows.place_order_args(
        sale.order, sale.priced.lines, sale.priced.payments, sale.event, register_version=version
    )
    places = _fresh_ids_at(template, sale)
    statement = order_rows.PLACE_ORDER_SQL

    async def replay(pool: asyncpg.Pool) -> None:
        args = list(template)
        for position, count in places:
            args[position] = [uuid.uuid4() for _ in range(count)] if count else uuid.uuid4()
        async with pool.acquire() as db:
            await db.fetchrow(statement, *args)

    return replay


def _step_by_step(sale: _Sale, session: CashSession) -> Replay:
    tenant_id, register = sale.register.tenant_id, sale.register

    async def replay(pool: asyncpg.Pool) -> None:
        order_id = uuid.uuid4()
        lines = [
            dataclasses.replace(line, line_id=uuid.uuid4(), order_id=order_id)
            for line in sale.priced.lines
        ]
        payments = [
            dataclasses.replace(payment, payment_id=uuid.uuid4(), order_id=order_id)
            for payment in sale.priced.payments
        ]
        async with pool.acquire() as db:
            await repo.get_order_fingerprint(db, tenant_id, order_id)
            async with db.transaction():
                await repo.get_register(db, tenant_id, register.register_id)
                sequence = await repo.next_receipt_value(db, register.register_id)
                await repo.find_open_session(db, register.register_id)
                written = dataclasses.replace(
                    sale.order,
                    order_id=order_id,
                    session_id=session.session_id,
                    receipt_number=receipt_number(register.receipt_prefix, sequence),
                    receipt_sequence=sequence,
                )
                await repo.insert_order(db, written, lines, payments)
                await add_event(
                    db, sale.event.model_copy(update={"id": uuid.uuid4(), "aggregate_id": order_id})
                )

    return replay


def statements_replayed() -> str:
    """Which sequence `order_replay` replays, for a reader of the figures."""
    if hasattr(order_rows, "PLACE_ORDER_SQL"):
        return "one statement (PLACE_ORDER_SQL)"
    return (
        "step by step: replay check, register, receipt counter, session, order, lines, "
        "payments, outbox"
    )


async def order_replay(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, register_id: uuid.UUID, order: dict[str, Any]
) -> Replay:
    """A replay of one order shaped like `order` on `register_id`, whose replica and open
    session the service has already stored."""
    sale, session = await _sale(pool, tenant_id, register_id, OrderCreate.model_validate(order))
    if hasattr(order_rows, "PLACE_ORDER_SQL"):
        return await _one_statement(pool, sale)
    return _step_by_step(sale, session)
