"""A Pro tenant's orders reach its Odoo once, in order, in each Odoo version's own way."""

from __future__ import annotations

import uuid

import pytest

from odoo_emulator.testing import running_emulator
from shared.events.contracts import RegisterCreated
from test_support.event_tap import EventTap
from test_support.odoo_connector import ConnectorWorld
from test_support.polling import eventually


@pytest.mark.parametrize("version", [16, 17, 18])
async def test_orders_become_paid_pos_orders_in_one_session_and_are_stamped(
    world: ConnectorWorld, tap: EventTap, version: int
) -> None:
    async with running_emulator(version=version) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        orders = [world.order(tenant) for _ in range(3)]
        for order in orders:
            await world.place(tenant, order)
        odoo_ids = [await world.synced_odoo_id(order.order_id) for order in orders]

        in_odoo = await emu.control.records("demo", "pos.order")
        sessions = await emu.control.records("demo", "pos.session")
    assert sorted(o["id"] for o in in_odoo) == sorted(odoo_ids)
    assert odoo_ids == sorted(odoo_ids), "a register's orders reach Odoo in the order placed"
    assert {o["state"] for o in in_odoo} == {"paid"}
    assert [o["pos_reference"] for o in sorted(in_odoo, key=lambda o: o["id"])] == [
        f"Order {order.receipt_number}" for order in orders
    ]
    assert [o["amount_total"] for o in in_odoo] == [6.8, 6.8, 6.8]
    assert len(sessions) == 1
    assert sessions[0]["state"] == "opened"
    assert {o["session_id"] for o in in_odoo} == {sessions[0]["id"]}
    await tap.wait_for(3, "order.odoo_synced")
    stamped = {
        e["data"]["order_id"]: e["data"]["odoo_order_id"] for e in tap.of_type("order.odoo_synced")
    }
    assert stamped == {str(o.order_id): i for o, i in zip(orders, odoo_ids, strict=True)}


async def test_a_starter_tenants_order_is_acknowledged_and_not_pushed(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        pro = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        starter = await world.starter_tenant()
        order = world.order(pro)
        skipped = await world.publish(order, starter, order.order_id)
        await world.handled(skipped)
        assert await emu.control.records("demo", "pos.order") == []
    assert tap.of_type("order.odoo_synced") == []


async def test_an_order_imported_from_odoo_is_not_pushed_back(world: ConnectorWorld) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        pulled = world.order(tenant, source="odoo_pulled", odoo_order_id=41)
        await world.handled(await world.place(tenant, pulled))
        assert await emu.control.records("demo", "pos.order") == []


async def test_a_registers_orders_reach_odoo_in_the_order_placed_when_many_arrive_at_once(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=18) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.set_latency(30, jitter_ms=20)
        orders = [world.order(tenant) for _ in range(25)]
        for order in orders:
            await world.place(tenant, order)
        for order in orders:
            await world.synced_odoo_id(order.order_id)
        in_odoo = await emu.control.records("demo", "pos.order")
        syncs = await emu.control.calls(model="pos.order", method="sync_from_ui")
    by_id = sorted(in_odoo, key=lambda o: o["id"])
    assert [o["pos_reference"] for o in by_id] == [f"Order {o.receipt_number}" for o in orders]
    assert len(syncs) < len(orders), "orders that queued up behind a call went as a batch"


async def test_an_order_of_a_register_not_yet_in_odoo_waits_and_lands_once_it_is(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        pending = RegisterCreated(
            register_id=uuid.uuid4(),
            shop_id=tenant.shop_id,
            name="Till 2",
            receipt_prefix="T2",
            active=True,
            currency="EUR",
            timezone="Europe/Brussels",
            business_day_cutoff="04:00",
            tenant_tier="pro",
            # Its create was given up on: nothing makes its pos.config until an admin acts.
            sync_state="sync_error",
        )
        await world.handled(await world.publish(pending, tenant.tenant_id, pending.register_id))
        tenant.register_id = pending.register_id
        order = world.order(tenant)
        await world.place(tenant, order)

        async def waiting() -> bool:
            return await world.waiting_rounds("register_not_in_odoo") >= 2

        await eventually(waiting, what="the order waiting for its register's pos.config")
        assert await emu.control.records("demo", "pos.order") == []
        # The admin links the register to an existing pos.config.
        await world.adopt_register(tenant)
        await world.synced_odoo_id(order.order_id)


@pytest.mark.parametrize("version", [16, 17, 18])
async def test_an_order_for_a_customer_reaches_odoo_with_that_partner(
    world: ConnectorWorld, version: int
) -> None:
    async with running_emulator(version=version) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        partner = seed["customer_ids"][0]
        with_customer = world.order(tenant, customer_id=uuid.uuid4(), odoo_partner_id=partner)
        without = world.order(tenant)
        for order in (with_customer, without):
            await world.place(tenant, order)
        for order in (with_customer, without):
            await world.synced_odoo_id(order.order_id)

        in_odoo = await emu.control.records("demo", "pos.order")
    partners = {o["pos_reference"]: o["partner_id"] for o in in_odoo}
    assert partners[f"Order {with_customer.receipt_number}"] == partner
    assert partners[f"Order {without.receipt_number}"] in (False, None)
