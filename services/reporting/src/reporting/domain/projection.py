"""What each event adds to the read models: its facts, its session state, its sync verdict."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from reporting.domain.business_calendar import slot_of
from shared.events.contracts import (
    OrderOdooSyncFailed,
    OrderPlaced,
    OrderRefunded,
    PaymentState,
    SessionClosed,
    SessionOpened,
)

# order_sync.error is for an operator's eye; the dead letter keeps the whole message.
SYNC_ERROR_MAX_CHARS = 500


@dataclass(frozen=True)
class PaymentFact:
    payment_id: UUID
    method: str
    kind: str
    amount: int


@dataclass(frozen=True)
class OrderLineFact:
    line_id: UUID
    product_ref: str
    product_name: str
    quantity: Decimal
    gross: int
    discount: int
    net: int
    tax: int
    total: int
    tax_rate_percent: Decimal
    prices_include_tax: bool


@dataclass(frozen=True)
class OrderFact:
    """A placed order as the read models keep it; `slot` is its quarter hour in the rollups."""

    tenant_id: UUID
    order_id: UUID
    shop_id: UUID
    register_id: UUID
    session_id: UUID
    business_date: date
    created_at: datetime
    slot: datetime
    receipt_number: str
    receipt_sequence: int | None
    currency: str
    gross: int
    discount: int
    net_total: int
    tax_total: int
    total: int
    source: str
    lines: tuple[OrderLineFact, ...]
    payments: tuple[PaymentFact, ...]


@dataclass(frozen=True)
class RefundLineFact:
    refund_line_id: UUID
    order_line_id: UUID
    product_ref: str
    quantity: Decimal
    net: int
    tax: int
    total: int


@dataclass(frozen=True)
class RefundFact:
    tenant_id: UUID
    refund_id: UUID
    order_id: UUID
    shop_id: UUID
    register_id: UUID
    session_id: UUID
    business_date: date
    created_at: datetime
    slot: datetime
    currency: str
    reason: str
    net_total: int
    tax_total: int
    total: int
    lines: tuple[RefundLineFact, ...]
    payments: tuple[PaymentFact, ...]


@dataclass(frozen=True)
class SessionState:
    """A session as its latest event describes it; `version` decides which event is latest."""

    tenant_id: UUID
    session_id: UUID
    register_id: UUID
    shop_id: UUID
    business_date: date
    state: str
    currency: str
    opened_at: datetime
    opened_by: str
    opening_cash: int
    version: int
    closed_at: datetime | None = None
    closed_by: str | None = None
    expected_cash: int | None = None
    counted_cash: int | None = None
    closing_note: str | None = None


@dataclass(frozen=True)
class SyncCountMove:
    """How an order's new Odoo verdict moves its day's synced and failed counts."""

    synced: int
    failed: int


def _payments(payments: list[PaymentState]) -> tuple[PaymentFact, ...]:
    return tuple(PaymentFact(p.payment_id, p.method, p.kind, p.amount) for p in payments)


def order_fact(tenant_id: UUID, order: OrderPlaced) -> OrderFact:
    """The order's gross and discount are those of its lines: the event carries no order sums."""
    return OrderFact(
        tenant_id=tenant_id,
        order_id=order.order_id,
        shop_id=order.shop_id,
        register_id=order.register_id,
        session_id=order.session_id,
        business_date=order.business_date,
        created_at=order.created_at,
        slot=slot_of(order.created_at),
        receipt_number=order.receipt_number,
        receipt_sequence=order.receipt_sequence,
        currency=order.currency,
        gross=sum(line.gross for line in order.lines),
        discount=sum(line.discount for line in order.lines),
        net_total=order.net_total,
        tax_total=order.tax_total,
        total=order.total,
        source=order.source,
        lines=tuple(
            OrderLineFact(
                line_id=line.line_id,
                product_ref=line.product_ref,
                product_name=line.product_name,
                quantity=Decimal(line.quantity),
                gross=line.gross,
                discount=line.discount,
                net=line.net,
                tax=line.tax,
                total=line.total,
                tax_rate_percent=Decimal(line.tax_rate_percent),
                prices_include_tax=line.prices_include_tax,
            )
            for line in order.lines
        ),
        payments=_payments(order.payments),
    )


def refund_fact(tenant_id: UUID, refund: OrderRefunded) -> RefundFact:
    return RefundFact(
        tenant_id=tenant_id,
        refund_id=refund.refund_id,
        order_id=refund.order_id,
        shop_id=refund.shop_id,
        register_id=refund.register_id,
        session_id=refund.session_id,
        business_date=refund.business_date,
        created_at=refund.created_at,
        slot=slot_of(refund.created_at),
        currency=refund.currency,
        reason=refund.reason,
        net_total=refund.net_total,
        tax_total=refund.tax_total,
        total=refund.total,
        lines=tuple(
            RefundLineFact(
                refund_line_id=line.refund_line_id,
                order_line_id=line.order_line_id,
                product_ref=line.product_ref,
                quantity=Decimal(line.quantity),
                net=line.net,
                tax=line.tax,
                total=line.total,
            )
            for line in refund.lines
        ),
        payments=_payments(refund.payments),
    )


def session_state(
    tenant_id: UUID, version: int, event: SessionOpened | SessionClosed
) -> SessionState:
    opened = SessionState(
        tenant_id=tenant_id,
        session_id=event.session_id,
        register_id=event.register_id,
        shop_id=event.shop_id,
        business_date=event.business_date,
        state="open",
        currency=event.currency,
        opened_at=event.opened_at,
        opened_by=event.opened_by,
        opening_cash=event.opening_cash,
        version=version,
    )
    if isinstance(event, SessionOpened):
        return opened
    return replace(
        opened,
        state="closed",
        closed_at=event.closed_at,
        closed_by=event.closed_by,
        expected_cash=event.expected_cash,
        counted_cash=event.counted_cash,
        closing_note=event.note,
    )


def announces_shift_close(event: SessionOpened | SessionClosed, *, live: bool) -> bool:
    """A shift close is news once: not during a rebuild, and not for a session imported from
    Odoo, which closed long ago."""
    return isinstance(event, SessionClosed) and live and event.source == "pos"


def sync_error_text(verdict: OrderOdooSyncFailed) -> str:
    return f"{verdict.error_class}: {verdict.message}"[:SYNC_ERROR_MAX_CHARS]


def sync_count_move(before: str | None, after: str | None) -> SyncCountMove:
    """An order leaves the count of its old verdict and joins that of its new one."""
    return SyncCountMove(
        synced=(after == "synced") - (before == "synced"),
        failed=(after == "failed") - (before == "failed"),
    )
