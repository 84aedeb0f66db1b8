"""One lane per register: its Odoo work runs one batch at a time, in arrival order.

Messages are handled concurrently (up to the prefetch), but a register's orders must reach Odoo
in the order they arrived, and a register's Odoo session must be opened once. Each register gets
a FIFO of jobs drained by a single task; jobs that queue up behind a call in flight go together
in the next call (a batch). Across replicas, a Postgres advisory lock per register makes the
batches of one register mutually exclusive, so two processes never push or open a session for
the same register at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

BatchRunner = Callable[[list[Any]], Awaitable[list[Any]]]


@dataclass
class _Job:
    group: Hashable
    runner: BatchRunner
    item: Any
    done: asyncio.Future[Any]


@dataclass
class _Lane:
    pending: deque[_Job] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


class RegisterLanes:
    def __init__(self, pool: asyncpg.Pool, batch_size: int) -> None:
        self._pool = pool
        self._batch_size = batch_size
        self._lanes: dict[UUID, _Lane] = {}

    async def run(self, register_id: UUID, group: Hashable, runner: BatchRunner, item: Any) -> Any:
        """Runs `item` through `runner` in the register's lane; jobs of one group may batch.

        The runner returns one result per item, an Exception instance for an item that failed.
        """
        lane = self._lanes.setdefault(register_id, _Lane())
        job = _Job(group, runner, item, asyncio.get_running_loop().create_future())
        lane.pending.append(job)
        if lane.worker is None:
            lane.worker = asyncio.create_task(self._drain(register_id, lane))
        return await job.done

    async def _drain(self, register_id: UUID, lane: _Lane) -> None:
        try:
            while lane.pending:
                batch = [lane.pending.popleft()]
                while (
                    lane.pending
                    and len(batch) < self._batch_size
                    and lane.pending[0].group == batch[0].group
                    and lane.pending[0].runner == batch[0].runner
                ):
                    batch.append(lane.pending.popleft())
                await self._run_batch(register_id, batch)
        finally:
            lane.worker = None
            if not lane.pending:
                self._lanes.pop(register_id, None)
            else:
                lane.worker = asyncio.create_task(self._drain(register_id, lane))

    async def _run_batch(self, register_id: UUID, batch: list[_Job]) -> None:
        try:
            async with self._register_lock(register_id):
                results = await batch[0].runner([job.item for job in batch])
        except Exception as error:
            results = [error] * len(batch)
        for job, result in zip(batch, results, strict=True):
            if job.done.done():
                continue
            if isinstance(result, BaseException):
                job.done.set_exception(result)
            else:
                job.done.set_result(result)

    @contextlib.asynccontextmanager
    async def _register_lock(self, register_id: UUID) -> AsyncIterator[None]:
        # Session-level: the server releases it if this process or its connection dies.
        key = f"connector-register:{register_id}"
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
