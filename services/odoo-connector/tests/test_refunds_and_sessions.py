"""A refund follows its order into Odoo; a closed cash session closes its Odoo session."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from odoo_connector.odoo_client import OdooClient, OdooEndpoint
from odoo_emulator.testing import RunningEmulator, running_emulator
from shared.events.contracts import PaymentState
from test_support.event_tap import EventTap
from test_support.odoo_connector import ConnectorWorld
from test_support.polling import eventually


async def test_a_refund_published_before_its_order_waits_then_lands_after_it(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        refund = world.refund(tenant, order)
        await world.publish(refund, tenant.tenant_id, order.order_id, version=2)

        async def waited_for_its_order() -> bool:
            return await world.waiting_rounds("original_not_in_odoo") >= 3

        await eventually(waited_for_its_order, what="the refund waiting for its order")
        assert await emu.control.records("demo", "pos.order") == [], "no refund before its order"
        await world.place(tenant, order)
        order_id = await world.synced_odoo_id(order.order_id)
        refund_id = await world.synced_odoo_id(refund.refund_id)
        in_odoo = {o["id"]: o for o in await emu.control.records("demo", "pos.order")}
        lines = await emu.control.records("demo", "pos.order.line")
        await tap.wait_for(1, "refund.odoo_synced")
    [announced] = tap.of_type("refund.odoo_synced")
    assert (announced["data"]["refund_id"], announced["data"]["odoo_order_id"]) == (
        str(refund.refund_id),
        refund_id,
    )
    assert refund_id > order_id
    assert in_odoo[refund_id]["amount_total"] == -1.8
    assert in_odoo[refund_id]["state"] == "paid"
    refund_lines = [line for line in lines if line["order_id"] == refund_id]
    croissant = next(
        line for line in lines if line["order_id"] == order_id and line["price_unit"] == 1.8
    )
    assert [(line["qty"], line["refunded_orderline_id"]) for line in refund_lines] == [
        (-1.0, croissant["id"])
    ]
    assert (
        await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.dead_letter_records") == 0
    )


async def test_a_closed_cash_session_closes_its_odoo_session_once_its_orders_are_in(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=18) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        orders = [world.order(tenant) for _ in range(2)]
        # The close is published first: it must wait for the session's two orders.
        closing = await world.publish(
            world.session_closed(tenant, order_count=2), tenant.tenant_id, tenant.session_id
        )
        for order in orders:
            await world.place(tenant, order)
        await world.handled(closing)
        sessions = await emu.control.records("demo", "pos.session")
        in_odoo = await emu.control.records("demo", "pos.order")
    assert [s["state"] for s in sessions] == ["closed"]
    assert {o["state"] for o in in_odoo} == {"done"}


async def _refused_closes(world: ConnectorWorld) -> float:
    """The process's count of closes Odoo refused that were still to be retried."""
    for line in (await world.client.get("/metrics")).text.splitlines():
        if line.startswith('connector_session_closes_refused_total{final="false"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _close_refused(world: ConnectorWorld, emu: RunningEmulator, refusals: int) -> None:
    """A till session with one order in Odoo closes while Odoo refuses its next closes."""
    tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
    order = world.order(tenant)
    await world.place(tenant, order)
    await world.synced_odoo_id(order.order_id)
    await emu.control.fail(
        "odoo_error",
        count=refusals,
        model="pos.session",
        method="close_session_from_ui",
        error_name="odoo.exceptions.UserError",
        error_message="You cannot close the POS when orders are still in draft",
    )
    await world.publish(
        world.session_closed(tenant, order_count=1), tenant.tenant_id, tenant.session_id
    )


async def test_a_close_odoo_refuses_is_reported_with_its_reason_then_retried_until_it_closes(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        refused_before = await _refused_closes(world)
        await _close_refused(world, emu, refusals=1)
        await tap.wait_for(1, "session.odoo_synced")
        sessions = await emu.control.records("demo", "pos.session")
        closes = await emu.control.calls(model="pos.session", method="close_session_from_ui")
    [refused] = tap.of_type("session.odoo_sync_failed")
    assert refused["data"]["final"] is False
    assert "orders are still in draft" in refused["data"]["message"]
    [synced] = tap.of_type("session.odoo_synced")
    assert synced["data"]["odoo_session_ids"] == [sessions[0]["id"]]
    assert [s["state"] for s in sessions] == ["closed"]
    assert len(closes) == 2
    assert (
        await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.dead_letter_records") == 0
    )
    assert await _refused_closes(world) == refused_before + 1


async def test_a_close_odoo_keeps_refusing_is_dead_lettered_and_reported_final(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=18) as emu:
        await _close_refused(world, emu, refusals=100)

        async def final() -> list[dict[str, Any]] | None:
            found = [e for e in tap.of_type("session.odoo_sync_failed") if e["data"]["final"]]
            return found or None

        [given_up] = await eventually(final, what="the close given up")
        reason = await world.pool.fetchval(
            f"SELECT reason FROM {world.schema}.dead_letter_records WHERE event_type = $1",
            "session.closed",
        )
        sessions = await emu.control.records("demo", "pos.session")
    assert "orders are still in draft" in given_up["data"]["message"]
    assert "orders are still in draft" in reason
    assert [s["state"] for s in sessions] != ["closed"]
    # Five retries after the first refusal, each reported while it was still being retried.
    interim = [e for e in tap.of_type("session.odoo_sync_failed") if not e["data"]["final"]]
    assert len(interim) == 6
    assert tap.of_type("session.odoo_synced") == []


async def test_imported_refunds_and_session_closes_are_skipped_at_once(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        pulled = world.order(tenant, source="odoo_pulled", odoo_order_id=41)
        refund = world.refund(tenant, pulled).model_copy(
            update={"source": "odoo_pulled", "odoo_order_id": 42}
        )
        closed = world.session_closed(tenant, order_count=1).model_copy(
            update={"source": "odoo_pulled", "refund_count": 1}
        )
        for event, aggregate in (
            (pulled, pulled.order_id),
            (refund, pulled.order_id),
            (closed, tenant.session_id),
        ):
            await world.handled(await world.publish(event, tenant.tenant_id, aggregate))
        assert await emu.control.records("demo", "pos.order") == []
        assert await emu.control.records("demo", "pos.session") == []
    assert await world.waiting_rounds("original_not_in_odoo") == 0
    assert await world.waiting_rounds("session_orders_not_in_odoo") == 0


async def test_a_till_refund_of_an_imported_order_is_linked_to_its_odoo_lines(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        # An order that is in Odoo already; the backfill brought it home under our own id.
        sold = world.order(tenant)
        await world.place(tenant, sold)
        odoo_id = await world.synced_odoo_id(sold.order_id)
        history = sold.model_copy(
            update={
                "order_id": uuid.uuid4(),
                "source": "odoo_pulled",
                "odoo_order_id": odoo_id,
                "receipt_sequence": None,
            }
        )
        await world.handled(await world.place(tenant, history))

        refund = world.refund(tenant, history)
        await world.publish(refund, tenant.tenant_id, history.order_id, version=2)
        refund_id = await world.synced_odoo_id(refund.refund_id)
        lines = await emu.control.records("demo", "pos.order.line")
    croissant = next(
        line for line in lines if line["order_id"] == odoo_id and line["price_unit"] == 1.8
    )
    refund_lines = [line for line in lines if line["order_id"] == refund_id]
    assert [line["refunded_orderline_id"] for line in refund_lines] == [croissant["id"]]


@pytest.mark.parametrize(
    "method",
    [
        "create",
        "set_cashbox_pos",
        "post_closing_cash_details",
        "update_closing_control_state_session",
        "close_session_from_ui",
    ],
)
async def test_an_answer_lost_at_any_session_step_leaves_one_session_opened_and_closed(
    world: ConnectorWorld, tap: EventTap, method: str
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "connection_reset", count=1, model="pos.session", method=method, after_commit=True
        )
        cash = PaymentState(payment_id=uuid.uuid4(), method="cash", kind="cash", amount=680)
        order = world.order(tenant, payments=[cash])
        await world.place(tenant, order)
        await world.synced_odoo_id(order.order_id)
        await world.publish(
            world.session_closed(tenant, order_count=1, expected_cash=680),
            tenant.tenant_id,
            tenant.session_id,
        )
        await tap.wait_for(1, "session.odoo_synced")
        sessions = await emu.control.records("demo", "pos.session")
        lost = await emu.control.calls(model="pos.session", method=method)
    assert [(s["state"], s["cash_register_difference"]) for s in sessions] == [("closed", 0.0)]
    assert len(lost) >= 1
    assert tap.of_type("session.odoo_sync_failed") == []


@pytest.mark.parametrize("version", [16, 17, 18])
async def test_a_session_closed_in_odoo_by_hand_mid_day_still_gets_the_rest_of_the_day_closed(
    world: ConnectorWorld, tap: EventTap, version: int
) -> None:
    async with running_emulator(version=version) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        morning = world.order(tenant)
        await world.place(tenant, morning)
        await world.synced_odoo_id(morning.order_id)
        [first] = await emu.control.records("demo", "pos.session")
        admin = next(u for u in seed["users"] if u["login"] == "admin")
        client = OdooClient(timeout_s=10)
        try:
            endpoint = OdooEndpoint(emu.url, "demo", "admin", admin["api_key"])
            uid = await client.authenticate(endpoint)
            assert uid is not None
            await client.execute_kw(
                endpoint, uid, "pos.session", "action_pos_session_closing_control", [[first["id"]]]
            )
        finally:
            await client.aclose()
        afternoon = world.order(tenant)
        await world.place(tenant, afternoon)
        await world.synced_odoo_id(afternoon.order_id)
        await world.publish(
            world.session_closed(tenant, order_count=2), tenant.tenant_id, tenant.session_id
        )
        await tap.wait_for(1, "session.odoo_synced")
        sessions = {s["id"]: s for s in await emu.control.records("demo", "pos.session")}
        orders = {o["pos_reference"]: o for o in await emu.control.records("demo", "pos.order")}
    [synced] = tap.of_type("session.odoo_synced")
    later = orders[f"Order {afternoon.receipt_number}"]["session_id"]
    assert later != first["id"]
    assert synced["data"]["odoo_session_ids"] == [first["id"], later]
    assert {s["state"] for s in sessions.values()} == {"closed"}
    assert sessions[later]["rescue"] is (version != 18)
