"""One lane per register: its Odoo work runs one batch at a time, in delivery order.

Messages are handled concurrently (up to the prefetch), but a register's orders must reach Odoo
in the order they were delivered, and a register's Odoo session must be opened once. Each
register gets a FIFO of tickets, taken at delivery and drained by a single task; work that
queues up behind a call in flight goes together in the next call (a batch). Across replicas, a
Postgres advisory lock per register makes the batches of one register mutually exclusive, so
two processes never push or open a session for the same register at the same time.

A runner may answer `NotYet` for an item that must wait for work elsewhere (its register's
previous order, still to be delivered or back from a retry): the item keeps the head of its
lane and runs again as soon as the lane changes (a message joins it, the register's work is
done somewhere in this process), and once the lane has not moved for the hold time it is
answered with the `NotYet`'s `give_up` (a wait through the broker). A short hold here is much
cheaper than a wait round.

Waiting is by notification, not by polling: what a held item waits for is a register's own work,
and with the orders' queue in partitions (partitions.py) a register's work is in one process.
A slow look now and then (`_RECHECK_S`) covers what happens elsewhere (another replica finishing
a message of a partition it just handed over).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from shared.postgres import Db

# Runs a batch holding the register's lock, on the connection that holds it.
BatchRunner = Callable[[Db, list[Any]], Awaitable[list[Any]]]

_RECHECK_S = 0.25

REGISTER_LOCK_WAITS = Counter(
    "connector_register_lock_waits_total",
    "Batches that found their register's lock taken (by another replica) and waited for it",
)


@dataclass
class Ticket:
    """A place in a register's lane, taken when the message is delivered, before any await:
    the lane keeps delivery order even though messages are prepared concurrently."""

    register_id: UUID
    done: asyncio.Future[Any]
    filled: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False
    group: Hashable = None
    runner: BatchRunner | None = None
    item: Any = None
    held_since: float | None = None
    # The register's sale number of an order: tickets with one run in its order, whatever
    # order the broker delivered them in (after a wait round, say).
    order_key: int | None = None


class NotYet(Exception):  # noqa: N818 - an answer, not a fault
    """A runner's answer for an item that must run again shortly, keeping its place; `hold_s`
    holds it longer than the lanes' own hold time (what it waits for is sure to come soon)."""

    def __init__(self, give_up: Exception, hold_s: float = 0.0) -> None:
        super().__init__(str(give_up))
        self.give_up = give_up
        self.hold_s = hold_s


@dataclass
class _Lane:
    pending: deque[Ticket] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    # Set when a ticket is filled or given back, or the register's work is done elsewhere in
    # the process: a held head may go now.
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class RegisterLanes:
    def __init__(self, pool: asyncpg.Pool, batch_size: int, hold_s: float = 0.0) -> None:
        self._pool = pool
        self._batch_size = batch_size
        self._hold_s = hold_s
        # Within the hold time, so a held item is answered close to it.
        self._recheck_s = min(_RECHECK_S, hold_s / 4) if hold_s > 0 else _RECHECK_S
        self._lanes: dict[UUID, _Lane] = {}
        self._progress: dict[UUID, asyncio.Event] = {}

    @contextlib.contextmanager
    def ticket(self, register_id: UUID) -> Iterator[Ticket]:
        """Holds a place in the lane; given back if the message leaves without using it."""
        lane = self._lanes.setdefault(register_id, _Lane())
        ticket = Ticket(register_id, asyncio.get_running_loop().create_future())
        lane.pending.append(ticket)
        try:
            yield ticket
        finally:
            if not ticket.filled.is_set():
                ticket.cancelled = True
                ticket.filled.set()
                self._kick(register_id)

    async def run(
        self,
        ticket: Ticket,
        group: Hashable,
        runner: BatchRunner,
        item: Any,
        order_key: int | None = None,
    ) -> Any:
        """Runs `item` through `runner` at the ticket's place; tickets of one group may batch,
        and those of a group with an `order_key` go in its order.

        The runner returns one result per item, an Exception instance for an item that failed.
        """
        ticket.group, ticket.runner, ticket.item = group, runner, item
        ticket.order_key = order_key
        ticket.filled.set()
        self._kick(ticket.register_id)
        return await ticket.done

    def settled(self, register_id: UUID) -> None:
        """Some of the register's work is done (committed): what waits for it may go now."""
        lane = self._lanes.get(register_id)
        if lane is not None:
            lane.changed.set()
        progress = self._progress.pop(register_id, None)
        if progress is not None:
            progress.set()

    async def progress(self, register_id: UUID, timeout_s: float) -> None:
        """Returns when some of the register's work is done (see `settled`), or after
        `timeout_s`."""
        progress = self._progress.setdefault(register_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(progress.wait(), timeout_s)

    def _kick(self, register_id: UUID) -> None:
        lane = self._lanes.get(register_id)
        if lane is None:
            return
        lane.changed.set()
        if lane.worker is None:
            lane.worker = asyncio.create_task(self._drain(register_id, lane))

    async def _drain(self, register_id: UUID, lane: _Lane) -> None:
        try:
            while lane.pending:
                head = lane.pending[0]
                if not head.filled.is_set():
                    await head.filled.wait()
                    continue
                if head.cancelled:
                    lane.pending.popleft()
                    continue
                # What changes from here on may free what this batch holds back.
                lane.changed.clear()
                held = await self._run_batch(register_id, lane, self._batch_from(lane, head))
                if not held:
                    continue
                # Back at the head, in their order: what queued behind them of their kind must
                # still come after. Work of another kind behind them runs meanwhile: held orders
                # of the next till session may wait for the close of this one, and the close
                # for this session's refunds, which must not wait behind them.
                lane.pending.extendleft(reversed(held))
                other = next(
                    (
                        t
                        for t in lane.pending
                        if t.filled.is_set()
                        and not t.cancelled
                        and t not in held
                        and _kind(t) != _kind(head)
                    ),
                    None,
                )
                if other is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lane.changed.wait(), self._recheck_s)
                    continue
                still_held = await self._run_batch(register_id, lane, self._batch_from(lane, other))
                lane.pending.extendleft(reversed(still_held))
        finally:
            lane.worker = None
            if not lane.pending:
                self._lanes.pop(register_id, None)
            else:
                self._kick(register_id)

    def _batch_from(self, lane: _Lane, first: Ticket) -> list[Ticket]:
        """`first` and the ready tickets of its kind that may go with it, out of the lane."""
        if first.order_key is not None:
            return self._in_key_order(lane, first)
        batch = [
            t
            for t in lane.pending
            if t is first
            or (
                t.filled.is_set()
                and not t.cancelled
                and t.group == first.group
                and t.runner == first.runner
                and t.order_key is None
            )
        ]
        start = batch.index(first)
        batch = batch[start : start + self._batch_size]
        for ticket in batch:
            lane.pending.remove(ticket)
        return batch

    def _in_key_order(self, lane: _Lane, head: Ticket) -> list[Ticket]:
        """The head and the lane's other ready tickets of its kind, lowest keys first: an order
        the broker brought back after its successor runs before it, not a wait round later."""
        keyed = [
            t
            for t in lane.pending
            if t.filled.is_set()
            and not t.cancelled
            and t.order_key is not None
            and t.group == head.group
            and t.runner == head.runner
        ]
        batch = sorted(keyed, key=lambda t: t.order_key or 0)[: self._batch_size]
        for ticket in batch:
            lane.pending.remove(ticket)
        return batch

    async def _run_batch(self, register_id: UUID, lane: _Lane, batch: list[Ticket]) -> list[Ticket]:
        """Runs the batch and answers its tickets; returns those held for another try."""
        runner = batch[0].runner
        assert runner is not None
        try:
            async with self._register_lock(register_id) as conn:
                results = await runner(conn, [ticket.item for ticket in batch])
        except Exception as error:
            results = [error] * len(batch)
        now = asyncio.get_running_loop().time()
        # While the lane moves, what waits behind is not stuck: the hold counts from the last move.
        moved = not all(isinstance(result, NotYet) for result in results)
        held: list[Ticket] = []
        for ticket, result in zip(batch, results, strict=True):
            if ticket.done.done():
                continue
            if isinstance(result, NotYet):
                ticket.held_since = now if moved else (ticket.held_since or now)
                if now - ticket.held_since < max(self._hold_s, result.hold_s):
                    held.append(ticket)
                    continue
                result = result.give_up
            if isinstance(result, BaseException):
                ticket.done.set_exception(result)
            else:
                ticket.done.set_result(result)
        return held

    @contextlib.asynccontextmanager
    async def _register_lock(self, register_id: UUID) -> AsyncIterator[Db]:
        # Session-level: the server releases it if this process or its connection dies. The
        # batch uses this connection for its own SQL, so a lane never needs a second one (a pool
        # full of lock holders waiting for a free connection would deadlock). With the queue in
        # partitions nobody else holds it but for a moment when a partition changes hands:
        # REGISTER_LOCK_WAITS counts those moments.
        key = f"connector-register:{register_id}"
        async with self._pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key):
                REGISTER_LOCK_WAITS.inc()
                await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
            try:
                yield conn
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)


def _kind(ticket: Ticket) -> tuple[Hashable, BatchRunner | None, bool]:
    """What may batch together: same group and runner, and keyed (orders, in sale order) or
    not (refunds, closes)."""
    return ticket.group, ticket.runner, ticket.order_key is None
