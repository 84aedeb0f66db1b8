"""Answering reports: the dashboard, the daily report, the sales report, the X/Z session report."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from reporting import http_mappers as to_http
from reporting.domain.business_calendar import business_date, period_problem
from reporting.domain.figures import (
    Counters,
    RegisterFigures,
    SalesGroupFigures,
    groups_by_day,
    groups_by_hour,
    groups_by_payment_method,
    groups_by_product,
    groups_by_register,
    sum_totals,
)
from reporting.http_models import (
    DailyReportPublic,
    DashboardPublic,
    SalesGroupBy,
    SalesReportPublic,
    SessionReportPublic,
)
from reporting.repository import day_reports, session_reports
from reporting.repository.day_reports import OpenSessionRow, RegisterRow, ShopRow
from shared.actor import Actor
from shared.auth import Role
from shared.errors import InvalidRequestError, NotFoundError
from shared.postgres import Db

TOP_PRODUCTS = 10
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ReportQueries:
    def __init__(self, pool: asyncpg.Pool, clock: Clock = utc_now) -> None:
        self._pool = pool
        self.clock = clock

    async def _shop(self, db: Db, tenant_id: UUID, shop_id: UUID) -> ShopRow:
        shop = await day_reports.get_shop(db, tenant_id, shop_id)
        if shop is None:
            raise NotFoundError(
                f"No shop {shop_id} exists, or it has had no registers or sales yet."
            )
        return shop

    async def _at_once(self, *reads: Callable[[Db], Awaitable[Any]]) -> list[Any]:
        """Reads that need nothing of each other, each on a connection of its own: a report
        waits for its slowest read, not for the sum of them (each read is its own snapshot, as
        one after another on one connection would be too)."""

        async def read_with_own_connection(read: Callable[[Db], Awaitable[Any]]) -> Any:
            async with self._pool.acquire() as db:
                return await read(db)

        return list(await asyncio.gather(*map(read_with_own_connection, reads)))

    async def _shop_of(self, tenant_id: UUID, shop_id: UUID) -> ShopRow:
        async with self._pool.acquire() as db:
            return await self._shop(db, tenant_id, shop_id)

    async def dashboard(self, actor: Actor, shop_id: UUID) -> DashboardPublic:
        now, tenant_id = self.clock(), actor.tenant_id
        shop = await self._shop_of(tenant_id, shop_id)
        today = business_date(now, shop.timezone, shop.business_day_cutoff)
        figures: list[RegisterFigures]
        opened_sessions: list[OpenSessionRow]
        figures, opened_sessions = await self._at_once(
            lambda db: day_reports.day_totals_by_register(db, tenant_id, shop_id, today, today),
            lambda db: day_reports.open_sessions_of_shop(db, tenant_id, shop_id),
        )
        by_register = {f.register_id: f for f in figures}
        open_sessions: dict[UUID, OpenSessionRow] = {}
        for opened in opened_sessions:
            open_sessions[opened.register_id] = opened  # the latest opened wins
        mentioned = sorted(set(by_register) | set(open_sessions))
        registers: list[RegisterRow]
        takings: dict[UUID, Counters]
        registers, takings = await self._at_once(
            lambda db: day_reports.registers_of_shop(db, tenant_id, shop_id, mentioned),
            lambda db: day_reports.session_takings(
                db, tenant_id, [s.session_id for s in open_sessions.values()]
            ),
        )
        async with self._pool.acquire() as db:
            last_orders = await day_reports.last_order_at(
                db, tenant_id, [r.register_id for r in registers]
            )
        cards = to_http.register_cards(
            registers,
            today=by_register,
            open_sessions=open_sessions,
            takings=takings,
            last_orders=last_orders,
            tenant_tier=shop.tenant_tier,
        )
        return DashboardPublic(
            shop_id=shop_id,
            shop_name=shop.name,
            business_date=today,
            timezone=shop.timezone,
            currency=shop.currency,
            generated_at=now,
            totals=to_http.totals_public(sum_totals(f.counters for f in figures)),
            registers=cards,
        )

    async def daily_report(self, actor: Actor, shop_id: UUID, day: date) -> DailyReportPublic:
        return await self.daily_report_of(actor.tenant_id, shop_id, day)

    async def daily_report_of(self, tenant_id: UUID, shop_id: UUID, day: date) -> DailyReportPublic:
        shop = await self._shop_of(tenant_id, shop_id)
        by_register: list[RegisterFigures]
        (
            by_register,
            hours,
            methods,
            taxes,
            products,
            refunds,
            sessions,
            still_open,
        ) = await self._at_once(
            lambda db: day_reports.day_totals_by_register(db, tenant_id, shop_id, day, day),
            lambda db: day_reports.totals_by_local_hour(
                db, tenant_id, shop_id, day, day, shop.timezone
            ),
            lambda db: day_reports.payment_method_totals(db, tenant_id, shop_id, day, day),
            lambda db: session_reports.day_taxes(db, tenant_id, shop_id, day),
            lambda db: day_reports.product_totals(db, tenant_id, shop_id, day, day, TOP_PRODUCTS),
            lambda db: day_reports.refunds_of_day(db, tenant_id, shop_id, day),
            lambda db: day_reports.sessions_of_day(db, tenant_id, shop_id, day),
            lambda db: day_reports.open_sessions_of_shop(db, tenant_id, shop_id, up_to=day),
        )
        async with self._pool.acquire() as db:
            registers = await day_reports.registers_of_shop(
                db, tenant_id, shop_id, [r.register_id for r in by_register]
            )
        names = {r.register_id: r.name for r in registers}
        return DailyReportPublic(
            shop_id=shop_id,
            shop_name=shop.name,
            business_date=day,
            timezone=shop.timezone,
            currency=shop.currency,
            generated_at=self.clock(),
            complete=not still_open,
            totals=to_http.totals_public(sum_totals(r.counters for r in by_register)),
            by_register=to_http.register_totals(by_register, names),
            by_payment_method=to_http.payment_method_totals(methods),
            taxes=to_http.tax_rows(taxes),
            by_hour=to_http.hour_totals(hours, shop.business_day_cutoff),
            top_products=[to_http.product_totals(p) for p in products],
            refunds=[to_http.refund_entry(r) for r in refunds],
            sessions=[to_http.session_entry(s) for s in sessions],
            registers_still_open=[to_http.open_register(s) for s in still_open],
        )

    async def sales_report(
        self, actor: Actor, shop_id: UUID, first: date, last: date, group_by: SalesGroupBy
    ) -> SalesReportPublic:
        problem = period_problem(first, last)
        if problem is not None:
            raise InvalidRequestError(problem, field="to")
        tenant_id = actor.tenant_id
        shop = await self._shop_of(tenant_id, shop_id)
        async with self._pool.acquire() as db:
            registers = await day_reports.day_totals_by_register(
                db, tenant_id, shop_id, first, last
            )
            groups = await self._sales_groups(db, tenant_id, shop, first, last, group_by, registers)
        return SalesReportPublic(
            shop_id=shop_id,
            currency=shop.currency,
            timezone=shop.timezone,
            from_date=first,
            to_date=last,
            group_by=group_by,
            totals=to_http.totals_public(sum_totals(r.counters for r in registers)),
            groups=[to_http.sales_group(g) for g in groups],
        )

    async def _sales_groups(
        self,
        db: Db,
        tenant_id: UUID,
        shop: ShopRow,
        first: date,
        last: date,
        group_by: SalesGroupBy,
        registers: list[RegisterFigures],
    ) -> list[SalesGroupFigures]:
        shop_id = shop.shop_id
        if group_by == "day":
            days = await day_reports.totals_by_day(db, tenant_id, shop_id, first, last)
            return groups_by_day(days)
        if group_by == "hour":
            hours = await day_reports.totals_by_local_hour(
                db, tenant_id, shop_id, first, last, shop.timezone
            )
            return groups_by_hour(hours, shop.business_day_cutoff)
        if group_by == "register":
            named = await day_reports.registers_of_shop(
                db, tenant_id, shop_id, [r.register_id for r in registers]
            )
            return groups_by_register(registers, {r.register_id: r.name for r in named})
        if group_by == "payment_method":
            methods = await day_reports.payment_method_totals(db, tenant_id, shop_id, first, last)
            return groups_by_payment_method(methods)
        products = await day_reports.product_totals(db, tenant_id, shop_id, first, last, None)
        return groups_by_product(products)

    async def session_report(self, actor: Actor, session_id: UUID) -> SessionReportPublic:
        tenant_id = actor.tenant_id
        async with self._pool.acquire() as db:
            session = await session_reports.get_session(db, tenant_id, session_id)
            if session is None:
                raise NotFoundError(
                    f"No session {session_id} exists (or its opening has not reached reports yet)."
                )
            actor.check_register(session.register_id, "read the report of a session")
            orders = await session_reports.session_order_summary(db, tenant_id, session_id)
            refunds = await session_reports.session_refund_summary(db, tenant_id, session_id)
            tenders = await session_reports.session_tenders(db, tenant_id, session_id)
            taxes = await session_reports.session_taxes(db, tenant_id, session_id)
            products = await session_reports.session_products(db, tenant_id, session_id)
            hours = await session_reports.session_hours(db, tenant_id, session_id, session.timezone)
        return to_http.session_report_public(
            session,
            orders=orders,
            refunds=refunds,
            tenders=tenders,
            taxes=taxes,
            products=products,
            hours=hours,
            generated_at=self.clock(),
        )

    async def session_report_of(self, tenant_id: UUID, session_id: UUID) -> SessionReportPublic:
        return await self.session_report(Actor(tenant_id, "reporting", Role.ADMIN), session_id)
