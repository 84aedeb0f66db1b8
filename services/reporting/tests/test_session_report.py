"""X reports of open sessions and Z reports of closed ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.auth import Role
from test_support.reporting import COFFEE, CROISSANT, Events, ReportingWorld, Shop, problem


async def test_the_x_report_of_an_open_session_works_out_the_drawer(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1, tier="pro")
    events = Events(shop)
    at = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    till = shop.register_ids[0]
    opened = events.session_opened(till, at, opening_cash=5000)
    session = opened.aggregate_id
    card = events.order(till, session, at + timedelta(minutes=5), receipt_number="T1-1")
    cash = events.order(
        till,
        session,
        at + timedelta(minutes=65),
        items=[CROISSANT],
        payments=[("cash", "cash")],
        receipt_number="T1-2",
    )
    refund = events.refund(
        cash, at + timedelta(minutes=70), [(0, 1)], reason="stale", method=("cash", "cash")
    )
    await world.feed(
        [*events.reference_data(at), opened, card, cash, refund, events.synced(card, 7, at)]
    )

    report = await world.get(f"/v1/reports/sessions/{session}", shop.tenant_id)

    assert report["report_type"] == "X"
    assert (report["register_name"], report["shop_name"]) == ("Till 1", "Corner Cafe")
    assert report["tenant_name"] == "Test Coffee Ltd"
    assert (report["first_receipt_number"], report["last_receipt_number"]) == ("T1-1", "T1-2")
    sales = report["sales"]
    assert sales["gross_sales"] == 1140
    assert (sales["sales_total"], sales["refunds_total"], sales["net_total"]) == (1140, 220, 920)
    assert sales["refund_count"] == 1
    assert sales["tax_total"] == (64 + 20) + 20 - 20
    assert sales["net_total"] == sales["sales_total"] - sales["refunds_total"]
    drawer = report["cash_drawer"]
    assert drawer == {
        "opening_float": 5000,
        "cash_sales": 220,
        "cash_refunds": 220,
        "expected_cash": 5000,
        "counted_cash": None,
        "over_short": None,
    }
    tenders = {t["method"]: t for t in report["tenders"]}
    assert tenders["card"]["net_amount"] == 920
    assert tenders["cash"]["refunds_amount"] == 220
    assert report["by_hour"] == [  # Paris local time
        {"hour": 10, "order_count": 1, "refund_count": 0, "gross": 920, "refunds": 0, "net": 920},
        {"hour": 11, "order_count": 1, "refund_count": 1, "gross": 220, "refunds": 220, "net": 0},
    ]
    assert report["integration"] == {
        "tier": "pro",
        "orders": 2,
        "pending": 1,
        "synced": 1,
        "failed": 0,
    }


async def test_the_z_report_keeps_the_drawer_the_till_closed_with(world: ReportingWorld) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)
    till = shop.register_ids[0]
    opened = events.session_opened(till, at, opening_cash=2000)
    session = opened.aggregate_id
    order = events.order(till, session, at, items=[COFFEE], payments=[("cash", "cash")])
    closed = events.session_closed(
        opened, at + timedelta(hours=8), expected_cash=2700, counted_cash=2650, order_count=1
    )
    # The close arrives before the sale it covers; the Z still counts it.
    await world.feed([*events.reference_data(at), closed, opened])
    await world.feed([order])

    report = await world.get(f"/v1/reports/sessions/{session}", shop.tenant_id)

    assert report["report_type"] == "Z"
    assert report["closed_by"] == "bob@test"
    assert report["sales"]["order_count"] == 1
    assert report["cash_drawer"]["expected_cash"] == 2700
    assert report["cash_drawer"]["counted_cash"] == 2650
    assert report["cash_drawer"]["over_short"] == -50
    cash = report["tenders"][0]
    assert (cash["expected"], cash["counted"], cash["difference"]) == (2700, 2650, -50)
    assert report["integration"] is None, "a Starter tenant has no Odoo to be pending for"


async def test_first_and_last_receipts_go_by_the_receipt_sequence_not_the_tablets_clock(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = datetime(2026, 4, 3, 8, 0, tzinfo=UTC)
    till = shop.register_ids[0]
    opened = events.session_opened(till, at)
    session = opened.aggregate_id
    # Receipts 1 and 2 share a moment; receipt 3's tablet clock ran behind both.
    orders = [
        events.order(till, session, moment, receipt_number=f"T1-{n}", receipt_sequence=n)
        for n, moment in ((1, at), (2, at), (3, at - timedelta(minutes=1)))
    ]
    await world.feed([*events.reference_data(at), opened, *reversed(orders)])

    report = await world.get(f"/v1/reports/sessions/{session}", shop.tenant_id)

    assert (report["first_receipt_number"], report["last_receipt_number"]) == ("T1-1", "T1-3")
    assert report["receipt_count"] == 3


async def test_an_unknown_session_is_not_found(world: ReportingWorld) -> None:
    missing = uuid.uuid4()
    response = await world.client.get(
        f"/v1/reports/sessions/{missing}", headers=world.token(uuid.uuid4())
    )
    assert response.status_code == 404
    assert str(missing) in problem(response)["detail"]


async def test_a_till_reads_its_own_sessions_report_and_nothing_else_of_the_shop(
    world: ReportingWorld,
) -> None:
    shop = Shop.new(registers=2)
    events = Events(shop)
    at = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    own, other = shop.register_ids
    opened = events.session_opened(own, at, opening_cash=0)
    await world.feed([*events.reference_data(at), opened])

    def till(register_id: uuid.UUID) -> dict[str, str]:
        token = world.issuer.issue(
            subject="tablet", tenant_id=shop.tenant_id, role=Role.CASHIER, register_id=register_id
        )
        return {"Authorization": f"Bearer {token}"}

    url = f"/v1/reports/sessions/{opened.aggregate_id}"
    mine = await world.client.get(url, headers=till(own))
    assert mine.status_code == 200, mine.text
    assert mine.json()["report_type"] == "X"
    theirs = await world.client.get(url, headers=till(other))
    assert theirs.status_code == 403
    assert f"belongs to register {other}" in problem(theirs)["detail"]
    dashboard = await world.client.get(
        "/v1/dashboard", params={"shop_id": str(shop.shop_id)}, headers=till(own)
    )
    assert dashboard.status_code == 403
    assert problem(dashboard)["allowed_roles"] == ["manager", "admin"]
