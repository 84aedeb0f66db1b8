"""Replay, discard and reconcile: walks through a `<queue>.dlq` that keep it and the records in
step.

A walk takes as many messages as the `.dlq` held when it began, one at a time with a manual ack.
A selected one is replayed (published to its work queue with a fresh retry budget) or discarded;
any other is published back to the tail of the `.dlq` unchanged. The message taken is acked only
once the broker confirmed what replaces it and its record is closed, so a walk cut short leaves
every message in the `.dlq` or on its way, never neither. Walks of one queue take turns
(an advisory lock), so each sees every message once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from shared.dead_letters.metrics import refresh_dead_letter_metrics
from shared.dead_letters.models import (
    ActionResult,
    DeadLetterSummary,
    DiscardRequest,
    ReplayRequest,
)
from shared.dead_letters.records import (
    DEAD_LETTER_ID_HEADER,
    as_uuid,
    dead_letter_of_message,
    fresh_life_headers,
)
from shared.dead_letters.store import DeadLetterStore, Scope

log = structlog.get_logger(__name__)

Via = Literal["api", "cli"]
PUBLISH_TIMEOUT_S = 10.0
# A record written a moment before its message reached the `.dlq` is not missing: a walk that
# began in between did not see the message yet.
RECONCILE_GRACE = timedelta(minutes=1)


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


@dataclass
class _Walk:
    """What one walk through a `.dlq` met."""

    seen: set[UUID] = field(default_factory=set)
    done: list[UUID] = field(default_factory=list)
    adopted: int = 0
    dropped: int = 0


class _Throttle:
    def __init__(self, rate_per_s: float | None) -> None:
        self._interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


class DeadLetterOperations:
    def __init__(self, store: DeadLetterStore, amqp_url: str) -> None:
        self.store = store
        self._amqp_url = amqp_url

    async def replay(
        self, scope: Scope, actor: str, via: Via, request: ReplayRequest
    ) -> ActionResult:
        """Sends the selected dead letters back to the queues they came from."""
        return await self._act(
            "replay", scope, actor, via, request, request.reason, request.rate_per_s
        )

    async def discard(
        self, scope: Scope, actor: str, via: Via, request: DiscardRequest
    ) -> ActionResult:
        """Removes the selected dead letters from their `.dlq` for good, saying why."""
        return await self._act("discard", scope, actor, via, request, request.reason, None)

    async def _act(
        self,
        action: Literal["replay", "discard"],
        scope: Scope,
        actor: str,
        via: Via,
        request: ReplayRequest | DiscardRequest,
        reason: str | None,
        rate_per_s: float | None,
    ) -> ActionResult:
        selected = await self.store.select(scope, request)
        if request.dry_run:
            return ActionResult(
                action=action,
                dry_run=True,
                action_id=None,
                selected=len(selected),
                done=0,
                not_in_queue=[],
                items=selected,
            )
        action_id = await self.store.start_action(
            action, actor, scope, via, request.described(), reason, rate_per_s, len(selected)
        )
        done: list[UUID] = []
        missing: list[UUID] = []
        throttle = _Throttle(rate_per_s)
        try:
            for queue, ids in _by_queue(selected).items():
                walk = await self._walk(queue, set(ids), action, actor, reason, action_id, throttle)
                done += walk.done
                missing += [i for i in ids if i not in walk.seen]
        finally:
            await self.store.finish_action(action_id)
            await refresh_dead_letter_metrics(self.store.pool, if_kept=True)
        log.info(
            "dead_letters_acted_on",
            action=action,
            actor=actor,
            via=via,
            action_id=action_id,
            selected=len(selected),
            done=len(done),
            not_in_queue=len(missing),
        )
        return ActionResult(
            action=action,
            dry_run=False,
            action_id=action_id,
            selected=len(selected),
            done=len(done),
            not_in_queue=missing,
            items=await self.store.summaries([s.id for s in selected]),
        )

    async def reconcile(self, queue: str, actor: str, via: Via) -> ActionResult:
        """Brings a `.dlq` and its records back in step: a parked message without a record gets
        one (the broker parks a message itself at the queue's delivery limit), a second copy
        of a message goes, and an open record whose message is not in the `.dlq` (purged by
        hand, say) is closed as discarded, saying so."""
        queue = self.store.full_queue_name(queue)
        began = datetime.now(UTC)
        action_id = await self.store.start_action(
            "reconcile", actor, Scope.everything(), via, {"queue": queue}, None, None, 0
        )
        try:
            walk = await self._walk(queue, set(), None, actor, None, action_id, _Throttle(None))
            gone = [
                record_id
                for record_id in await self.store.open_ids(queue, began - RECONCILE_GRACE)
                if record_id not in walk.seen
            ]
            reason = f"its message was not in {dead_letter_queue(queue)} when reconciled"
            closed = [
                record_id
                for record_id in gone
                if await self.store.close(
                    record_id, "discarded", actor, reason, action_id, "discard"
                )
            ]
        finally:
            await self.store.finish_action(action_id)
            await refresh_dead_letter_metrics(self.store.pool, if_kept=True)
        log.info(
            "dead_letters_reconciled",
            queue=queue,
            adopted=walk.adopted,
            dropped_copies=walk.dropped,
            closed_without_message=len(closed),
        )
        return ActionResult(
            action="reconcile",
            dry_run=False,
            action_id=action_id,
            selected=walk.adopted + walk.dropped + len(closed),
            done=walk.adopted + walk.dropped + len(closed),
            not_in_queue=closed,
            items=await self.store.summaries(closed),
        )

    async def _walk(
        self,
        queue: str,
        chosen: set[UUID],
        action: Literal["replay", "discard"] | None,
        actor: str,
        reason: str | None,
        action_id: int,
        throttle: _Throttle,
    ) -> _Walk:
        walk = _Walk()
        parked_in = dead_letter_queue(queue)
        async with self.store.queue_lock(queue):
            connection = await aio_pika.connect(self._amqp_url, timeout=PUBLISH_TIMEOUT_S)
            try:
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                dlq = await channel.declare_queue(parked_in, passive=True)
                depth = dlq.declaration_result.message_count or 0
                for _ in range(depth):
                    message = await dlq.get(no_ack=False, fail=False, timeout=PUBLISH_TIMEOUT_S)
                    if message is None:
                        break
                    await self._one(
                        channel,
                        queue,
                        message,
                        chosen,
                        action,
                        actor,
                        reason,
                        action_id,
                        walk,
                        throttle,
                    )
            finally:
                await connection.close()
        return walk

    async def _one(
        self,
        channel: AbstractChannel,
        queue: str,
        message: AbstractIncomingMessage,
        chosen: set[UUID],
        action: Literal["replay", "discard"] | None,
        actor: str,
        reason: str | None,
        action_id: int,
        walk: _Walk,
        throttle: _Throttle,
    ) -> None:
        headers = dict(message.headers or {})
        record_id = as_uuid(headers.get(DEAD_LETTER_ID_HEADER))
        status = await self.store.status_of(record_id) if record_id is not None else None
        if status is None:
            record_id = await self.store.adopt(dead_letter_of_message(queue, message, headers))
            headers[DEAD_LETTER_ID_HEADER] = str(record_id)
            status = "dead"
            walk.adopted += 1
        assert record_id is not None
        if status != "dead" or record_id in walk.seen:
            # A second copy of a message already replayed or discarded (a walk cut short after
            # its record was closed, a redelivery parked twice): it goes.
            walk.dropped += 1
            await message.ack()
            return
        walk.seen.add(record_id)
        if record_id in chosen and action == "replay":
            await throttle.wait()
            await _publish(channel, message, queue, fresh_life_headers(headers))
            await self.store.close(record_id, "replayed", actor, reason, action_id, "replay")
            walk.done.append(record_id)
        elif record_id in chosen and action == "discard":
            await self.store.close(record_id, "discarded", actor, reason, action_id, "discard")
            walk.done.append(record_id)
        else:
            await _publish(channel, message, dead_letter_queue(queue), headers)
        await message.ack()


async def _publish(
    channel: AbstractChannel,
    message: AbstractIncomingMessage,
    queue: str,
    headers: dict[str, Any],
) -> None:
    """To one queue by name (the default exchange), confirmed; a missing queue raises."""
    await channel.default_exchange.publish(
        aio_pika.Message(
            message.body,
            headers=headers,
            message_id=message.message_id,
            type=message.type,
            correlation_id=message.correlation_id,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=message.timestamp,
        ),
        routing_key=queue,
        mandatory=True,
        timeout=PUBLISH_TIMEOUT_S,
    )


def _by_queue(selected: Sequence[DeadLetterSummary]) -> dict[str, list[UUID]]:
    queues: dict[str, list[UUID]] = {}
    for record in selected:
        queues.setdefault(record.queue, []).append(record.id)
    return queues
