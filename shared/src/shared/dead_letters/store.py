"""Reading and closing dead-letter records, and the audit of what operators did with them."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from shared.dead_letters.models import (
    DeadLetterAction,
    DeadLetterDetail,
    DeadLetterFilter,
    DeadLetterGroup,
    DeadLetterPage,
    DeadLetterSummary,
    Selection,
    Status,
)
from shared.dead_letters.records import GROUP_KEY_SQL, DeadLetter, record_dead_letter
from shared.errors import ConflictError, NotFoundError
from shared.pagination import decode_cursor, encode_cursor
from shared.postgres import Db


@dataclass(frozen=True)
class Scope:
    """Whose dead letters a caller sees: one tenant's, or (None) every tenant's and those that
    name no tenant (an undecodable body)."""

    tenant_id: UUID | None

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)


_SUMMARY = f"""id, queue, event_type, event_version, tenant_id, aggregate_type, aggregate_id,
    message_id, error_class, reason, cause, {GROUP_KEY_SQL} AS "group", attempts,
    first_failure_at, last_failure_at, dead_lettered_at, replays, status, closed_at, closed_by,
    close_reason"""


class _Where:
    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def add(self, condition: str, *values: Any) -> None:
        """`condition` names its values $1, $2... counted from this call's first value."""
        for index in range(len(values), 0, -1):
            condition = condition.replace(f"${index}", f"${len(self.args) + index}")
        self.conditions.append(condition)
        self.args.extend(values)

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "true"


class DeadLetterStore:
    """The records of one service's schema; `namespace` is its broker namespace, so a queue may
    be named with or without it."""

    def __init__(self, pool: asyncpg.Pool, namespace: str = "") -> None:
        self.pool = pool
        self.namespace = namespace

    def full_queue_name(self, queue: str) -> str:
        prefix = f"{self.namespace}."
        if not self.namespace or queue.startswith(prefix):
            return queue
        return prefix + queue

    def _where(
        self, scope: Scope, wanted: DeadLetterFilter | None, status: Status | None
    ) -> _Where:
        where = _Where()
        if scope.tenant_id is not None:
            where.add("tenant_id = $1", scope.tenant_id)
        if status is not None:
            where.add("status = $1", status)
        if wanted is None:
            return where
        if wanted.queue is not None:
            where.add("queue = $1", self.full_queue_name(wanted.queue))
        for column in ("tenant_id", "error_class", "cause", "event_type"):
            value = getattr(wanted, column)
            if value is not None:
                where.add(f"{column} = $1", value)
        if wanted.since is not None:
            where.add("dead_lettered_at >= $1", wanted.since)
        if wanted.until is not None:
            where.add("dead_lettered_at < $1", wanted.until)
        return where

    async def page(
        self,
        scope: Scope,
        wanted: DeadLetterFilter,
        status: Status | None,
        cursor: str | None,
        limit: int,
    ) -> DeadLetterPage:
        """Newest first."""
        where = self._where(scope, wanted, status)
        after = decode_cursor(cursor)
        if after is not None:
            where.add("seq < $1", after)
        rows = await self.pool.fetch(
            f"""SELECT seq, {_SUMMARY} FROM dead_letter_records WHERE {where.sql}
                ORDER BY seq DESC LIMIT {int(limit) + 1}""",
            *where.args,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return DeadLetterPage(
            items=[_summary(row) for row in rows],
            next_cursor=encode_cursor(rows[-1]["seq"]) if more and rows else None,
        )

    async def groups(
        self, scope: Scope, wanted: DeadLetterFilter, status: Status | None
    ) -> list[DeadLetterGroup]:
        """By cause (error class and reason without its ids and numbers), largest first."""
        where = self._where(scope, wanted, status)
        rows = await self.pool.fetch(
            f"""SELECT {GROUP_KEY_SQL} AS "group", error_class, cause, count(*) AS count,
                       min(dead_lettered_at) AS oldest, max(dead_lettered_at) AS newest,
                       array_agg(DISTINCT queue ORDER BY queue) AS queues,
                       array_agg(DISTINCT event_type ORDER BY event_type) AS event_types,
                       count(DISTINCT tenant_id) AS tenants,
                       (array_agg(reason ORDER BY seq DESC))[1] AS example_reason
                FROM dead_letter_records WHERE {where.sql}
                GROUP BY error_class, cause ORDER BY count DESC, newest DESC""",
            *where.args,
        )
        return [
            DeadLetterGroup(
                group=row["group"],
                error_class=row["error_class"],
                cause=row["cause"],
                count=row["count"],
                oldest=row["oldest"],
                newest=row["newest"],
                queues=list(row["queues"]),
                event_types=list(row["event_types"]),
                tenants=row["tenants"],
                example_reason=row["example_reason"],
            )
            for row in rows
        ]

    async def detail(self, scope: Scope, record_id: UUID) -> DeadLetterDetail:
        where = self._where(scope, None, None)
        where.add("id = $1", record_id)
        row = await self.pool.fetchrow(
            f"""SELECT {_SUMMARY}, exchange, routing_key, message_key, headers, body, envelope
                FROM dead_letter_records WHERE {where.sql}""",
            *where.args,
        )
        if row is None:
            raise _not_found(record_id)
        history = await self.pool.fetch(
            f"""SELECT {_SUMMARY}, action_id FROM dead_letter_records
                WHERE queue = $1 AND message_key = $2 ORDER BY seq""",
            row["queue"],
            row["message_key"],
        )
        action_ids = sorted({r["action_id"] for r in history if r["action_id"] is not None})
        actions = await self.pool.fetch(
            "SELECT * FROM dead_letter_actions WHERE id = ANY($1::bigint[]) ORDER BY id",
            action_ids,
        )
        body: bytes = row["body"]
        return DeadLetterDetail(
            **_summary(row).model_dump(),
            exchange=row["exchange"],
            routing_key=row["routing_key"],
            headers=row["headers"],
            body=body.decode("utf-8", errors="replace"),
            body_base64=base64.b64encode(body).decode("ascii"),
            envelope=row["envelope"],
            history=[_summary(r) for r in history],
            actions=[_action(a) for a in actions],
        )

    async def select(self, scope: Scope, selection: Selection) -> list[DeadLetterSummary]:
        """The open records a replay or discard acts on. Named ids must all be the caller's
        (404 otherwise) and still dead (409 otherwise)."""
        if selection.ids is not None:
            where = self._where(scope, None, None)
            where.add("id = ANY($1::uuid[])", selection.ids)
            rows = await self.pool.fetch(
                f"SELECT {_SUMMARY} FROM dead_letter_records WHERE {where.sql} ORDER BY seq",
                *where.args,
            )
            found = {row["id"]: row for row in rows}
            for record_id in selection.ids:
                if record_id not in found:
                    raise _not_found(record_id)
            closed = [row for row in rows if row["status"] != "dead"]
            if closed:
                listed = ", ".join(f"{row['id']} is {row['status']}" for row in closed[:5])
                raise ConflictError(
                    f"Only dead letters still dead can be replayed or discarded: {listed}. "
                    "A replayed message that failed again has a new record; look it up with "
                    "GET /v1/dead-letters?status=dead."
                )
            return [_summary(row) for row in rows]
        where = self._where(scope, selection.filter, "dead")
        if selection.group is not None:
            where.add(f"{GROUP_KEY_SQL} = $1", selection.group)
        rows = await self.pool.fetch(
            f"SELECT {_SUMMARY} FROM dead_letter_records WHERE {where.sql} ORDER BY seq",
            *where.args,
        )
        return [_summary(row) for row in rows]

    async def summaries(self, record_ids: Sequence[UUID]) -> list[DeadLetterSummary]:
        rows = await self.pool.fetch(
            f"SELECT {_SUMMARY} FROM dead_letter_records WHERE id = ANY($1::uuid[]) ORDER BY seq",
            list(record_ids),
        )
        return [_summary(row) for row in rows]

    async def status_of(self, record_id: UUID) -> str | None:
        status: str | None = await self.pool.fetchval(
            "SELECT status FROM dead_letter_records WHERE id = $1", record_id
        )
        return status

    async def adopt(self, dead: DeadLetter) -> UUID:
        """A record for a parked message that has none (parked by the broker itself, or before
        records were kept); the id of the open record of that message if it has one."""
        async with self.pool.acquire() as conn:
            record_id, _ = await record_dead_letter(conn, dead)
        return record_id

    async def open_ids(self, queue: str, dead_lettered_before: Any) -> list[UUID]:
        rows = await self.pool.fetch(
            """SELECT id FROM dead_letter_records
               WHERE queue = $1 AND status = 'dead' AND dead_lettered_at < $2""",
            queue,
            dead_lettered_before,
        )
        return [row["id"] for row in rows]

    async def start_action(
        self,
        action: str,
        actor: str,
        scope: Scope,
        via: str,
        selection: dict[str, Any],
        reason: str | None,
        rate_per_s: float | None,
        selected: int,
    ) -> int:
        action_id: int = await self.pool.fetchval(
            """INSERT INTO dead_letter_actions (action, actor, actor_tenant_id, via, selection,
                                               reason, rate_per_s, selected)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
            action,
            actor,
            scope.tenant_id,
            via,
            selection,
            reason,
            rate_per_s,
            selected,
        )
        return action_id

    async def finish_action(self, action_id: int) -> None:
        await self.pool.execute(
            "UPDATE dead_letter_actions SET finished_at = now() WHERE id = $1", action_id
        )

    async def close(
        self,
        record_id: UUID,
        status: Status,
        actor: str,
        reason: str | None,
        action_id: int,
        action: str,
    ) -> bool:
        """Closes an open record and counts it in its action and the totals, in one
        transaction; False if it was closed already."""
        async with self.pool.acquire() as conn, conn.transaction():
            queue = await conn.fetchval(
                """UPDATE dead_letter_records
                   SET status = $2, closed_at = now(), closed_by = $3, close_reason = $4,
                       action_id = $5
                   WHERE id = $1 AND status = 'dead' RETURNING queue""",
                record_id,
                status,
                actor,
                reason,
                action_id,
            )
            if queue is None:
                return False
            await conn.execute(
                "UPDATE dead_letter_actions SET done = done + 1 WHERE id = $1", action_id
            )
            await conn.execute(
                """INSERT INTO dead_letter_totals (queue, action, total) VALUES ($1, $2, 1)
                   ON CONFLICT (queue, action)
                   DO UPDATE SET total = dead_letter_totals.total + 1""",
                queue,
                action,
            )
        return True

    async def actions(self, scope: Scope, limit: int) -> list[DeadLetterAction]:
        where = _Where()
        if scope.tenant_id is not None:
            where.add("actor_tenant_id = $1", scope.tenant_id)
        rows = await self.pool.fetch(
            f"""SELECT * FROM dead_letter_actions WHERE {where.sql}
                ORDER BY id DESC LIMIT {int(limit)}""",
            *where.args,
        )
        return [_action(row) for row in rows]

    @contextlib.asynccontextmanager
    async def queue_lock(self, queue: str) -> AsyncIterator[None]:
        """One walk through a queue's `.dlq` at a time, across processes and replicas."""
        async with self.pool.acquire() as conn:
            key = f"dead-letters:{queue}"
            await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
            try:
                yield
            finally:
                await _unlock(conn, key)


async def _unlock(conn: Db, key: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)


def _not_found(record_id: UUID) -> NotFoundError:
    return NotFoundError(f"No dead letter {record_id} exists.")


def _summary(row: Any) -> DeadLetterSummary:
    return DeadLetterSummary.model_validate(
        {field: row[field] for field in DeadLetterSummary.model_fields}
    )


def _action(row: Any) -> DeadLetterAction:
    values = {field: row[field] for field in DeadLetterAction.model_fields}
    if isinstance(values["selection"], str):
        values["selection"] = json.loads(values["selection"])
    return DeadLetterAction.model_validate(values)
