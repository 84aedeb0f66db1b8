"""Reports equal a plain recomputation from the raw events, whatever the broker does."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events.envelope import EventEnvelope
from test_support.polling import eventually
from test_support.reporting import Events, ReportingWorld, Shop, at_local, problem, trading_day


def recompute(shop: Shop, events: list[EventEnvelope], day: date) -> dict[str, Any]:
    """The day's figures the long way: straight from the events, no read model involved."""
    zone = ZoneInfo(shop.timezone)
    orders = [e.data for e in events if e.type == "order.placed"]
    refunds = [e.data for e in events if e.type == "order.refunded"]
    orders = [o for o in orders if o["business_date"] == day.isoformat()]
    refunds = [r for r in refunds if r["business_date"] == day.isoformat()]
    by_register: dict[str, int] = defaultdict(int)
    by_method: dict[str, int] = defaultdict(int)
    by_hour: dict[int, int] = defaultdict(int)
    by_product: dict[str, int] = defaultdict(int)
    for o in orders:
        hour = datetime.fromisoformat(o["created_at"]).astimezone(zone).hour
        by_register[o["register_id"]] += o["total"]
        by_hour[hour] += o["total"]
        for p in o["payments"]:
            by_method[p["method"]] += p["amount"]
        for line in o["lines"]:
            by_product[line["product_ref"]] += line["total"]
    for r in refunds:
        hour = datetime.fromisoformat(r["created_at"]).astimezone(zone).hour
        by_register[r["register_id"]] -= r["total"]
        by_hour[hour] -= r["total"]
        for p in r["payments"]:
            by_method[p["method"]] -= p["amount"]
        for line in r["lines"]:
            by_product[line["product_ref"]] -= line["total"]
    gross = sum(o["total"] for o in orders)
    refunded = sum(r["total"] for r in refunds)
    return {
        "order_count": len(orders),
        "refund_count": len(refunds),
        "gross": gross,
        "refunds": refunded,
        "net": gross - refunded,
        "sales_tax": sum(o["tax_total"] for o in orders),
        "refunds_tax": sum(r["tax_total"] for r in refunds),
        "by_register": dict(by_register),
        "by_method": dict(by_method),
        "by_hour": dict(by_hour),
        "by_product": dict(by_product),
        "reasons": Counter(r["reason"] for r in refunds),
    }


def assert_daily_matches(report: dict[str, Any], expected: dict[str, Any]) -> None:
    totals = report["totals"]
    for key in ("order_count", "refund_count", "gross", "refunds", "net", "sales_tax"):
        assert totals[key] == expected[key], key
    assert totals["refunds_tax"] == expected["refunds_tax"]
    assert totals["gross"] - totals["refunds"] == totals["net"]
    by_register = {r["register_id"]: r["totals"]["net"] for r in report["by_register"]}
    assert by_register == expected["by_register"]
    assert {m["method"]: m["net"] for m in report["by_payment_method"]} == expected["by_method"]
    assert {h["hour"]: h["net"] for h in report["by_hour"]} == expected["by_hour"]
    assert Counter(r["reason"] for r in report["refunds"]) == expected["reasons"]
    assert sum(r["amount"] for r in report["refunds"]) == expected["refunds"]
    best = sorted(expected["by_product"].items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(p["product_ref"], p["net"]) for p in report["top_products"]] == best[:10]


async def test_a_generated_day_reports_what_its_raw_events_add_up_to(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=3)
    day = date(2026, 3, 14)
    events = trading_day(shop, day, random.Random(7), orders=160, refunds=35)
    await world.feed(events)
    expected = recompute(shop, events, day)

    report = await world.get(
        "/v1/reports/daily", shop.tenant_id, shop_id=str(shop.shop_id), business_date=day
    )

    assert_daily_matches(report, expected)
    assert report["complete"] is False
    assert len(report["registers_still_open"]) == 3
    sales = await world.get(
        "/v1/reports/sales",
        shop.tenant_id,
        shop_id=str(shop.shop_id),
        **{"from": day - timedelta(days=29), "to": day},
    )
    assert [g["key"] for g in sales["groups"]] == [day.isoformat()]
    assert sales["totals"] == report["totals"]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10**6),
    orders=st.integers(1, 25),
    refund_share=st.floats(0, 1),
    registers=st.integers(1, 3),
    timezone=st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"]),
)
async def test_registers_hours_and_payment_methods_each_sum_to_the_days_total(
    world: ReportingWorld,
    seed: int,
    orders: int,
    refund_share: float,
    registers: int,
    timezone: str,
) -> None:
    shop = Shop.new(registers=registers, timezone=timezone)
    day = date(2026, 5, 2)
    events = trading_day(
        shop, day, random.Random(seed), orders=orders, refunds=int(orders * refund_share)
    )
    await world.feed(events)
    report = await world.get(
        "/v1/reports/daily", shop.tenant_id, shop_id=str(shop.shop_id), business_date=day
    )
    totals = report["totals"]
    assert totals["gross"] - totals["refunds"] == totals["net"]
    for section in ("by_register", "by_hour"):
        rows = [r.get("totals", r) for r in report[section]]
        assert sum(r["net"] for r in rows) == totals["net"], section
        assert sum(r["gross"] for r in rows) == totals["gross"], section
        assert sum(r["refunds"] for r in rows) == totals["refunds"], section
    methods = report["by_payment_method"]
    assert sum(m["sales"] for m in methods) == totals["gross"]
    assert sum(m["refunds"] for m in methods) == totals["refunds"]
    assert_daily_matches(report, recompute(shop, events, day))


async def test_duplicate_and_reordered_deliveries_change_nothing(world: ReportingWorld) -> None:
    shop = Shop.new(registers=2)
    day = date(2026, 3, 15)
    events = trading_day(shop, day, random.Random(11), orders=40, refunds=12)
    expected = recompute(shop, events, day)
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    duplicates = shuffled[::2]
    before = world.duplicates_skipped()

    await world.publish(shuffled + duplicates)
    await world.applied(events)
    await eventually(
        lambda: _at_least(world.duplicates_skipped(), before + len(duplicates)),
        what="every duplicate delivery handled",
    )

    report = await world.get(
        "/v1/reports/daily", shop.tenant_id, shop_id=str(shop.shop_id), business_date=day
    )
    assert_daily_matches(report, expected)


async def _at_least(value: float, target: float) -> bool:
    return value >= target


async def test_a_refund_before_its_order_and_a_republished_refund_count_once(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
    opened = events.session_opened(shop.register_ids[0], at)
    order = events.order(shop.register_ids[0], opened.aggregate_id, at)
    refund = events.refund(order, at + timedelta(minutes=5), [(1, 1)])
    # The same refund, sent again by a producer that lost track of its first publish.
    again = refund.model_copy(update={"id": uuid.uuid4()})

    await world.feed([refund])
    await world.feed([again, *events.reference_data(at), order, opened])

    report = await world.get(
        "/v1/reports/daily",
        shop.tenant_id,
        shop_id=str(shop.shop_id),
        business_date=shop.business_date(at),
    )
    totals = report["totals"]
    assert (totals["order_count"], totals["refund_count"]) == (1, 1)
    assert (totals["gross"], totals["refunds"], totals["net"]) == (920, 220, 700)
    croissant = next(p for p in report["top_products"] if p["product_ref"] == "CR")
    assert croissant["product_name"] == "Croissant"
    assert (croissant["quantity"], croissant["refund_quantity"]) == ("1", "1")


async def test_a_product_refunded_on_a_day_that_did_not_sell_it_keeps_its_name(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    sold_at = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
    refunded_at = sold_at + timedelta(days=1)
    opened = events.session_opened(shop.register_ids[0], sold_at)
    order = events.order(shop.register_ids[0], opened.aggregate_id, sold_at)
    refund = events.refund(order, refunded_at, [(1, 1)])
    await world.feed([*events.reference_data(sold_at), opened, order])
    await world.feed([refund])

    report = await world.get(
        "/v1/reports/daily",
        shop.tenant_id,
        shop_id=str(shop.shop_id),
        business_date=shop.business_date(refunded_at),
    )
    [croissant] = report["top_products"]
    assert (croissant["product_ref"], croissant["product_name"]) == ("CR", "Croissant")
    assert (croissant["quantity"], croissant["refund_quantity"]) == ("0", "1")


async def test_business_date_follows_the_shops_cutoff_across_midnight(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1, timezone="America/New_York", cutoff="04:00")
    events = Events(shop)
    day = date(2026, 7, 3)
    register = shop.register_ids[0]
    opened = events.session_opened(register, at_local(shop, day, time(8, 0)))
    late_evening = at_local(shop, day, time(23, 30))
    after_midnight = at_local(shop, day + timedelta(days=1), time(1, 30))
    next_morning = at_local(shop, day + timedelta(days=1), time(4, 30))
    orders = [
        events.order(register, opened.aggregate_id, moment)
        for moment in (late_evening, after_midnight, next_morning)
    ]
    await world.feed([*events.reference_data(late_evening), opened, *orders])

    first = await world.get(
        "/v1/reports/daily", shop.tenant_id, shop_id=str(shop.shop_id), business_date=day
    )
    second = await world.get(
        "/v1/reports/daily",
        shop.tenant_id,
        shop_id=str(shop.shop_id),
        business_date=day + timedelta(days=1),
    )
    assert first["totals"]["order_count"] == 2
    assert [h["hour"] for h in first["by_hour"]] == [23, 1]
    assert second["totals"]["order_count"] == 1
    assert [h["hour"] for h in second["by_hour"]] == [4]

    # At 02:00 local the dashboard still shows the day that started the evening before.
    world.app.state.queries.clock = lambda: at_local(shop, day + timedelta(days=1), time(2, 0))
    dashboard = await world.get("/v1/dashboard", shop.tenant_id, shop_id=str(shop.shop_id))
    assert dashboard["business_date"] == day.isoformat()
    assert dashboard["totals"]["order_count"] == 2
    assert dashboard["timezone"] == "America/New_York"


async def test_another_tenants_shop_and_session_are_not_found(world: ReportingWorld) -> None:
    ours, theirs = Shop.new(registers=1), Shop.new(registers=1)
    at = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    feeds = []
    sessions = {}
    for shop in (ours, theirs):
        events = Events(shop)
        opened = events.session_opened(shop.register_ids[0], at)
        sessions[shop.shop_id] = opened.aggregate_id
        feeds += [*events.reference_data(at), opened]
        feeds.append(events.order(shop.register_ids[0], opened.aggregate_id, at))
    await world.feed(feeds)
    day = ours.business_date(at)

    for path, params in (
        ("/v1/dashboard", {"shop_id": str(theirs.shop_id)}),
        ("/v1/reports/daily", {"shop_id": str(theirs.shop_id), "business_date": day}),
        ("/v1/reports/sales", {"shop_id": str(theirs.shop_id), "from": day, "to": day}),
        (f"/v1/reports/sessions/{sessions[theirs.shop_id]}", {}),
    ):
        response = await world.client.get(path, params=params, headers=world.token(ours.tenant_id))
        assert response.status_code == 404, path
        assert "No " in problem(response)["detail"]
    own = await world.get(
        "/v1/reports/daily", ours.tenant_id, shop_id=str(ours.shop_id), business_date=day
    )
    assert own["totals"]["order_count"] == 1
