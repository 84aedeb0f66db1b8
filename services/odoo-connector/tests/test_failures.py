"""What may pass later is retried on the schedule; what cannot is dead-lettered at once, with
its story; an outage is not a message failure; a lost answer creates nothing twice."""

from __future__ import annotations

import asyncio
import time

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import RunningEmulator, running_emulator
from shared.events.envelope import EventEnvelope
from test_support.event_tap import EventTap
from test_support.odoo_connector import (
    ConnectorWorld,
    connector_app,
    delete_connector_topology,
    orders_queue,
)
from test_support.polling import eventually

SERIALIZATION_FAILURE = "OdooConcurrencyFailure"


async def _dead_letters(world: ConnectorWorld) -> list[AbstractIncomingMessage]:
    return await world.dead_letters(orders_queue(world.settings))


async def _one_dead_letter(world: ConnectorWorld) -> AbstractIncomingMessage:
    return await world.one_dead_letter(orders_queue(world.settings))


async def test_an_answer_lost_after_odoo_committed_does_not_create_the_order_twice(
    world: ConnectorWorld,
) -> None:
    # Early 16.0 creates a duplicate on every re-send: only searching first can prevent it.
    async with running_emulator(version=16, odoo16_dedup="early") as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "connection_reset",
            count=1,
            model="pos.order",
            method="create_from_ui",
            after_commit=True,
        )
        order = world.order(tenant)
        await world.place(tenant, order)
        odoo_id = await world.synced_odoo_id(order.order_id)
        in_odoo = await emu.control.records("demo", "pos.order")
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
    assert [o["id"] for o in in_odoo] == [odoo_id]
    assert len(creates) == 1, "the order found by its reference is not sent again"


async def test_a_redelivered_order_already_in_odoo_is_found_not_created_again_in_18(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=18, odoo18_variant="early") as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "http_504", count=1, model="pos.order", method="sync_from_ui", after_commit=True
        )
        order = world.order(tenant)
        await world.place(tenant, order)
        odoo_id = await world.synced_odoo_id(order.order_id)
        in_odoo = await emu.control.records("demo", "pos.order")
    assert [o["id"] for o in in_odoo] == [odoo_id]


async def test_a_transient_failure_is_retried_after_each_delay_and_then_lands(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "serialization_failure", count=3, model="pos.order", method="create_from_ui"
        )
        order = world.order(tenant)
        started = time.monotonic()
        await world.place(tenant, order)
        await world.synced_odoo_id(order.order_id)
        elapsed_ms = (time.monotonic() - started) * 1000
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
        in_odoo = await emu.control.records("demo", "pos.order")
    assert len(creates) == 4
    assert len(in_odoo) == 1
    # Three retries waited out the first three tiers; a TTL never releases early.
    assert elapsed_ms >= sum(world.settings.retry_delays_ms[:3])
    assert await _dead_letters(world) == []
    await tap.wait_for(1, "order.odoo_synced")


async def test_an_order_failing_every_retry_is_dead_lettered_with_its_story_and_reported(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "serialization_failure", count=1000, model="pos.order", method="create_from_ui"
        )
        order = world.order(tenant)
        await world.place(tenant, order)
        message = await _one_dead_letter(world)
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
    headers = message.headers
    assert len(creates) == 6, "the first try and five retries"
    assert headers["x-attempts"] == 6
    assert headers["x-error-class"] == SERIALIZATION_FAILURE
    assert "could not serialize access" in str(headers["x-error-message"])
    assert headers["x-original-routing-key"] == "order.placed"
    assert headers["x-tenant-id"] == str(tenant.tenant_id)
    assert headers["x-first-failure-at"] < headers["x-last-failure-at"]
    row = await world.pool.fetchrow(
        f"SELECT * FROM {world.schema}.dead_letter_records WHERE aggregate_id = $1", order.order_id
    )
    assert row is not None
    assert (row["error_class"], row["attempts"], row["routing_key"]) == (
        SERIALIZATION_FAILURE,
        6,
        "order.placed",
    )
    await tap.wait_for(1, "order.odoo_sync_failed")
    failed = tap.of_type("order.odoo_sync_failed")[0]["data"]
    assert failed["order_id"] == str(order.order_id)
    assert failed["error_class"] == SERIALIZATION_FAILURE


async def _odoo_refuses_the_next_pos_order(emu: RunningEmulator) -> None:
    await emu.control.fail(
        "odoo_error",
        count=1,
        model="pos.order",
        method="create_from_ui",
        error_name="odoo.exceptions.ValidationError",
        error_message="The payment method selected is not allowed in the config of the POS "
        "session.",
    )


async def test_an_odoo_validation_error_is_dead_lettered_at_once(world: ConnectorWorld) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await _odoo_refuses_the_next_pos_order(emu)
        await world.place(tenant, world.order(tenant))
        message = await _one_dead_letter(world)
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
    assert len(creates) == 1
    assert message.headers["x-attempts"] == 1
    assert message.headers["x-error-class"] == "OdooValidationError"
    assert "payment method selected is not allowed" in str(message.headers["x-error-message"])


async def test_a_product_odoo_does_not_know_is_dead_lettered_at_once_with_the_reason(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=18) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        unknown = order.lines[0].model_copy(update={"product_ref": "NO-SUCH-THING"})
        order = order.model_copy(update={"lines": [unknown, order.lines[1]]})
        await world.place(tenant, order)
        message = await _one_dead_letter(world)
        assert await emu.control.calls(model="pos.order", method="sync_from_ui") == []
    assert message.headers["x-error-class"] == "MissingProductMappingError"
    assert "'NO-SUCH-THING'" in str(message.headers["x-error-message"])
    await tap.wait_for(1, "order.odoo_sync_failed")


async def test_one_bad_order_does_not_fail_its_batch_mates(world: ConnectorWorld) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        # Slow calls make the orders queue up behind the first one and travel as one batch.
        await emu.control.set_latency(150)
        orders = [world.order(tenant) for _ in range(6)]
        bad = orders[3].payments[0].model_copy(update={"odoo_payment_method_id": 999_999})
        orders[3] = orders[3].model_copy(update={"payments": [bad]})
        for order in orders:
            await world.place(tenant, order)
        good = [o for i, o in enumerate(orders) if i != 3]
        for order in good:
            await world.synced_odoo_id(order.order_id)
        message = await _one_dead_letter(world)
        in_odoo = await emu.control.records("demo", "pos.order")
        creates = await emu.control.calls(model="pos.order", method="create_from_ui")
    assert len(in_odoo) == 5
    assert message.message_id is not None
    assert message.headers["x-attempts"] == 1
    assert any(len(c["args"][0]) > 1 for c in creates), "the orders went in batches"


async def test_an_odoo_outage_longer_than_the_retry_schedule_dead_letters_nothing(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        emu.go_down()
        orders = [world.order(tenant) for _ in range(4)]
        for order in orders:
            await world.place(tenant, order)
        # Twice the whole schedule: without the breaker, every order would be dead-lettered.
        await asyncio.sleep(2 * sum(world.settings.retry_delays_ms) / 1000)
        assert await _dead_letters(world) == []
        emu.come_up()
        odoo_ids = [await world.synced_odoo_id(o.order_id, within_s=15) for o in orders]
        in_odoo = await emu.control.records("demo", "pos.order")
    assert sorted(o["id"] for o in in_odoo) == sorted(odoo_ids)
    assert (
        await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.dead_letter_records") == 0
    )
    await tap.wait_for(4, "order.odoo_synced")


async def test_orders_held_through_an_odoo_outage_go_in_order_in_full_batches_once_it_is_back(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        emu.go_down()
        orders = [world.order(tenant) for _ in range(12)]
        for order in orders:
            await world.place(tenant, order)
        # Many wait rounds long: a message sent round the wait queue would have gone by now.
        await asyncio.sleep(20 * world.settings.wait_ms / 1000)
        assert await world.waiting_rounds("odoo_unavailable") == 0
        before = len(await emu.control.calls(model="pos.order", method="create_from_ui"))
        emu.come_up()
        odoo_ids = [await world.synced_odoo_id(o.order_id, within_s=15) for o in orders]
        creates = (await emu.control.calls(model="pos.order", method="create_from_ui"))[before:]
    assert odoo_ids == sorted(odoo_ids), "Odoo received the register's orders in sale order"
    assert len(creates) <= 2, f"{len(creates)} create_from_ui calls for 12 held orders"
    assert await _dead_letters(world) == []


async def _retries_spent(world: ConnectorWorld) -> float:
    """How many times this process sent a message of the orders' queue to a retry tier."""
    queue = orders_queue(world.settings).name
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in (await world.client.get("/metrics")).text.splitlines()
        if line.startswith("events_retried_total{") and f'queue="{queue}"' in line
    )


@pytest.mark.parametrize(
    ("kind", "service"),
    [
        ("http_503", "object"),  # Odoo's database down behind a proxy; `common` still answers
        ("http_502", None),
        ("http_504", None),
        ("connection_reset", None),
        ("timeout", None),
    ],
)
async def test_every_shape_of_odoo_outage_keeps_the_orders_retries_and_the_dead_letter_queue_empty(
    world: ConnectorWorld, kind: str, service: str | None
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        before = await _retries_spent(world)
        await emu.control.fail(kind, count=100_000, service=service, delay_ms=50)
        orders = [world.order(tenant) for _ in range(4)]
        for order in orders:
            await world.place(tenant, order)
        # Longer than the whole retry schedule: had the outage spent retries, all would be dead.
        await asyncio.sleep(1.5 * sum(world.settings.retry_delays_ms) / 1000)
        assert await _dead_letters(world) == []
        await emu.control.clear_faults()
        odoo_ids = [await world.synced_odoo_id(o.order_id, within_s=20) for o in orders]
        in_odoo = await emu.control.records("demo", "pos.order")
    assert sorted(o["id"] for o in in_odoo) == sorted(odoo_ids)
    assert await _retries_spent(world) == before
    assert (
        await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.dead_letter_records") == 0
    )


async def test_an_outage_of_one_tenants_odoo_does_not_hold_another_tenants_orders(
    world: ConnectorWorld,
) -> None:
    async with (
        running_emulator(version=17) as down,
        running_emulator(version=18) as up,
    ):
        stuck = await world.pro_tenant(down.url, await down.control.seed("demo"))
        fine = await world.pro_tenant(up.url, await up.control.seed("demo"))
        down.go_down()
        for _ in range(3):
            await world.place(stuck, world.order(stuck))
        orders = [world.order(fine) for _ in range(3)]
        for order in orders:
            await world.place(fine, order)
        for order in orders:
            await world.synced_odoo_id(order.order_id)
        assert await down.control.records("demo", "pos.order") == []
        down.come_up()

        async def stuck_orders_landed() -> bool:
            return len(await down.control.records("demo", "pos.order")) == 3

        await eventually(stuck_orders_landed, within_s=15, what="the held orders draining")
    assert await _dead_letters(world) == []


async def test_a_pro_tenant_without_settings_waits_and_lands_once_they_are_stored(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        await world.pool.execute(
            f"DELETE FROM {world.schema}.odoo_settings WHERE tenant_id = $1", tenant.tenant_id
        )
        order = world.order(tenant)
        await world.place(tenant, order)

        async def waited_twice() -> bool:
            return await world.waiting_rounds("odoo_settings_missing") >= 2

        await eventually(waited_twice, what="the order waiting for settings")
        assert await _dead_letters(world) == []
        bot = next(u for u in seed["users"] if u["login"] == "pos-bot")
        response = await world.client.put(
            f"/v1/tenants/{tenant.tenant_id}/odoo",
            json={"url": emu.url, "database": "demo", "login": "pos-bot", "secret": bot["api_key"]},
            headers=world.token(tenant.tenant_id),
        )
        assert response.status_code == 200
        await world.synced_odoo_id(order.order_id)


async def test_a_connector_stopped_between_odoos_commit_and_the_ack_creates_nothing_twice(
    settings: ConnectorSettings,
) -> None:
    # Early 16.0 creates a duplicate on every re-send: only searching first can prevent it.
    async with running_emulator(version=16, odoo16_dedup="early") as emu:
        try:
            async with connector_app(settings) as setup:
                tenant = await setup.pro_tenant(emu.url, await emu.control.seed("demo"))
            # Odoo creates and commits the order, then holds the answer back for a while.
            await emu.control.fail(
                "timeout",
                count=1,
                model="pos.order",
                method="create_from_ui",
                after_commit=True,
                delay_ms=3000,
            )
            order = setup.order(tenant)
            async with connector_app(settings) as doomed:
                await doomed.place(tenant, order)

                async def odoo_has_it() -> bool:
                    return len(await emu.control.records("demo", "pos.order")) == 1

                await eventually(odoo_has_it, what="Odoo committing the order")
            # That replica is gone without its answer or its ack; the broker delivers again.
            async with connector_app(settings) as restarted:
                odoo_id = await restarted.synced_odoo_id(order.order_id, within_s=15)
                in_odoo = await emu.control.records("demo", "pos.order")
        finally:
            await delete_connector_topology(settings)
    assert [o["id"] for o in in_odoo] == [odoo_id]


async def test_an_order_event_of_an_unknown_contract_version_is_dead_lettered_at_once(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        envelope = EventEnvelope.wrap(
            order,
            tenant_id=tenant.tenant_id,
            aggregate_id=order.order_id,
            aggregate_version=1,
            producer="orders",
        ).model_copy(update={"version": 99})
        connection = await aio_pika.connect(world.settings.amqp_url)
        try:
            channel = await connection.channel()
            exchange = await channel.get_exchange(world.settings.exchange_name)
            await exchange.publish(
                aio_pika.Message(envelope.model_dump_json().encode()), routing_key="order.placed"
            )
        finally:
            await connection.close()
        message = await _one_dead_letter(world)
        assert await emu.control.records("demo", "pos.order") == []
    assert message.headers["x-error-class"] == "PoisonMessageError"
    assert "order.placed version 99" in str(message.headers["x-error-message"])


async def test_an_answer_lost_after_odoo_committed_a_refund_does_not_create_it_twice(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=16) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        await world.place(tenant, order)
        await world.synced_odoo_id(order.order_id)
        await emu.control.fail(
            "connection_reset",
            count=1,
            model="pos.order",
            method="create_from_ui",
            after_commit=True,
        )
        refund = world.refund(tenant, order)
        await world.publish(refund, tenant.tenant_id, order.order_id, version=2)
        order_id = await world.synced_odoo_id(order.order_id)
        refund_id = await world.synced_odoo_id(refund.refund_id)
        in_odoo = await emu.control.records("demo", "pos.order")
    assert sorted(o["id"] for o in in_odoo) == [order_id, refund_id]


async def test_a_refund_odoo_refuses_is_dead_lettered_and_reported_with_the_reason(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        await world.place(tenant, order)
        await world.synced_odoo_id(order.order_id)
        await _odoo_refuses_the_next_pos_order(emu)
        refund = world.refund(tenant, order)
        await world.publish(refund, tenant.tenant_id, order.order_id, version=2)
        await tap.wait_for(1, "refund.odoo_sync_failed")
    [failed] = tap.of_type("refund.odoo_sync_failed")
    assert (failed["data"]["refund_id"], failed["data"]["order_id"]) == (
        str(refund.refund_id),
        str(order.order_id),
    )
    assert failed["data"]["error_class"] == "OdooValidationError"
    assert "payment method selected is not allowed" in failed["data"]["message"]
    assert tap.of_type("refund.odoo_synced") == []
