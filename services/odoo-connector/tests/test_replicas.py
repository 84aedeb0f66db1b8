"""Two connector replicas on one queue share the work and create each Odoo record once."""

from __future__ import annotations

from collections import Counter

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import running_emulator
from test_support.odoo_connector import ConnectorWorld, connector_app

DATABASES = ("demo", "cafe-2", "cafe-3")


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


async def _standing_by(world: ConnectorWorld) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in (await world.client.get("/metrics")).text.splitlines()
        if line.startswith("consumers_standing_by{")
    )


async def test_with_two_replicas_one_consumes_and_a_registers_orders_go_in_full_batches(
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
        # Both replicas run in this process, so either's /metrics counts both.
        assert await _standing_by(world) == 1
        orders = [world.order(till) for _ in range(40)]
        for order in orders:
            await world.place(till, order)
        odoo_ids = [await world.synced_odoo_id(o.order_id, within_s=30) for o in orders]
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
    assert odoo_ids == sorted(odoo_ids), "Odoo received the register's orders in sale order"
    # The first alone, then batches of the batch size (20); replicas taking turns sent each
    # order in a call of its own here.
    assert len(creates) <= 4, f"{len(creates)} create_from_ui calls for 40 orders"
