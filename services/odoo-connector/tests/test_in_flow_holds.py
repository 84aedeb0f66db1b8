"""A message waiting for what comes earlier in its register's flow is held in the process, with
the production hold, and goes the moment that is done: no wait round puts it behind its
successors."""

from __future__ import annotations

import pytest

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import running_emulator
from test_support.odoo_connector import ConnectorWorld


@pytest.fixture
def settings(settings: ConnectorSettings) -> ConnectorSettings:
    return settings.model_copy(update={"flow_hold_s": ConnectorSettings().flow_hold_s})


async def test_a_refund_just_ahead_of_its_order_is_held_and_lands_right_after_it(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        refund = world.refund(tenant, order)
        await world.publish(refund, tenant.tenant_id, order.order_id, version=2)
        await world.place(tenant, order)
        order_id = await world.synced_odoo_id(order.order_id)
        refund_id = await world.synced_odoo_id(refund.refund_id)
    assert refund_id > order_id
    assert await world.waiting_rounds("original_not_in_odoo") == 0


async def test_a_registers_orders_published_out_of_order_go_in_order_without_a_wait_round(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        orders = [world.order(tenant) for _ in range(6)]
        # The last first: each waits for its predecessor, which comes behind it.
        for order in reversed(orders):
            await world.place(tenant, order)
        odoo_ids = [await world.synced_odoo_id(o.order_id) for o in orders]
    assert odoo_ids == sorted(odoo_ids)
    assert await world.waiting_rounds("previous_order_not_sent") == 0
