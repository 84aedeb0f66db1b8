"""Refunds: part or all of a sold order given back, at most once per unit sold."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from orders import repository as repo
from orders.domain.amounts import summed
from orders.domain.identity import fingerprint
from orders.domain.refund import (
    new_refund,
    refund_lines,
    refund_payments,
    require_register_takes,
    state_after_refund,
)
from orders.events import emit, order_refunded_event
from orders.handlers.registers import register_for_sale
from orders.handlers.sessions import session_for_sale
from orders.http_mappers import refund_public
from orders.http_models import RefundCreate, RefundPublic
from orders.repository.rows import grouped
from shared.actor import Actor
from shared.errors import ConflictError, NotFoundError
from shared.postgres import Db


async def refunds_public(
    db: Db, tenant_id: UUID, order_ids: Sequence[UUID]
) -> dict[UUID, list[RefundPublic]]:
    """Each order's refunds, oldest first."""
    refunds = await repo.refunds_of_orders(db, tenant_id, order_ids)
    if not refunds:
        return {}
    ids = [r.refund_id for r in refunds]
    lines = grouped(await repo.refund_lines(db, tenant_id, ids), lambda line: line.refund_id)
    payments = grouped(await repo.refund_payments(db, tenant_id, ids), lambda p: p.refund_id)
    result: dict[UUID, list[RefundPublic]] = defaultdict(list)
    for r in refunds:
        result[r.order_id].append(refund_public(r, lines[r.refund_id], payments[r.refund_id]))
    return result


async def _refund_replay(
    db: Db, actor: Actor, order_id: UUID, refund_id: UUID, request_fingerprint: str
) -> RefundPublic | None:
    stored = await repo.get_refund_fingerprint(db, actor.tenant_id, refund_id)
    if stored is None:
        return None
    if stored.order_id != order_id or stored.request_fingerprint != request_fingerprint:
        raise ConflictError(
            f"Refund {refund_id} was already recorded with different content. A retry must "
            "send exactly the same body; a new refund needs a new id."
        )
    refunds = await refunds_public(db, actor.tenant_id, [order_id])
    return next(r for r in refunds[order_id] if r.id == refund_id)


async def _insert_refund(
    db: Db, actor: Actor, order_id: UUID, body: RefundCreate, request_fingerprint: str
) -> None:
    # Locking the order serializes its refunds, so two can never both take the last unit.
    order = await repo.lock_order(db, actor.tenant_id, order_id)
    if order is None:
        raise NotFoundError(f"No order {order_id} exists.")
    register = await register_for_sale(db, actor, order.register_id)
    require_register_takes(register, order.currency)
    sold = {line.line_id: line for line in await repo.order_lines(db, actor.tenant_id, [order_id])}
    given_back = await repo.refunded_so_far(db, actor.tenant_id, order_id)
    lines = refund_lines(body, sold, given_back, actor.tenant_id)
    figures = summed(lines)
    payments = refund_payments(body, order.currency, figures.total, actor.tenant_id)

    session = await session_for_sale(db, actor, register)
    refund = new_refund(
        body,
        order,
        register,
        figures,
        session_id=session.session_id,
        created_by=actor.subject,
        request_fingerprint=request_fingerprint,
        now=datetime.now(UTC),
    )
    await repo.insert_refund(db, refund, lines, payments)
    already = {line_id: back.quantity for line_id, back in given_back.items()}
    version = await repo.set_order_refund_state(
        db, actor.tenant_id, order_id, state_after_refund(sold, already, lines)
    )
    await emit(
        db,
        order_refunded_event(refund, register.shop_id, lines, payments, sold),
        tenant_id=actor.tenant_id,
        aggregate_id=order_id,
        aggregate_version=version,
    )


class RefundHandlers:
    _pool: asyncpg.Pool

    async def refund_order(
        self, actor: Actor, order_id: UUID, body: RefundCreate
    ) -> tuple[RefundPublic, bool]:
        """Stores a refund; returns it and whether it was new (a replay returns the first)."""
        request_fingerprint = fingerprint(body)
        async with self._pool.acquire() as db:
            # Checked before a replay too: a refund id alone must not show another till's refund.
            sold = await repo.get_orders(db, actor.tenant_id, [order_id])
            if not sold:
                raise NotFoundError(f"No order {order_id} exists.")
            actor.check_register(sold[0].register_id, "refund orders")
            replay = await _refund_replay(db, actor, order_id, body.id, request_fingerprint)
            if replay is not None:
                return replay, False
            try:
                async with db.transaction():
                    await _insert_refund(db, actor, order_id, body, request_fingerprint)
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != "refunds_pkey":
                    raise
                replay = await _refund_replay(db, actor, order_id, body.id, request_fingerprint)
                assert replay is not None
                return replay, False
            refunds = await refunds_public(db, actor.tenant_id, [order_id])
            return next(r for r in refunds[order_id] if r.id == body.id), True
