"""Cash sessions: opened by a till (or silently by its first sale), closed with the counted cash."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from uuid import UUID

import asyncpg

from orders import repository as repo
from orders.domain.amounts import business_date
from orders.domain.model import CashSession, Register, initial_sync_state
from orders.domain.sale import require_currency
from orders.domain.session import check_can_close, expected_cash
from orders.events import emit, session_closed_event, session_opened_event
from orders.handlers.registers import register_for_sale
from orders.http_mappers import session_public
from orders.http_models import SessionClose, SessionOpen, SessionPage, SessionPublic
from shared.actor import Actor
from shared.errors import ConflictError, NotFoundError
from shared.pagination import decode_cursor
from shared.postgres import Db


async def _open_session(
    db: Db, actor: Actor, register: Register, *, opening_cash: int, implicit: bool
) -> CashSession | None:
    """Opens a session, or returns None if another one won the race to open it."""
    now = datetime.now(UTC)
    try:
        async with db.transaction():
            session = await repo.insert_session(
                db,
                session_id=uuid.uuid4(),
                tenant_id=actor.tenant_id,
                register_id=register.register_id,
                shop_id=register.shop_id,
                business_date=business_date(now, register.timezone, register.business_day_cutoff),
                currency=register.currency,
                opened_by=actor.subject,
                opened_implicitly=implicit,
                opening_cash=opening_cash,
                sync_state=initial_sync_state(register.tenant_tier),
            )
    except asyncpg.UniqueViolationError:
        return None
    await emit(
        db,
        session_opened_event(session),
        tenant_id=actor.tenant_id,
        aggregate_id=session.session_id,
        aggregate_version=session.version,
    )
    return session


async def session_for_sale(db: Db, actor: Actor, register: Register) -> CashSession:
    """The register's open session, opened silently with no cash if there is none."""
    while True:
        session = await repo.find_open_session(db, register.register_id)
        if session is not None:
            return session
        opened = await _open_session(db, actor, register, opening_cash=0, implicit=True)
        if opened is not None:
            return opened


async def _sessions_public(db: Db, sessions: Sequence[CashSession]) -> list[SessionPublic]:
    totals = await repo.session_totals(db, [s.session_id for s in sessions])
    return [session_public(s, totals[s.session_id]) for s in sessions]


class SessionHandlers:
    _pool: asyncpg.Pool

    async def open_session(self, actor: Actor, body: SessionOpen) -> SessionPublic:
        actor.check_register(body.register_id, "open a session")
        async with self._pool.acquire() as db, db.transaction():
            register = await register_for_sale(db, actor, body.register_id)
            require_currency(body.opening_cash.currency, register.currency, "opening_cash")
            session = await _open_session(
                db, actor, register, opening_cash=body.opening_cash.amount, implicit=False
            )
            if session is None:
                current = await repo.find_open_session(db, body.register_id)
                which = f" ({current.session_id})" if current is not None else ""
                raise ConflictError(
                    f"A session{which} is already open on register {register.name!r}; "
                    "close it before opening another."
                )
            return (await _sessions_public(db, [session]))[0]

    async def close_session(
        self, actor: Actor, session_id: UUID, body: SessionClose
    ) -> SessionPublic:
        async with self._pool.acquire() as db, db.transaction():
            session = await repo.get_session(db, actor.tenant_id, session_id, for_update=True)
            if session is None:
                raise NotFoundError(f"No session {session_id} exists.")
            actor.check_register(session.register_id, "close a session")
            check_can_close(session, body.counted_cash.currency)
            totals = (await repo.session_totals(db, [session_id]))[session_id]
            closed = await repo.close_session(
                db,
                session_id,
                closed_by=actor.subject,
                counted_cash=body.counted_cash.amount,
                expected_cash=expected_cash(session, totals),
                note=body.note,
            )
            await emit(
                db,
                session_closed_event(closed, totals),
                tenant_id=actor.tenant_id,
                aggregate_id=session_id,
                aggregate_version=closed.version,
            )
            return (await _sessions_public(db, [closed]))[0]

    async def get_session(self, actor: Actor, session_id: UUID) -> SessionPublic:
        async with self._pool.acquire() as db:
            session = await repo.get_session(db, actor.tenant_id, session_id)
            if session is None:
                raise NotFoundError(f"No session {session_id} exists.")
            actor.check_register(session.register_id, "read sessions")
            return (await _sessions_public(db, [session]))[0]

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
            page = await repo.list_sessions(
                db,
                actor.tenant_id,
                register_id=actor.register_scope(register_id, "read sessions"),
                state=state,
                business_date=business_date,
                before_seq=decode_cursor(cursor),
                limit=limit,
            )
            items = await _sessions_public(db, page.items)
            return SessionPage(items=items, next_cursor=page.next_cursor)
