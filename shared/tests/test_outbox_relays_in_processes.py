"""Several processes run a relay on one outbox, as a service's workers and replicas do: every
aggregate's events still arrive once each and in order, also when the relaying one stops."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.broker import Topology
from shared.events.contracts import OrderOdooSynced
from shared.events.envelope import EventEnvelope
from shared.outbox import add_event
from test_support.event_tap import EventTap
from test_support.polling import eventually

pytestmark = pytest.mark.slow

# One relay in a process of its own, stopped gracefully by SIGTERM like a service's worker.
_RELAY_PROCESS = """
import asyncio, signal, sys
from shared.broker import Publisher, Topology
from shared.outbox import OutboxRelay

async def main(dsn, schema, amqp_url, exchange, name):
    publisher = Publisher(amqp_url, Topology(exchange=exchange))
    relay = OutboxRelay(
        dsn=dsn, schema=schema, service=name, publisher=publisher, poll_interval_s=0.1,
        batch_size=7,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, relay.stop)
    await relay.run()
    await publisher.close()

asyncio.run(main(*sys.argv[1:]))
"""

AGGREGATES = 12
VERSIONS = 30


def _event(aggregate: uuid.UUID, version: int) -> EventEnvelope:
    return EventEnvelope.wrap(
        OrderOdooSynced(order_id=aggregate, odoo_order_id=version),
        tenant_id=uuid.uuid4(),
        aggregate_id=aggregate,
        aggregate_version=version,
        producer="test",
    )


@contextlib.asynccontextmanager
async def _relay_processes(
    count: int, database_url: str, schema: str, amqp_url: str, exchange: str
) -> AsyncIterator[dict[str, asyncio.subprocess.Process]]:
    processes: dict[str, asyncio.subprocess.Process] = {}
    try:
        for number in range(count):
            name = f"relay-{number}"
            processes[name] = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _RELAY_PROCESS,
                database_url,
                schema,
                amqp_url,
                exchange,
                name,
                stdout=asyncio.subprocess.DEVNULL,
            )
        yield processes
    finally:
        for process in processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            await process.wait()


async def _leader(pool: asyncpg.Pool, schema: str) -> str | None:
    """The name of the relay holding the schema's relay lock, if one does."""
    name: str | None = await pool.fetchval(
        """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
           WHERE l.locktype = 'advisory' AND l.granted
             AND l.objid = hashtext($1)::oid""",
        f"outbox-relay:{schema}",
    )
    return name.removesuffix("-outbox-relay") if name else None


async def test_relays_in_several_processes_publish_each_aggregate_in_order_exactly_once(
    pool: asyncpg.Pool, database_url: str, schema: str, amqp_url: str, broker_namespace: str
) -> None:
    topology = Topology(exchange=f"{broker_namespace}.pos.events")
    tap = EventTap(amqp_url, topology.exchange)
    await tap.start()
    aggregates = [uuid.uuid4() for _ in range(AGGREGATES)]

    async def write(aggregate: uuid.UUID) -> None:
        # One transaction per event, each aggregate's in order, all aggregates at once.
        for version in range(1, VERSIONS + 1):
            await add_event(pool, _event(aggregate, version))
            await asyncio.sleep(0.01)

    async with _relay_processes(3, database_url, schema, amqp_url, topology.exchange) as processes:
        writing = asyncio.gather(*(write(aggregate) for aggregate in aggregates))
        stopped: list[str] = []
        # Twice, the relaying process is stopped mid-stream and another one takes over.
        for _ in range(2):
            leader = await eventually(lambda: _leader(pool, schema), what="a relay taking the lead")
            await eventually(
                lambda: _published_since_start(tap, len(stopped)), what="events published"
            )
            processes[leader].send_signal(signal.SIGTERM)
            await processes[leader].wait()
            stopped.append(leader)
        await writing
        await tap.wait_for(AGGREGATES * VERSIONS, within_s=30)
        await asyncio.sleep(0.5)
        survivor = next(name for name in processes if name not in stopped)
        assert await _leader(pool, schema) == survivor
    await tap.stop()

    assert len(stopped) == 2
    for aggregate in aggregates:
        versions = [
            e["aggregate_version"] for e in tap.events if e["aggregate_id"] == str(aggregate)
        ]
        assert versions == list(range(1, VERSIONS + 1))
    assert len(tap.events) == AGGREGATES * VERSIONS


async def _published_since_start(tap: EventTap, handovers: int) -> bool:
    """Some of the stream went out under the current leader (a third more per handover)."""
    return len(tap.events) > (handovers + 1) * AGGREGATES * VERSIONS // 4
