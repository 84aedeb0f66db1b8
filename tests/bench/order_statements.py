"""The statements the orders service sends to store one order, replayed straight from asyncpg.

The rows and their arguments are built once, by the service's own code; each replay patches in a
fresh order id and runs the same statements, in the same order, in one transaction, on a pool
made the way the service makes its own. What that reaches at a given concurrency is the ceiling
the service could approach if its Python cost nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from orders import repository as repo
from orders.domain.identity import fingerprint
from orders.domain.model import receipt_number
from orders.domain.sale import new_order, price_order
from orders.events import PRODUCER, order_placed_event
from orders.http_models import OrderCreate
from shared.events.envelope import EventEnvelope
from shared.outbox import add_event

Replay = Callable[[asyncpg.Pool], Awaitable[None]]

# What a reader is told the replay runs.
DESCRIPTION = (
    "replay check, BEGIN, register, receipt counter, session FOR SHARE, order, lines, payments, "
    "outbox, COMMIT, pool reset"
)


async def order_replay(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, register_id: uuid.UUID, order: dict[str, Any]
) -> Replay:
    """A replay of one order of `order`'s shape on `register_id`, whose replica and open session
    the service has already stored."""
    async with pool.acquire() as db:
        register = await repo.get_register(db, tenant_id, register_id)
        session = await repo.find_open_session(db, register_id)
    if register is None or session is None:
        raise RuntimeError(f"register {register_id} has no replica or no open session to replay on")
    body = OrderCreate.model_validate(order)
    priced = price_order(body, register.currency, tenant_id)
    template = new_order(
        body,
        register,
        priced,
        session_id=session.session_id,
        sequence=1,
        created_by="bench",
        request_fingerprint=fingerprint(body),
    )
    envelope = EventEnvelope.wrap(
        order_placed_event(template, priced.lines, priced.payments),
        tenant_id=tenant_id,
        aggregate_id=template.order_id,
        aggregate_version=1,
        producer=PRODUCER,
    )

    async def replay(pool: asyncpg.Pool) -> None:
        order_id = uuid.uuid4()
        lines = [
            dataclasses.replace(line, line_id=uuid.uuid4(), order_id=order_id)
            for line in priced.lines
        ]
        payments = [
            dataclasses.replace(payment, payment_id=uuid.uuid4(), order_id=order_id)
            for payment in priced.payments
        ]
        async with pool.acquire() as db:
            await repo.get_order_fingerprint(db, tenant_id, order_id)
            async with db.transaction():
                await repo.get_register(db, tenant_id, register_id)
                sequence = await repo.next_receipt_value(db, register_id)
                await repo.find_open_session(db, register_id)
                number = receipt_number(register.receipt_prefix, sequence)
                written = dataclasses.replace(
                    template, order_id=order_id, receipt_number=number, receipt_sequence=sequence
                )
                await repo.insert_order(db, written, lines, payments)
                await add_event(
                    db, envelope.model_copy(update={"id": uuid.uuid4(), "aggregate_id": order_id})
                )

    return replay
