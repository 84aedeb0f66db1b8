"""The chat texts, rendered from reports built by hand: no database, no chat API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from reporting.chat_messages import daily_message, shift_close_message
from reporting.http_models import (
    CashDrawer,
    DailyReportPublic,
    IntegrationStatus,
    OpenRegister,
    RefundEntry,
    SalesSummary,
    SessionReportPublic,
    Totals,
)

AT = datetime(2026, 5, 4, 18, 0, tzinfo=UTC)
DAY = date(2026, 5, 4)
NO_SALES = SalesSummary(
    gross_sales=0,
    discount_total=0,
    discounted_order_count=0,
    sales_total=0,
    refund_count=0,
    refunds_total=0,
    refunds_net=0,
    net_total=0,
    net_sales=0,
    tax_total=0,
    order_count=0,
    average_ticket=0,
)
NO_TOTALS = Totals(
    order_count=0,
    refund_count=0,
    gross=0,
    refunds=0,
    net=0,
    average_ticket=0,
    discounts=0,
    sales_tax=0,
    refunds_tax=0,
    net_tax=0,
)


def _shift(over_short: int, integration: IntegrationStatus | None) -> SessionReportPublic:
    return SessionReportPublic(
        report_type="Z",
        tenant_name="Cafe",
        shop_id=uuid.uuid4(),
        shop_name="Harbour",
        register_id=uuid.uuid4(),
        register_name="Till 1",
        receipt_prefix="A",
        session_id=uuid.uuid4(),
        business_date=DAY,
        opened_at=AT,
        closed_at=AT,
        generated_at=AT,
        opened_by="ana",
        closed_by="ben",
        closing_note=None,
        currency="EUR",
        timezone="Europe/Paris",
        first_receipt_number=None,
        last_receipt_number=None,
        receipt_count=0,
        sales=NO_SALES,
        tenders=[],
        taxes=[],
        cash_drawer=CashDrawer(
            opening_float=1000,
            cash_sales=0,
            cash_refunds=0,
            expected_cash=1000,
            counted_cash=1000 + over_short,
            over_short=over_short,
        ),
        by_product=[],
        by_hour=[],
        integration=integration,
    )


def _refund(amount: int) -> RefundEntry:
    return RefundEntry(
        refund_id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        register_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        created_at=AT,
        reason="cold",
        amount=amount,
        tax=0,
    )


def _daily(refunds: list[RefundEntry], still_open: list[OpenRegister]) -> DailyReportPublic:
    return DailyReportPublic(
        shop_id=uuid.uuid4(),
        shop_name="Harbour",
        business_date=DAY,
        timezone="Europe/Paris",
        currency="EUR",
        generated_at=AT,
        complete=not still_open,
        totals=NO_TOTALS,
        by_register=[],
        by_payment_method=[],
        taxes=[],
        by_hour=[],
        top_products=[],
        refunds=refunds,
        sessions=[],
        registers_still_open=still_open,
    )


def test_a_drawer_over_or_short_says_which() -> None:
    assert "Difference: +0.30 EUR (over)" in shift_close_message(_shift(30, None))
    assert "Difference: -0.50 EUR (short)" in shift_close_message(_shift(-50, None))
    assert "Difference: 0.00 EUR\n" in shift_close_message(_shift(0, None))


def test_a_shift_close_names_the_register_and_the_shop() -> None:
    assert shift_close_message(_shift(0, None)).startswith("Shift closed: Till 1 · Harbour")


def test_a_starter_shift_has_no_odoo_and_a_pro_one_points_at_failures() -> None:
    assert shift_close_message(_shift(0, None)).endswith("Odoo: not connected")
    failing = IntegrationStatus(tier="pro", orders=5, pending=1, synced=3, failed=1)
    assert shift_close_message(_shift(0, failing)).endswith(
        "Odoo: 3 synced, 1 pending, 1 failed  <- check the connector"
    )


def test_the_daily_message_lists_ten_refunds_and_counts_the_rest() -> None:
    text = daily_message(_daily([_refund(100 + n) for n in range(12)], []))
    assert "  1.09 EUR: cold" in text
    assert "1.10 EUR" not in text
    assert "  and 2 more" in text


def test_a_day_with_a_register_still_open_is_not_final() -> None:
    still_open = OpenRegister(
        register_id=uuid.uuid4(), session_id=uuid.uuid4(), business_date=DAY, opened_at=AT
    )
    assert "Still open: 1 register(s); not final." in daily_message(_daily([], [still_open]))
    assert "Still open" not in daily_message(_daily([], []))
