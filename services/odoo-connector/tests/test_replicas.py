"""Connector replicas share the orders' partitions and create each Odoo record once, in each
register's sale order, while replicas join and leave under load."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import pytest

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import running_emulator
from test_support.odoo_connector import ConnectorWorld, ProTenant, connector_app
from test_support.polling import eventually

DATABASES = ("demo", "cafe-2", "cafe-3")
PARTITIONS = 4


@pytest.fixture
def settings(settings: ConnectorSettings) -> ConnectorSettings:
    # Several partitions, so that there is something to share out; checked often.
    return settings.model_copy(update={"odoo_partitions": PARTITIONS, "partition_check_s": 0.1})


async def test_two_replicas_create_exactly_one_odoo_order_per_order_and_one_session_per_till(
    world: ConnectorWorld, settings: ConnectorSettings
) -> None:
    async with running_emulator(version=17, databases=DATABASES) as emu, connector_app(settings):
        tills = [await world.pro_tenant(emu.url, await emu.control.seed(db)) for db in DATABASES]
        await emu.control.set_latency(20)
        orders = [(till, world.order(till)) for _ in range(10) for till in tills]
        # Each order twice, as an at-least-once relay may publish it.
        for till, order in orders:
            await world.place(till, order)
            await world.place(till, order)
        for _, order in orders:
            await world.synced_odoo_id(order.order_id, within_s=20)
        in_odoo = {db: await emu.control.records(db, "pos.order") for db in DATABASES}
        sessions = {db: await emu.control.records(db, "pos.session") for db in DATABASES}
    for db in DATABASES:
        references = Counter(o["pos_reference"] for o in in_odoo[db])
        assert len(references) == 10, db
        assert set(references.values()) == {1}, f"an order was created twice in {db}"
        assert len(sessions[db]) == 1, f"{db} got more than one session"


async def _held(world: ConnectorWorld) -> list[float]:
    """Partitions held by each replica in this process (all of them answer the same /metrics)."""
    return sorted(
        float(line.rsplit(" ", 1)[1])
        for line in (await world.client.get("/metrics")).text.splitlines()
        if line.startswith("connector_partitions_held{")
        and f'group="{world.settings.schema_name}/' in line
    )


async def _shared_out(world: ConnectorWorld, expected: list[float]) -> None:
    async def shared() -> bool:
        return await _held(world) == expected

    try:
        await eventually(shared, within_s=15, what=f"partitions held as {expected}")
    except AssertionError:
        raise AssertionError(f"held {await _held(world)}, not {expected}") from None


async def test_two_replicas_share_the_partitions_and_a_registers_orders_go_in_full_batches(
    world: ConnectorWorld, settings: ConnectorSettings
) -> None:
    async with (
        running_emulator(version=17) as emu,
        connector_app(settings) as other,
    ):
        till = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        # Slow enough that the rest have arrived while the first order is in Odoo.
        await emu.control.set_latency(300)
        for replica in (world, other):
            assert (await replica.client.get("/readyz")).status_code == 200
        await _shared_out(world, [PARTITIONS / 2, PARTITIONS / 2])
        orders = [world.order(till) for _ in range(40)]
        for order in orders:
            await world.place(till, order)
        odoo_ids = [await world.synced_odoo_id(o.order_id, within_s=30) for o in orders]
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
    assert odoo_ids == sorted(odoo_ids), "Odoo received the register's orders in sale order"
    # The first alone, then batches of the batch size (20): the register's orders are all on
    # the replica holding its partition.
    assert len(creates) <= 4, f"{len(creates)} create_from_ui calls for 40 orders"


async def _place_steadily(
    world: ConnectorWorld,
    tills: list[ProTenant],
    per_till: int,
    placed: list[tuple[ProTenant, Any]],
) -> None:
    for _ in range(per_till):
        for till in tills:
            order = world.order(till)
            await world.place(till, order)
            placed.append((till, order))
        await asyncio.sleep(0.02)


async def _each_once_in_sale_order(
    world: ConnectorWorld, emu: Any, placed: list[tuple[ProTenant, Any]]
) -> None:
    odoo_ids = {o.order_id: await world.synced_odoo_id(o.order_id, within_s=60) for _, o in placed}
    for db, till in {t.database: t for t, _ in placed}.items():
        mine = [o for t, o in placed if t is till]
        ids = [odoo_ids[o.order_id] for o in mine]
        assert ids == sorted(ids), f"{db}: Odoo received the register's orders out of sale order"
        references = Counter(o["pos_reference"] for o in await emu.control.records(db, "pos.order"))
        assert len(references) == len(mine), f"{db}: {len(references)} orders for {len(mine)}"
        assert set(references.values()) == {1}, f"an order was created twice in {db}"


async def test_a_replica_joining_mid_load_takes_partitions_and_every_order_lands_once_in_order(
    world: ConnectorWorld, settings: ConnectorSettings
) -> None:
    async with running_emulator(version=17, databases=DATABASES) as emu:
        tills = [await world.pro_tenant(emu.url, await emu.control.seed(db)) for db in DATABASES]
        await emu.control.set_latency(30)
        await _shared_out(world, [PARTITIONS])
        placed: list[tuple[ProTenant, Any]] = []
        placing = asyncio.create_task(_place_steadily(world, tills, 20, placed))
        await eventually(lambda: _true(len(placed) >= 15), 30, "a quarter of the orders placed")
        async with connector_app(settings):
            # The newcomer gets its share handed over while orders flow.
            await _shared_out(world, [PARTITIONS / 2, PARTITIONS / 2])
            await placing
            await _each_once_in_sale_order(world, emu, placed)


async def test_a_replica_leaving_mid_load_leaves_its_partitions_and_every_order_lands_once_in_order(
    world: ConnectorWorld, settings: ConnectorSettings
) -> None:
    async with running_emulator(version=17, databases=DATABASES) as emu:
        tills = [await world.pro_tenant(emu.url, await emu.control.seed(db)) for db in DATABASES]
        await emu.control.set_latency(30)
        placed: list[tuple[ProTenant, Any]] = []
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(connector_app(settings))
            await _shared_out(world, [PARTITIONS / 2, PARTITIONS / 2])
            placing = asyncio.create_task(_place_steadily(world, tills, 20, placed))
            await eventually(lambda: _true(len(placed) >= 15), 30, "a quarter of the orders placed")
        # The other replica stopped while orders flow: what it held goes back to the queue.
        await _shared_out(world, [PARTITIONS])
        await placing
        await _each_once_in_sale_order(world, emu, placed)


async def _true(value: bool) -> bool:
    return value
