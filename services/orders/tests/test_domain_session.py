"""A cash session's arithmetic without a database: totals by tender, the cash the drawer holds."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from orders.domain.model import CashSession
from orders.domain.session import (
    SessionTotals,
    TenderSums,
    cash_difference,
    check_can_close,
    expected_cash,
    expected_cash_now,
)
from shared.errors import ConflictError, InvalidRequestError

OPEN = CashSession(
    session_id=uuid.uuid4(),
    tenant_id=uuid.uuid4(),
    register_id=uuid.uuid4(),
    shop_id=uuid.uuid4(),
    state="open",
    business_date=date(2026, 3, 1),
    currency="EUR",
    opened_at=datetime(2026, 3, 1, 7, tzinfo=UTC),
    opened_by="ana",
    opened_implicitly=False,
    opening_cash=10_000,
    closed_at=None,
    closed_by=None,
    counted_cash=None,
    expected_cash=None,
    closing_note=None,
    version=1,
    source="pos",
    odoo_session_id=None,
    odoo_session_name=None,
    sync_state="local",
    sync_error=None,
)
TOTALS = SessionTotals(
    order_count=5,
    refund_count=1,
    sales_total=9_000,
    refunds_total=500,
    tenders=(
        TenderSums("cash", "cash", sales=4_000, refunds=500),
        TenderSums("visa", "card", sales=5_000, refunds=0),
    ),
)


def test_only_cash_tenders_count_towards_the_drawer() -> None:
    assert (TOTALS.cash_sales, TOTALS.cash_refunds, TOTALS.net_total) == (4_000, 500, 8_500)
    assert [t.net for t in TOTALS.tenders] == [3_500, 5_000]


def test_the_drawer_should_hold_the_opening_cash_plus_cash_taken_minus_cash_handed_back() -> None:
    assert expected_cash(OPEN, TOTALS) == 10_000 + 4_000 - 500


def test_a_closed_session_keeps_the_expected_cash_stored_at_its_close() -> None:
    closed = replace(OPEN, state="closed", expected_cash=13_000, counted_cash=12_900)
    assert expected_cash_now(closed, TOTALS) == 13_000
    assert expected_cash_now(OPEN, TOTALS) == 13_500


def test_the_cash_difference_is_negative_when_short_and_none_before_the_count() -> None:
    assert cash_difference(OPEN, 13_500) is None
    assert cash_difference(replace(OPEN, counted_cash=13_400), 13_500) == -100


def test_a_session_with_nothing_sold_expects_its_opening_cash() -> None:
    assert expected_cash(OPEN, SessionTotals()) == 10_000


def test_a_closed_session_cannot_be_closed_again() -> None:
    closed = replace(OPEN, state="closed", closed_at=datetime(2026, 3, 1, 18, tzinfo=UTC))
    with pytest.raises(ConflictError, match="already closed at 2026-03-01T18:00:00"):
        check_can_close(closed, "EUR")


def test_the_counted_cash_is_in_the_sessions_currency() -> None:
    check_can_close(OPEN, "EUR")
    with pytest.raises(InvalidRequestError) as refused:
        check_can_close(OPEN, "USD")
    assert refused.value.field == "counted_cash"
