"""Importing a Pro tenant's Odoo history: stored once, shown like any order, announced in order."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from shared.auth import Role
from test_support.event_tap import EventTap
from test_support.orders import OrdersWorld, Register, problem

URL = "/v1/imports/orders"
SESSION = 501


def eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def odoo_session(
    register: Register, odoo_id: int = SESSION, day: str = "2026-03-02"
) -> dict[str, Any]:
    return {
        "odoo_session_id": odoo_id,
        "register_id": str(register.register_id),
        "name": f"POS/{odoo_id:05d}",
        "opened_at": f"{day}T07:00:00+01:00",
        "closed_at": f"{day}T19:00:00+01:00",
        "opened_by": "Marie",
        "closed_by": "Paul",
        "opening_cash": eur(10000),
        "counted_cash": eur(11000),
    }


def line(
    odoo_line_id: int, name: str, quantity: str, unit: int, net: int, total: int, **extra: Any
) -> dict[str, Any]:
    return {
        "odoo_line_id": odoo_line_id,
        "product_ref": name.upper()[:3],
        "product_name": name,
        "odoo_product_id": 40 + odoo_line_id % 10,
        "quantity": quantity,
        "unit_price": eur(unit),
        "tax_rate_percent": "10",
        "prices_include_tax": True,
        "net": eur(net),
        "total": eur(total),
        **extra,
    }


def odoo_order(
    register: Register,
    odoo_id: int,
    lines: list[dict[str, Any]],
    kind: str = "card",
    session: int = SESSION,
    at: str = "2026-03-02T09:15:00+01:00",
) -> dict[str, Any]:
    total = sum(item["total"]["amount"] for item in lines)
    return {
        "odoo_order_id": odoo_id,
        "odoo_session_id": session,
        "register_id": str(register.register_id),
        "receipt_number": f"Order {session:05d}-001-{odoo_id:04d}",
        "created_at": at,
        "lines": lines,
        "payments": [
            {
                "method": kind.title(),
                "kind": kind,
                "odoo_payment_method_id": 3,
                "amount": eur(total),
            }
        ],
        "total": eur(total),
    }


def odoo_refund(
    register: Register,
    odoo_id: int,
    original: int,
    refunded_line: int,
    quantity: str,
    net: int,
    total: int,
    session: int = SESSION,
    at: str = "2026-03-02T11:00:00+01:00",
) -> dict[str, Any]:
    return {
        "odoo_order_id": odoo_id,
        "original_odoo_order_id": original,
        "odoo_session_id": session,
        "register_id": str(register.register_id),
        "created_at": at,
        "reason": "stale croissant",
        "lines": [
            {
                "odoo_line_id": 80000 + odoo_id,
                "refunded_odoo_line_id": refunded_line,
                "quantity": quantity,
                "net": eur(net),
                "total": eur(total),
            }
        ],
        "payments": [{"method": "Cash", "kind": "cash", "amount": eur(total)}],
        "total": eur(total),
    }


def cash_sale(register: Register, odoo_id: int = 9001, **kwargs: Any) -> dict[str, Any]:
    """Two flat whites (70001) and a croissant (70002), 9.20 EUR in cash."""
    return odoo_order(
        register,
        odoo_id,
        [
            line(odoo_id * 10 + 1, "Flat white", "2", 350, 636, 700),
            line(odoo_id * 10 + 2, "Croissant", "1", 220, 200, 220),
        ],
        kind="cash",
        **kwargs,
    )


def tea_sale(
    register: Register,
    odoo_id: int = 9002,
    at: str = "2026-03-02T10:00:00+01:00",
    **kwargs: Any,
) -> dict[str, Any]:
    """Three teas at 3.33 with 10% off and 5.5% tax included: Odoo says 8.52 net, 8.99 total."""
    tea = line(odoo_id * 10 + 1, "Tea", "3", 333, 852, 899, discount_percent="10")
    tea["tax_rate_percent"] = "5.5"
    return odoo_order(register, odoo_id, [tea], at=at, **kwargs)


def day_batch(register: Register) -> dict[str, Any]:
    """One closed Odoo session: a cash sale, a card sale, and the croissant refunded in cash."""
    return {
        "sessions": [odoo_session(register)],
        "orders": [cash_sale(register), tea_sale(register)],
        "refunds": [odoo_refund(register, 9003, 9001, 90012, "1", 200, 220)],
    }


async def pro_register(world: OrdersWorld, **overrides: Any) -> Register:
    return await world.create_register(tenant_tier="pro", **overrides)


async def send(world: OrdersWorld, register: Register, body: Any) -> Any:
    return await world.client.post(URL, json=body, headers=world.admin(register.tenant_id))


async def imported(world: OrdersWorld, register: Register, body: Any) -> dict[str, Any]:
    response = await send(world, register, body)
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = response.json()
    return summary


async def assert_nothing_imported(world: OrdersWorld, tenant_id: uuid.UUID) -> None:
    for table in ("cash_sessions", "orders", "order_lines", "order_payments", "refunds", "outbox"):
        assert await world.count(table, tenant_id) == 0, table


async def refused(world: OrdersWorld, register: Register, body: Any, status: int) -> Any:
    """The problem a refused batch answers with, once it is clear nothing of it was stored."""
    response = await send(world, register, body)
    assert response.status_code == status, response.text
    await assert_nothing_imported(world, register.tenant_id)
    return problem(response)


async def test_an_imported_batch_appears_in_lists_with_source_odoo_pulled_and_odoo_ids_stamped(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world, receipt_prefix="BAR")
    summary = await imported(world, register, day_batch(register))
    assert summary == {
        "sessions": {"new": 1, "already_present": 0},
        "orders": {"new": 2, "already_present": 0},
        "refunds": {"new": 1, "already_present": 0},
        "skipped_orders": [],
        "skipped_refunds": [],
    }

    headers = world.manager(register.tenant_id)
    orders = (await world.client.get("/v1/orders", headers=headers)).json()["items"]
    assert [(o["odoo_order_id"], o["receipt_number"]) for o in orders] == [
        (9002, "Order 00501-001-9002"),
        (9001, "Order 00501-001-9001"),
    ]
    tea, coffee = orders
    assert {o["source"] for o in orders} == {"odoo_pulled"}
    assert {o["sync_state"] for o in orders} == {"synced"}
    assert {o["business_date"] for o in orders} == {"2026-03-02"}
    # Odoo's net and total as given; gross is 3 × 3.33 and the discount brings it to the total.
    tea_line = tea["lines"][0]
    figures = ("gross", "discount", "net", "tax", "total")
    assert [tea_line[f]["amount"] for f in figures] == [999, 100, 852, 47, 899]
    assert (tea["net_total"]["amount"], tea["tax_total"]["amount"]) == (852, 47)
    assert coffee["state"] == "partially_refunded"
    assert coffee["lines"][1]["refunded_quantity"] == "1"
    [refund] = coffee["refunds"]
    assert (refund["source"], refund["odoo_order_id"]) == ("odoo_pulled", 9003)
    assert (refund["total"]["amount"], refund["tax_total"]["amount"]) == (220, 20)
    assert refund["session_id"] == coffee["session_id"] == tea["session_id"]

    [session] = (await world.client.get("/v1/sessions", headers=headers)).json()["items"]
    assert session["id"] == coffee["session_id"]
    assert (session["source"], session["odoo_session_id"]) == ("odoo_pulled", SESSION)
    assert (session["odoo_session_name"], session["state"]) == ("POS/00501", "closed")
    assert (session["opened_by"], session["closed_by"]) == ("Marie", "Paul")
    assert session["opened_at"] == "2026-03-02T06:00:00Z"
    assert session["business_date"] == "2026-03-02"
    # 100.00 float + 9.20 cash sale − 2.20 cash refund; the drawer held 110.00.
    assert session["expected_cash"]["amount"] == 10700
    assert session["cash_difference"]["amount"] == 300
    totals = session["totals"]
    assert (totals["order_count"], totals["refund_count"]) == (2, 1)
    assert (totals["sales_total"]["amount"], totals["refunds_total"]["amount"]) == (1819, 220)
    assert totals["first_receipt_number"] == "Order 00501-001-9001"

    # The register's own numbering and sessions are untouched.
    ours = await world.place(register)
    assert ours["receipt_number"] == "BAR-1"
    assert ours["session_id"] != session["id"]


async def test_importing_the_same_batch_twice_changes_nothing_and_reports_zero_new(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    await imported(world, register, day_batch(register))
    tables = ("cash_sessions", "orders", "order_lines", "refunds", "refund_lines", "outbox")
    before = [await world.count(table, register.tenant_id) for table in tables]

    again = await imported(world, register, day_batch(register))

    assert again == {
        "sessions": {"new": 0, "already_present": 1},
        "orders": {"new": 0, "already_present": 2},
        "refunds": {"new": 0, "already_present": 1},
        "skipped_orders": [],
        "skipped_refunds": [],
    }
    assert [await world.count(table, register.tenant_id) for table in tables] == before


async def test_two_runs_of_one_batch_at_once_store_it_once(world: OrdersWorld) -> None:
    register = await pro_register(world)
    responses = await asyncio.gather(
        *(send(world, register, day_batch(register)) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [200] * 3, [r.text for r in responses]
    assert sorted(r.json()["orders"]["new"] for r in responses) == [0, 0, 2]
    assert sorted(r.json()["sessions"]["already_present"] for r in responses) == [0, 1, 1]
    assert await world.count("orders", register.tenant_id) == 2
    assert await world.count("outbox", register.tenant_id) == 5


async def test_events_go_out_in_an_order_consumers_can_apply(
    world: OrdersWorld, tap: EventTap
) -> None:
    register = await pro_register(world)
    await imported(world, register, day_batch(register))

    # Written in this order; the relay keeps each aggregate's order on the wire.
    written = await world.pool.fetch(
        f"SELECT event_id, event_type, aggregate_version FROM {world.schema}.outbox "
        "WHERE tenant_id = $1 ORDER BY seq",
        register.tenant_id,
    )
    assert [(e["event_type"], e["aggregate_version"]) for e in written] == [
        ("session.opened", 1),
        ("order.placed", 1),
        ("order.placed", 1),
        ("order.refunded", 2),
        ("session.closed", 2),
    ]
    await tap.wait_for(1, "session.closed")
    await tap.wait_for(1, "order.refunded")
    published = {e["id"]: e for e in tap.events if e["producer"] == "orders"}
    events = [published[str(e["event_id"])] for e in written]
    opened, coffee, tea, refunded, closed = (e["data"] for e in events)
    of_coffee = [e["type"] for e in tap.events if e["aggregate_id"] == coffee["order_id"]]
    assert of_coffee == ["order.placed", "order.refunded"]
    of_session = [e["type"] for e in tap.events if e["aggregate_id"] == opened["session_id"]]
    assert of_session == ["session.opened", "session.closed"]
    opened, coffee, tea, refunded, closed = (e["data"] for e in events)
    assert opened["opened_at"] == "2026-03-02T06:00:00Z"
    assert opened["opened_implicitly"] is False
    for placed, odoo_id in ((coffee, 9001), (tea, 9002)):
        assert (placed["source"], placed["odoo_order_id"]) == ("odoo_pulled", odoo_id)
        assert placed["session_id"] == opened["session_id"]
    assert refunded["order_id"] == coffee["order_id"]
    assert refunded["lines"][0]["order_line_id"] == coffee["lines"][1]["line_id"]
    # Every imported event says so, so nobody pushes or announces history again.
    assert {opened["source"], refunded["source"], closed["source"]} == {"odoo_pulled"}
    assert refunded["odoo_order_id"] is not None
    assert closed["order_count"] == 2
    assert closed["refund_count"] == 1
    assert (closed["sales_total"], closed["refunds_total"], closed["net_total"]) == (
        1819,
        220,
        1599,
    )
    assert (closed["expected_cash"], closed["counted_cash"], closed["cash_difference"]) == (
        10700,
        11000,
        300,
    )
    tenders = {t["method"]: (t["sales"], t["refunds"]) for t in closed["tenders"]}
    assert tenders == {"Cash": (920, 220), "Card": (899, 0)}
    assert (closed["opened_by"], closed["closed_by"]) == ("Marie", "Paul")


async def test_nothing_new_writes_no_events(world: OrdersWorld) -> None:
    register = await pro_register(world)
    await imported(world, register, day_batch(register))
    events_before = await world.count("outbox", register.tenant_id)
    await imported(world, register, day_batch(register))
    assert await world.count("outbox", register.tenant_id) == events_before == 5


async def test_a_refund_of_an_order_imported_in_an_earlier_batch_is_linked_to_it(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    await imported(
        world,
        register,
        {"sessions": [odoo_session(register)], "orders": [cash_sale(register)]},
    )
    later = await imported(
        world,
        register,
        {
            "sessions": [odoo_session(register, 502, day="2026-03-03")],
            "refunds": [
                odoo_refund(
                    register, 9010, 9001, 90011, "2", 636, 700, 502, "2026-03-03T08:00:00+01:00"
                )
            ],
        },
    )
    assert later["refunds"] == {"new": 1, "already_present": 0}

    headers = world.manager(register.tenant_id)
    [coffee] = (await world.client.get("/v1/orders", headers=headers)).json()["items"]
    assert coffee["state"] == "partially_refunded"
    assert coffee["lines"][0]["refunded_quantity"] == "2"
    [refund] = coffee["refunds"]
    assert refund["business_date"] == "2026-03-03"
    sessions = (await world.client.get("/v1/sessions", headers=headers)).json()["items"]
    second = next(s for s in sessions if s["odoo_session_id"] == 502)
    assert refund["session_id"] == second["id"]
    assert second["totals"]["refund_count"] == 1
    assert second["expected_cash"]["amount"] == 10000 - 700


async def test_a_refund_beyond_the_sold_quantity_is_skipped_and_reported(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    # Two croissants back where one was sold.
    batch["refunds"] = [odoo_refund(register, 9003, 9001, 90012, "2", 400, 440)]
    summary = await imported(world, register, batch)

    assert summary["orders"] == {"new": 2, "already_present": 0}
    assert summary["refunds"] == {"new": 0, "already_present": 0}
    assert summary["skipped_refunds"] == [
        {
            "odoo_order_id": 9003,
            "original_odoo_order_id": 9001,
            "reason": "exceeds_sold_quantity",
            "detail": "Odoo line 90012 (Croissant) has 1 left to refund (sold 1, already "
            "refunded 0); this refund takes 2.",
        }
    ]
    assert await world.count("refunds", register.tenant_id) == 0
    [session] = (
        await world.client.get("/v1/sessions", headers=world.manager(register.tenant_id))
    ).json()["items"]
    assert session["totals"]["refund_count"] == 0
    assert session["expected_cash"]["amount"] == 10000 + 920


async def test_a_batch_with_a_skipped_refund_sent_again_changes_nothing(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    batch["refunds"] = [odoo_refund(register, 9003, 9001, 90012, "2", 400, 440)]
    await imported(world, register, batch)
    written = await world.count("outbox", register.tenant_id)

    again = await imported(world, register, batch)

    assert again["sessions"] == {"new": 0, "already_present": 1}
    assert again["orders"] == {"new": 0, "already_present": 2}
    assert [(s["odoo_order_id"], s["reason"]) for s in again["skipped_refunds"]] == [
        (9003, "session_already_imported")
    ]
    assert "its totals are final" in again["skipped_refunds"][0]["detail"]
    assert await world.count("outbox", register.tenant_id) == written


async def test_a_refund_whose_original_was_never_imported_is_skipped_and_reported(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    batch["refunds"] = [odoo_refund(register, 9003, 4242, 42421, "1", 200, 220)]
    summary = await imported(world, register, batch)
    assert summary["skipped_refunds"] == [
        {
            "odoo_order_id": 9003,
            "original_odoo_order_id": 4242,
            "reason": "original_not_imported",
            "detail": "Odoo order 4242 is neither in this batch nor imported before.",
        }
    ]
    assert summary["orders"]["new"] == 2


async def test_an_odoo_order_that_was_pushed_from_here_is_not_imported_again(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    ours = await world.place(register)
    await world.stamp_synced(register, ours["id"], odoo_order_id=9001)

    summary = await imported(world, register, day_batch(register))

    assert summary["orders"] == {"new": 1, "already_present": 0}
    assert summary["skipped_orders"] == [
        {
            "odoo_order_id": 9001,
            "reason": "pushed_from_here",
            "detail": f"Odoo order 9001 is order {ours['id']}, taken here and pushed to Odoo; "
            "it is not imported again.",
        }
    ]
    assert [s["reason"] for s in summary["skipped_refunds"]] == ["original_pushed_from_here"]
    assert await world.count("orders", register.tenant_id) == 2


async def test_a_register_unknown_to_the_replica_is_refused_with_a_retry_hint(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    stranger = uuid.uuid4()
    batch["sessions"][0]["register_id"] = str(stranger)
    refusal = await refused(world, register, batch, 422)
    assert refusal["detail"] == (
        f"sessions[0].register_id: register {stranger} is not known. If it was created a moment "
        "ago, retry shortly; otherwise check the register ids the backfill sends."
    )
    assert refusal["errors"][0]["field"] == "sessions[0].register_id"


async def test_another_tenants_register_is_unknown_and_nothing_leaks_or_changes(
    world: OrdersWorld,
) -> None:
    theirs = await pro_register(world)
    ours = await pro_register(world)
    refusal = await refused(world, ours, day_batch(theirs), 422)
    assert refusal["detail"] == (
        f"sessions[0].register_id: register {theirs.register_id} is not known. If it was "
        "created a moment ago, retry shortly; otherwise check the register ids the backfill "
        "sends."
    )
    await assert_nothing_imported(world, theirs.tenant_id)


async def test_an_order_naming_a_session_neither_in_the_batch_nor_imported_is_refused(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    batch["orders"][1] = tea_sale(register, session=777)
    refusal = await refused(world, register, batch, 422)
    assert refusal["detail"] == (
        "orders[1].odoo_session_id: Odoo session 777 is neither in this batch nor imported "
        "before; send each session in the same batch as its orders and refunds."
    )


async def test_a_new_order_cannot_join_a_session_closed_by_an_earlier_batch(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    first = {"sessions": [odoo_session(register)], "orders": [cash_sale(register)]}
    await imported(world, register, first)
    events_before = await world.count("outbox", register.tenant_id)
    response = await send(world, register, {**first, "orders": [tea_sale(register)]})
    assert response.status_code == 422
    assert problem(response)["detail"] == (
        "orders[0].odoo_session_id: Odoo session 501 was imported and closed in an earlier "
        "batch without Odoo order 9002; a closed session's totals are final, so every order and "
        "refund of a session travels in the batch that brings the session."
    )
    assert await world.count("orders", register.tenant_id) == 1
    assert await world.count("outbox", register.tenant_id) == events_before


async def test_payments_that_do_not_add_up_to_the_total_are_refused_naming_the_order(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    batch["orders"][1]["payments"][0]["amount"] = eur(850)
    refusal = await refused(world, register, batch, 422)
    assert refusal["detail"] == (
        "orders[1].payments add up to 8.50 EUR but orders[1].total is 8.99 EUR; send Odoo's "
        "payments net of the change given, so that they add up to the total."
    )
    assert refusal["errors"][0]["field"] == "orders[1].payments"


async def test_one_bad_order_leaves_nothing_of_its_batch(world: OrdersWorld) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    batch["orders"].append(tea_sale(register, odoo_id=9004, at="2026-03-02T12:00:00+01:00"))
    batch["orders"][2]["total"] = eur(900)
    refusal = await refused(world, register, batch, 422)
    assert refusal["detail"] == "orders[2].total is 9.00 EUR but its lines add up to 8.99 EUR."
    # Corrected, the same batch goes in whole.
    batch["orders"][2]["total"] = eur(899)
    assert (await imported(world, register, batch))["orders"]["new"] == 3


@pytest.mark.parametrize("role", [Role.CASHIER, Role.MANAGER, Role.PLATFORM_ADMIN])
async def test_only_an_admin_token_may_import(world: OrdersWorld, role: Role) -> None:
    register = await pro_register(world)
    response = await world.client.post(
        URL, json=day_batch(register), headers=world.token(register.tenant_id, role)
    )
    assert response.status_code == 403
    assert problem(response)["detail"].startswith(
        f"This action needs one of the roles admin; the token's role is {role.value}."
    )
    await assert_nothing_imported(world, register.tenant_id)


async def test_a_starter_tenants_register_takes_no_odoo_history(world: OrdersWorld) -> None:
    register = await world.create_register(name="Kiosk")
    refusal = await refused(world, register, day_batch(register), 409)
    assert refusal["detail"] == (
        "Register 'Kiosk' belongs to a Starter tenant; only a Pro tenant's Odoo history can be "
        "imported. If the tenant was upgraded a moment ago, retry shortly."
    )


async def test_a_receipt_number_already_used_on_the_register_is_a_conflict(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world, name="Bar")
    await imported(world, register, day_batch(register))
    clash = tea_sale(register, odoo_id=9102, session=502, at="2026-03-03T10:00:00+01:00")
    clash["receipt_number"] = "Order 00501-001-9001"
    before = await world.count("outbox", register.tenant_id)
    response = await send(
        world,
        register,
        {"sessions": [odoo_session(register, 502, day="2026-03-03")], "orders": [clash]},
    )
    assert response.status_code == 409
    taken = await world.pool.fetchval(
        f"SELECT order_id FROM {world.schema}.orders WHERE odoo_order_id = 9001"
    )
    assert problem(response)["detail"] == (
        f"orders[0].receipt_number 'Order 00501-001-9001' is already used on register 'Bar' by "
        f"order {taken}. Odoo's pos_reference never looks like our receipt numbers "
        "(<prefix>-<n>); check what the backfill sends as receipt_number."
    )
    assert await world.count("cash_sessions", register.tenant_id) == 1
    assert await world.count("outbox", register.tenant_id) == before


async def test_an_odoo_order_sent_twice_in_one_batch_is_refused(world: OrdersWorld) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    batch["orders"].append(cash_sale(register, at="2026-03-02T13:00:00+01:00"))
    refusal = await refused(world, register, batch, 422)
    assert refusal["detail"] == (
        "orders[2].odoo_order_id: Odoo order 9001 appears twice in this batch (first at "
        "orders[0].odoo_order_id); send each once."
    )


async def test_swapped_net_and_total_are_refused_before_anything_is_stored(
    world: OrdersWorld,
) -> None:
    register = await pro_register(world)
    batch = day_batch(register)
    swapped = batch["orders"][0]["lines"][0]
    swapped["net"], swapped["total"] = swapped["total"], swapped["net"]
    refusal = await refused(world, register, batch, 422)
    assert refusal["errors"][0]["field"] == "orders[0].lines[0]"
    assert (
        "total (636, Odoo's price_subtotal_incl) is less than net (700, its price_subtotal)"
        in refusal["detail"]
    )
