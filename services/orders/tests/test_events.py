"""What the orders service publishes and consumes, through real RabbitMQ."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aio_pika

from orders.settings import OrdersSettings
from shared.events.contracts import (
    OrderOdooSynced,
    RefundOdooSynced,
    RefundOdooSyncFailed,
    SessionOdooSynced,
    SessionOdooSyncFailed,
)
from test_support.event_tap import EventTap
from test_support.orders import OrdersWorld, Register, proxied_url, running_orders
from test_support.polling import eventually
from test_support.tcp_proxy import TcpProxy


async def test_order_placed_carries_the_whole_order(world: OrdersWorld, tap: EventTap) -> None:
    register = await world.create_register(receipt_prefix="EV")
    order = await world.place(register)
    await tap.wait_for(1, "order.placed")
    event = tap.of_type("order.placed")[0]
    assert event["aggregate_id"] == order["id"]
    assert event["tenant_id"] == str(register.tenant_id)
    assert event["producer"] == "orders"
    data = event["data"]
    assert data["receipt_number"] == "EV-1"
    assert [line["product_name"] for line in data["lines"]] == ["Flat white", "Croissant"]
    assert data["lines"][0]["line_id"] == order["lines"][0]["id"]
    assert data["payments"][0]["amount"] == 920
    assert data["total"] == 920
    assert data["session_id"] == order["session_id"]


async def test_the_events_of_one_order_arrive_in_order(world: OrdersWorld, tap: EventTap) -> None:
    register = await world.create_register()
    order = await world.place(register)
    for _ in range(2):
        response = await world.client.post(
            f"/v1/orders/{order['id']}/refunds",
            json={
                "id": str(uuid.uuid4()),
                "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": "1"}],
                "payments": [
                    {"method": "card", "kind": "card", "amount": {"amount": 350, "currency": "EUR"}}
                ],
                "reason": "spilt",
            },
            headers=world.device(register),
        )
        assert response.status_code == 201
    await tap.wait_for(2, "order.refunded")
    of_order = [e for e in tap.events if e["aggregate_id"] == order["id"]]
    assert [(e["type"], e["aggregate_version"]) for e in of_order] == [
        ("order.placed", 1),
        ("order.refunded", 2),
        ("order.refunded", 3),
    ]


async def test_sessions_announce_opening_and_closing(world: OrdersWorld, tap: EventTap) -> None:
    register = await world.create_register()
    order = await world.place(register)
    await world.client.post(
        f"/v1/sessions/{order['session_id']}/close",
        json={"counted_cash": {"amount": 0, "currency": "EUR"}},
        headers=world.device(register),
    )
    await tap.wait_for(1, "session.closed")
    opened = tap.of_type("session.opened")[0]
    closed = tap.of_type("session.closed")[0]
    assert opened["data"]["opened_implicitly"] is True
    assert closed["data"]["order_count"] == 1
    assert closed["data"]["sales_total"] == 920
    assert (opened["aggregate_version"], closed["aggregate_version"]) == (1, 2)


async def test_the_callers_correlation_id_travels_with_the_event(
    world: OrdersWorld, tap: EventTap
) -> None:
    register = await world.create_register()
    response = await world.client.post(
        "/v1/orders",
        json=world.order_body(register),
        headers={**world.device(register), "X-Correlation-ID": "till-7-sale-42"},
    )
    assert response.headers["x-correlation-id"] == "till-7-sale-42"
    await tap.wait_for(1, "order.placed")
    assert tap.of_type("order.placed")[0]["correlation_id"] == "till-7-sale-42"


async def test_an_order_taken_while_the_broker_is_unreachable_is_published_once_after(
    settings: OrdersSettings, broker_proxy: TcpProxy, tap: EventTap
) -> None:
    cut_off = settings.model_copy(update={"amqp_url": proxied_url(settings.amqp_url, broker_proxy)})
    async with running_orders(cut_off) as world:
        register = await world.create_register()
        await broker_proxy.cut()
        placed = await world.client.post(
            "/v1/orders", json=world.order_body(register), headers=world.device(register)
        )
        assert placed.status_code == 201

        async def not_ready() -> bool:
            return (await world.client.get("/readyz")).status_code == 503

        # Taken all the same, but not ready: its consumers cannot hear of registers meanwhile.
        await eventually(not_ready, what="readiness to drop")
        order_id = placed.json()["id"]
        await asyncio.sleep(1.0)
        assert not [e for e in tap.of_type("order.placed") if e["aggregate_id"] == order_id]

        await broker_proxy.restore()
        await tap.wait_for(1, "order.placed", within_s=30)
        await asyncio.sleep(1.0)
        published = [e for e in tap.of_type("order.placed") if e["aggregate_id"] == order_id]
        assert len(published) == 1
        unsent = await world.pool.fetchval(
            f"SELECT count(*) FROM {world.schema}.outbox WHERE published_at IS NULL"
        )
        assert unsent == 0


async def test_a_redelivered_sync_event_is_applied_once(world: OrdersWorld) -> None:
    register = await world.create_register(tenant_tier="pro")
    order = await world.place(register)
    first = await world.stamp_synced(register, order["id"], odoo_order_id=100)
    await world.stamp_synced(register, order["id"], odoo_order_id=200)
    redelivered = await world.publish(
        OrderOdooSynced(order_id=uuid.UUID(order["id"]), odoo_order_id=100),
        register.tenant_id,
        uuid.UUID(order["id"]),
        event_id=first.id,
    )

    async def seen_twice() -> bool:
        return bool(
            await world.pool.fetchval(
                f"SELECT count(*) = 2 FROM {world.schema}.inbox WHERE event_type = $1",
                redelivered.type,
            )
        )

    await eventually(seen_twice, what="both distinct sync events recorded")
    await asyncio.sleep(0.5)  # time for the duplicate to be delivered and skipped
    fetched = await world.client.get(f"/v1/orders/{order['id']}", headers=world.device(register))
    assert fetched.json()["odoo_order_id"] == 200


async def test_an_undecodable_message_goes_to_the_dead_letter_queue_with_its_reason(
    world: OrdersWorld,
) -> None:
    connection = await aio_pika.connect(world.settings.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(world.settings.exchange_name)
        await exchange.publish(
            aio_pika.Message(b"not json at all", message_id="poison-1"),
            routing_key="register.created",
        )
        dlq = await channel.get_queue(world.settings.broker_name("orders.registers.dlq"))

        async def dead_letter() -> aio_pika.abc.AbstractIncomingMessage | None:
            return await dlq.get(no_ack=True, fail=False)

        message = await eventually(dead_letter, what="dead letter")
        headers = message.headers
        assert headers["x-error-class"] == "PoisonMessageError"
        assert "undecodable envelope" in str(headers["x-error-message"])
        assert headers["x-original-routing-key"] == "register.created"
        assert headers["x-attempts"] == 1
        assert message.body == b"not json at all"
    finally:
        await connection.close()


async def _till_session(world: OrdersWorld, register: Register) -> dict[str, Any]:
    order = await world.place(register)
    response = await world.client.get(
        f"/v1/sessions/{order['session_id']}", headers=world.device(register)
    )
    session: dict[str, Any] = response.json()
    return session


async def _session_shows(
    world: OrdersWorld, register: Register, session_id: str, state: str
) -> dict[str, Any]:
    async def shown() -> dict[str, Any] | None:
        response = await world.client.get(
            f"/v1/sessions/{session_id}", headers=world.device(register)
        )
        session: dict[str, Any] = response.json()
        return session if session["sync_state"] == state else None

    return await eventually(shown, what=f"the session {state}")


async def test_a_pro_till_session_shows_why_odoo_refused_its_close_until_odoo_closes_it(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(tenant_tier="pro")
    session = await _till_session(world, register)
    assert session["sync_state"] == "pending"
    session_id = uuid.UUID(session["id"])
    refusal = SessionOdooSyncFailed(
        session_id=session_id,
        error_class="SessionCloseRefusedError",
        message="Please go on the Cash journal and define a Loss Account.",
        final=False,
    )
    await world.publish(refusal, register.tenant_id, session_id)
    shown = await eventually(
        lambda: _error_of(world, register, session["id"]), what="the refusal on the session"
    )
    retrying = await _session_shows(world, register, session["id"], "pending")
    given_up = refusal.model_copy(update={"final": True})
    await world.publish(given_up, register.tenant_id, session_id)
    failed = await _session_shows(world, register, session["id"], "failed")
    synced = SessionOdooSynced(session_id=session_id, odoo_session_ids=[4, 9], cash_difference=0)
    await world.publish(synced, register.tenant_id, session_id)
    closed = await _session_shows(world, register, session["id"], "synced")
    # A late report of an earlier refusal does not undo Odoo's close.
    await world.publish(refusal, register.tenant_id, session_id)
    await asyncio.sleep(0.5)
    still = await _session_shows(world, register, session["id"], "synced")
    assert retrying["sync_error"] == shown
    assert "define a Loss Account" in shown
    assert failed["sync_error"] == (
        "SessionCloseRefusedError: Please go on the Cash journal and define a Loss Account."
    )
    assert (closed["sync_error"], closed["odoo_session_id"]) == (None, 9)
    assert still["sync_error"] is None


async def _error_of(world: OrdersWorld, register: Register, session_id: str) -> str | None:
    response = await world.client.get(f"/v1/sessions/{session_id}", headers=world.device(register))
    error: str | None = response.json()["sync_error"]
    return error


async def test_a_starter_till_session_is_local(world: OrdersWorld) -> None:
    register = await world.create_register()
    assert (await _till_session(world, register))["sync_state"] == "local"


async def _refund_of(world: OrdersWorld, register: Register) -> tuple[dict[str, Any], str]:
    order = await world.place(register)
    response = await world.client.post(
        f"/v1/orders/{order['id']}/refunds",
        json={
            "id": str(uuid.uuid4()),
            "lines": [{"order_line_id": order["lines"][1]["id"], "quantity": "1"}],
            "payments": [
                {"method": "card", "kind": "card", "amount": {"amount": 220, "currency": "EUR"}}
            ],
            "reason": "stale",
        },
        headers=world.device(register),
    )
    assert response.status_code == 201, response.text
    refund: dict[str, Any] = response.json()
    return refund, order["id"]


async def _refund_shows(
    world: OrdersWorld, register: Register, order_id: str, state: str
) -> dict[str, Any]:
    async def shown() -> dict[str, Any] | None:
        response = await world.client.get(f"/v1/orders/{order_id}", headers=world.device(register))
        [refund] = response.json()["refunds"]
        return refund if refund["sync_state"] == state else None

    found: dict[str, Any] = await eventually(shown, what=f"the refund {state}")
    return found


async def test_a_pro_refund_shows_its_odoo_id_once_odoo_has_it(world: OrdersWorld) -> None:
    register = await world.create_register(tenant_tier="pro")
    refund, order_id = await _refund_of(world, register)
    assert (refund["sync_state"], refund["odoo_order_id"]) == ("pending", None)
    refund_id = uuid.UUID(refund["id"])
    synced = RefundOdooSynced(
        refund_id=refund_id, order_id=uuid.UUID(order_id), odoo_order_id=41, odoo_session_id=3
    )
    await world.publish(synced, register.tenant_id, refund_id)
    stamped = await _refund_shows(world, register, order_id, "synced")
    assert (stamped["odoo_order_id"], stamped["sync_error"]) == (41, None)


async def test_a_pro_refund_the_connector_gave_up_on_shows_failed_with_the_reason(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(tenant_tier="pro")
    refund, order_id = await _refund_of(world, register)
    refund_id = uuid.UUID(refund["id"])
    failed = RefundOdooSyncFailed(
        refund_id=refund_id,
        order_id=uuid.UUID(order_id),
        error_class="RefundNotMappableError",
        message="the refunded order was dead-lettered and is not in Odoo",
    )
    await world.publish(failed, register.tenant_id, refund_id)
    shown = await _refund_shows(world, register, order_id, "failed")
    assert shown["sync_error"] == (
        "RefundNotMappableError: the refunded order was dead-lettered and is not in Odoo"
    )
    assert shown["odoo_order_id"] is None


async def test_a_starter_refund_is_local(world: OrdersWorld) -> None:
    register = await world.create_register()
    refund, _ = await _refund_of(world, register)
    assert (refund["sync_state"], refund["sync_error"]) == ("local", None)
