"""The tax summary (pos-domain 4.3) of X/Z and daily reports: a row per rate and inclusive flag."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from reporting.bootstrap import rebuild_read_models
from shared.events.envelope import EventEnvelope
from test_support.reporting import CROISSANT, Events, Item, ReportingWorld, Shop, trading_day

FLAT_WHITES = Item("FW", "Flat white", 2, 350, discount_percent=10)
GIFT_BOXES = Item(
    "GB", "Gift box", 2, 1250, discount_percent=10, tax_rate_percent="20", prices_include_tax=False
)
NEWSPAPER = Item("NP", "Newspaper", 1, 300, tax_rate_percent="0")
CATERING = Item("CT", "Catering tray", 1, 4000, tax_rate_percent="10", prices_include_tax=False)

AMOUNTS = ("sales_taxable_base", "sales_tax_amount", "refund_taxable_base", "refund_tax_amount")
Keep = Callable[[dict[str, Any]], bool]


def expected_taxes(
    events: Sequence[EventEnvelope], sold_here: Keep, refunded_here: Keep
) -> list[dict[str, Any]]:
    """Tax rows the long way: every line's net and tax under its own rate, straight from events.

    A refund line has no rate of its own; it is the rate of the order line it names.
    """
    order_lines = {
        line["line_id"]: line
        for e in events
        if e.type == "order.placed"
        for line in e.data["lines"]
    }
    rows: dict[tuple[Decimal, bool], dict[str, Any]] = {}

    def row_of(line: dict[str, Any]) -> dict[str, Any]:
        key = (Decimal(line["tax_rate_percent"]), line["prices_include_tax"])
        empty = {"rate": line["tax_rate_percent"], "inclusive": line["prices_include_tax"]}
        return rows.setdefault(key, {**empty, **dict.fromkeys(AMOUNTS, 0)})

    for e in events:
        if e.type == "order.placed" and sold_here(e.data):
            for line in e.data["lines"]:
                row = row_of(line)
                row["sales_taxable_base"] += line["net"]
                row["sales_tax_amount"] += line["tax"]
        elif e.type == "order.refunded" and refunded_here(e.data):
            for line in e.data["lines"]:
                row = row_of(order_lines[line["order_line_id"]])
                row["refund_taxable_base"] += line["net"]
                row["refund_tax_amount"] += line["tax"]
    return [
        {
            **row,
            "net_taxable_base": row["sales_taxable_base"] - row["refund_taxable_base"],
            "net_tax_amount": row["sales_tax_amount"] - row["refund_tax_amount"],
        }
        for _, row in sorted(rows.items())
    ]


def in_session(session_id: uuid.UUID) -> Keep:
    return lambda data: data["session_id"] == str(session_id)


def on_day(day: date) -> Keep:
    return lambda data: data["business_date"] == day.isoformat()


async def session_report(world: ReportingWorld, shop: Shop, session: uuid.UUID) -> dict[str, Any]:
    return await world.get(f"/v1/reports/sessions/{session}", shop.tenant_id)


async def daily_report(world: ReportingWorld, shop: Shop, day: date) -> dict[str, Any]:
    return await world.get(
        "/v1/reports/daily", shop.tenant_id, shop_id=str(shop.shop_id), business_date=day
    )


def assert_taxes_add_up(report: dict[str, Any]) -> None:
    taxes = report["taxes"]
    if "sales" in report:
        assert sum(t["net_tax_amount"] for t in taxes) == report["sales"]["tax_total"]
        assert sum(t["net_taxable_base"] for t in taxes) == report["sales"]["net_sales"]
    else:
        assert sum(t["net_tax_amount"] for t in taxes) == report["totals"]["net_tax"]
        assert sum(t["sales_tax_amount"] for t in taxes) == report["totals"]["sales_tax"]
        assert sum(t["refund_tax_amount"] for t in taxes) == report["totals"]["refunds_tax"]


async def test_x_and_z_reports_have_a_row_per_rate_and_inclusive_flag_that_add_up_to_the_tax(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)
    till = shop.register_ids[0]
    opened = events.session_opened(till, at, opening_cash=5000)
    session = opened.aggregate_id
    basket = events.order(till, session, at, items=[FLAT_WHITES, GIFT_BOXES, NEWSPAPER])
    catering = events.order(
        till, session, at + timedelta(minutes=30), [CROISSANT, CATERING], [("cash", "cash")]
    )
    # One of the two flat whites and one of the two gift boxes come back.
    refund = events.refund(basket, at + timedelta(hours=1), [(0, 1), (1, 1)])
    feed = [*events.reference_data(at), opened, basket, catering, refund]
    await world.feed(feed)

    x = await session_report(world, shop, session)

    assert x["report_type"] == "X"
    assert x["taxes"] == expected_taxes(feed, in_session(session), in_session(session))
    assert [(t["rate"], t["inclusive"]) for t in x["taxes"]] == [
        ("0", True),
        ("10", False),
        ("10", True),
        ("20", False),
    ]
    # 2 × 12.50 less 10 %, 20 % on top; half of it refunded.
    assert next(t for t in x["taxes"] if t["rate"] == "20") == {
        "rate": "20",
        "inclusive": False,
        "sales_taxable_base": 2250,
        "sales_tax_amount": 450,
        "refund_taxable_base": 1125,
        "refund_tax_amount": 225,
        "net_taxable_base": 1125,
        "net_tax_amount": 225,
    }
    assert next(t for t in x["taxes"] if t["rate"] == "0")["sales_taxable_base"] == 300
    assert_taxes_add_up(x)

    closed = events.session_closed(opened, at + timedelta(hours=8), expected_cash=0, counted_cash=0)
    await world.feed([closed])
    z = await session_report(world, shop, session)

    assert z["report_type"] == "Z"
    assert z["taxes"] == x["taxes"]
    assert_taxes_add_up(z)
    day = await daily_report(world, shop, shop.business_date(at))
    assert day["taxes"] == x["taxes"]
    assert_taxes_add_up(day)


async def test_a_refund_of_an_order_from_a_previous_session_takes_the_rate_of_the_line_it_refunds(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    first_day = datetime(2026, 4, 11, 8, 0, tzinfo=UTC)
    next_day = first_day + timedelta(days=1)
    till = shop.register_ids[0]
    yesterday = events.session_opened(till, first_day)
    order = events.order(till, yesterday.aggregate_id, first_day, [FLAT_WHITES, GIFT_BOXES])
    closed = events.session_closed(
        yesterday, first_day + timedelta(hours=9), expected_cash=0, counted_cash=0
    )
    today = events.session_opened(till, next_day)
    refund = events.refund(order, next_day, [(0, 2), (1, 1)], session_id=today.aggregate_id)
    feed = [*events.reference_data(first_day), yesterday, order, closed, today, refund]
    await world.feed(feed)

    refunding = await session_report(world, shop, today.aggregate_id)
    selling = await session_report(world, shop, yesterday.aggregate_id)

    assert refunding["taxes"] == expected_taxes(
        feed, in_session(today.aggregate_id), in_session(today.aggregate_id)
    )
    assert [(t["rate"], t["inclusive"]) for t in refunding["taxes"]] == [
        ("10", True),
        ("20", False),
    ]
    assert [t["sales_tax_amount"] for t in refunding["taxes"]] == [0, 0]
    assert all(t["refund_tax_amount"] > 0 for t in refunding["taxes"])
    assert_taxes_add_up(refunding)
    assert refunding["sales"]["tax_total"] < 0
    # The Z of the session that sold is not touched by a later refund.
    assert selling["taxes"] == expected_taxes(feed, in_session(yesterday.aggregate_id), no_refund)
    assert_taxes_add_up(selling)
    for moment in (first_day, next_day):
        day = shop.business_date(moment)
        report = await daily_report(world, shop, day)
        assert report["taxes"] == expected_taxes(feed, on_day(day), on_day(day))
        assert_taxes_add_up(report)


def no_refund(data: dict[str, Any]) -> bool:
    return False


async def test_a_refund_that_arrives_before_its_order_has_an_unknown_rate_until_the_order_does(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = datetime(2026, 4, 13, 9, 0, tzinfo=UTC)
    till = shop.register_ids[0]
    opened = events.session_opened(till, at)
    session = opened.aggregate_id
    order = events.order(till, session, at, items=[GIFT_BOXES, NEWSPAPER])
    refund = events.refund(order, at + timedelta(minutes=10), [(0, 1)])
    await world.feed([*events.reference_data(at), opened, refund])

    early = await session_report(world, shop, session)

    assert early["taxes"] == [
        {
            "rate": None,
            "inclusive": None,
            "sales_taxable_base": 0,
            "sales_tax_amount": 0,
            "refund_taxable_base": 1125,
            "refund_tax_amount": 225,
            "net_taxable_base": -1125,
            "net_tax_amount": -225,
        }
    ]
    assert_taxes_add_up(early)

    await world.feed([order])
    report = await session_report(world, shop, session)

    assert report["taxes"] == expected_taxes(
        [order, refund], in_session(session), in_session(session)
    )
    assert [t["rate"] for t in report["taxes"]] == ["0", "20"]
    assert_taxes_add_up(report)


async def test_a_generated_day_delivered_shuffled_and_twice_has_the_tax_rows_of_its_raw_lines(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=2)
    day = date(2026, 4, 14)
    feed = trading_day(shop, day, random.Random(5), orders=40, refunds=12)
    shuffled = list(feed)
    random.Random(8).shuffle(shuffled)

    await world.publish(shuffled + shuffled[::3])
    await world.applied(feed)

    report = await daily_report(world, shop, day)
    assert report["taxes"] == expected_taxes(feed, on_day(day), on_day(day))
    assert {t["rate"] for t in report["taxes"]} == {"0", "10", "20"}
    assert_taxes_add_up(report)
    for opened in (e for e in feed if e.type == "session.opened"):
        session = await session_report(world, shop, opened.aggregate_id)
        here = in_session(opened.aggregate_id)
        assert session["taxes"] == expected_taxes(feed, here, here)
        assert_taxes_add_up(session)


async def test_a_rebuild_gives_the_same_tax_rows(world: ReportingWorld) -> None:
    shop = Shop.new(registers=1)
    day = date(2026, 4, 15)
    feed = trading_day(shop, day, random.Random(9), orders=20, refunds=6)
    await world.feed(feed)
    session = next(e for e in feed if e.type == "session.opened").aggregate_id
    before = (
        (await daily_report(world, shop, day))["taxes"],
        (await session_report(world, shop, session))["taxes"],
    )

    await rebuild_read_models(world.settings, shop.tenant_id)

    after = (
        (await daily_report(world, shop, day))["taxes"],
        (await session_report(world, shop, session))["taxes"],
    )
    assert after == before
    assert before[0] == expected_taxes(feed, on_day(day), on_day(day))


async def test_lines_projected_before_rates_were_kept_get_them_from_the_event_log(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = datetime(2026, 4, 16, 9, 0, tzinfo=UTC)
    till = shop.register_ids[0]
    opened = events.session_opened(till, at)
    order = events.order(till, opened.aggregate_id, at, items=[FLAT_WHITES, GIFT_BOXES])
    refund = events.refund(order, at + timedelta(minutes=5), [(1, 2)])
    feed = [*events.reference_data(at), opened, order, refund]
    await world.feed(feed)
    expected = (await session_report(world, shop, opened.aggregate_id))["taxes"]
    # What a line projected before migration 0004 looks like.
    await world.pool.execute(
        f"""UPDATE {world.schema}.order_line_facts
            SET tax_rate_percent = NULL, prices_include_tax = NULL WHERE tenant_id = $1""",
        shop.tenant_id,
    )
    unknown = (await session_report(world, shop, opened.aggregate_id))["taxes"]
    assert [(t["rate"], t["inclusive"]) for t in unknown] == [(None, None)]

    migration = resources.files("reporting") / "migrations" / "0005_line_tax_rates_from_log.sql"
    async with world.pool.acquire() as db, db.transaction():
        await db.execute(f"SET LOCAL search_path TO {world.schema}")
        await db.execute(migration.read_text(encoding="utf-8"))

    restored = (await session_report(world, shop, opened.aggregate_id))["taxes"]
    assert restored == expected
    assert restored == expected_taxes(
        feed, in_session(opened.aggregate_id), in_session(opened.aggregate_id)
    )
