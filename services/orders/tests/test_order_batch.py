"""A tablet back online posts its queue: each order answered as if posted alone, in order."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from test_support.event_tap import EventTap
from test_support.orders import OrdersWorld, Register, problem

BATCH = "/v1/orders/batch"


async def _batch(
    world: OrdersWorld,
    register: Register,
    orders: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await world.client.post(
        BATCH, json={"orders": orders}, headers=headers or world.device(register)
    )


async def _results(
    world: OrdersWorld, register: Register, orders: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    response = await _batch(world, register, orders)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert [r["id"] for r in results] == [o["id"] for o in orders]
    return results


def _outcomes(results: list[dict[str, Any]]) -> list[str]:
    return [r["outcome"] for r in results]


async def _alone(world: OrdersWorld, register: Register, body: dict[str, Any]) -> httpx.Response:
    return await world.client.post("/v1/orders", json=body, headers=world.device(register))


async def test_a_batch_creates_its_orders_numbered_in_the_order_sent(world: OrdersWorld) -> None:
    register = await world.create_register(receipt_prefix="OFF")
    orders = [world.order_body(register) for _ in range(5)]
    results = await _results(world, register, orders)
    assert _outcomes(results) == ["created"] * 5
    assert [r["order"]["receipt_number"] for r in results] == [f"OFF-{n}" for n in range(1, 6)]
    assert all(r["problem"] is None for r in results)
    for result in results:
        stored = await world.client.get(
            f"/v1/orders/{result['id']}", headers=world.device(register)
        )
        assert stored.json() == result["order"]
    # The single path numbers on from where the batch left off.
    assert (await world.place(register))["receipt_number"] == "OFF-6"


async def test_a_batch_order_is_stored_as_the_single_path_stores_it(world: OrdersWorld) -> None:
    register = await world.create_register()
    alone = await world.place(register)
    body = world.order_body(register)
    (result,) = await _results(world, register, [body])
    batched = result["order"]
    for order in (alone, batched):
        for key in ("id", "receipt_number", "received_at", "created_at"):
            order.pop(key)
        for part in order["lines"] + order["payments"]:
            part.pop("id")
    assert batched == alone


async def test_an_order_posted_alone_before_is_replayed_with_the_stored_one(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    alone = (await _alone(world, register, body)).json()
    fresh = world.order_body(register)
    results = await _results(world, register, [body, fresh])
    assert _outcomes(results) == ["replayed", "created"]
    assert results[0]["order"] == alone
    assert await world.count("orders", register.tenant_id) == 2


async def test_sending_the_same_batch_again_replays_every_order_and_stores_nothing(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    orders = [world.order_body(register) for _ in range(3)]
    first = await _results(world, register, orders)
    again = await _results(world, register, orders)
    assert _outcomes(again) == ["replayed"] * 3
    assert [r["order"] for r in again] == [r["order"] for r in first]
    assert await world.count("orders", register.tenant_id) == 3
    assert await world.count("outbox", register.tenant_id) == 3 + 1  # and session.opened


async def test_a_replay_shows_the_refunds_made_since(world: OrdersWorld) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    (created,) = await _results(world, register, [body])
    line = created["order"]["lines"][0]
    refund = await world.client.post(
        f"/v1/orders/{body['id']}/refunds",
        json={
            "id": str(uuid.uuid4()),
            "lines": [{"order_line_id": line["id"], "quantity": "1"}],
            "payments": [
                {"method": "card", "kind": "card", "amount": {"amount": 350, "currency": "EUR"}}
            ],
            "reason": "spilt",
        },
        headers=world.device(register),
    )
    assert refund.status_code == 201, refund.text
    (replayed,) = await _results(world, register, [body])
    assert replayed["outcome"] == "replayed"
    assert replayed["order"]["state"] == "partially_refunded"
    assert replayed["order"]["refunds"] == [refund.json()]


async def test_a_known_id_with_different_content_is_refused_as_the_single_path_refuses_it(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    await _alone(world, register, body)
    changed = {**body, "note": "extra hot"}
    alone = problem(await _alone(world, register, changed))
    fresh = world.order_body(register)
    results = await _results(world, register, [changed, fresh])
    assert _outcomes(results) == ["refused", "created"]
    assert results[0]["order"] is None
    refusal = results[0]["problem"]
    assert refusal["status"] == 409
    assert "already recorded with different content" in refusal["detail"]
    assert {k: alone[k] for k in ("type", "title", "status", "detail")} == {
        k: refusal[k] for k in ("type", "title", "status", "detail")
    }


async def test_the_same_id_twice_in_one_batch_is_answered_as_two_posts_in_a_row(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="TW")
    body = world.order_body(register)
    changed = {**body, "note": "extra hot"}
    results = await _results(world, register, [body, body, changed])
    assert _outcomes(results) == ["created", "replayed", "refused"]
    assert results[1]["order"] == results[0]["order"]
    assert results[2]["problem"]["status"] == 409
    assert await world.count("orders", register.tenant_id) == 1
    # Only one number was taken.
    assert (await world.place(register))["receipt_number"] == "TW-2"


async def test_an_id_refused_earlier_in_a_batch_may_be_created_by_a_later_good_copy(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    good = world.order_body(register)
    wrong_total = {**good, "total": {"amount": 1, "currency": "EUR"}}
    results = await _results(world, register, [wrong_total, good])
    assert _outcomes(results) == ["refused", "created"]


def _bad_orders(world: OrdersWorld, register: Register, other: Register) -> list[dict[str, Any]]:
    """Orders the single path refuses after reading them, each for another reason."""
    wrong_line = world.order_body(register)
    wrong_line["lines"][0]["total"] = {"amount": 701, "currency": "EUR"}
    wrong_currency = world.order_body(register)
    wrong_currency["total"] = {"amount": 920, "currency": "USD"}
    short_payment = world.order_body(register)
    short_payment["payments"][0]["amount"] = {"amount": 900, "currency": "EUR"}
    another_till = world.order_body(other)
    return [wrong_line, wrong_currency, short_payment, another_till]


async def test_each_refusal_is_the_problem_the_single_path_answers_and_spares_the_others(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="MIX")
    other = await world.create_register(tenant_id=register.tenant_id)
    bad = _bad_orders(world, register, other)
    good = [world.order_body(register) for _ in range(2)]
    results = await _results(world, register, [good[0], *bad, good[1]])
    assert _outcomes(results) == ["created", *["refused"] * len(bad), "created"]
    # Refused orders take no receipt number.
    assert [results[0]["order"]["receipt_number"], results[-1]["order"]["receipt_number"]] == [
        "MIX-1",
        "MIX-2",
    ]
    for body, result in zip(bad, results[1:-1], strict=True):
        response = await _alone(world, register, body)
        alone = problem(response)
        assert result["order"] is None
        assert result["problem"]["status"] == response.status_code
        for key in ("type", "title", "detail"):
            assert result["problem"][key] == alone[key], key
        assert result["problem"]["errors"] == alone.get("errors", [])
    assert [r["problem"]["status"] for r in results[1:-1]] == [422, 422, 422, 403]
    assert "belongs to register" in results[-2]["problem"]["detail"]


async def test_orders_for_a_register_not_known_here_are_refused_as_the_single_path_refuses(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    unknown = uuid.uuid4()
    body = world.order_body(register, register_id=str(unknown))
    token = world.token(register.tenant_id, register_id=unknown)
    alone = await world.client.post("/v1/orders", json=body, headers=token)
    response = await _batch(world, register, [body], headers=token)
    (result,) = response.json()["results"]
    assert (result["outcome"], result["problem"]["status"]) == ("refused", 422)
    assert result["problem"]["detail"] == problem(alone)["detail"]
    assert "is not known" in result["problem"]["detail"]
    assert result["problem"]["errors"] == [
        {"field": "register_id", "message": problem(alone)["detail"]}
    ]


async def test_orders_for_a_deactivated_register_are_refused_but_its_stored_ones_replay(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(name="Terrace")
    sold = world.order_body(register)
    await _results(world, register, [sold])
    register.active, register.version = False, 2
    await world.announce(register)
    results = await _results(world, register, [sold, world.order_body(register)])
    assert _outcomes(results) == ["replayed", "refused"]
    assert results[1]["problem"]["status"] == 409
    assert results[1]["problem"]["detail"].startswith("Register 'Terrace' is deactivated")


async def test_a_batch_opens_one_session_silently_and_puts_every_order_in_it(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    results = await _results(world, register, [world.order_body(register) for _ in range(4)])
    sessions = {r["order"]["session_id"] for r in results}
    assert len(sessions) == 1
    assert await world.count("cash_sessions", register.tenant_id) == 1
    session = await world.client.get(
        f"/v1/sessions/{sessions.pop()}", headers=world.device(register)
    )
    assert session.json()["opened_implicitly"] is True
    assert session.json()["totals"]["order_count"] == 4


async def test_every_created_order_is_announced_exactly_as_a_single_one(
    world: OrdersWorld, tap: EventTap
) -> None:
    register = await world.create_register(receipt_prefix="EVB")
    alone = await world.place(register)
    body = world.order_body(register)
    results = await _results(world, register, [body, body, world.order_body(register)])
    await tap.wait_for(3, "order.placed")
    events = {e["aggregate_id"]: e for e in tap.of_type("order.placed")}
    assert len(events) == 3  # the replay in the batch announces nothing
    single, batched = events[alone["id"]], events[body["id"]]
    assert batched["data"]["receipt_number"] == "EVB-2"
    assert events[results[2]["id"]]["data"]["receipt_sequence"] == 3
    assert batched["data"]["lines"][0]["line_id"] == results[0]["order"]["lines"][0]["id"]
    # Same envelope and body, but for what makes them two orders.
    assert batched.keys() == single.keys()
    for key in ("type", "version", "producer", "tenant_id", "aggregate_version"):
        assert batched[key] == single[key], key
    distinct = ("order_id", "receipt_number", "receipt_sequence", "created_at", "lines", "payments")
    assert {k: v for k, v in batched["data"].items() if k not in distinct} == {
        k: v for k, v in single["data"].items() if k not in distinct
    }
    for part in ("lines", "payments"):
        strip = {"line_id", "payment_id"}
        assert [{k: v for k, v in x.items() if k not in strip} for x in batched["data"][part]] == [
            {k: v for k, v in x.items() if k not in strip} for x in single["data"][part]
        ]


@pytest.mark.parametrize("count", [0, 501])
async def test_an_empty_batch_or_one_over_500_is_refused_naming_the_limit(
    world: OrdersWorld, count: int
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    response = await _batch(world, register, [body] * count)
    assert response.status_code == 422
    refusal = problem(response)
    assert refusal["errors"][0]["field"] == "orders"
    assert refusal["detail"] == (
        f"orders must hold 1 to 500 orders; got {count}. "
        "Send a longer queue as several batches of at most 500."
    )
    assert await world.count("orders", register.tenant_id) == 0


async def test_an_order_that_does_not_fit_the_schema_refuses_the_batch_naming_it(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    bad = world.order_body(register)
    bad["lines"][0]["quantity"] = "two"
    response = await _batch(world, register, [world.order_body(register), bad])
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {
            "field": "orders[1].lines[0].quantity",
            "message": 'must be a decimal string such as "2" or "0.5"; got \'two\'',
        }
    ]
    assert await world.count("orders", register.tenant_id) == 0


@pytest.mark.parametrize("role", ["manager", "admin"])
async def test_only_a_till_posts_batches(world: OrdersWorld, role: str) -> None:
    register = await world.create_register()
    token = getattr(world, role)(register.tenant_id)
    response = await _batch(world, register, [world.order_body(register)], headers=token)
    assert response.status_code == 403
    assert problem(response)["allowed_roles"] == ["cashier"]


async def test_concurrent_copies_of_a_batch_store_each_order_once(world: OrdersWorld) -> None:
    register = await world.create_register(receipt_prefix="RACE")
    orders = [world.order_body(register) for _ in range(10)]
    responses = await asyncio.gather(*(_batch(world, register, orders) for _ in range(4)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    answers = [r.json()["results"] for r in responses]
    for index in range(len(orders)):
        outcomes = sorted(a[index]["outcome"] for a in answers)
        assert outcomes == ["created"] + ["replayed"] * 3
        assert len({a[index]["order"]["receipt_number"] for a in answers}) == 1
    numbers = sorted(int(r["order"]["receipt_number"].split("-")[1]) for r in answers[0])
    assert numbers == list(range(1, 11))
    assert await world.count("orders", register.tenant_id) == 10


async def test_a_batch_racing_single_posts_of_its_orders_stores_each_once(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    orders = [world.order_body(register) for _ in range(6)]
    batch, *alone = await asyncio.gather(
        _batch(world, register, orders), *(_alone(world, register, o) for o in orders)
    )
    assert batch.status_code == 200, batch.text
    for body, result, single in zip(orders, batch.json()["results"], alone, strict=True):
        assert single.status_code in (200, 201), single.text
        assert result["order"] == single.json(), body["id"]
        # Exactly one of the two created it.
        assert (result["outcome"] == "created") != (single.status_code == 201)
    assert await world.count("orders", register.tenant_id) == 6


async def test_a_batch_cut_off_mid_way_stores_nothing_and_can_be_sent_again(
    world: OrdersWorld,
) -> None:
    register = await world.create_register(receipt_prefix="AGAIN")
    orders = [world.order_body(register) for _ in range(3)]
    orders[2]["payments"][0]["method"] = "cut-off-here"
    # The database connection dies on the last order's payment, after the orders and lines of
    # the batch were written in its transaction.
    await world.pool.execute(
        f"""CREATE FUNCTION {world.schema}.cut_off() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.method = 'cut-off-here' THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER cut_off BEFORE INSERT ON {world.schema}.order_payments
                FOR EACH ROW EXECUTE FUNCTION {world.schema}.cut_off();"""
    )
    failed = await _batch(world, register, orders)
    assert failed.status_code == 503, failed.text
    assert "nothing was saved" in problem(failed)["detail"]
    for table in ("orders", "order_lines", "order_payments", "cash_sessions", "outbox"):
        assert await world.count(table, register.tenant_id) == 0, table
    await world.pool.execute(f"DROP TRIGGER cut_off ON {world.schema}.order_payments")
    results = await _results(world, register, orders)
    assert _outcomes(results) == ["created"] * 3
    assert [r["order"]["receipt_number"] for r in results] == ["AGAIN-1", "AGAIN-2", "AGAIN-3"]
