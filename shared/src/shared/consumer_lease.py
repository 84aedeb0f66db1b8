"""One active consumer of a queue across a service's replicas.

Whoever holds the queue's lease (a session-level Postgres advisory lock, on a connection of its
own) consumes; the other replicas stand by and take over within a second or two of the
holder's process or database session going away. The broker hands a queue with several
consumers each of them every other stretch of messages; for a queue whose work is ordered per
key (a register's orders in Odoo) that turns batches into ping-pong between replicas waiting on
each other. With one active consumer the messages arrive in the order they were published.

The lease is for speed, not for safety: what keeps the order and the exactly-once is the
consumer's own (a register's lock, the inbox). A moment with two consumers, say a lease lost
to a database restart that its holder has not noticed yet, costs batches, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import asyncpg
import structlog

log = structlog.get_logger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]

_HOLDS = """SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
      AND objid::bigint = (hashtextextended($1, 0) & 4294967295))"""


class QueueLease:
    def __init__(
        self, connect: Connect, name: str, retry_s: float = 1.0, check_s: float = 1.0
    ) -> None:
        self.name = name
        self._connect = connect
        self._retry_s = retry_s
        self._check_s = check_s
        self._conn: asyncpg.Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def acquire(self) -> None:
        """Returns once this process holds the lease; tries again every `retry_s`, through
        database outages too."""
        while True:
            if await self.try_acquire():
                return
            await asyncio.sleep(self._retry_s)

    async def try_acquire(self) -> bool:
        """Takes the lease if it is free; False if another holds it or the database is away."""
        try:
            conn = await asyncio.wait_for(self._connect(), self._retry_s * 5)
        except Exception:
            return False
        try:
            taken = await conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                self.name,
                timeout=self._retry_s * 5,
            )
        except Exception:
            taken = False
        if not taken:
            await _close(conn)
            return False
        self._conn = conn
        log.info("consumer_lease_taken", lease=self.name)
        return True

    async def lost(self) -> None:
        """Returns once the lease cannot be shown to be held any more (its session ended, the
        server is away or does not answer): the holder must stop consuming and acquire again."""
        conn = self._conn
        assert conn is not None
        while True:
            await asyncio.sleep(self._check_s)
            try:
                holds = await asyncio.wait_for(conn.fetchval(_HOLDS, self.name), self._check_s * 2)
            except Exception:
                # Whatever the failure (a reset, a closed connection, a server shutting down,
                # a time-out), the server may have let the lock go: holding on could make two
                # consumers.
                break
            if not holds:
                break
        log.warning("consumer_lease_lost", lease=self.name)
        await self.release()

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Ending the session releases the lock with it.
            await _close(conn)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5)
    except Exception:
        with contextlib.suppress(Exception):
            conn.terminate()


class Lease(Protocol):
    """What a consumer with a lease needs of it (QueueLease, PartitionLease)."""

    name: str

    @property
    def held(self) -> bool: ...

    async def acquire(self) -> None: ...

    async def try_acquire(self) -> bool: ...

    async def lost(self) -> None: ...

    async def release(self) -> None: ...


# Advisory locks in the two-key form (objsubid 2): the first key names what is locked (the
# members, or the partitions, of one group), the second is the member slot or partition number.
_LOCKS = """SELECT classid::bigint = (hashtext($1)::bigint & 4294967295) AS member,
           objid::bigint AS number, pid = pg_backend_pid() AS mine
    FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 2
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid::bigint IN (hashtext($1)::bigint & 4294967295, hashtext($2)::bigint & 4294967295)
"""


def fair_share(partitions: int, members: int, rank: int) -> int:
    """How many of `partitions` the member of `rank` (0-based) among `members` holds: an even
    split, the first ones taking one more while it does not come out even."""
    return partitions // members + (1 if rank < partitions % members else 0)


def preferred_order(partitions: int, members: int, rank: int) -> list[int]:
    """The partitions in the order a member tries them: from its own stretch of the range on,
    so members joining together do not all reach for the same ones first."""
    start = rank * partitions // members
    return [(start + i) % partitions for i in range(partitions)]


class PartitionLease:
    """The lease of one partition queue, handed out by its group's PartitionLeases."""

    def __init__(self, leases: PartitionLeases, partition: int) -> None:
        self.name = f"{leases.name}#{partition}"
        self.partition = partition
        self._leases = leases
        self._held = False
        self._granted = asyncio.Event()
        self._revoked = asyncio.Event()

    @property
    def held(self) -> bool:
        return self._held

    async def try_acquire(self) -> bool:
        """Whether the first share-out of the group's partitions gave this one to this process."""
        await self._leases.shared_out()
        return self._held

    async def acquire(self) -> None:
        # Called once the consumer let go of the queue: what it gave back is free for others.
        self._leases.give_back(self)
        await self._granted.wait()

    async def lost(self) -> None:
        """Returns when the partition is to go (lost with the lock's session, or handed to
        another member); the lock is given back once the consumer has stopped (acquire,
        release), so no other member consumes it while this one still does."""
        await self._revoked.wait()

    async def release(self) -> None:
        self._leases.give_back(self)

    def _grant(self) -> None:
        self._held = True
        self._revoked.clear()
        self._granted.set()

    def _revoke(self) -> None:
        self._held = False
        self._granted.clear()
        self._revoked.set()


class PartitionLeases:
    """Leases of a group's partition queues, shared out fairly among the replicas running.

    Each replica is a member while it holds a member slot, an advisory lock on a connection of
    its own, and holds its partitions as advisory locks on that same connection: a replica
    whose process or session goes away is no member any more and its partitions are free at
    once. Every `check_s` each member counts the members, works out its fair share, takes free
    partitions up to it, and hands back what it holds beyond it (a replica joined): those stop
    being consumed first, then their locks go, and the new member takes them on its next round.
    As with QueueLease, the leases are for speed: what keeps order and exactly-once is the
    consumer's own.
    """

    def __init__(
        self,
        connect: Connect,
        name: str,
        partitions: int,
        check_s: float = 0.5,
        max_members: int = 1024,
    ) -> None:
        if partitions < 1:
            raise ValueError("a group has at least one partition")
        self.name = name
        self._connect = connect
        self._check_s = check_s
        self._max_members = max_members
        self._leases = [PartitionLease(self, p) for p in range(partitions)]
        self._conn: asyncpg.Connection | None = None
        self._slot: int | None = None
        self._locked: set[int] = set()
        self._to_unlock: set[int] = set()
        self._wake = asyncio.Event()
        self._first_round = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.members = 0

    def lease(self, partition: int) -> PartitionLease:
        return self._leases[partition]

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def slot(self) -> int | None:
        """This member's slot while it is one."""
        return self._slot

    @property
    def held(self) -> list[int]:
        """The partitions this process holds now."""
        return [lease.partition for lease in self._leases if lease.held]

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._share_out(), name=f"partitions {self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # A cancel that lands as wait_for's wake-up completes is swallowed (3.11): again.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
        for lease in self._leases:
            if lease.held:
                lease._revoke()
        await self._disconnect()
        self._first_round.clear()

    async def shared_out(self) -> None:
        """Returns once this process has had its first share of the partitions (or tried to)."""
        self.start()
        await self._first_round.wait()

    def give_back(self, lease: PartitionLease) -> None:
        if lease.partition in self._locked:
            lease._revoke()
            self._to_unlock.add(lease.partition)
            self._wake.set()

    async def _share_out(self) -> None:
        while True:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Whatever the failure, the server may have let the locks go with the session.
                log.warning("partition_leases_lost", group=self.name, error=repr(error))
                self._lose_all()
                await self._disconnect()
            self._first_round.set()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._check_s)

    async def _round(self) -> None:
        conn = self._conn or await self._join()
        timeout = self._check_s * 4
        while self._to_unlock:
            # One at a time: more may be handed back while this one is unlocked.
            partition = min(self._to_unlock)
            await conn.execute(
                "SELECT pg_advisory_unlock(hashtext($1), $2)",
                self._partitions_key,
                partition,
                timeout=timeout,
            )
            self._locked.discard(partition)
            self._to_unlock.discard(partition)
            log.info("partition_released", group=self.name, partition=partition)
        rows = await conn.fetch(_LOCKS, self._members_key, self._partitions_key, timeout=timeout)
        members = sorted(r["number"] for r in rows if r["member"])
        mine = {r["number"] for r in rows if not r["member"] and r["mine"]}
        if self._slot not in members or not self._locked <= mine:
            raise RuntimeError("the server no longer shows this member's locks")
        self.members = len(members)
        rank = members.index(self._slot)
        share = fair_share(len(self._leases), len(members), rank)
        order = preferred_order(len(self._leases), len(members), rank)
        # Those handed back already and not unlocked yet are neither held nor free.
        holding = [p for p in order if p in mine and self._leases[p].held]
        for partition in holding[share:]:
            # Beyond the fair share: stop consuming it; its lock goes in the next round.
            self._leases[partition]._revoke()
        wanted = share - min(share, len(holding))
        taken = {r["number"] for r in rows if not r["member"]}
        for partition in order:
            if wanted <= 0:
                break
            if partition in taken:
                continue
            if await conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1), $2)",
                self._partitions_key,
                partition,
                timeout=timeout,
            ):
                self._locked.add(partition)
                self._leases[partition]._grant()
                wanted -= 1
                log.info("partition_taken", group=self.name, partition=partition)

    async def _join(self) -> asyncpg.Connection:
        conn = await asyncio.wait_for(self._connect(), self._check_s * 10)
        slot: int | None = None
        try:
            # The lowest free slot: a replica that comes back takes its old place.
            for candidate in range(self._max_members):
                if await conn.fetchval(
                    "SELECT pg_try_advisory_lock(hashtext($1), $2)",
                    self._members_key,
                    candidate,
                    timeout=self._check_s * 4,
                ):
                    slot = candidate
                    break
        except BaseException:
            await _close(conn)
            raise
        if slot is None:
            await _close(conn)
            raise RuntimeError(f"no free member slot among {self._max_members}")
        self._conn, self._slot = conn, slot
        log.info("partition_member_joined", group=self.name, slot=slot)
        return conn

    def _lose_all(self) -> None:
        for lease in self._leases:
            if lease.held:
                lease._revoke()
        self._locked.clear()
        self._to_unlock.clear()

    async def _disconnect(self) -> None:
        conn, self._conn, self._slot = self._conn, None, None
        self._locked.clear()
        self._to_unlock.clear()
        if conn is not None:
            await _close(conn)

    @property
    def _members_key(self) -> str:
        return f"{self.name}/members"

    @property
    def _partitions_key(self) -> str:
        return f"{self.name}/partitions"
