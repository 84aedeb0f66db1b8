"""The projector applies events in batches: the read models are those of one event at a time."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, time
from typing import Any

from reporting.bootstrap import rebuild_read_models
from reporting.handlers import Projector
from shared.batch_consumer import ReceivedEvent
from shared.events.envelope import EventEnvelope
from shared.events.registry import parse_data
from test_support.reporting import Events, ReportingWorld, Shop, at_local, trading_day

SHOPS = 20
BATCH = 100


def _received(envelope: EventEnvelope, body: bytes = b"") -> ReceivedEvent:
    return ReceivedEvent(envelope, parse_data(envelope), body)


async def _apply_in_batches(world: ReportingWorld, feed: list[EventEnvelope]) -> None:
    projector = Projector()
    for start in range(0, len(feed), BATCH):
        async with world.pool.acquire() as db, db.transaction():
            await projector.consume_batch(db, [_received(e) for e in feed[start : start + BATCH]])


def _busy_evening(rng: random.Random) -> list[EventEnvelope]:
    """Many shops' days, with Odoo's verdicts (a failure later cured) and closed sessions."""
    day = date(2026, 8, 3)
    feed: list[EventEnvelope] = []
    for seed in range(SHOPS):
        shop = Shop.new(registers=2, tier="pro")
        events = trading_day(shop, day, random.Random(seed), orders=8, refunds=3)
        helper = Events(shop)
        placed = [e for e in events if e.type == "order.placed"]
        late = at_local(shop, day, time(23, 0))
        feed += events
        feed += [helper.synced(order, 1000 + i, late) for i, order in enumerate(placed[:3])]
        feed.append(helper.sync_failed(placed[3], late))
        cured = helper.sync_failed(placed[4], late)
        feed += [cured, helper.synced(placed[4], 2000, late)]
        for opened in (e for e in events if e.type == "session.opened"):
            feed.append(helper.session_closed(opened, late, expected_cash=100, counted_cash=90))
    return feed


async def test_batches_spanning_many_shops_in_any_order_equal_an_event_by_event_replay(
    world: ReportingWorld,
) -> None:
    rng = random.Random(17)
    feed = _busy_evening(rng)
    # Delivery in any order: refunds before their sales, verdicts before their orders, a
    # session's close before its opening, a shop's orders before the shop.
    rng.shuffle(feed)
    refund = next(e for e in feed if e.type == "order.refunded")
    feed.remove(refund)
    feed.insert(0, refund)
    placed = [e for e in feed if e.type == "order.placed"]
    # The same order told twice, by two events, inside one batch.
    retold = placed[1].model_copy(update={"id": uuid.uuid4()})
    feed.insert(feed.index(placed[1]) + 1, retold)

    await _apply_in_batches(world, feed)
    batched = await world.read_models()
    assert len(batched["order_facts"]) == SHOPS * 8
    assert len(batched["refund_facts"]) == SHOPS * 3

    replayed = await rebuild_read_models(world.settings, None)

    assert replayed == len(feed)
    assert await world.read_models() == batched


async def test_events_seen_in_an_earlier_batch_are_not_projected_again(
    world: ReportingWorld,
) -> None:
    feed = _busy_evening(random.Random(3))[:150]
    await _apply_in_batches(world, feed)
    once = await world.read_models()

    await _apply_in_batches(world, feed[40:140])

    assert await world.read_models() == once


async def test_the_event_log_keeps_each_message_body_as_received(world: ReportingWorld) -> None:
    shop = Shop.new(registers=1)
    envelope = Events(shop).reference_data(at_local(shop, date(2026, 8, 4), time(6, 0)))[0]
    as_sent: dict[str, Any] = {**json.loads(envelope.model_dump_json()), "x_later_field": [1, 2]}
    body = json.dumps(as_sent).encode()

    async with world.pool.acquire() as db, db.transaction():
        await Projector().consume_batch(db, [_received(envelope, body)])

    logged = await world.pool.fetchval(
        f"SELECT envelope FROM {world.schema}.event_log WHERE event_id = $1", envelope.id
    )
    assert logged == as_sent
