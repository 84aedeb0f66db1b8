"""The X/Z session report's arithmetic without a database: drawer, tenders, summary, Odoo."""

from __future__ import annotations

from reporting.domain.session_figures import (
    SessionCash,
    SessionOrderSummary,
    SessionRefundSummary,
    TenderFigures,
    cash_difference,
    cash_drawer,
    integration_status,
    report_type,
    sales_summary,
    tender_lines,
)

CASH = TenderFigures("cash", "cash", sale_count=3, sales=1500, refund_count=1, refunds=200)
CARD = TenderFigures("card", "card", sale_count=2, sales=900, refund_count=0, refunds=0)
ORDERS = SessionOrderSummary(
    order_count=5,
    gross_sales=2500,
    discounts=100,
    discounted_order_count=1,
    net=2182,
    tax=218,
    total=2400,
    first_receipt="A-1",
    last_receipt="A-5",
    synced=3,
    failed=1,
)
REFUNDS = SessionRefundSummary(refund_count=1, net=182, tax=18, total=200)


def test_an_open_session_is_an_x_and_works_out_the_drawer_from_its_cash_takings() -> None:
    cash = SessionCash(closed=False, opening_cash=1000, expected_cash=None, counted_cash=None)
    drawer = cash_drawer(cash, [CASH, CARD])
    assert report_type(cash) == "X"
    assert (drawer.cash_sales, drawer.cash_refunds) == (1500, 200)
    assert drawer.expected_cash == 2300
    assert drawer.counted_cash is None
    assert drawer.over_short is None


def test_a_closed_session_is_a_z_and_keeps_the_figures_the_till_closed_with() -> None:
    cash = SessionCash(closed=True, opening_cash=1000, expected_cash=2250, counted_cash=2200)
    drawer = cash_drawer(cash, [CASH, CARD])
    assert report_type(cash) == "Z"
    assert (drawer.expected_cash, drawer.counted_cash, drawer.over_short) == (2250, 2200, -50)


def test_the_drawer_figures_sit_on_the_cash_tender_when_there_is_one() -> None:
    cash = SessionCash(closed=True, opening_cash=0, expected_cash=1300, counted_cash=1310)
    drawer = cash_drawer(cash, [CASH, CARD])
    on_cash, on_card = tender_lines([CASH, CARD], drawer)
    assert (on_cash.expected, on_cash.counted, on_cash.difference) == (1300, 1310, 10)
    assert on_card.expected is on_card.counted is on_card.difference is None
    assert on_cash.tender.net == 1300


def test_with_two_cash_methods_the_drawer_belongs_to_neither() -> None:
    petty = TenderFigures("petty", "cash", sale_count=1, sales=100, refund_count=0, refunds=0)
    cash = SessionCash(closed=False, opening_cash=0, expected_cash=None, counted_cash=None)
    drawer = cash_drawer(cash, [CASH, petty])
    assert drawer.expected_cash == 1400
    assert all(line.expected is None for line in tender_lines([CASH, petty], drawer))


def test_the_sales_summary_takes_refunds_off_sales_with_and_without_tax() -> None:
    summary = sales_summary(ORDERS, REFUNDS)
    assert (summary.sales_total, summary.refunds_total, summary.net_total) == (2400, 200, 2200)
    assert (summary.net_sales, summary.tax_total) == (2000, 200)
    assert summary.average_ticket == 440
    assert (summary.gross_sales, summary.discount_total) == (2500, 100)


def test_a_starter_session_has_no_odoo_status() -> None:
    assert integration_status("starter", "pro", ORDERS) is None
    assert integration_status(None, "starter", ORDERS) is None


def test_a_pro_sessions_unreported_orders_are_pending() -> None:
    status = integration_status(None, "pro", ORDERS)
    assert status is not None
    assert (status.tier, status.orders, status.synced, status.failed, status.pending) == (
        "pro",
        5,
        3,
        1,
        1,
    )


def test_the_cash_difference_is_known_once_both_counts_are() -> None:
    assert cash_difference(1010, 1000) == 10
    assert cash_difference(None, 1000) is None
    assert cash_difference(1000, None) is None
