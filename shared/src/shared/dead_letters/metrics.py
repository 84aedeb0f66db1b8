"""Dead-letter metrics, read from the records: open dead letters per queue and error class (a
gauge), the age of the oldest per queue, and replays and discards per queue (counters, from
running totals in the database, so a replay made with the CLI counts too).

A scrape must not wait on the database, so each service refreshes a snapshot now and then (and
right after it acts on dead letters); the collector serves the snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import structlog
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)


@dataclass
class _Snapshot:
    open: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest: dict[str, datetime] = field(default_factory=dict)
    totals: dict[tuple[str, str], int] = field(default_factory=dict)


# One snapshot per schema this process keeps dead letters in (one, but for in-process tests).
_SNAPSHOTS: dict[int, _Snapshot] = {}


class _DeadLetterCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        open_now = GaugeMetricFamily(
            "dead_letters_open",
            "Dead letters parked in a queue's .dlq and not yet replayed or discarded",
            labels=["queue", "error_class"],
        )
        oldest = GaugeMetricFamily(
            "dead_letters_oldest_open_age_seconds",
            "Age of the oldest open dead letter of a queue",
            labels=["queue"],
        )
        replayed = CounterMetricFamily(
            "dead_letters_replayed", "Dead letters replayed to their queue", labels=["queue"]
        )
        discarded = CounterMetricFamily(
            "dead_letters_discarded", "Dead letters discarded", labels=["queue"]
        )
        now = datetime.now(UTC)
        for snapshot in list(_SNAPSHOTS.values()):
            for (queue, error_class), count in sorted(snapshot.open.items()):
                open_now.add_metric([queue, error_class], count)
            for queue, since in sorted(snapshot.oldest.items()):
                oldest.add_metric([queue], (now - since).total_seconds())
            for (queue, action), total in sorted(snapshot.totals.items()):
                family = replayed if action == "replay" else discarded
                family.add_metric([queue], total)
        yield from (open_now, oldest, replayed, discarded)


REGISTRY.register(_DeadLetterCollector())


async def refresh_dead_letter_metrics(pool: asyncpg.Pool, *, if_kept: bool = False) -> None:
    """Reads the snapshot of `pool`'s schema anew; a failure keeps the last one. With `if_kept`,
    only when this process keeps one for `pool` (its service's runtime does)."""
    if if_kept and id(pool) not in _SNAPSHOTS:
        return
    try:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT queue, error_class, count(*) AS open, min(dead_lettered_at) AS oldest
                   FROM dead_letter_records WHERE status = 'dead'
                   GROUP BY queue, error_class"""
            )
            totals = await conn.fetch("SELECT queue, action, total FROM dead_letter_totals")
    except Exception as error:
        log.debug("dead_letter_metrics_not_refreshed", error=repr(error))
        return
    snapshot = _Snapshot()
    for row in rows:
        snapshot.open[(row["queue"], row["error_class"])] = row["open"]
        known = snapshot.oldest.get(row["queue"])
        snapshot.oldest[row["queue"]] = min(known, row["oldest"]) if known else row["oldest"]
    for row in totals:
        snapshot.totals[(row["queue"], row["action"])] = row["total"]
    _SNAPSHOTS[id(pool)] = snapshot


def forget_dead_letter_metrics(pool: asyncpg.Pool) -> None:
    _SNAPSHOTS.pop(id(pool), None)


async def keep_dead_letter_metrics(pool: asyncpg.Pool, interval_s: float) -> None:
    """Refreshes the snapshot every `interval_s` until cancelled."""
    try:
        while True:
            await refresh_dead_letter_metrics(pool)
            await asyncio.sleep(interval_s)
    finally:
        with contextlib.suppress(Exception):
            forget_dead_letter_metrics(pool)
