"""A register's lane: held work keeps its place, and work of another kind behind it runs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from odoo_connector.register_lanes import NotYet, RegisterLanes
from shared.postgres import Db
from shared.retry_topology import WaitForPrerequisite


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield created
    await created.close()


async def test_a_close_behind_orders_held_for_it_runs_and_then_the_orders_go(
    pool: asyncpg.Pool,
) -> None:
    lanes = RegisterLanes(pool, batch_size=20, hold_s=30.0)
    register_id = uuid.uuid4()
    closed = asyncio.Event()
    ran: list[str] = []

    async def push(db: Db, items: list[Any]) -> list[Any]:
        # The next till session's orders wait until this one is closed.
        if not closed.is_set():
            return [NotYet(WaitForPrerequisite("previous_session_not_closed", "not yet"))] * len(
                items
            )
        ran.extend(items)
        return items

    async def close(db: Db, items: list[Any]) -> list[Any]:
        ran.extend(items)
        closed.set()
        return items

    async def deliver(item: str, runner: Any, group: tuple[str], key: int | None) -> Any:
        with lanes.ticket(register_id) as ticket:
            return await lanes.run(ticket, group, runner, item, order_key=key)

    # Delivered in this order: two orders of the next session, then the close they wait for.
    orders = [
        asyncio.create_task(deliver("order 61", push, ("push",), 61)),
        asyncio.create_task(deliver("order 62", push, ("push",), 62)),
    ]
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(deliver("close", close, ("close",), None))
    assert await asyncio.wait_for(asyncio.gather(*orders, closing), 5) == [
        "order 61",
        "order 62",
        "close",
    ]
    assert ran == ["close", "order 61", "order 62"]


async def test_a_refund_behind_orders_held_for_their_predecessor_runs_meanwhile(
    pool: asyncpg.Pool,
) -> None:
    lanes = RegisterLanes(pool, batch_size=20, hold_s=30.0)
    register_id = uuid.uuid4()
    refunded = asyncio.Event()
    ran: list[str] = []

    async def push(db: Db, items: list[Any]) -> list[Any]:
        # Orders and refunds share the runner: the orders wait until the refund has gone (as
        # the next session's orders wait for a close that waits for this session's refunds).
        results: list[Any] = []
        for item in items:
            if item.startswith("order") and not refunded.is_set():
                results.append(NotYet(WaitForPrerequisite("previous_order_not_sent", "not yet")))
                continue
            ran.append(item)
            if item.startswith("refund"):
                refunded.set()
            results.append(item)
        return results

    async def deliver(item: str, key: int | None) -> Any:
        with lanes.ticket(register_id) as ticket:
            return await lanes.run(ticket, ("push",), push, item, order_key=key)

    orders = [
        asyncio.create_task(deliver("order 61", 61)),
        asyncio.create_task(deliver("order 62", 62)),
    ]
    await asyncio.sleep(0.05)
    refund = asyncio.create_task(deliver("refund of 12", None))
    await asyncio.wait_for(asyncio.gather(*orders, refund), 5)
    assert ran == ["refund of 12", "order 61", "order 62"]
