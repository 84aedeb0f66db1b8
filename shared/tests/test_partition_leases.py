"""A group's partitions are shared out evenly among the replicas running: one replica takes them
all, a replica joining gets its share handed over, a replica leaving (stopped, or its database
session ended) has its partitions taken by the others within seconds, and no partition is ever
held by two replicas at once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from structlog.testing import capture_logs

from shared.consumer_lease import PartitionLease, PartitionLeases, fair_share, preferred_order
from test_support.polling import eventually

PARTITIONS = 8


@pytest.mark.parametrize("partitions", [1, 7, 16])
@pytest.mark.parametrize("members", [1, 2, 3, 5, 20])
def test_fair_shares_cover_every_partition_and_differ_by_one_at_most(
    partitions: int, members: int
) -> None:
    shares = [fair_share(partitions, members, rank) for rank in range(members)]
    assert sum(shares) == partitions
    assert max(shares) - min(shares) <= 1


def test_each_member_reaches_for_its_own_stretch_first() -> None:
    firsts = [preferred_order(16, 4, rank)[0] for rank in range(4)]
    assert firsts == [0, 4, 8, 12]
    assert sorted(preferred_order(16, 4, 3)) == list(range(16))


class Replica:
    """A replica's leases with a stand-in consumer per partition that, like EventConsumer's
    leased loop, consumes while it holds the lease and hands it back once it has stopped."""

    def __init__(self, database_url: str, group: str) -> None:
        self.leases = PartitionLeases(
            lambda: asyncpg.connect(database_url), group, PARTITIONS, 0.05
        )
        self.consuming: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for partition in range(PARTITIONS):
            lease = self.leases.lease(partition)
            held = await lease.try_acquire()
            self._tasks.append(asyncio.create_task(self._consume(lease, held)))

    async def _consume(self, lease: PartitionLease, held: bool) -> None:
        while True:
            if not held:
                await lease.acquire()
            self.consuming.add(lease.partition)
            await lease.lost()
            held = False
            self.consuming.discard(lease.partition)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for partition in range(PARTITIONS):
            await self.leases.lease(partition).release()
        self.consuming.clear()
        await self.leases.stop()


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[list[Replica]]:
    group = f"partition-test/{uuid.uuid4()}"
    made = [Replica(database_url, group) for _ in range(3)]
    yield made
    for replica in made:
        with contextlib.suppress(Exception):
            await replica.stop()


def _never_shared(replicas: list[Replica]) -> None:
    for i, one in enumerate(replicas):
        for other in replicas[i + 1 :]:
            assert not one.consuming & other.consuming, "a partition consumed by two replicas"


async def _shares(replicas: list[Replica], expected: list[int]) -> None:
    async def shared_out() -> bool:
        _never_shared(replicas)
        return sorted(len(r.consuming) for r in replicas) == sorted(expected)

    await eventually(shared_out, within_s=10, what=f"partitions shared out as {expected}")


async def test_a_lone_replica_consumes_every_partition(replicas: list[Replica]) -> None:
    first = replicas[0]
    await first.start()
    await _shares([first], [PARTITIONS])
    assert first.leases.members == 1


async def test_a_replica_joining_gets_its_fair_share_handed_over(replicas: list[Replica]) -> None:
    first, second, third = replicas
    await first.start()
    await _shares([first], [PARTITIONS])
    await second.start()
    await _shares([first, second], [4, 4])
    await third.start()
    await _shares(replicas, [3, 3, 2])
    assert set().union(*(r.consuming for r in replicas)) == set(range(PARTITIONS))


async def test_a_replica_stopping_leaves_its_partitions_to_the_others(
    replicas: list[Replica],
) -> None:
    first, second, third = replicas
    for replica in replicas:
        await replica.start()
    await _shares(replicas, [3, 3, 2])
    await second.stop()
    await _shares([first, third], [4, 4])


async def test_a_replica_whose_database_session_ends_loses_its_partitions_to_the_others(
    replicas: list[Replica], database_url: str
) -> None:
    first, second, _ = replicas
    await first.start()
    await second.start()
    await _shares([first, second], [4, 4])
    # The server ends the session, as a database restart or a dead process would: its locks
    # go at once, and the replica itself stops consuming as soon as it notices.
    with capture_logs() as logs:
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", await _backend_of(second))
        finally:
            await admin.close()

        async def noticed() -> bool:
            return any(entry["event"] == "partition_leases_lost" for entry in logs)

        await eventually(noticed, what="the lost session noticed")
        # It joins again on its next round, and they share again.
        await _shares([first, second], [4, 4])
    taken_again = [e["partition"] for e in logs if e["event"] == "partition_taken"]
    assert len(taken_again) >= 4, "the partitions were not taken again"
    assert second.leases.members == 2


async def _backend_of(replica: Replica) -> int:
    conn = replica.leases._conn
    assert conn is not None
    return conn.get_server_pid()
