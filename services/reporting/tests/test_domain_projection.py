"""What an event adds to the read models, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from reporting.domain.projection import (
    SYNC_ERROR_MAX_CHARS,
    announces_shift_close,
    order_fact,
    refund_fact,
    session_state,
    sync_count_move,
    sync_error_text,
)
from shared.events.contracts import (
    OrderLineState,
    OrderOdooSyncFailed,
    OrderPlaced,
    OrderRefunded,
    PaymentState,
    RefundLineState,
    SessionClosed,
    SessionOpened,
)

TENANT = uuid.uuid4()
AT = datetime(2026, 5, 4, 9, 38, 12, tzinfo=UTC)
DAY = date(2026, 5, 4)


def _line(gross: int, discount: int) -> OrderLineState:
    total = gross - discount
    return OrderLineState(
        line_id=uuid.uuid4(),
        product_ref="latte",
        product_name="Latte",
        quantity="2.50",
        unit_price=gross,
        discount_percent="0",
        tax_rate_percent="10",
        prices_include_tax=True,
        gross=gross,
        discount=discount,
        net=total - total // 11,
        tax=total // 11,
        total=total,
    )


def _order() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(),
        register_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        receipt_number="A-7",
        business_date=DAY,
        created_at=AT,
        currency="EUR",
        lines=[_line(1000, 100), _line(500, 0)],
        payments=[PaymentState(payment_id=uuid.uuid4(), method="cash", kind="cash", amount=1400)],
        net_total=1273,
        tax_total=127,
        total=1400,
    )


def _opened() -> SessionOpened:
    return SessionOpened(
        session_id=uuid.uuid4(),
        register_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        business_date=DAY,
        opened_at=AT,
        currency="EUR",
        opening_cash=1000,
        opened_by="ana",
    )


def _closed(opened: SessionOpened, source: str = "pos") -> SessionClosed:
    return SessionClosed.model_validate(
        {
            **opened.model_dump(),
            "closed_at": AT,
            "expected_cash": 2400,
            "counted_cash": 2390,
            "cash_difference": -10,
            "order_count": 1,
            "refund_count": 0,
            "sales_total": 1400,
            "refunds_total": 0,
            "net_total": 1400,
            "tenders": [],
            "closed_by": "ben",
            "note": "short a coin",
            "source": source,
        }
    )


def test_an_orders_gross_and_discount_are_those_of_its_lines() -> None:
    fact = order_fact(TENANT, _order())
    assert (fact.gross, fact.discount, fact.total) == (1500, 100, 1400)
    assert fact.lines[0].quantity == Decimal("2.50")
    assert fact.lines[0].tax_rate_percent == Decimal("10")
    assert fact.payments[0].amount == 1400


def test_an_order_and_a_refund_go_in_the_quarter_hour_they_happened_in() -> None:
    assert order_fact(TENANT, _order()).slot == datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    refund = OrderRefunded(
        refund_id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        register_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        business_date=DAY,
        created_at=datetime(2026, 5, 4, 9, 45, tzinfo=UTC),
        currency="EUR",
        reason="cold",
        lines=[
            RefundLineState(
                refund_line_id=uuid.uuid4(),
                order_line_id=uuid.uuid4(),
                product_ref="latte",
                quantity="1",
                net=455,
                tax=45,
                total=500,
            )
        ],
        payments=[],
        net_total=455,
        tax_total=45,
        total=500,
    )
    fact = refund_fact(TENANT, refund)
    assert fact.slot == datetime(2026, 5, 4, 9, 45, tzinfo=UTC)
    assert fact.lines[0].quantity == Decimal("1")


def test_a_closed_session_carries_its_closing_figures() -> None:
    opened = _opened()
    assert session_state(TENANT, 1, opened).state == "open"
    assert session_state(TENANT, 1, opened).counted_cash is None
    closed = session_state(TENANT, 2, _closed(opened))
    assert (closed.state, closed.version, closed.opening_cash) == ("closed", 2, 1000)
    assert (closed.expected_cash, closed.counted_cash, closed.closed_by) == (2400, 2390, "ben")
    assert closed.closing_note == "short a coin"


def test_only_a_live_close_at_the_till_is_news_for_the_chat() -> None:
    opened = _opened()
    assert announces_shift_close(_closed(opened), live=True)
    assert not announces_shift_close(_closed(opened), live=False)
    assert not announces_shift_close(_closed(opened, source="odoo_pulled"), live=True)
    assert not announces_shift_close(opened, live=True)


def test_a_sync_error_is_cut_to_what_an_operator_reads() -> None:
    failure = OrderOdooSyncFailed(order_id=uuid.uuid4(), error_class="OdooError", message="x" * 900)
    text = sync_error_text(failure)
    assert text.startswith("OdooError: xxx")
    assert len(text) == SYNC_ERROR_MAX_CHARS


def test_a_new_verdict_moves_the_order_between_its_days_counts() -> None:
    first_success = sync_count_move(None, "synced")
    assert (first_success.synced, first_success.failed) == (1, 0)
    first_failure = sync_count_move(None, "failed")
    assert (first_failure.synced, first_failure.failed) == (0, 1)
    success_after_failure = sync_count_move("failed", "synced")
    assert (success_after_failure.synced, success_after_failure.failed) == (1, -1)
