"""The dashboard: today's figures for a shop and a card per register."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from test_support.reporting import (
    COFFEE,
    CROISSANT,
    Events,
    Item,
    ReportingWorld,
    Shop,
    at_local,
)

# The service's clock is pinned to mid-morning of this day: sales of the half hour before are
# on the same business day, which, timed from the wall clock, they were not from 03:00 to 03:30 UTC.
A_DAY = date(2026, 3, 10)


async def test_dashboard_shows_todays_totals_and_a_card_per_register(world: ReportingWorld) -> None:
    shop = Shop.new(registers=2, tier="pro")
    events = Events(shop)
    now = world.pin_clock(at_local(shop, A_DAY, time(10, 0)))
    till1, till2 = shop.register_ids
    opened = events.session_opened(till1, now - timedelta(minutes=30), opening_cash=5000)
    session = opened.aggregate_id
    first = events.order(till1, session, now - timedelta(minutes=20))
    cash = events.order(
        till1, session, now - timedelta(minutes=10), items=[CROISSANT], payments=[("cash", "cash")]
    )
    refund = events.refund(first, now - timedelta(minutes=5), [(0, 1)], reason="cold")
    await world.feed(
        [
            *events.reference_data(now - timedelta(days=1)),
            opened,
            first,
            cash,
            refund,
            events.synced(first, 41, now),
            events.sync_failed(cash, now),
        ]
    )

    body = await world.get("/v1/dashboard", shop.tenant_id, shop_id=str(shop.shop_id))

    assert body["business_date"] == shop.business_date(now).isoformat()
    assert body["shop_name"] == "Corner Cafe"
    assert body["currency"] == "EUR"
    totals = body["totals"]
    assert (totals["gross"], totals["refunds"], totals["net"]) == (920 + 220, 350, 790)
    assert totals["order_count"] == 2
    assert totals["average_ticket"] == 395
    cards = {card["register_id"]: card for card in body["registers"]}
    assert set(cards) == {str(till1), str(till2)}
    card = cards[str(till1)]
    assert card["name"] == "Till 1"
    assert card["open_session"]["session_id"] == str(session)
    assert card["open_session"]["opening_cash"] == 5000
    assert card["open_session"]["takings"] == 790
    assert datetime.fromisoformat(card["last_order_at"]) == cash.occurred_at
    assert card["odoo_sync"] == {"orders": 2, "synced": 1, "failed": 1, "pending": 0}
    idle = cards[str(till2)]
    assert idle["open_session"] is None
    assert idle["today"]["order_count"] == 0
    assert idle["last_order_at"] is None


async def test_starter_registers_show_no_odoo_status(world: ReportingWorld) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    now = world.pin_clock(at_local(shop, A_DAY, time(10, 0)))
    opened = events.session_opened(shop.register_ids[0], now)
    order = events.order(
        shop.register_ids[0], opened.aggregate_id, now, items=[Item("T", "Tea", 1, 300)]
    )
    await world.feed([*events.reference_data(now), opened, order])
    body = await world.get("/v1/dashboard", shop.tenant_id, shop_id=str(shop.shop_id))
    assert body["registers"][0]["odoo_sync"] is None
    assert body["totals"]["gross"] == 300
    assert COFFEE.unit_price == 350


async def test_an_odoo_verdict_before_its_order_still_counts(world: ReportingWorld) -> None:
    shop = Shop.new(registers=1, tier="pro")
    events = Events(shop)
    now = world.pin_clock(at_local(shop, A_DAY, time(10, 0)))
    opened = events.session_opened(shop.register_ids[0], now)
    synced = events.order(shop.register_ids[0], opened.aggregate_id, now)
    failed_then_synced = events.order(shop.register_ids[0], opened.aggregate_id, now)
    await world.feed(
        [
            *events.reference_data(now),
            events.synced(synced, 1, now),
            events.synced(failed_then_synced, 2, now),
        ]
    )
    await world.feed([opened, synced, failed_then_synced])
    # A failure reported late never undoes the success that followed it.
    await world.feed([events.sync_failed(failed_then_synced, now)])

    body = await world.get("/v1/dashboard", shop.tenant_id, shop_id=str(shop.shop_id))

    sync = body["registers"][0]["odoo_sync"]
    assert sync == {"orders": 2, "synced": 2, "failed": 0, "pending": 0}
