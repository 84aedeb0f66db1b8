"""`reporting rebuild` replays the event log into read models equal to the live ones."""

from __future__ import annotations

import asyncio
import random
from datetime import date, time

from typer.testing import CliRunner

from reporting.bootstrap import rebuild_read_models
from reporting.cli import cli
from test_support.reporting import Events, ReportingWorld, Shop, at_local, trading_day


async def test_rebuilt_read_models_equal_the_live_ones(world: ReportingWorld) -> None:
    day = date(2026, 8, 1)
    feed = []
    for seed, shop in enumerate((Shop.new(registers=2, tier="pro"), Shop.new(registers=1))):
        events = trading_day(shop, day, random.Random(seed), orders=60, refunds=15)
        helper = Events(shop)
        placed = [e for e in events if e.type == "order.placed"]
        opened = next(e for e in events if e.type == "session.opened")
        late = at_local(shop, day, time(23, 0))
        feed += events
        feed += [helper.synced(order, 1000 + i, late) for i, order in enumerate(placed[:20])]
        feed += [helper.sync_failed(order, late) for order in placed[20:25]]
        feed.append(helper.session_closed(opened, late, expected_cash=100, counted_cash=90))
    await world.feed(feed)
    live = await world.read_models()
    assert len(live["order_facts"]) == 120
    notifications = await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.notifications")

    replayed = await rebuild_read_models(world.settings, None)

    assert replayed == len(feed)
    assert await world.read_models() == live
    assert (
        await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.notifications")
        == notifications
    )


async def test_the_command_rebuilds_one_tenant_and_leaves_the_others(
    world: ReportingWorld,
) -> None:
    day = date(2026, 8, 2)
    first, second = Shop.new(registers=1), Shop.new(registers=1)
    await world.feed(
        trading_day(first, day, random.Random(1), orders=10, refunds=2)
        + trading_day(second, day, random.Random(2), orders=10, refunds=2)
    )
    live = await world.read_models()
    # A read model damaged by hand: only the rebuilt tenant's is repaired.
    for shop in (first, second):
        await world.pool.execute(
            f"UPDATE {world.schema}.sales_slots SET gross = 0 WHERE tenant_id = $1", shop.tenant_id
        )
    env = {
        "REPORTING_DATABASE_URL": world.settings.database_url,
        "REPORTING_SCHEMA_NAME": world.schema,
        "REPORTING_DEV_MODE": "true",
        "REPORTING_LOG_LEVEL": "WARNING",
    }

    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["rebuild", "--tenant", str(first.tenant_id)], env=env
    )

    assert result.exit_code == 0, result.output
    assert "replayed" in result.output
    repaired = await world.pool.fetchval(
        f"SELECT sum(gross) FROM {world.schema}.sales_slots WHERE tenant_id = $1",
        first.tenant_id,
    )
    damaged = await world.pool.fetchval(
        f"SELECT sum(gross) FROM {world.schema}.sales_slots WHERE tenant_id = $1",
        second.tenant_id,
    )
    assert repaired > 0
    assert damaged == 0
    rebuilt = await world.read_models()
    assert [r for r in rebuilt["order_facts"] if str(first.tenant_id) in r] == [
        r for r in live["order_facts"] if str(first.tenant_id) in r
    ]
