"""The shop's chat: settings kept secret, shift-close and daily messages sent once, retried."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from reporting.notifications import Notifier
from reporting.settings import ReportingSettings
from shared.auth import Role
from test_support.event_tap import EventTap
from test_support.polling import eventually
from test_support.reporting import (
    CROISSANT,
    Events,
    FakeChatApi,
    ReportingWorld,
    Shop,
    at_local,
    running_reporting,
)

BOT_TOKEN = "987654321:AAH" + "s3cr3t" * 6
# The days these tests trade on, fixed: timed back from the wall clock, a sale could fall either
# side of the shop's 04:00 cutoff, and "24 hours ago" is not yesterday's business day around a
# change to or from summer time.
A_DAY = date(2026, 3, 10)


@pytest.fixture
async def tap(settings: ReportingSettings) -> AsyncIterator[EventTap]:
    event_tap = EventTap(settings.amqp_url, settings.exchange_name)
    await event_tap.start()
    yield event_tap
    await event_tap.stop()


async def set_up_chat(
    world: ReportingWorld, tenant_id: uuid.UUID, chat_id: str, daily_report_time: str = "23:59"
) -> None:
    response = await world.client.put(
        "/v1/chat",
        json={"bot_token": BOT_TOKEN, "chat_id": chat_id, "daily_report_time": daily_report_time},
        headers=world.token(tenant_id, Role.ADMIN),
    )
    assert response.status_code == 200, response.text


async def rounds_after(notifier: Notifier, rounds: int) -> None:
    """Waits until the notifier has looked for work `rounds` more times."""
    target = notifier.rounds + rounds

    async def done() -> bool:
        return notifier.rounds >= target

    await eventually(done, what=f"{rounds} notifier rounds")


async def test_the_bot_token_is_stored_encrypted_and_shown_masked(
    world: ReportingWorld, capfd: pytest.CaptureFixture[str]
) -> None:
    tenant = uuid.uuid4()
    await set_up_chat(world, tenant, "-100200300")

    response = await world.client.get("/v1/chat", headers=world.token(tenant, Role.MANAGER))

    assert response.status_code == 200
    body = response.json()
    assert body["bot_token"] == "9876…cr3t"
    assert (body["chat_id"], body["enabled"]) == ("-100200300", True)
    stored = await world.pool.fetchval(
        f"SELECT bot_token_encrypted FROM {world.schema}.chat_configs WHERE tenant_id = $1", tenant
    )
    assert "s3cr3t" not in stored
    assert "s3cr3t" not in capfd.readouterr().err


async def test_a_closed_shift_reaches_the_chat_once_with_its_figures(
    world: ReportingWorld, chat_api: FakeChatApi, capfd: pytest.CaptureFixture[str]
) -> None:
    shop = Shop.new(registers=1, tier="pro")
    await set_up_chat(world, shop.tenant_id, "-1001")
    events = Events(shop)
    at = at_local(shop, A_DAY, time(9, 0))
    till = shop.register_ids[0]
    opened = events.session_opened(till, at, opening_cash=5000)
    cash = events.order(till, opened.aggregate_id, at, [CROISSANT], [("cash", "cash")])
    card = events.order(till, opened.aggregate_id, at + timedelta(minutes=1))
    refund = events.refund(card, at + timedelta(minutes=2), [(0, 1)], reason="cold")
    closed = events.session_closed(
        opened, at + timedelta(hours=2), expected_cash=5220, counted_cash=5200, order_count=2
    )
    chat_api.fail_next(2)  # the chat API is having a bad moment; we retry with back-off

    await world.feed([*events.reference_data(at), opened, cash, card, refund])
    await world.feed([closed, closed])
    await world.feed([events.synced(card, 5, at)])

    async def delivered() -> list[str] | None:
        return chat_api.texts_to("-1001") or None

    texts = await eventually(delivered, what="shift-close message")
    await rounds_after(world.app.state.notifier, 3)
    assert len(chat_api.texts_to("-1001")) == 1
    assert chat_api.calls == 3
    assert chat_api.messages[0].bot_token == BOT_TOKEN
    text = texts[0]
    assert "Shift closed: Till 1 · Corner Cafe" in text
    assert "opened by alice@test, closed by bob@test" in text
    assert "Orders: 2   Sales: 11.40 EUR" in text
    assert "Refunds: 1   3.50 EUR" in text
    assert "card: 5.70 EUR (refunds 3.50 EUR)" in text
    assert "cash: 2.20 EUR" in text
    assert "Opening cash: 50.00 EUR" in text
    assert "Expected cash: 52.20 EUR" in text
    assert "Counted cash: 52.00 EUR" in text
    assert "Difference: -0.20 EUR (short)" in text
    assert "Odoo: 1 synced, 1 pending, 0 failed" in text
    row = await world.pool.fetchrow(
        f"SELECT state, attempts FROM {world.schema}.notifications WHERE session_id = $1",
        opened.aggregate_id,
    )
    assert (row["state"], row["attempts"]) == ("sent", 3)
    assert "s3cr3t" not in capfd.readouterr().err


async def test_the_daily_report_is_sent_once_by_two_replicas_and_across_a_restart(
    world: ReportingWorld,
    settings: ReportingSettings,
    chat_api: FakeChatApi,
    tap: EventTap,
) -> None:
    shop = Shop.new(registers=2)
    events = Events(shop)
    now = world.pin_clock(at_local(shop, A_DAY, time(10, 0)))
    yesterday = at_local(shop, A_DAY - timedelta(days=1), time(10, 0))
    opened = events.session_opened(shop.register_ids[0], yesterday)
    order = events.order(shop.register_ids[0], opened.aggregate_id, yesterday)
    refund = events.refund(order, yesterday, [(1, 1)], reason="dropped it")

    async with running_reporting(settings) as replica:
        replica.pin_clock(now)
        # The whole day is in before it falls due; then 00:00 makes it due at once, so both
        # replicas race for it.
        await set_up_chat(world, shop.tenant_id, "@cornercafe")
        await world.feed([*events.reference_data(yesterday), opened, order, refund])
        await set_up_chat(world, shop.tenant_id, "@cornercafe", daily_report_time="00:00")

        async def delivered() -> list[str] | None:
            return chat_api.texts_to("@cornercafe") or None

        texts = await eventually(delivered, what="daily report")
        await rounds_after(world.app.state.notifier, 3)
        await rounds_after(replica.app.state.notifier, 3)
    async with running_reporting(settings) as restarted:
        restarted.pin_clock(now)
        await rounds_after(restarted.app.state.notifier, 3)

    assert len(chat_api.texts_to("@cornercafe")) == 1
    text = texts[0]
    day = shop.business_date(yesterday).isoformat()
    assert f"Daily report: Corner Cafe, {day}" in text
    assert "Gross: 9.20 EUR" in text
    assert "Refunds: 2.20 EUR (1)" in text
    assert "Net: 7.00 EUR" in text
    assert "2.20 EUR: dropped it" in text
    assert "Still open: 1 register(s)" in text
    await tap.wait_for(1, "report.daily_ready")
    ready = [e for e in tap.of_type("report.daily_ready") if e["tenant_id"] == str(shop.tenant_id)]
    assert len(ready) == 1
    assert ready[0]["data"]["business_date"] == day
    assert (ready[0]["data"]["gross"], ready[0]["data"]["net"]) == (920, 700)


async def test_a_tenant_without_chat_gets_no_message_but_the_day_is_still_announced(
    world: ReportingWorld, chat_api: FakeChatApi, tap: EventTap
) -> None:
    shop = Shop.new(registers=1)
    events = Events(shop)
    world.pin_clock(at_local(shop, A_DAY, time(10, 0)))
    yesterday = at_local(shop, A_DAY - timedelta(days=1), time(10, 0))
    opened = events.session_opened(shop.register_ids[0], yesterday)
    order = events.order(shop.register_ids[0], opened.aggregate_id, yesterday)
    notifier = world.app.state.notifier
    notifier.default_report_time = datetime.min.time()
    await world.feed([*events.reference_data(yesterday), opened, order])

    await tap.wait_for(1, "report.daily_ready")
    await rounds_after(notifier, 2)
    state = await world.pool.fetchval(
        f"SELECT state FROM {world.schema}.notifications WHERE tenant_id = $1", shop.tenant_id
    )
    assert state == "skipped"
    assert chat_api.messages == []


async def test_a_session_imported_from_odoo_sends_no_shift_close_message(
    world: ReportingWorld, chat_api: FakeChatApi
) -> None:
    shop = Shop.new(registers=1, tier="pro")
    await set_up_chat(world, shop.tenant_id, "-1001")
    events = Events(shop)
    at = datetime.now(UTC) - timedelta(days=40)
    opened = events.session_opened(shop.register_ids[0], at, opening_cash=0)
    closed = events.session_closed(opened, at + timedelta(hours=8), expected_cash=0, counted_cash=0)
    imported = closed.model_copy(update={"data": {**closed.data, "source": "odoo_pulled"}})

    await world.feed([*events.reference_data(at), opened, imported])
    await rounds_after(world.app.state.notifier, 3)

    assert chat_api.texts_to("-1001") == []
    report = await world.client.get(
        f"/v1/reports/sessions/{opened.aggregate_id}", headers=world.token(shop.tenant_id)
    )
    assert report.json()["report_type"] == "Z"
