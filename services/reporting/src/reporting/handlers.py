"""Reporting's use cases: projecting events into read models, answering reports, chat settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from reporting import repository as repo
from reporting.domain import (
    FALLBACK_TIMEZONE,
    MAX_REPORT_DAYS,
    average_ticket,
    business_date,
    hour_order,
    mask_secret,
    parse_cutoff,
    slot_of,
)
from reporting.http_models import (
    CashDrawer,
    ChatConfigPublic,
    ChatConfigUpdate,
    DailyReportPublic,
    DashboardPublic,
    HourTotals,
    IntegrationStatus,
    OpenRegister,
    OpenSessionCard,
    PaymentMethodTotals,
    ProductTotals,
    RefundEntry,
    RegisterCard,
    RegisterTotals,
    SalesGroup,
    SalesGroupBy,
    SalesGroupTotals,
    SalesReportPublic,
    SalesSummary,
    SessionEntry,
    SessionReportPublic,
    SyncCounts,
    TaxRow,
    TenderRow,
    Totals,
)
from shared.auth import Role, TokenClaims
from shared.errors import ForbiddenError, InvalidRequestError, NotFoundError
from shared.events.contracts import (
    OrderOdooSynced,
    OrderOdooSyncFailed,
    OrderPlaced,
    OrderRefunded,
    PaymentMethodState,
    RegisterState,
    SessionClosed,
    SessionOpened,
    ShopState,
    TenantState,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.events.registry import parse_data
from shared.postgres import Db
from shared.secret_box import SecretBox

log = structlog.get_logger(__name__)

PRODUCER = "reporting"
TOP_PRODUCTS = 10
Clock = Callable[[], datetime]
# A database row or a dict shaped like one.
Fields = Mapping[str, Any] | asyncpg.Record


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    tenant_id: UUID
    subject: str
    role: Role
    register_id: UUID | None = None

    @classmethod
    def from_claims(cls, claims: TokenClaims) -> Actor:
        return cls(claims.tenant_id, claims.sub, claims.role, claims.register_id)

    def check_register(self, register_id: UUID) -> None:
        """A cashier is a till's device: it reads its own register's sessions only."""
        if self.role is Role.CASHIER and self.register_id != register_id:
            raise ForbiddenError(
                f"This device's token belongs to register {self.register_id}; it cannot read "
                f"the report of a session of register {register_id}."
            )


# Projection.


class Projector:
    """Turns each event into fact rows and rollup increments; the same code serves rebuilds."""

    async def consume(self, db: Db, envelope: EventEnvelope, data: Any) -> None:
        """The consumer's entry: log the event, then project it, in the inbox's transaction."""
        first_time = await repo.log_event(
            db,
            event_id=envelope.id,
            tenant_id=envelope.tenant_id,
            event_type=envelope.type,
            event_version=envelope.version,
            occurred_at=envelope.occurred_at,
            aggregate_id=envelope.aggregate_id,
            aggregate_version=envelope.aggregate_version,
            envelope=envelope.model_dump(mode="json"),
        )
        if first_time:
            await self.project(db, envelope, data, live=True)

    async def project(
        self, db: Db, envelope: EventEnvelope, data: EventData, *, live: bool
    ) -> None:
        """Applies one event; `live` is False during a rebuild, which must not notify anyone."""
        tenant_id = envelope.tenant_id
        if isinstance(data, OrderPlaced):
            await self._order_placed(db, tenant_id, data)
        elif isinstance(data, OrderRefunded):
            await self._order_refunded(db, tenant_id, data)
        elif isinstance(data, SessionOpened | SessionClosed):
            await self._session(db, envelope, data, live=live)
        elif isinstance(data, OrderOdooSynced | OrderOdooSyncFailed):
            await self._order_sync(db, tenant_id, data)
        elif isinstance(data, RegisterState):
            await self._register(db, envelope, data)
        elif isinstance(data, ShopState):
            await repo.upsert_shop_from_shop_event(
                db,
                tenant_id=tenant_id,
                shop_id=data.shop_id,
                name=data.name,
                currency=data.currency,
                timezone=data.timezone,
                cutoff=parse_cutoff(data.business_day_cutoff),
                version=envelope.aggregate_version,
            )
        elif isinstance(data, PaymentMethodState):
            await repo.upsert_payment_method(
                db,
                tenant_id=tenant_id,
                payment_method_id=data.payment_method_id,
                code=data.code,
                name=data.name,
                kind=data.kind,
                version=envelope.aggregate_version,
            )
        elif isinstance(data, TenantState):
            await repo.upsert_tenant(
                db,
                tenant_id=tenant_id,
                name=data.name,
                tier=data.tier,
                currency=data.default_currency,
                timezone=data.default_timezone,
                version=envelope.aggregate_version,
            )

    async def _order_sync(
        self, db: Db, tenant_id: UUID, data: OrderOdooSynced | OrderOdooSyncFailed
    ) -> None:
        await repo.lock_order(db, data.order_id)
        before = await repo.order_sync_state(db, tenant_id, data.order_id)
        if isinstance(data, OrderOdooSynced):
            await repo.mark_order_synced(db, tenant_id, data.order_id, data.odoo_order_id)
        else:
            error = f"{data.error_class}: {data.message}"[:500]
            await repo.mark_order_sync_failed(db, tenant_id, data.order_id, error)
        after = await repo.order_sync_state(db, tenant_id, data.order_id)
        if after != before:
            await repo.move_sync_count(db, tenant_id, data.order_id, before, after)

    async def _order_placed(self, db: Db, tenant_id: UUID, data: OrderPlaced) -> None:
        lines = [
            {
                "line_id": line.line_id,
                "product_ref": line.product_ref,
                "product_name": line.product_name,
                "quantity": Decimal(line.quantity),
                "gross": line.gross,
                "discount": line.discount,
                "net": line.net,
                "tax": line.tax,
                "total": line.total,
                "tax_rate_percent": Decimal(line.tax_rate_percent),
                "prices_include_tax": line.prices_include_tax,
            }
            for line in data.lines
        ]
        order = {
            "tenant_id": tenant_id,
            "order_id": data.order_id,
            "shop_id": data.shop_id,
            "register_id": data.register_id,
            "session_id": data.session_id,
            "business_date": data.business_date,
            "created_at": data.created_at,
            "receipt_number": data.receipt_number,
            "receipt_sequence": data.receipt_sequence,
            "currency": data.currency,
            "gross": sum(line.gross for line in data.lines),
            "discount": sum(line.discount for line in data.lines),
            "net_total": data.net_total,
            "tax_total": data.tax_total,
            "total": data.total,
            "source": data.source,
        }
        payments = [p.model_dump() for p in data.payments]
        await repo.lock_order(db, data.order_id)
        if not await repo.place_order(db, order, lines, payments, slot_of(data.created_at)):
            log.info("order_already_projected", order_id=str(data.order_id))

    async def _order_refunded(self, db: Db, tenant_id: UUID, data: OrderRefunded) -> None:
        refund = {
            "tenant_id": tenant_id,
            "refund_id": data.refund_id,
            "order_id": data.order_id,
            "shop_id": data.shop_id,
            "register_id": data.register_id,
            "session_id": data.session_id,
            "business_date": data.business_date,
            "created_at": data.created_at,
            "currency": data.currency,
            "reason": data.reason,
            "net_total": data.net_total,
            "tax_total": data.tax_total,
            "total": data.total,
        }
        lines = [{**line.model_dump(), "quantity": Decimal(line.quantity)} for line in data.lines]
        payments = [p.model_dump() for p in data.payments]
        if not await repo.record_refund(db, refund, lines, payments, slot_of(data.created_at)):
            log.info("refund_already_projected", refund_id=str(data.refund_id))

    async def _session(
        self,
        db: Db,
        envelope: EventEnvelope,
        data: SessionOpened | SessionClosed,
        *,
        live: bool,
    ) -> None:
        session: dict[str, Any] = {
            "tenant_id": envelope.tenant_id,
            "session_id": data.session_id,
            "register_id": data.register_id,
            "shop_id": data.shop_id,
            "business_date": data.business_date,
            "state": "open",
            "currency": data.currency,
            "opened_at": data.opened_at,
            "opened_by": data.opened_by,
            "opening_cash": data.opening_cash,
            "version": envelope.aggregate_version,
        }
        if isinstance(data, SessionClosed):
            session.update(
                state="closed",
                closed_at=data.closed_at,
                closed_by=data.closed_by,
                expected_cash=data.expected_cash,
                counted_cash=data.counted_cash,
                closing_note=data.note,
            )
        await repo.upsert_session(db, session)
        # A session imported from Odoo closed long ago: its shift is history, not news.
        if isinstance(data, SessionClosed) and live and data.source == "pos":
            await repo.claim_shift_close(
                db, envelope.tenant_id, data.shop_id, data.session_id, data.business_date
            )

    async def _register(self, db: Db, envelope: EventEnvelope, data: RegisterState) -> None:
        tenant_id = envelope.tenant_id
        await repo.upsert_register(
            db,
            tenant_id=tenant_id,
            register_id=data.register_id,
            shop_id=data.shop_id,
            name=data.name,
            receipt_prefix=data.receipt_prefix,
            active=data.active,
            tier=data.tenant_tier,
            version=envelope.aggregate_version,
        )
        await repo.upsert_shop_from_register_event(
            db,
            tenant_id=tenant_id,
            shop_id=data.shop_id,
            name=data.shop_name,
            currency=data.currency,
            timezone=data.timezone,
            cutoff=parse_cutoff(data.business_day_cutoff),
            info_at=envelope.occurred_at,
        )


REPLAY_PAGE = 1000


async def rebuild(pool: asyncpg.Pool, projector: Projector, tenant_id: UUID | None) -> int:
    """Empties the read models of one tenant (or all) and replays the event log into them.

    Each tenant is rebuilt in one transaction holding its lock, so live events of that tenant
    wait for it and readers see either the old tables or the rebuilt ones, never half of each.
    Returns the number of events replayed.
    """
    replayed = 0
    async with pool.acquire() as db:
        tenants = [tenant_id] if tenant_id is not None else await repo.logged_tenants(db)
        for tenant in tenants:
            async with db.transaction():
                await repo.lock_tenant_for_rebuild(db, tenant)
                await repo.clear_read_models(db, tenant)
                after: tuple[datetime, int, UUID] | None = None
                while page := await repo.logged_events(db, tenant, after, REPLAY_PAGE):
                    for row in page:
                        envelope = EventEnvelope.model_validate(row["envelope"])
                        await projector.project(db, envelope, parse_data(envelope), live=False)
                    last = page[-1]
                    after = (last["occurred_at"], last["aggregate_version"], last["event_id"])
                    replayed += len(page)
            log.info("read_models_rebuilt", tenant_id=str(tenant))
    return replayed


# Reports.


_TOTAL_KEYS = (
    "order_count",
    "refund_count",
    "gross",
    "refunds",
    "discounts",
    "sales_tax",
    "refunds_tax",
)


def _totals(rows: Iterable[Fields]) -> Totals:
    keys = _TOTAL_KEYS
    sums = dict.fromkeys(keys, 0)
    for row in rows:
        for key in keys:
            sums[key] += int(row[key] or 0)
    net = sums["gross"] - sums["refunds"]
    return Totals(
        order_count=sums["order_count"],
        refund_count=sums["refund_count"],
        gross=sums["gross"],
        refunds=sums["refunds"],
        net=net,
        average_ticket=average_ticket(net, sums["order_count"]),
        discounts=sums["discounts"],
        sales_tax=sums["sales_tax"],
        refunds_tax=sums["refunds_tax"],
        net_tax=sums["sales_tax"] - sums["refunds_tax"],
    )


def _decimal_text(value: Any) -> str:
    """A decimal as tills write it, without exponent or trailing zeros: '2.500' -> '2.5'."""
    text = format(repo.to_decimal(value).normalize(), "f")
    return text if text != "-0" else "0"


def _product(row: Fields) -> ProductTotals:
    return ProductTotals(
        product_ref=row["product_ref"],
        product_name=row["product_name"] or row["product_ref"],
        quantity=_decimal_text(row["quantity"]),
        gross=row["gross"],
        discounts=row["discounts"],
        total=row["total"],
        refund_quantity=_decimal_text(row["refund_quantity"]),
        refunds=row["refunds"],
        net=row["total"] - row["refunds"],
    )


def _taxes(rows: Iterable[Fields]) -> list[TaxRow]:
    return [
        TaxRow(
            rate=None if row["rate"] is None else _decimal_text(row["rate"]),
            inclusive=row["inclusive"],
            sales_taxable_base=row["sales_base"],
            sales_tax_amount=row["sales_tax"],
            refund_taxable_base=row["refund_base"],
            refund_tax_amount=row["refund_tax"],
            net_taxable_base=row["sales_base"] - row["refund_base"],
            net_tax_amount=row["sales_tax"] - row["refund_tax"],
        )
        for row in rows
    ]


def _hours(rows: Iterable[Fields], cutoff: time | None) -> list[HourTotals]:
    result = [
        HourTotals(
            hour=row["hour"],
            order_count=row["order_count"],
            refund_count=row["refund_count"],
            gross=row["gross"],
            refunds=row["refunds"],
            net=row["gross"] - row["refunds"],
        )
        for row in rows
    ]
    return sorted(result, key=lambda h: hour_order(h.hour, cutoff))


def _payment_methods(rows: Iterable[Fields]) -> list[PaymentMethodTotals]:
    return [
        PaymentMethodTotals(
            method=row["method"],
            kind=row["kind"],
            sale_count=row["sale_count"],
            sales=row["sales"],
            refund_count=row["refund_count"],
            refunds=row["refunds"],
            net=row["sales"] - row["refunds"],
        )
        for row in rows
    ]


def _group(key: str, label: str | None, row: Fields) -> SalesGroup:
    """A group of a sales report by day, hour or register: every figure of Totals."""
    totals = _totals([row])
    return SalesGroup(
        key=key,
        label=label,
        payment_method_id=None,
        kind=None,
        totals=SalesGroupTotals(**totals.model_dump()),
    )


def _payment_method_group(row: Fields) -> SalesGroup:
    sales, refunds, orders = int(row["sales"]), int(row["refunds"]), int(row["orders_paid"])
    return SalesGroup(
        key=row["method"],
        label=row["name"] or row["method"],
        payment_method_id=row["payment_method_id"],
        kind=row["kind"],
        totals=SalesGroupTotals(
            order_count=orders,
            refund_count=int(row["refunds_paid"]),
            gross=sales,
            refunds=refunds,
            net=sales - refunds,
            average_ticket=None,
            discounts=None,
            sales_tax=None,
            refunds_tax=None,
            net_tax=None,
        ),
    )


def _product_group(row: Fields) -> SalesGroup:
    sold, refunds = int(row["total"]), int(row["refunds"])
    sales_tax, refunds_tax = int(row["sales_tax"]), int(row["refunds_tax"])
    return SalesGroup(
        key=row["product_ref"],
        label=row["product_name"] or row["product_ref"],
        payment_method_id=None,
        kind=None,
        totals=SalesGroupTotals(
            order_count=int(row["order_count"]),
            refund_count=int(row["refund_count"]),
            gross=sold,
            refunds=refunds,
            net=sold - refunds,
            average_ticket=None,
            discounts=int(row["discounts"]),
            sales_tax=sales_tax,
            refunds_tax=refunds_tax,
            net_tax=sales_tax - refunds_tax,
        ),
    )


@dataclass(frozen=True)
class ShopContext:
    shop_id: UUID
    name: str | None
    currency: str | None
    timezone: str
    cutoff: time | None
    tenant_tier: str | None


class ReportQueries:
    def __init__(self, pool: asyncpg.Pool, clock: Clock = utc_now) -> None:
        self._pool = pool
        self.clock = clock

    async def _shop(self, db: Db, tenant_id: UUID, shop_id: UUID) -> ShopContext:
        row = await repo.get_shop(db, tenant_id, shop_id)
        if row is None:
            raise NotFoundError(
                f"No shop {shop_id} exists, or it has had no registers or sales yet."
            )
        return ShopContext(
            shop_id=shop_id,
            name=row["name"],
            currency=row["currency"] or row["tenant_currency"],
            timezone=row["timezone"] or row["tenant_timezone"] or FALLBACK_TIMEZONE,
            cutoff=row["business_day_cutoff"],
            tenant_tier=row["tenant_tier"],
        )

    async def dashboard(self, actor: Actor, shop_id: UUID) -> DashboardPublic:
        now = self.clock()
        async with self._pool.acquire() as db:
            shop = await self._shop(db, actor.tenant_id, shop_id)
            today = business_date(now, shop.timezone, shop.cutoff)
            by_register = {
                r["register_id"]: r
                for r in await repo.day_totals_by_register(
                    db, actor.tenant_id, shop_id, today, today
                )
            }
            open_sessions: dict[UUID, Fields] = {}
            for session in await repo.open_sessions_of_shop(db, actor.tenant_id, shop_id):
                open_sessions[session["register_id"]] = session  # the latest opened wins
            mentioned = sorted(set(by_register) | set(open_sessions))
            registers = await repo.registers_of_shop(db, actor.tenant_id, shop_id, mentioned)
            register_ids = [r["register_id"] for r in registers]
            takings = {
                t["session_id"]: t
                for t in await repo.session_takings(
                    db, actor.tenant_id, [s["session_id"] for s in open_sessions.values()]
                )
            }
            last_orders = {
                r["register_id"]: r["last_order_at"]
                for r in await repo.last_order_at(db, actor.tenant_id, register_ids)
            }
        cards = []
        for register in registers:
            rid = register["register_id"]
            open_session = open_sessions.get(rid)
            card_session = None
            if open_session is not None:
                taken = takings[open_session["session_id"]]
                card_session = OpenSessionCard(
                    session_id=open_session["session_id"],
                    business_date=open_session["business_date"],
                    opened_at=open_session["opened_at"],
                    opened_by=open_session["opened_by"],
                    opening_cash=open_session["opening_cash"],
                    order_count=taken["order_count"],
                    refund_count=taken["refund_count"],
                    takings=taken["gross"] - taken["refunds"],
                )
            is_pro = "pro" in (register["tier"], shop.tenant_tier)
            counts = by_register.get(rid)
            cards.append(
                RegisterCard(
                    register_id=rid,
                    name=register["name"],
                    today=_totals([by_register[rid]] if rid in by_register else []),
                    open_session=card_session,
                    last_order_at=last_orders.get(rid),
                    odoo_sync=_sync_counts(counts) if is_pro else None,
                )
            )
        return DashboardPublic(
            shop_id=shop_id,
            shop_name=shop.name,
            business_date=today,
            timezone=shop.timezone,
            currency=shop.currency,
            generated_at=now,
            totals=_totals(by_register.values()),
            registers=cards,
        )

    async def daily_report(self, actor: Actor, shop_id: UUID, day: date) -> DailyReportPublic:
        return await self.daily_report_of(actor.tenant_id, shop_id, day)

    async def daily_report_of(self, tenant_id: UUID, shop_id: UUID, day: date) -> DailyReportPublic:
        async with self._pool.acquire() as db:
            shop = await self._shop(db, tenant_id, shop_id)
            by_register = await repo.day_totals_by_register(db, tenant_id, shop_id, day, day)
            hours = await repo.totals_by_local_hour(db, tenant_id, shop_id, day, day, shop.timezone)
            methods = await repo.payment_method_totals(db, tenant_id, shop_id, day, day)
            taxes = await repo.day_taxes(db, tenant_id, shop_id, day)
            products = await repo.product_totals(db, tenant_id, shop_id, day, day, TOP_PRODUCTS)
            refunds = await repo.refunds_of_day(db, tenant_id, shop_id, day)
            sessions = await repo.sessions_of_day(db, tenant_id, shop_id, day)
            still_open = await repo.open_sessions_of_shop(db, tenant_id, shop_id, up_to=day)
            registers = await repo.registers_of_shop(
                db, tenant_id, shop_id, [r["register_id"] for r in by_register]
            )
        names = {r["register_id"]: r["name"] for r in registers}
        return DailyReportPublic(
            shop_id=shop_id,
            shop_name=shop.name,
            business_date=day,
            timezone=shop.timezone,
            currency=shop.currency,
            generated_at=self.clock(),
            complete=not still_open,
            totals=_totals(by_register),
            by_register=[
                RegisterTotals(
                    register_id=r["register_id"],
                    name=names.get(r["register_id"]),
                    totals=_totals([r]),
                )
                for r in sorted(
                    by_register,
                    key=lambda r: (names.get(r["register_id"]) or "", str(r["register_id"])),
                )
            ],
            by_payment_method=_payment_methods(methods),
            taxes=_taxes(taxes),
            by_hour=_hours(hours, shop.cutoff),
            top_products=[_product(p) for p in products],
            refunds=[
                RefundEntry(
                    refund_id=r["refund_id"],
                    order_id=r["order_id"],
                    register_id=r["register_id"],
                    session_id=r["session_id"],
                    created_at=r["created_at"],
                    reason=r["reason"],
                    amount=r["total"],
                    tax=r["tax_total"],
                )
                for r in refunds
            ],
            sessions=[_session_entry(s) for s in sessions],
            registers_still_open=[
                OpenRegister(
                    register_id=s["register_id"],
                    session_id=s["session_id"],
                    business_date=s["business_date"],
                    opened_at=s["opened_at"],
                )
                for s in still_open
            ],
        )

    async def sales_report(
        self, actor: Actor, shop_id: UUID, first: date, last: date, group_by: SalesGroupBy
    ) -> SalesReportPublic:
        if last < first:
            raise InvalidRequestError(
                f"to ({last}) is before from ({first}); give the first and last business "
                "dates of the period, both included.",
                field="to",
            )
        if (last - first).days + 1 > MAX_REPORT_DAYS:
            raise InvalidRequestError(
                f"The period from {first} to {last} spans {(last - first).days + 1} days; "
                f"ask for at most {MAX_REPORT_DAYS} days at a time.",
                field="to",
            )
        tenant_id = actor.tenant_id
        async with self._pool.acquire() as db:
            shop = await self._shop(db, tenant_id, shop_id)
            registers = await repo.day_totals_by_register(db, tenant_id, shop_id, first, last)
            groups: list[SalesGroup]
            if group_by == "day":
                rows = await repo.totals_by_day(db, tenant_id, shop_id, first, last)
                groups = [_group(r["business_date"].isoformat(), None, r) for r in rows]
            elif group_by == "hour":
                rows = await repo.totals_by_local_hour(
                    db, tenant_id, shop_id, first, last, shop.timezone
                )
                ordered = sorted(rows, key=lambda r: hour_order(r["hour"], shop.cutoff))
                groups = [_group(f"{r['hour']:02d}:00", None, r) for r in ordered]
            elif group_by == "register":
                named = await repo.registers_of_shop(
                    db, tenant_id, shop_id, [r["register_id"] for r in registers]
                )
                names = {r["register_id"]: r["name"] for r in named}
                groups = [
                    _group(str(r["register_id"]), names.get(r["register_id"]), r)
                    for r in sorted(registers, key=lambda r: -(r["gross"] - r["refunds"]))
                ]
            elif group_by == "payment_method":
                methods = await repo.payment_method_totals(db, tenant_id, shop_id, first, last)
                groups = [_payment_method_group(m) for m in methods]
            else:
                products = await repo.product_totals(db, tenant_id, shop_id, first, last, None)
                groups = [_product_group(p) for p in products]
        return SalesReportPublic(
            shop_id=shop_id,
            currency=shop.currency,
            timezone=shop.timezone,
            from_date=first,
            to_date=last,
            group_by=group_by,
            totals=_totals(registers),
            groups=groups,
        )

    async def session_report(self, actor: Actor, session_id: UUID) -> SessionReportPublic:
        tenant_id = actor.tenant_id
        async with self._pool.acquire() as db:
            session = await repo.get_session(db, tenant_id, session_id)
            if session is None:
                raise NotFoundError(
                    f"No session {session_id} exists (or its opening has not reached reports yet)."
                )
            actor.check_register(session["register_id"])
            timezone = session["timezone"] or FALLBACK_TIMEZONE
            orders = await repo.session_order_summary(db, tenant_id, session_id)
            refunds = await repo.session_refund_summary(db, tenant_id, session_id)
            tenders = await repo.session_tenders(db, tenant_id, session_id)
            taxes = await repo.session_taxes(db, tenant_id, session_id)
            products = await repo.session_products(db, tenant_id, session_id)
            hours = await repo.session_hours(db, tenant_id, session_id, timezone)
        return _session_report(
            session, orders, refunds, tenders, taxes, products, hours, self.clock()
        )

    async def session_report_of(self, tenant_id: UUID, session_id: UUID) -> SessionReportPublic:
        return await self.session_report(Actor(tenant_id, "reporting", Role.ADMIN), session_id)


def _sync_counts(row: Fields | None) -> SyncCounts:
    orders = int(row["orders"]) if row else 0
    synced = int(row["synced"]) if row else 0
    failed = int(row["failed"]) if row else 0
    return SyncCounts(orders=orders, synced=synced, failed=failed, pending=orders - synced - failed)


def _session_entry(s: Fields) -> SessionEntry:
    counted, expected = s["counted_cash"], s["expected_cash"]
    difference = counted - expected if counted is not None and expected is not None else None
    return SessionEntry(
        session_id=s["session_id"],
        register_id=s["register_id"],
        state=s["state"],
        opened_at=s["opened_at"],
        closed_at=s["closed_at"],
        opened_by=s["opened_by"],
        closed_by=s["closed_by"],
        opening_cash=s["opening_cash"],
        expected_cash=expected,
        counted_cash=counted,
        cash_difference=difference,
    )


def _session_report(
    session: Fields,
    orders: Fields,
    refunds: Fields,
    tenders: Sequence[Fields],
    taxes: Sequence[Fields],
    products: Sequence[Fields],
    hours: Sequence[Fields],
    now: datetime,
) -> SessionReportPublic:
    closed = session["state"] == "closed"
    cash_rows = [t for t in tenders if t["kind"] == "cash"]
    cash_sales = sum(int(t["sales"]) for t in cash_rows)
    cash_refunds = sum(int(t["refunds"]) for t in cash_rows)
    # A Z keeps the drawer figures the till closed with; an X works them out from the facts.
    expected = (
        session["expected_cash"]
        if closed and session["expected_cash"] is not None
        else session["opening_cash"] + cash_sales - cash_refunds
    )
    counted = session["counted_cash"] if closed else None
    over_short = counted - expected if counted is not None else None
    sales_total, refunds_total = int(orders["total"]), int(refunds["total"])
    net_total = sales_total - refunds_total
    tender_rows = []
    for t in tenders:
        is_cash = t["kind"] == "cash"
        drawer = is_cash and len(cash_rows) == 1
        tender_rows.append(
            TenderRow(
                method=t["method"],
                kind=t["kind"],
                is_cash=is_cash,
                sale_count=t["sale_count"],
                sales_amount=t["sales"],
                refund_count=t["refund_count"],
                refunds_amount=t["refunds"],
                net_amount=t["sales"] - t["refunds"],
                expected=expected if drawer else None,
                counted=counted if drawer else None,
                difference=over_short if drawer else None,
            )
        )
    tier = session["register_tier"] or session["tenant_tier"]
    order_count = int(orders["order_count"])
    synced, failed = int(orders["synced"]), int(orders["failed"])
    return SessionReportPublic(
        report_type="Z" if closed else "X",
        tenant_name=session["tenant_name"],
        shop_id=session["shop_id"],
        shop_name=session["shop_name"],
        register_id=session["register_id"],
        register_name=session["register_name"],
        receipt_prefix=session["receipt_prefix"],
        session_id=session["session_id"],
        business_date=session["business_date"],
        opened_at=session["opened_at"],
        closed_at=session["closed_at"],
        generated_at=now,
        opened_by=session["opened_by"],
        closed_by=session["closed_by"],
        closing_note=session["closing_note"],
        currency=session["currency"],
        timezone=session["timezone"] or FALLBACK_TIMEZONE,
        first_receipt_number=orders["first_receipt"],
        last_receipt_number=orders["last_receipt"],
        receipt_count=order_count,
        sales=SalesSummary(
            gross_sales=orders["gross_sales"],
            discount_total=orders["discounts"],
            discounted_order_count=orders["discounted_order_count"],
            sales_total=sales_total,
            refund_count=refunds["refund_count"],
            refunds_total=refunds_total,
            refunds_net=refunds["net"],
            net_total=net_total,
            net_sales=int(orders["net"]) - int(refunds["net"]),
            tax_total=int(orders["tax"]) - int(refunds["tax"]),
            order_count=order_count,
            average_ticket=average_ticket(net_total, order_count),
        ),
        tenders=tender_rows,
        taxes=_taxes(taxes),
        cash_drawer=CashDrawer(
            opening_float=session["opening_cash"],
            cash_sales=cash_sales,
            cash_refunds=cash_refunds,
            expected_cash=expected,
            counted_cash=counted,
            over_short=over_short,
        ),
        by_product=[_product(p) for p in products],
        by_hour=_hours(hours, session["business_day_cutoff"]),
        # A Starter tenant has no Odoo: nothing of its is pending there.
        integration=None
        if tier == "starter"
        else IntegrationStatus(
            tier=tier,
            orders=order_count,
            pending=order_count - synced - failed,
            synced=synced,
            failed=failed,
        ),
    )


# Chat settings.


class ChatSettings:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox) -> None:
        self._pool = pool
        self._box = box

    async def update(self, actor: Actor, body: ChatConfigUpdate) -> ChatConfigPublic:
        hours, minutes = (int(p) for p in body.daily_report_time.split(":"))
        async with self._pool.acquire() as db:
            row = await repo.upsert_chat_config(
                db,
                tenant_id=actor.tenant_id,
                bot_token_encrypted=self._box.seal(body.bot_token),
                chat_id=body.chat_id,
                daily_report_time=time(hours, minutes),
                enabled=body.enabled,
                updated_by=actor.subject,
            )
        log.info("chat_config_updated", tenant_id=str(actor.tenant_id), enabled=body.enabled)
        return self._public(row)

    async def get(self, actor: Actor) -> ChatConfigPublic:
        async with self._pool.acquire() as db:
            row = await repo.get_chat_config(db, actor.tenant_id)
        if row is None:
            raise NotFoundError(
                "No chat is set up for this tenant yet; PUT /v1/chat with a Telegram bot token "
                "and chat id to set one up."
            )
        return self._public(row)

    def _public(self, row: Fields) -> ChatConfigPublic:
        return ChatConfigPublic(
            bot_token=mask_secret(self._box.open(row["bot_token_encrypted"])),
            chat_id=row["chat_id"],
            daily_report_time=row["daily_report_time"].strftime("%H:%M"),
            enabled=row["enabled"],
            updated_at=row["updated_at"],
            updated_by=row["updated_by"],
        )
