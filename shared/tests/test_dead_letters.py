"""Dead letters: one record per parked message whatever the path, and replay, discard and
reconcile keep the `.dlq` and the records in step."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aio_pika
import asyncpg
import pytest
from pydantic import ValidationError

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import EventConsumer, PermanentHandlingError, RedeliverThenDeadLetter
from shared.dead_letters import operations as dead_letter_operations
from shared.dead_letters.models import DeadLetterFilter, DiscardRequest, ReplayRequest
from shared.dead_letters.operations import DeadLetterOperations
from shared.dead_letters.records import cause_of
from shared.dead_letters.store import DeadLetterStore, Scope
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.postgres import Db
from test_support.dead_letters import dlq_agrees_with_records, dlq_depth
from test_support.polling import eventually


@dataclass
class Work:
    """A consumer of `order.odoo_synced` whose handler fails as a test tells it to."""

    pool: asyncpg.Pool
    schema: str
    amqp_url: str
    topology: Topology
    spec: QueueSpec
    failing: dict[uuid.UUID, Exception] = field(default_factory=dict)
    calls: dict[uuid.UUID, int] = field(default_factory=dict)

    @property
    def ops(self) -> DeadLetterOperations:
        return DeadLetterOperations(DeadLetterStore(self.pool), self.amqp_url)

    async def publish(self, body: bytes, message_id: str | None = None) -> None:
        connection = await aio_pika.connect(self.amqp_url)
        try:
            channel = await connection.channel()
            exchange = await channel.get_exchange(self.topology.exchange)
            await exchange.publish(
                aio_pika.Message(body, message_id=message_id), routing_key="order.odoo_synced"
            )
        finally:
            await connection.close()

    async def send(self, order_id: uuid.UUID, version: int = 1) -> EventEnvelope:
        envelope = EventEnvelope.wrap(
            OrderOdooSynced(order_id=order_id, odoo_order_id=7),
            tenant_id=uuid.uuid4(),
            aggregate_id=order_id,
            aggregate_version=1,
            producer="test",
        ).model_copy(update={"version": version})
        await self.publish(envelope.model_dump_json().encode(), str(envelope.id))
        return envelope

    async def agrees(self, expected_open: int) -> None:
        await dlq_agrees_with_records(
            self.amqp_url, self.pool, self.schema, self.spec.name, expected_open
        )

    async def record(self, **where: Any) -> asyncpg.Record:
        conditions = " AND ".join(f"{k} = ${i}" for i, k in enumerate(where, 1))

        async def found() -> asyncpg.Record | None:
            row: asyncpg.Record | None = await self.pool.fetchrow(
                f"SELECT * FROM dead_letter_records WHERE {conditions} ORDER BY seq DESC LIMIT 1",
                *where.values(),
            )
            return row

        return await eventually(found, what=f"a dead letter with {where}")


@pytest.fixture
async def work(
    pool: asyncpg.Pool, schema: str, amqp_url: str, broker_namespace: str
) -> AsyncIterator[Work]:
    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    spec = QueueSpec(f"{broker_namespace}.work", ("order.odoo_synced",))
    await pool.execute("CREATE TABLE applied (order_id uuid)")
    world = Work(pool, schema, amqp_url, topology, spec)

    async def handle(db: Db, envelope: EventEnvelope, data: Any) -> None:
        world.calls[data.order_id] = world.calls.get(data.order_id, 0) + 1
        if data.order_id in world.failing:
            raise world.failing[data.order_id]
        await db.execute("INSERT INTO applied VALUES ($1)", data.order_id)

    consumer = EventConsumer(
        name="work",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": handle},
        pool=pool,
        amqp_url=amqp_url,
        failure_policy=RedeliverThenDeadLetter(max_redeliveries=1, pause_s=0.01),
    )
    await consumer.start()
    try:
        yield world
    finally:
        await consumer.stop()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))


async def test_each_way_a_message_is_given_up_leaves_one_record_saying_why(work: Work) -> None:
    transient, permanent = uuid.uuid4(), uuid.uuid4()
    work.failing[transient] = RuntimeError("downstream timed out after 30 s")
    work.failing[permanent] = PermanentHandlingError("no Odoo product has default_code 'TEA'")
    await work.send(transient)
    await work.send(permanent)
    await work.publish(b"\x00 not an envelope")
    unknown = await work.send(uuid.uuid4(), version=99)

    retried = await work.record(aggregate_id=transient)
    refused = await work.record(aggregate_id=permanent)
    undecodable = await work.record(event_type="")
    unreadable = await work.record(message_id=str(unknown.id))

    assert (retried["error_class"], retried["attempts"]) == ("RuntimeError", 2)
    assert retried["reason"] == "downstream timed out after 30 s"
    assert (refused["error_class"], refused["attempts"]) == ("PermanentHandlingError", 1)
    assert undecodable["error_class"] == "PoisonMessageError"
    assert undecodable["reason"].startswith("undecodable envelope")
    assert undecodable["body"] == b"\x00 not an envelope"
    assert unreadable["error_class"] == "PoisonMessageError"
    assert "order.odoo_synced version 99" in unreadable["reason"]
    assert (unreadable["event_version"], unreadable["aggregate_type"]) == (99, "order")
    assert unreadable["tenant_id"] == unknown.tenant_id
    for row in (retried, refused, undecodable, unreadable):
        assert row["queue"] == work.spec.name
        assert row["status"] == "dead"
        assert row["headers"]["x-dead-letter-id"] == str(row["id"])
    assert retried["routing_key"] == "order.odoo_synced"
    assert retried["exchange"] == work.topology.exchange
    await work.agrees(4)


async def test_a_replay_sends_the_message_back_with_a_fresh_retry_budget_and_is_audited(
    work: Work,
) -> None:
    replayed, left = uuid.uuid4(), uuid.uuid4()
    for order_id in (replayed, left):
        work.failing[order_id] = RuntimeError("downstream timed out")
        await work.send(order_id)
    first = await work.record(aggregate_id=replayed)
    await work.record(aggregate_id=left)
    await work.agrees(2)

    # Still failing: the replayed message gets a whole new budget and is parked again.
    result = await work.ops.replay(
        Scope.everything(), "ops@example.com", "api", ReplayRequest(ids=[first["id"]])
    )
    assert (result.selected, result.done, result.not_in_queue) == (1, 1, [])

    async def parked_again() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await work.pool.fetchrow(
            "SELECT * FROM dead_letter_records WHERE aggregate_id = $1 AND status = 'dead'",
            replayed,
        )
        return row

    second = await eventually(parked_again, what="the replayed message parked again")
    assert work.calls[replayed] == 4, "two tries before the replay, two after"
    assert (second["attempts"], second["replays"]) == (2, 1)
    assert "x-first-failure-at" in second["headers"]
    assert second["headers"]["x-replays"] == 1
    assert second["first_failure_at"] > first["last_failure_at"]
    await work.agrees(2)

    # Fixed: the replay lands, once.
    del work.failing[replayed]
    await work.ops.replay(
        Scope.everything(), "ops@example.com", "cli", ReplayRequest(ids=[second["id"]])
    )

    async def applied() -> bool:
        return bool(
            await work.pool.fetchval("SELECT count(*) FROM applied WHERE order_id = $1", replayed)
        )

    await eventually(applied, what="the replayed message handled")
    await work.agrees(1)
    closed = await work.pool.fetchrow(
        "SELECT * FROM dead_letter_records WHERE id = $1", second["id"]
    )
    assert (closed["status"], closed["closed_by"]) == ("replayed", "ops@example.com")
    actions = await work.ops.store.actions(Scope.everything(), 10)
    assert [(a.action, a.actor, a.via, a.done) for a in actions] == [
        ("replay", "ops@example.com", "cli", 1),
        ("replay", "ops@example.com", "api", 1),
    ]
    assert actions[0].selection == {"ids": [str(second["id"])]}
    detail = await work.ops.store.detail(Scope.everything(), second["id"])
    assert [h.status for h in detail.history] == ["replayed", "replayed"]
    assert [a.id for a in detail.actions] == sorted(a.id for a in actions)


async def test_a_discard_needs_a_reason_removes_the_message_and_is_audited(work: Work) -> None:
    order_id = uuid.uuid4()
    work.failing[order_id] = PermanentHandlingError("order refused")
    await work.send(order_id)
    row = await work.record(aggregate_id=order_id)
    with pytest.raises(ValidationError, match="reason"):
        DiscardRequest.model_validate({"ids": [str(row["id"])]})
    with pytest.raises(ValidationError, match="reason"):
        DiscardRequest.model_validate({"ids": [str(row["id"])], "reason": "   "})

    result = await work.ops.discard(
        Scope.everything(),
        "ops@example.com",
        "api",
        DiscardRequest(ids=[row["id"]], reason="a test order, never real"),
    )

    assert (result.selected, result.done) == (1, 1)
    await work.agrees(0)
    [action] = await work.ops.store.actions(Scope.everything(), 10)
    assert (action.action, action.reason, action.done) == (
        "discard",
        "a test order, never real",
        1,
    )
    closed = await work.pool.fetchrow("SELECT * FROM dead_letter_records WHERE id = $1", row["id"])
    assert (closed["status"], closed["close_reason"]) == ("discarded", "a test order, never real")


async def test_a_group_is_one_cause_whatever_the_ids_and_numbers_in_its_reasons(
    work: Work,
) -> None:
    mapped = [uuid.uuid4() for _ in range(3)]
    for n, order_id in enumerate(mapped):
        work.failing[order_id] = PermanentHandlingError(f"order {order_id} line {n}: no 'TEA'")
        await work.send(order_id)
    other = uuid.uuid4()
    work.failing[other] = PermanentHandlingError("Odoo refused the payment method")
    await work.send(other)
    await work.agrees(4)

    groups = await work.ops.store.groups(Scope.everything(), DeadLetterFilter(), "dead")
    assert [(g.count, g.cause) for g in groups] == [
        (3, "order <id> line <n>: no 'TEA'"),
        (1, "Odoo refused the payment method"),
    ]
    dry = await work.ops.replay(
        Scope.everything(), "ops", "cli", ReplayRequest(group=groups[0].group, dry_run=True)
    )
    assert {i.aggregate_id for i in dry.items} == set(mapped)
    assert dry.action_id is None
    await work.agrees(4)

    for order_id in mapped:
        del work.failing[order_id]
    result = await work.ops.replay(
        Scope.everything(), "ops", "cli", ReplayRequest(group=groups[0].group, rate_per_s=100)
    )
    assert result.done == 3
    await work.agrees(1)

    async def all_applied() -> bool:
        return await work.pool.fetchval("SELECT count(*) FROM applied") == 3

    await eventually(all_applied, what="the group handled")


async def test_reconcile_adopts_what_the_broker_parked_and_closes_what_was_purged(
    work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dead_letter_operations, "RECONCILE_GRACE", timedelta())
    purged = uuid.uuid4()
    work.failing[purged] = PermanentHandlingError("refused")
    await work.send(purged)
    await work.record(aggregate_id=purged)
    await work.agrees(1)
    connection = await aio_pika.connect(work.amqp_url)
    try:
        channel = await connection.channel()
        dlq = await channel.get_queue(work.spec.dead_letter_queue)
        await dlq.purge()
        # As the broker parks a message at the work queue's delivery limit: no headers of ours.
        await channel.default_exchange.publish(
            aio_pika.Message(
                b'{"type": "order.odoo_synced"}',
                headers={"x-first-death-reason": "delivery_limit"},
            ),
            routing_key=work.spec.dead_letter_queue,
        )
    finally:
        await connection.close()
    assert await dlq_depth(work.amqp_url, work.spec.name) == 1

    result = await work.ops.reconcile(work.spec.name, "ops", "cli")

    await work.agrees(1)
    adopted = await work.record(error_class="BrokerDeadLettered")
    assert adopted["status"] == "dead"
    assert "(delivery_limit)" in adopted["reason"]
    gone = await work.record(aggregate_id=purged)
    assert gone["status"] == "discarded"
    assert gone["close_reason"].startswith("its message was not in")
    assert result.not_in_queue == [gone["id"]]


def test_a_cause_keeps_quoted_names_and_drops_ids_and_numbers() -> None:
    assert (
        cause_of(
            "order 0b7f8c1e-2a7a-4c55-9a43-0f1b2c3d4e5f: 3 lines, no Odoo product has "
            "default_code 'POS-TEA-2'"
        )
        == "order <id>: <n> lines, no Odoo product has default_code 'POS-TEA-2'"
    )
