"""A register's orders reach Odoo in the order they were placed, whichever replica holds them;
only a retry, or a predecessor that never comes, lets an order go ahead of an earlier one."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import RunningEmulator, running_emulator
from shared.events.contracts import OrderPlaced, TenantUpdated
from test_support.odoo_connector import ConnectorWorld, ProTenant, connector_app, running_connector
from test_support.polling import eventually

DATABASES = ("demo", "cafe-2", "cafe-3")
WAITING = "previous_order_not_sent"


async def test_two_replicas_push_each_registers_orders_to_odoo_in_the_order_placed(
    world: ConnectorWorld, settings: ConnectorSettings
) -> None:
    async with running_emulator(version=18, databases=DATABASES) as emu, connector_app(settings):
        tills = [await world.pro_tenant(emu.url, await emu.control.seed(db)) for db in DATABASES]
        # Uneven calls let one replica's order overtake the other's, were nothing to stop it.
        await emu.control.set_latency(15, jitter_ms=30)
        placed: dict[str, list[OrderPlaced]] = {db: [] for db in DATABASES}
        for _ in range(3):
            burst = [
                (db, till, world.order(till))
                for _ in range(6)
                for db, till in zip(DATABASES, tills, strict=True)
            ]
            for db, till, order in burst:
                placed[db].append(order)
                await world.place(till, order)
            # Each register's last: registers sit on different partitions, which run apart.
            for db in DATABASES:
                await world.synced_odoo_id(placed[db][-1].order_id, within_s=30)
        in_odoo = {db: await _references_in_odoo(emu, db) for db in DATABASES}
    for db in DATABASES:
        assert set(Counter(in_odoo[db]).values()) == {1}, f"an order was created twice in {db}"
        assert in_odoo[db] == _references(*placed[db]), f"{db} got its orders out of order"


async def test_an_order_whose_predecessor_is_not_sent_waits_then_lands_right_after_it(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        first, second = world.order(tenant), world.order(tenant)
        await world.place(tenant, second)

        async def waited_twice() -> bool:
            return await world.waiting_rounds(WAITING) >= 2

        await eventually(waited_twice, what="the second order waiting for the first")
        assert await emu.control.records("demo", "pos.order") == []
        await world.place(tenant, first)
        await world.synced_odoo_id(second.order_id)
        in_odoo = await _references_in_odoo(emu)
    assert in_odoo == _references(first, second)


async def test_an_order_whose_predecessor_never_comes_goes_after_a_bounded_wait(
    settings: ConnectorSettings,
) -> None:
    async with _pro_till(settings, predecessor_wait_max_s=0.5) as (world, emu, tenant):
        world.order(tenant)  # placed while the tenant was Starter, say: never published
        orphan, after_it = world.order(tenant), world.order(tenant)
        placed_at = time.monotonic()
        await world.place(tenant, orphan)
        await world.place(tenant, after_it)
        await world.synced_odoo_id(orphan.order_id, within_s=10)
        waited_s = time.monotonic() - placed_at
        await world.synced_odoo_id(after_it.order_id, within_s=10)
        in_odoo = await _references_in_odoo(emu)
    assert waited_s >= 0.5, "the orphan waited its bound for its predecessor before going"
    assert in_odoo == _references(orphan, after_it)


async def test_an_order_keeps_waiting_while_its_predecessor_is_still_waiting(
    settings: ConnectorSettings,
) -> None:
    async with _pro_till(settings, predecessor_wait_max_s=2.0) as (world, emu, tenant):
        world.order(tenant)  # never published
        second, third = world.order(tenant), world.order(tenant)
        await world.place(tenant, third)
        await asyncio.sleep(0.5)
        assert await _references_in_odoo(emu) == [], "the third waits for the second"
        # The second waits its own bound for the first, which ends after the third's would.
        await world.place(tenant, second)
        await world.synced_odoo_id(third.order_id)
        in_odoo = await _references_in_odoo(emu)
    assert in_odoo == _references(second, third)


async def test_an_order_is_not_held_back_by_its_predecessor_in_a_retry_tier(
    settings: ConnectorSettings,
) -> None:
    # A first retry tier far longer than a push: the next order must not wait it out.
    slow_retry = (3000, 120, 240, 480, 960)
    async with _pro_till(settings, retry_delays_ms=slow_retry) as (world, emu, tenant):
        await emu.control.fail(
            "serialization_failure", count=1, model="pos.order", method="create_from_ui"
        )
        retried, after_it = world.order(tenant), world.order(tenant)
        await world.place(tenant, retried)

        async def tried_once() -> bool:
            return bool(await emu.control.calls(model="pos.order", method="create_from_ui"))

        await eventually(tried_once, what="the first order's failed try")
        await world.place(tenant, after_it)
        after_id = await world.synced_odoo_id(after_it.order_id)
        assert (
            await world.pool.fetchval(
                f"SELECT true FROM {world.schema}.synced_orders WHERE order_id = $1",
                retried.order_id,
            )
            is None
        ), "the retried order is still in its tier when the next one lands"
        retried_id = await world.synced_odoo_id(retried.order_id, within_s=15)
    assert after_id < retried_id


async def test_the_first_pro_order_after_an_upgrade_does_not_wait_for_the_last_starter_one(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await _set_tier(world, tenant, "starter")
        last_starter = world.order(tenant)
        await world.handled(await world.place(tenant, last_starter))
        await _set_tier(world, tenant, "pro")
        first_pro = world.order(tenant)
        await world.place(tenant, first_pro)
        await world.synced_odoo_id(first_pro.order_id)
        in_odoo = await _references_in_odoo(emu)
        assert await world.waiting_rounds(WAITING) == 0
    assert in_odoo == _references(first_pro)


async def _set_tier(world: ConnectorWorld, tenant: ProTenant, tier: str) -> None:
    """The registers service's tenant.updated after a change of plan."""
    updated = TenantUpdated(
        tenant_id=tenant.tenant_id,
        name="cafe",
        tier=tier,
        default_currency="EUR",
        default_timezone="Europe/Brussels",
    )
    await world.handled(await world.publish(updated, tenant.tenant_id, tenant.tenant_id))


@contextlib.asynccontextmanager
async def _pro_till(
    settings: ConnectorSettings, **changes: Any
) -> AsyncIterator[tuple[ConnectorWorld, RunningEmulator, ProTenant]]:
    """A connector with these settings changed, and a Pro tenant's till in an Odoo 17."""
    changed = settings.model_copy(update=changes)
    async with running_emulator(version=17) as emu, running_connector(changed) as world:
        yield world, emu, await world.pro_tenant(emu.url, await emu.control.seed("demo"))


async def _references_in_odoo(emu: RunningEmulator, database: str = "demo") -> list[str]:
    """The pos_reference of each Odoo order, in the order Odoo created them."""
    records = await emu.control.records(database, "pos.order")
    return [o["pos_reference"] for o in sorted(records, key=lambda o: o["id"])]


def _references(*orders: OrderPlaced) -> list[str]:
    return [f"Order {order.receipt_number}" for order in orders]


async def test_two_replicas_drain_each_registers_backlog_in_order_after_an_odoo_outage(
    settings: ConnectorSettings,
) -> None:
    changed = settings.model_copy(update={"wait_ms": 1000, "predecessor_hold_ms": 200})
    async with (
        running_emulator(version=18, databases=DATABASES) as emu,
        running_connector(changed) as world,
        connector_app(changed),
    ):
        tills = [await world.pro_tenant(emu.url, await emu.control.seed(db)) for db in DATABASES]
        emu.go_down()
        placed: dict[str, list[OrderPlaced]] = {db: [] for db in DATABASES}
        for _ in range(40):
            for db, till in zip(DATABASES, tills, strict=True):
                order = world.order(till)
                placed[db].append(order)
                await world.place(till, order)
        await asyncio.sleep(3)
        emu.come_up()
        for db in DATABASES:
            for order in placed[db]:
                await world.synced_odoo_id(order.order_id, within_s=120)
        in_odoo = {db: await _references_in_odoo(emu, db) for db in DATABASES}
        dead = await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.dead_letter_records")
    for db in DATABASES:
        assert in_odoo[db] == _references(*placed[db]), f"{db} got its orders out of order"
    assert dead == 0
