"""The connector's receipts of what is in Odoo go only once nothing can send those orders again."""

from __future__ import annotations

from datetime import timedelta

from odoo_connector.housekeeping import receipt_rules
from odoo_emulator.testing import running_emulator
from shared.housekeeping import Pruner
from test_support.odoo_connector import ConnectorWorld


async def _held(world: ConnectorWorld, table: str, column: str, ids: list[str]) -> int:
    count: int = await world.pool.fetchval(
        f"SELECT count(*) FROM {world.schema}.{table} WHERE {column}::text = ANY($1::text[])", ids
    )
    return count


async def test_receipts_of_a_till_session_closed_in_odoo_go_and_those_of_an_open_one_stay(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=18) as emu:
        closed = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        still_open = await world.pro_tenant(emu.url, await emu.control.create_database("other"))
        done = [world.order(closed) for _ in range(2)]
        for order in done:
            await world.place(closed, order)
        closing = await world.publish(
            world.session_closed(closed, order_count=2), closed.tenant_id, closed.session_id
        )
        await world.handled(closing)
        selling = world.order(still_open)
        await world.place(still_open, selling)
        await world.synced_odoo_id(selling.order_id)
        settings = world.settings.model_copy(update={"receipts_retention": timedelta(0)})

        pruned = await Pruner(world.pool, receipt_rules(settings), batch_size=1).prune_once()

    gone = [str(o.order_id) for o in done]
    kept = [str(selling.order_id)]
    assert pruned == {"synced_orders": 2, "push_attempts": 2}
    assert await _held(world, "synced_orders", "order_id", gone) == 0
    assert await _held(world, "push_attempts", "reference", gone) == 0
    assert await _held(world, "synced_orders", "order_id", kept) == 1
    assert await _held(world, "push_attempts", "reference", kept) == 1
