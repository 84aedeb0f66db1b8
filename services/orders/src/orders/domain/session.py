"""A cash session's arithmetic: what it sold and refunded, by tender, and the cash expected in
the drawer at its close."""

from __future__ import annotations

from dataclasses import dataclass

from orders.domain.model import CashSession
from shared.errors import ConflictError, InvalidRequestError


@dataclass(frozen=True)
class TenderSums:
    method: str
    kind: str
    sales: int
    refunds: int

    @property
    def net(self) -> int:
        return self.sales - self.refunds


@dataclass(frozen=True)
class SessionTotals:
    order_count: int = 0
    refund_count: int = 0
    sales_total: int = 0
    refunds_total: int = 0
    tenders: tuple[TenderSums, ...] = ()
    first_receipt_number: str | None = None
    last_receipt_number: str | None = None

    @property
    def net_total(self) -> int:
        return self.sales_total - self.refunds_total

    @property
    def cash_sales(self) -> int:
        return sum(t.sales for t in self.tenders if t.kind == "cash")

    @property
    def cash_refunds(self) -> int:
        return sum(t.refunds for t in self.tenders if t.kind == "cash")


def expected_cash(session: CashSession, totals: SessionTotals) -> int:
    """The drawer's cash: what it opened with, plus cash taken, minus cash handed back."""
    return session.opening_cash + totals.cash_sales - totals.cash_refunds


def expected_cash_now(session: CashSession, totals: SessionTotals) -> int:
    """The expected cash stored at the close, or, while the session is open, so far."""
    if session.expected_cash is not None:
        return session.expected_cash
    return expected_cash(session, totals)


def cash_difference(session: CashSession, expected: int) -> int | None:
    """Counted minus expected: negative when the drawer is short; None before the count."""
    return session.counted_cash - expected if session.counted_cash is not None else None


def check_can_close(session: CashSession, counted_currency: str) -> None:
    if session.state != "open":
        closed_at = session.closed_at.isoformat() if session.closed_at else "an unknown time"
        raise ConflictError(f"Session {session.session_id} was already closed at {closed_at}.")
    if counted_currency != session.currency:
        raise InvalidRequestError(
            f"counted_cash is in {counted_currency} but the session counts {session.currency}.",
            field="counted_cash",
        )
