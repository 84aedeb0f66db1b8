"""The backfill's mapping of Odoo history to the orders service's import contract."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from odoo_connector.backfill import (
    BATCH_SESSIONS,
    BackfillReport,
    OurMethod,
    SessionPlan,
    Skipped,
    Target,
    Unrepresentable,
    batches,
    decimal_text,
    map_order,
    map_refunds,
    map_session,
    orders_pushed_from_here,
    payment_kind,
    plan_history,
    receipt_prefixes,
    tax_figures,
    to_minor,
)
from odoo_connector.cli import summary_table
from odoo_connector.odoo_history import (
    OdooConfig,
    OdooHistory,
    OdooLine,
    OdooOrder,
    OdooPayment,
    OdooPaymentMethod,
    OdooProduct,
    OdooSession,
    OdooTax,
)
from odoo_connector.repository import ConnectorTraces

REGISTER = uuid.UUID("00000000-0000-0000-0000-00000000000b")
CASH, CARD = 1, 2
ESPRESSO, CROISSANT = 31, 33
VAT, INCLUDED_VAT, BOTTLE_DEPOSIT = 7, 8, 9
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def line(
    line_id: int,
    order_id: int,
    qty: float,
    price: float,
    net: float,
    total: float,
    product: int = ESPRESSO,
    taxes: tuple[int, ...] = (VAT,),
    refunds: int | None = None,
) -> OdooLine:
    return OdooLine(line_id, order_id, product, None, qty, price, 0.0, net, total, taxes, refunds)


def order(
    order_id: int,
    lines: list[OdooLine],
    payments: list[tuple[int, float]],
    session: int = 500,
    state: str = "done",
) -> OdooOrder:
    return OdooOrder(
        id=order_id,
        name=f"Shop/{order_id:04d}",
        pos_reference=f"Order 00001-001-{order_id:04d}",
        session_id=session,
        date_order=AT,
        state=state,
        amount_total=sum(li.price_subtotal_incl for li in lines),
        partner_name=None,
        note=None,
        lines=tuple(lines),
        payments=tuple(
            OdooPayment(order_id * 10 + i, order_id, method, amount)
            for i, (method, amount) in enumerate(payments)
        ),
    )


def session(session_id: int = 500, config: int = 1) -> OdooSession:
    return OdooSession(
        session_id, f"POS/{session_id}", config, "Marie", AT, AT.replace(hour=19), 100.0, 104.14
    )


def history(orders: list[OdooOrder], sessions: list[OdooSession] | None = None) -> OdooHistory:
    return OdooHistory(
        version=17,
        configs={1: OdooConfig(1, "Shop", True, "EUR")},
        sessions=sessions or [session()],
        orders=orders,
        refunded_line_orders={},
        methods={
            CASH: OdooPaymentMethod(CASH, "Cash", True, "cash", None),
            CARD: OdooPaymentMethod(CARD, "Card", False, "bank", None),
        },
        taxes={
            VAT: OdooTax(VAT, 15.0, "percent", False),
            INCLUDED_VAT: OdooTax(INCLUDED_VAT, 5.5, "percent", True),
            BOTTLE_DEPOSIT: OdooTax(BOTTLE_DEPOSIT, 0.25, "fixed", False),
        },
        products={ESPRESSO: OdooProduct(ESPRESSO, "POS-ESP", "Espresso")},
    )


def sale() -> OdooOrder:
    """Two espressos at 2.00 and a croissant at 1.60 (15% on top): 6.44, paid 10.00 in cash
    with 3.56 change, which Odoo records as a negative cash payment."""
    return order(
        11,
        [line(111, 11, 2, 2.0, 4.0, 4.6), line(112, 11, 1, 1.6, 1.6, 1.84, product=CROISSANT)],
        [(CASH, 10.0), (CASH, -3.56)],
    )


def mapped(odoo_order: OdooOrder, ours: dict[int, OurMethod] | None = None) -> dict[str, Any]:
    return map_order(odoo_order, session(), REGISTER, history([odoo_order]), ours or {}, "EUR")


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        (6.44, "EUR", 644),
        (1.005, "EUR", 101),  # half up on the float's shortest text, not its binary value
        (0.285, "EUR", 29),
        (1200.0, "JPY", 1200),
        (1.2345, "KWD", 1235),
        (-2.3, "EUR", -230),
    ],
)
def test_odoo_floats_become_minor_units_rounded_half_up(
    value: float, currency: str, minor: int
) -> None:
    assert to_minor(value, currency) == minor


def test_a_sale_maps_with_odoo_figures_and_payments_net_of_change() -> None:
    body = mapped(sale(), {CASH: OurMethod("cash", "cash")})
    assert body["receipt_number"] == "Order 00001-001-0011"
    assert body["total"] == {"amount": 644, "currency": "EUR"}
    espresso, croissant = body["lines"]
    assert (espresso["product_ref"], espresso["product_name"]) == ("POS-ESP", "Espresso")
    assert (croissant["product_ref"], croissant["product_name"]) == ("odoo-33", "odoo-33")
    assert (espresso["quantity"], espresso["unit_price"]["amount"]) == ("2", 200)
    assert (espresso["net"]["amount"], espresso["total"]["amount"]) == (400, 460)
    assert (espresso["tax_rate_percent"], espresso["prices_include_tax"]) == ("15", False)
    assert body["payments"] == [
        {
            "method": "cash",
            "kind": "cash",
            "odoo_payment_method_id": CASH,
            "amount": {"amount": 644, "currency": "EUR"},
        }
    ]


def test_an_unmapped_odoo_method_keeps_its_odoo_name_and_its_kind() -> None:
    body = mapped(order(12, [line(121, 12, 1, 3.0, 3.0, 3.45)], [(CARD, 3.45)]))
    assert [(p["method"], p["kind"]) for p in body["payments"]] == [("Card", "card")]


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        (OdooPaymentMethod(1, "Cash", True, "cash", None), "cash"),
        (OdooPaymentMethod(2, "Card", False, "bank", None), "card"),
        (OdooPaymentMethod(3, "Card", False, "bank", "terminal"), "card"),
        (OdooPaymentMethod(4, "Twint", False, "bank", "qr_code"), "qr"),
        (OdooPaymentMethod(5, "Customer account", False, "pay_later", None), "other"),
        (None, "other"),
    ],
)
def test_payment_kind_follows_the_odoo_method(method: OdooPaymentMethod | None, kind: str) -> None:
    assert payment_kind(method) == kind


def test_tax_rate_adds_percent_taxes_and_reads_a_fixed_tax_from_the_figures() -> None:
    odoo = history([])
    included = line(1, 1, 1, 2.11, 2.0, 2.11, taxes=(INCLUDED_VAT,))
    assert tax_figures(included, odoo, 200, 211) == ("5.5", True)
    both = line(2, 1, 1, 2.0, 2.0, 2.41, taxes=(VAT, BOTTLE_DEPOSIT))
    assert tax_figures(both, odoo, 200, 241) == ("20.5", False)
    untaxed = line(3, 1, 1, 2.0, 2.0, 2.0, taxes=())
    assert tax_figures(untaxed, odoo, 200, 200) == ("0", False)


@pytest.mark.parametrize(
    ("odoo_order", "reason"),
    [
        (
            order(13, [line(131, 13, 1, 2.0, 2.0, 2.3), line(132, 13, 1, -0.5, -0.5, -0.5)], []),
            "negative_price_line",
        ),
        (
            order(14, [line(141, 14, 1, 2.0, 2.0, 2.3), line(142, 14, -1, 2.0, -2.0, -2.3)], []),
            "mixed_sign",
        ),
        (order(15, [line(151, 15, 1, 2.0, 2.0, 2.3)], [(CARD, 2.2)]), "payments_do_not_add_up"),
        (order(16, [line(161, 16, 0.0005, 2.0, 0.0, 0.0)], []), "quantity_precision"),
        (order(17, [], []), "no_lines"),
    ],
)
def test_what_the_import_cannot_represent_is_refused_with_a_reason(
    odoo_order: OdooOrder, reason: str
) -> None:
    with pytest.raises(Unrepresentable) as refused:
        mapped(odoo_order)
    assert refused.value.reason == reason


def test_a_refund_of_two_orders_becomes_one_refund_each_with_its_share_of_the_payments() -> None:
    first, second = sale(), order(12, [line(121, 12, 1, 3.0, 3.0, 3.45)], [(CARD, 3.45)])
    refund = order(
        20,
        [
            line(201, 20, -1, 2.0, -2.0, -2.3, refunds=111),
            line(202, 20, -1, 3.0, -3.0, -3.45, refunds=121),
        ],
        [(CARD, -5.0), (CASH, -0.75)],
    )
    odoo = history([first, second, refund])
    refunds = map_refunds(refund, session(), REGISTER, odoo, {}, "EUR", {111: 11, 112: 11, 121: 12})
    assert [(r["original_odoo_order_id"], r["total"]["amount"]) for r in refunds] == [
        (11, 230),
        (12, 345),
    ]
    assert [[(p["method"], p["amount"]["amount"]) for p in r["payments"]] for r in refunds] == [
        [("Cash", 75), ("Card", 155)],
        [("Card", 345)],
    ]
    assert refunds[0]["lines"] == [
        {
            "odoo_line_id": 201,
            "refunded_odoo_line_id": 111,
            "quantity": "1",
            "net": {"amount": 200, "currency": "EUR"},
            "total": {"amount": 230, "currency": "EUR"},
        }
    ]


def test_cancelled_orders_are_counted_and_a_refund_of_an_order_left_out_is_skipped() -> None:
    reward = order(13, [line(131, 13, 1, 2.0, 2.0, 2.3), line(132, 13, 1, -0.5, -0.5, -0.5)], [])
    refund = order(20, [line(201, 20, -1, 2.0, -2.0, -2.3, refunds=131)], [(CARD, -2.3)])
    cancelled = order(14, [line(141, 14, 1, 2.0, 2.0, 2.3)], [], state="cancel")
    odoo = history([sale(), reward, refund, cancelled])
    plan = plan_history(odoo, {1: Target(REGISTER, "EUR")}, {}, set(), set())
    assert plan.cancelled == 1
    assert [(s.kind, s.odoo_id, s.reason) for s in plan.skipped] == [
        ("order", 13, "negative_price_line"),
        ("refund", 20, "original_not_imported"),
    ]
    [only] = plan.sessions
    assert [o["odoo_order_id"] for o in only.orders] == [11]
    assert only.session["counted_cash"] == {"amount": 10414, "currency": "EUR"}


def test_sessions_the_connector_opened_or_without_a_register_stay_out() -> None:
    ours = session(501)
    orphan = session(502, config=2)
    odoo = history(
        [order(11, [line(111, 11, 1, 2.0, 2.0, 2.3)], [(CARD, 2.3)], session=501)],
        [ours, orphan],
    )
    plan = plan_history(odoo, {1: Target(REGISTER, "EUR")}, {}, set(), {501})
    assert plan.sessions == []
    assert [(s.kind, s.odoo_id, s.reason) for s in plan.skipped] == [
        ("session", 501, "opened_by_connector"),
        ("order", 11, "session_not_imported"),
        ("session", 502, "no_register"),
    ]


def test_a_register_in_another_currency_takes_none_of_its_history() -> None:
    plan = plan_history(history([sale()]), {1: Target(REGISTER, "CHF")}, {}, set(), set())
    assert [s.reason for s in plan.skipped if s.kind == "session"] == ["currency_mismatch"]


def test_a_session_without_a_closing_time_closes_at_its_last_order() -> None:
    open_ended = OdooSession(500, "POS/500", 1, None, AT, None, 0.0, 0.0)
    body = map_session(open_ended, REGISTER, "EUR", AT.replace(hour=18))
    assert (body["closed_at"], body["opened_by"]) == ("2026-03-02T18:00:00+00:00", "Odoo")


def test_batches_carry_whole_sessions_and_stay_small() -> None:
    plans = [SessionPlan({"name": str(i)}, orders=[{}] * 600) for i in range(4)]
    assert [len(b) for b in batches(plans)] == [3, 1]
    many = [SessionPlan({"name": str(i)}) for i in range(BATCH_SESSIONS + 1)]
    assert [len(b) for b in batches(many)] == [BATCH_SESSIONS, 1]


def test_receipt_prefixes_are_odoo_and_the_config_id_within_twelve_characters() -> None:
    assert receipt_prefixes(7)[:3] == ["ODOO7", "ODOO7A", "ODOO7B"]
    assert receipt_prefixes(12345678) == ["ODOO12345678"]


def test_decimal_text_has_no_exponent_and_at_most_three_places() -> None:
    assert [decimal_text(v) for v in (2.0, 0.5, 12.5, 1e-7, 33.3333)] == [
        "2",
        "0.5",
        "12.5",
        "0",
        "33.333",
    ]


def test_the_summary_table_says_what_was_new_skipped_and_why() -> None:
    report = BackfillReport(uuid.uuid4(), 17, dry_run=True)
    report.sessions.new, report.orders.new, report.cancelled = 2, 3, 1
    report.skipped.append(Skipped("order", 13, "negative_price_line", "line 132 is a reward"))
    report.registers_created.append("Terrace (ODOO2) in shop Harbour")
    report.batches.append({"sessions": ["POS/1", "POS/2"], "orders": 3, "refunds": 1})
    console = Console(record=True, width=200)
    console.print(summary_table(report))
    shown = console.export_text()
    assert "(dry run: nothing sent)" in shown
    assert "register would create: Terrace (ODOO2) in shop Harbour" in shown
    assert "skipped order: negative_price_line" in shown
    assert "order 13: line 132 is a reward" in shown
    assert "batch 1: POS/1, POS/2" in shown


def test_an_order_counts_as_pushed_from_here_only_if_the_connector_sent_its_reference() -> None:
    sale = order(1, [line(11, 1, 1, 2.0, 2.0, 2.3)], [(CASH, 2.3)])
    imported = order(2, [line(21, 2, 1, 2.0, 2.0, 2.3)], [(CASH, 2.3)])
    odoo_only = order(3, [line(31, 3, 1, 2.0, 2.0, 2.3)], [(CASH, 2.3)])
    traces = ConnectorTraces(
        # An imported order's Odoo id is kept too, for till refunds of it.
        synced_odoo_order_ids=frozenset({1, 2}),
        sent_references=frozenset({sale.pos_reference or ""}),
        odoo_session_ids=frozenset(),
    )
    assert orders_pushed_from_here([sale, imported, odoo_only], traces) == {1}
