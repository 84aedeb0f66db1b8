"""Report arithmetic without a database: totals, sync counts, products, taxes, sales groups."""

from __future__ import annotations

import uuid
from datetime import date, time
from decimal import Decimal

from reporting.domain.figures import (
    Counters,
    DayFigures,
    HourFigures,
    PaymentMethodFigures,
    ProductFigures,
    RegisterFigures,
    TaxFigures,
    dashboard_sync_status,
    decimal_text,
    groups_by_day,
    groups_by_hour,
    groups_by_payment_method,
    groups_by_product,
    groups_by_register,
    sum_totals,
    sync_status,
)

MORNING = Counters(order_count=2, gross=1000, discounts=50, sales_tax=91)
REFUNDED = Counters(
    order_count=1, refund_count=1, gross=500, refunds=200, sales_tax=45, refunds_tax=18
)


def _product(ref: str, name: str | None, total: int, refunds: int) -> ProductFigures:
    return ProductFigures(
        product_ref=ref,
        product_name=name,
        quantity=Decimal("2.500"),
        gross=total,
        discounts=0,
        total=total,
        refund_quantity=Decimal("0"),
        refunds=refunds,
        order_count=3,
        refund_count=1,
        sales_tax=20,
        refunds_tax=5,
    )


def test_totals_add_the_counters_and_net_is_gross_less_refunds() -> None:
    totals = sum_totals([MORNING, REFUNDED])
    assert (totals.order_count, totals.refund_count) == (3, 1)
    assert (totals.gross, totals.refunds, totals.net) == (1500, 200, 1300)
    assert totals.average_ticket == 433  # 1300 / 3, rounded half up
    assert (totals.sales_tax, totals.refunds_tax, totals.net_tax) == (136, 18, 118)
    assert totals.discounts == 50


def test_totals_of_nothing_are_zero() -> None:
    totals = sum_totals([])
    assert totals.net == totals.average_ticket == totals.order_count == 0


def test_orders_the_connector_has_not_reported_on_are_pending() -> None:
    figures = RegisterFigures(uuid.uuid4(), Counters(order_count=10), synced=6, failed=1)
    status = sync_status(figures)
    assert (status.orders, status.synced, status.failed, status.pending) == (10, 6, 1, 3)
    assert sync_status(None).pending == 0


def test_the_dashboard_shows_odoo_counts_when_the_register_or_its_tenant_is_on_pro() -> None:
    figures = RegisterFigures(uuid.uuid4(), Counters(order_count=4), synced=3)
    assert dashboard_sync_status(figures, "pro", "starter") == sync_status(figures)
    assert dashboard_sync_status(figures, None, "pro") == sync_status(figures)
    assert dashboard_sync_status(None, "pro", None) == sync_status(None)


def test_the_dashboard_shows_no_odoo_counts_for_a_starter_register() -> None:
    figures = RegisterFigures(uuid.uuid4(), Counters(order_count=4), synced=3)
    assert dashboard_sync_status(figures, "starter", "starter") is None
    assert dashboard_sync_status(figures, None, None) is None


def test_a_quantity_reads_as_the_till_wrote_it() -> None:
    assert decimal_text(Decimal("2.500")) == "2.5"
    assert decimal_text(Decimal("1E+1")) == "10"
    assert decimal_text(Decimal("-0.000")) == "0"


def test_a_product_given_back_before_its_sale_arrived_is_named_by_its_ref() -> None:
    assert _product("latte", None, 0, 300).label == "latte"
    assert _product("latte", "", 0, 300).label == "latte"
    assert _product("latte", "Latte", 900, 300).net == 600


def test_a_tax_rows_net_is_sales_less_refunds() -> None:
    tax = TaxFigures(
        Decimal("10"), True, sales_base=1000, sales_tax=100, refund_base=200, refund_tax=20
    )
    assert (tax.net_base, tax.net_tax) == (800, 80)


def test_a_day_group_has_every_figure_of_the_totals() -> None:
    (group,) = groups_by_day([DayFigures(date(2026, 3, 1), REFUNDED)])
    assert group.key == "2026-03-01"
    assert group.label is None
    assert group.totals.net == 300
    assert group.totals.average_ticket == 300
    assert group.totals.net_tax == 27
    assert group.totals.discounts == 0


def test_hours_come_in_trading_order_from_the_cutoff() -> None:
    hours = [HourFigures(h, MORNING) for h in (0, 3, 4, 23)]
    groups = groups_by_hour(hours, time(4, 0))
    assert [g.key for g in groups] == ["04:00", "23:00", "00:00", "03:00"]


def test_registers_come_best_selling_first_with_their_names() -> None:
    small, big = uuid.uuid4(), uuid.uuid4()
    groups = groups_by_register(
        [RegisterFigures(small, REFUNDED), RegisterFigures(big, MORNING)], {big: "Bar"}
    )
    assert [(g.key, g.label) for g in groups] == [(str(big), "Bar"), (str(small), None)]


def test_a_payment_method_group_has_no_discounts_tax_or_average_ticket() -> None:
    method = PaymentMethodFigures(
        method="card",
        kind="card",
        payment_method_id=None,
        name=None,
        sale_count=4,
        sales=1200,
        refund_count=1,
        refunds=200,
        orders_paid=3,
        refunds_paid=1,
    )
    (group,) = groups_by_payment_method([method])
    assert (group.key, group.label, group.kind) == ("card", "card", "card")
    totals = group.totals
    assert (totals.order_count, totals.refund_count, totals.net) == (3, 1, 1000)
    assert totals.average_ticket is totals.discounts is totals.sales_tax is totals.net_tax is None


def test_a_product_group_has_its_tax_but_no_average_ticket() -> None:
    (group,) = groups_by_product([_product("latte", "Latte", 900, 300)])
    assert (group.key, group.label) == ("latte", "Latte")
    assert (group.totals.gross, group.totals.net, group.totals.net_tax) == (900, 600, 15)
    assert group.totals.average_ticket is None
