"""The batch consumer: many events per transaction, each still applied once and failing alone."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

import aio_pika
import aiormq.abc
import asyncpg

from shared.batch_consumer import AckWindow, BatchEventConsumer, BatchHandler, ReceivedEvent
from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import Handler, RedeliverThenDeadLetter
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.postgres import Db
from test_support.polling import eventually

POISON_ODOO_ID = 666


def _sync_event(odoo_order_id: int = 1) -> EventEnvelope:
    order_id = uuid.uuid4()
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=order_id, odoo_order_id=odoo_order_id),
        tenant_id=uuid.uuid4(),
        aggregate_id=order_id,
        aggregate_version=1,
        producer="t",
    )


def _consumer(
    pool: asyncpg.Pool,
    amqp_url: str,
    topology: Topology,
    spec: QueueSpec,
    handler: Handler,
    apply_batch: BatchHandler,
    max_events: int,
) -> BatchEventConsumer:
    return BatchEventConsumer(
        apply_batch=apply_batch,
        max_events=max_events,
        # Long enough that a batch is cut by its size, not by the clock.
        window_s=5.0,
        name="batched",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": handler},
        pool=pool,
        amqp_url=amqp_url,
        prefetch=2 * max_events,
        failure_policy=RedeliverThenDeadLetter(max_redeliveries=1, pause_s=0.01),
    )


@contextlib.asynccontextmanager
async def _waiting_queue(
    pool: asyncpg.Pool, amqp_url: str, namespace: str, raw: Sequence[bytes]
) -> AsyncIterator[tuple[Topology, QueueSpec]]:
    """The consumer's queue with `raw` messages already in it, so they arrive as one batch."""
    topology = Topology(exchange=f"{namespace}.pos.events")
    spec = QueueSpec(f"{namespace}.batched", ("order.odoo_synced",))

    async def nothing(db: Db, received: Sequence[ReceivedEvent]) -> None:
        return None

    declaring = _consumer(pool, amqp_url, topology, spec, _never, nothing, 1)
    await declaring.start()
    await declaring.stop()
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.exchange)
        for body in raw:
            await exchange.publish(
                aio_pika.Message(body, message_id=str(uuid.uuid4())),
                routing_key="order.odoo_synced",
            )
        yield topology, spec
    finally:
        await connection.close()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))


async def _never(db: Db, envelope: EventEnvelope, data: Any) -> None:
    raise AssertionError("a batch of good events is not applied one by one")


async def _consume_until(
    consumer: BatchEventConsumer, amqp_url: str, done: Callable[[], Awaitable[bool]]
) -> int:
    """Runs the consumer until `done`, stops it, and says how many messages the queue still
    holds: a message handled but not acked goes back to it when the consumer stops."""
    await consumer.start()
    try:
        await eventually(done, what="messages handled")
        # The acks follow the commit that `done` may already see.
        await asyncio.sleep(0.3)
    finally:
        await consumer.stop()
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(consumer.queue.name, passive=True)
        count = queue.declaration_result.message_count
        assert count is not None
        return count
    finally:
        await connection.close()


async def test_a_duplicate_inside_a_batch_is_applied_once_and_both_copies_acked(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    await pool.execute("CREATE TABLE applied (order_id uuid)")
    twice, others = _sync_event(), [_sync_event() for _ in range(3)]
    bodies = [e.model_dump_json().encode() for e in (twice, *others, twice)]
    batches: list[list[uuid.UUID]] = []

    async def apply_batch(db: Db, received: Sequence[ReceivedEvent]) -> None:
        batches.append([r.envelope.id for r in received])
        await db.executemany(
            "INSERT INTO applied VALUES ($1)", [(r.data.order_id,) for r in received]
        )

    async def all_applied() -> bool:
        return bool(await pool.fetchval("SELECT count(*) = 4 FROM applied"))

    async with _waiting_queue(pool, amqp_url, broker_namespace, bodies) as (topology, spec):
        consumer = _consumer(pool, amqp_url, topology, spec, _never, apply_batch, len(bodies))
        assert await _consume_until(consumer, amqp_url, all_applied) == 0

    assert batches == [[twice.id, *(e.id for e in others)]]
    assert await pool.fetchval("SELECT count(*) FROM applied") == 4
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'batched'") == 4


async def test_a_duplicate_of_an_event_from_an_earlier_batch_is_skipped(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    earlier, fresh = _sync_event(), _sync_event()
    await pool.execute(
        "INSERT INTO inbox (consumer, event_id, event_type) VALUES ('batched', $1, $2)",
        earlier.id,
        earlier.type,
    )
    applied: list[uuid.UUID] = []

    async def apply_batch(db: Db, received: Sequence[ReceivedEvent]) -> None:
        applied.extend(r.envelope.id for r in received)

    async def fresh_applied() -> bool:
        return bool(applied)

    bodies = [e.model_dump_json().encode() for e in (earlier, fresh)]
    async with _waiting_queue(pool, amqp_url, broker_namespace, bodies) as (topology, spec):
        consumer = _consumer(pool, amqp_url, topology, spec, _never, apply_batch, 2)
        assert await _consume_until(consumer, amqp_url, fresh_applied) == 0

    assert applied == [fresh.id]


async def test_a_batch_hands_over_each_message_body_as_received(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    event = _sync_event()
    # Spacing and a field no contract knows: what the producer sent, not a re-encoding of it.
    body = event.model_dump_json(indent=1)[:-1].encode() + b', "x_unknown": 1}'
    received_bodies: list[bytes] = []

    async def apply_batch(db: Db, received: Sequence[ReceivedEvent]) -> None:
        received_bodies.extend(r.body for r in received)

    async def handed_over() -> bool:
        return bool(received_bodies)

    async with _waiting_queue(pool, amqp_url, broker_namespace, [body]) as (topology, spec):
        consumer = _consumer(pool, amqp_url, topology, spec, _never, apply_batch, 1)
        assert await _consume_until(consumer, amqp_url, handed_over) == 0

    assert received_bodies == [body]


async def test_a_poison_message_inside_a_batch_is_dead_lettered_alone(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    await pool.execute("CREATE TABLE applied (order_id uuid)")
    good = [_sync_event() for _ in range(4)]
    poison = _sync_event(POISON_ODOO_ID)
    events = [good[0], good[1], poison, good[2], good[3]]

    async def apply(db: Db, data: Any) -> None:
        await db.execute("INSERT INTO applied VALUES ($1)", data.order_id)
        if data.odoo_order_id == POISON_ODOO_ID:
            raise RuntimeError("cannot apply this one")

    async def apply_one(db: Db, envelope: EventEnvelope, data: Any) -> None:
        await apply(db, data)

    async def apply_batch(db: Db, received: Sequence[ReceivedEvent]) -> None:
        for r in received:
            await apply(db, r.data)

    bodies = [e.model_dump_json().encode() for e in events]
    async with _waiting_queue(pool, amqp_url, broker_namespace, bodies) as (topology, spec):
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            dlq = await channel.get_queue(spec.dead_letter_queue)
            parked: list[aio_pika.abc.AbstractIncomingMessage] = []

            async def dead_lettered() -> bool:
                message = await dlq.get(no_ack=True, fail=False)
                if message is not None:
                    parked.append(message)
                return bool(parked)

            consumer = _consumer(pool, amqp_url, topology, spec, apply_one, apply_batch, 5)
            assert await _consume_until(consumer, amqp_url, dead_lettered) == 0
            assert await dlq.get(no_ack=True, fail=False) is None
        finally:
            await connection.close()

    [message] = parked
    assert EventEnvelope.model_validate_json(message.body).id == poison.id
    assert message.headers["x-error-message"] == "cannot apply this one"
    applied = {r["order_id"] for r in await pool.fetch("SELECT order_id FROM applied")}
    assert applied == {uuid.UUID(str(e.data["order_id"])) for e in good}
    assert await pool.fetchval("SELECT count(*) FROM applied") == len(good)


class _RecordingChannel:
    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []

    async def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.acks.append((delivery_tag, multiple))


async def test_acks_asked_together_go_out_as_one_but_never_past_a_delivery_still_handled() -> None:
    channel = _RecordingChannel()
    window = AckWindow(cast(aiormq.abc.AbstractChannel, channel))
    for tag in range(1, 8):
        window.delivered(tag)
    window.settled(7)  # nacked: the broker holds it no more

    # Delivery 4 is still being handled (waiting for its retry, say).
    await asyncio.gather(*(window.ack(tag) for tag in (1, 2, 3, 5, 6)))

    assert channel.acks == [(3, True), (5, False), (6, False)]
    await window.ack(4)
    assert channel.acks[-1] == (4, True)
