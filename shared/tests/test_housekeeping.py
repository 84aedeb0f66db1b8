"""Housekeeping: what is kept only for a while goes in small batches, and nothing else."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import aio_pika
import asyncpg

from shared.broker import QueueSpec, Topology, delete_topology
from shared.consumer import EventConsumer
from shared.dead_letters.records import dead_letter_of, record_dead_letter
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.housekeeping import Pruner, standard_rules
from shared.outbox import add_event
from shared.postgres import Db
from shared.settings import ServiceSettings
from test_support.polling import eventually

ROUNDS = 6
EVENTS_A_ROUND = 25
# Smaller than a round, so each round is pruned in several batches.
BATCH = 7


def _event() -> EventEnvelope:
    order_id = uuid.uuid4()
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=order_id, odoo_order_id=1),
        tenant_id=uuid.uuid4(),
        aggregate_id=order_id,
        aggregate_version=1,
        producer="test",
    )


async def _counts(pool: asyncpg.Pool) -> dict[str, int]:
    row = await pool.fetchrow(
        """SELECT (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL) AS published,
                  (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished,
                  (SELECT count(*) FROM inbox) AS inbox,
                  (SELECT count(*) FROM dead_letter_records WHERE status = 'dead') AS open,
                  (SELECT count(*) FROM dead_letter_records WHERE status <> 'dead') AS closed"""
    )
    assert row is not None
    return dict(row)


async def _dead_letter(pool: asyncpg.Pool, queue: str, closed: bool) -> None:
    dead = dead_letter_of(
        queue=queue,
        body=_event().model_dump_json().encode(),
        headers={"x-error-class": "RuntimeError", "x-error-message": "no"},
        message_id=str(uuid.uuid4()),
        message_type="order.odoo_synced",
        routing_key="order.odoo_synced",
        exchange="",
    )
    async with pool.acquire() as conn:
        record_id, _ = await record_dead_letter(conn, dead)
        if closed:
            await conn.execute(
                """UPDATE dead_letter_records SET status = 'discarded', closed_at = now()
                   WHERE id = $1""",
                record_id,
            )


async def test_outbox_inbox_and_closed_dead_letters_stop_growing_under_a_steady_load(
    pool: asyncpg.Pool, amqp_url: str, broker_namespace: str
) -> None:
    settings = ServiceSettings(
        outbox_retention=timedelta(0),
        inbox_retention=timedelta(0),
        dead_letter_retention=timedelta(0),
    )
    pruner = Pruner(pool, standard_rules(settings), batch_size=BATCH)
    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    spec = QueueSpec(f"{broker_namespace}.steady", ("order.odoo_synced",))

    async def handle(db: Db, envelope: EventEnvelope, data: Any) -> None:
        # What a service does: effects and the events they cause, in the inbox's transaction.
        await add_event(db, _event())

    consumer = EventConsumer(
        name="steady",
        queue=spec,
        topology=topology,
        handlers={"order.odoo_synced": handle},
        pool=pool,
        amqp_url=amqp_url,
    )
    await consumer.start()
    connection = await aio_pika.connect(amqp_url)
    after_each_round = []
    try:
        # One event the relay has not published yet: it must stay, however old.
        async with pool.acquire() as conn:
            await add_event(conn, _event())
            waiting = await conn.fetchval("SELECT max(seq) FROM outbox")
        exchange = await (await connection.channel()).get_exchange(topology.exchange)
        for _ in range(ROUNDS):
            for _ in range(EVENTS_A_ROUND):
                event = _event()
                await exchange.publish(
                    aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id)),
                    routing_key=event.type,
                )

            async def all_handled() -> bool:
                counts = await _counts(pool)
                return counts["inbox"] == EVENTS_A_ROUND == counts["unpublished"] - 1

            await eventually(all_handled, what="the round handled")
            # The relay's part, as it does it: what was written is published.
            await pool.execute("UPDATE outbox SET published_at = now() WHERE seq <> $1", waiting)
            await _dead_letter(pool, spec.name, closed=True)
            await _dead_letter(pool, spec.name, closed=False)

            pruned = await pruner.prune_once()

            assert pruned["outbox"] == pruned["inbox"] == EVENTS_A_ROUND
            assert pruned["dead_letter_records"] == 1
            after_each_round.append(await _counts(pool))
    finally:
        await connection.close()
        await consumer.stop()
        await delete_topology(amqp_url, Topology(topology.exchange, (spec,)))

    # Handled events and their own events went; what nobody is done with stayed.
    assert after_each_round == [
        {"published": 0, "unpublished": 1, "inbox": 0, "open": n, "closed": 0}
        for n in range(1, ROUNDS + 1)
    ]
    assert await pool.fetchval("SELECT seq FROM outbox") == waiting


async def test_rows_younger_than_their_retention_stay(pool: asyncpg.Pool) -> None:
    settings = ServiceSettings(
        outbox_retention=timedelta(days=7),
        inbox_retention=timedelta(days=30),
        dead_letter_retention=timedelta(days=30),
    )
    async with pool.acquire() as conn:
        for _ in range(3):
            await add_event(conn, _event())
        await conn.execute("UPDATE outbox SET published_at = now() - interval '6 days'")
        await conn.execute(
            "INSERT INTO inbox (consumer, event_id, event_type, received_at) "
            "VALUES ('c', $1, 't', now() - interval '31 days'), ('c', $2, 't', now())",
            uuid.uuid4(),
            uuid.uuid4(),
        )

    pruned = await Pruner(pool, standard_rules(settings), batch_size=BATCH).prune_once()

    assert pruned == {"outbox": 0, "inbox": 1, "dead_letter_records": 0}
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 3
