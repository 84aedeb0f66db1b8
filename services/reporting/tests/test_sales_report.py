"""Period sales, grouped by day, hour, register, payment method or product."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from test_support.reporting import COFFEE, CROISSANT, Events, ReportingWorld, Shop, problem


async def test_every_grouping_of_a_period_adds_up_to_its_totals(world: ReportingWorld) -> None:
    shop = Shop.new(registers=2)
    events = Events(shop)
    start = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    feed = list(events.reference_data(start))
    for offset in range(3):
        at = start + timedelta(days=offset)
        for index, till in enumerate(shop.register_ids):
            opened = events.session_opened(till, at)
            order = events.order(
                till,
                opened.aggregate_id,
                at + timedelta(hours=index),
                items=[COFFEE, CROISSANT][: index + 1],
                payments=[("cash", "cash")] if index else [("card", "card")],
            )
            feed += [opened, order, events.refund(order, at + timedelta(hours=2), [(0, 1)])]
    await world.feed(feed)
    first, last = date(2026, 2, 1), date(2026, 2, 3)

    totals = None
    for group_by in ("day", "hour", "register", "payment_method", "product"):
        report = await world.get(
            "/v1/reports/sales",
            shop.tenant_id,
            shop_id=str(shop.shop_id),
            group_by=group_by,
            **{"from": first, "to": last},
        )
        assert (report["from"], report["to"]) == (first.isoformat(), last.isoformat())
        totals = totals or report["totals"]
        assert report["totals"] == totals
        groups = [g["totals"] for g in report["groups"]]
        assert sum(g["net"] for g in groups) == totals["net"], group_by
        assert sum(g["refunds"] for g in groups) == totals["refunds"], group_by
    assert totals is not None
    assert totals["order_count"] == 6
    assert totals["gross"] == 3 * (700 + 920)
    assert totals["refunds"] == 3 * (350 + 350)


async def test_groups_by_payment_method_and_product_compute_their_figures_or_give_none(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
    till = shop.register_ids[0]
    card = events.payment_method("visa", "Visa card", "card", at)
    opened = events.session_opened(till, at)
    session = opened.aggregate_id
    # 2 flat whites (700, tax 64) and a croissant (220, tax 20), half by card, half cash.
    split = events.order(till, session, at, payments=[("visa", "card"), ("cash", "cash")])
    coffee = events.order(till, session, at, items=[COFFEE], payments=[("visa", "card")])
    refund = events.refund(split, at, [(0, 1)], method=("visa", "card"))
    await world.feed([*events.reference_data(at), card, opened, split, coffee, refund])

    def grouped(group_by: str) -> Any:
        return world.get(
            "/v1/reports/sales",
            shop.tenant_id,
            shop_id=str(shop.shop_id),
            group_by=group_by,
            **{"from": at.date(), "to": at.date()},
        )

    by_method = {g["key"]: g for g in (await grouped("payment_method"))["groups"]}
    visa = by_method["visa"]
    assert (visa["label"], visa["kind"]) == ("Visa card", "card")
    assert visa["payment_method_id"] == str(card.aggregate_id)
    assert visa["totals"] == {
        "order_count": 2,
        "refund_count": 1,
        "gross": 460 + 700,
        "refunds": 350,
        "net": 460 + 700 - 350,
        "average_ticket": None,
        "discounts": None,
        "sales_tax": None,
        "refunds_tax": None,
        "net_tax": None,
    }
    cash = by_method["cash"]
    assert (cash["label"], cash["kind"], cash["payment_method_id"]) == ("cash", "cash", None)
    assert (cash["totals"]["order_count"], cash["totals"]["gross"]) == (1, 460)

    by_product = {g["key"]: g for g in (await grouped("product"))["groups"]}
    assert by_product["FW"]["label"] == "Flat white"
    assert by_product["FW"]["totals"] == {
        "order_count": 2,
        "refund_count": 1,
        "gross": 1400,
        "refunds": 350,
        "net": 1050,
        "average_ticket": None,
        "discounts": 0,
        "sales_tax": 128,
        "refunds_tax": 32,
        "net_tax": 96,
    }
    assert by_product["CR"]["totals"]["order_count"] == 1
    assert by_product["CR"]["totals"]["sales_tax"] == 20


async def test_sales_report_refuses_an_upside_down_or_overlong_period(
    world: ReportingWorld,
) -> None:
    headers = world.token(uuid.uuid4())
    shop_id = str(uuid.uuid4())
    upside_down = await world.client.get(
        "/v1/reports/sales",
        params={"shop_id": shop_id, "from": "2026-02-03", "to": "2026-02-01"},
        headers=headers,
    )
    assert upside_down.status_code == 422
    assert "is before from" in problem(upside_down)["detail"]
    too_long = await world.client.get(
        "/v1/reports/sales",
        params={"shop_id": shop_id, "from": "2024-01-01", "to": "2026-02-01"},
        headers=headers,
    )
    assert too_long.status_code == 422
    assert "at most 366 days" in problem(too_long)["detail"]
    unknown_grouping = await world.client.get(
        "/v1/reports/sales",
        params={"shop_id": shop_id, "from": "2026-02-01", "to": "2026-02-01", "group_by": "week"},
        headers=headers,
    )
    assert unknown_grouping.status_code == 422
    body = problem(unknown_grouping)
    assert body["errors"][0]["field"] == "group_by"
    assert "'day'" in body["detail"]
    no_period = await world.client.get(
        "/v1/reports/sales", params={"shop_id": shop_id}, headers=headers
    )
    assert no_period.status_code == 422
    assert {e["field"] for e in problem(no_period)["errors"]} == {"from", "to"}
