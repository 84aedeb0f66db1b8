"""A sale in one statement: what it does when the process's view of the register is stale, when a
session closes under it, and on a replay; and a verified token revoked later."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from shared.auth import Role
from test_support.orders import OrdersWorld, Register, problem
from test_support.polling import eventually


async def _change_register_elsewhere(
    world: OrdersWorld, register: Register, **columns: object
) -> None:
    """What another worker process's consumer applies from a register event this process never
    hears of."""
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=2))
    await world.pool.execute(
        f"UPDATE {world.schema}.registers SET {assignments}, version = version + 1 "
        "WHERE register_id = $1",
        register.register_id,
        *columns.values(),
    )


async def test_a_register_deactivated_through_another_process_refuses_the_next_order(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(name="Terrace")
    await world.place(register)
    await _change_register_elsewhere(world, register, active=False)

    refused = await world.client.post(
        "/v1/orders", json=world.order_body(register), headers=world.device(register)
    )
    assert refused.status_code == 409, refused.text
    assert "Register 'Terrace' is deactivated" in problem(refused)["detail"]

    await _change_register_elsewhere(world, register, active=True)
    await world.place(register)


async def test_a_receipt_prefix_changed_through_another_process_numbers_the_next_order(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="OLD")
    first = await world.place(register)
    await _change_register_elsewhere(world, register, receipt_prefix="NEW")

    second = await world.place(register)
    assert (first["receipt_number"], second["receipt_number"]) == ("OLD-1", "NEW-2")


async def test_a_replayed_order_takes_no_receipt_number_and_writes_no_event(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    first = await world.client.post("/v1/orders", json=body, headers=world.device(register))
    assert first.status_code == 201, first.text
    outbox_before = await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.outbox")

    replay = await world.client.post("/v1/orders", json=body, headers=world.device(register))
    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    assert await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.outbox") == (
        outbox_before
    )
    assert (await world.place(register))["receipt_number"] == (f"{register.receipt_prefix}-2")


async def test_the_order_placed_event_holds_the_session_and_number_the_order_got(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="EVT")
    await world.place(register)
    order = await world.place(register)
    envelope = await world.pool.fetchval(
        f"SELECT envelope FROM {world.schema}.outbox "
        "WHERE aggregate_id = $1 AND event_type = 'order.placed'",
        uuid.UUID(order["id"]),
    )
    assert envelope["aggregate_id"] == order["id"]
    data = envelope["data"]
    assert (data["session_id"], data["receipt_number"], data["receipt_sequence"]) == (
        order["session_id"],
        "EVT-2",
        2,
    )


async def _someone_waits_for(pool: asyncpg.Pool, holder_pid: int) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))",
            holder_pid,
        )
    )


async def test_an_order_that_waited_out_a_close_goes_to_the_next_session_without_a_gap(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="GAP")
    first = await world.place(register)
    holder = await world.pool.acquire()
    try:
        # Holds the register's receipt counter, so the next sale waits for it with the first
        # session still open in its snapshot.
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            f"SELECT * FROM {world.schema}.receipt_sequences WHERE register_id = $1 FOR UPDATE",
            register.register_id,
        )
        sale = asyncio.create_task(world.place(register))
        holder_pid = holder.get_server_pid()
        await eventually(
            lambda: _someone_waits_for(world.pool, holder_pid),
            what="the sale waiting for the receipt counter",
        )
        closed = await world.client.post(
            f"/v1/sessions/{first['session_id']}/close",
            json={"counted_cash": {"amount": 0, "currency": "EUR"}},
            headers=world.device(register),
        )
        assert closed.status_code == 200, closed.text
        await transaction.commit()
    finally:
        await world.pool.release(holder)

    order = await sale
    assert order["session_id"] != first["session_id"]
    assert order["receipt_number"] == "GAP-2"
    assert closed.json()["totals"]["order_count"] == 1


async def test_a_token_revoked_after_use_is_refused_once_the_revocations_reload(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    token_id = uuid.uuid4()
    token = world.issuer.issue(
        subject="till@test",
        tenant_id=register.tenant_id,
        role=Role.CASHIER,
        register_id=register.register_id,
        token_id=token_id,
    )
    headers = {"Authorization": f"Bearer {token}"}
    body = world.order_body(register)
    placed = await world.client.post("/v1/orders", json=body, headers=headers)
    assert placed.status_code == 201, placed.text
    # Recorded by another replica's consumer: this one only reloads the table.
    await world.pool.execute(
        f"INSERT INTO {world.schema}.revoked_tokens (token_id, expires_at) VALUES ($1, $2)",
        token_id,
        datetime.now(UTC) + timedelta(hours=1),
    )

    async def refused() -> bool:
        response = await world.client.get(f"/v1/orders/{body['id']}", headers=headers)
        return response.status_code == 401 and "revoked" in problem(response)["detail"]

    await eventually(refused, what="the revoked token refused")
