"""Pruning what a service keeps only for a while: published outbox rows, inbox rows, closed dead
letters, and whatever a service adds (the connector's receipts).

Rows go in small batches, each its own short transaction that skips rows someone else holds and
gives up on a lock it cannot get at once, so live traffic never waits on the pruner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from prometheus_client import Counter

from shared.postgres import is_database_unavailable
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

PRUNED_ROWS = Counter("housekeeping_pruned_rows_total", "Rows pruned by housekeeping", ["table"])

# Between two batches: room for live traffic's statements on a busy table.
_PAUSE_S = 0.05


@dataclass(frozen=True)
class PruneRule:
    """Rows of `table` that may go once `condition` holds; `$1` in it is now − retention."""

    table: str
    condition: str
    retention: timedelta


def standard_rules(settings: ServiceSettings) -> list[PruneRule]:
    """What every service prunes: see the README's "Housekeeping" for why these are safe."""
    return [
        PruneRule(
            "outbox", "published_at IS NOT NULL AND published_at < $1", settings.outbox_retention
        ),
        PruneRule("inbox", "received_at < $1", settings.inbox_retention),
        PruneRule(
            "dead_letter_records",
            "status <> 'dead' AND closed_at < $1",
            settings.dead_letter_retention,
        ),
    ]


class Pruner:
    def __init__(self, pool: asyncpg.Pool, rules: Sequence[PruneRule], batch_size: int) -> None:
        self._pool = pool
        self._rules = list(rules)
        self._batch_size = batch_size

    async def prune_once(self) -> dict[str, int]:
        """Prunes every table down to its retention; how many rows went, by table."""
        pruned: dict[str, int] = {}
        for rule in self._rules:
            cutoff = datetime.now(UTC) - rule.retention
            total = 0
            while True:
                gone = await self._batch(rule, cutoff)
                total += gone
                if gone < self._batch_size:
                    break
                await asyncio.sleep(_PAUSE_S)
            pruned[rule.table] = total
            if total:
                PRUNED_ROWS.labels(rule.table).inc(total)
        return pruned

    async def _batch(self, rule: PruneRule, cutoff: datetime) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '1s'")
            await conn.execute("SET LOCAL statement_timeout = '30s'")
            result = await conn.execute(
                f"""DELETE FROM {rule.table} WHERE ctid = ANY(ARRAY(
                        SELECT ctid FROM {rule.table} WHERE {rule.condition}
                        LIMIT {int(self._batch_size)} FOR UPDATE SKIP LOCKED))""",
                cutoff,
            )
        return int(str(result).rsplit(" ", 1)[-1])

    async def run(self, interval_s: float) -> None:
        """Prunes every `interval_s` until cancelled; a failed round is logged and retried."""
        while True:
            try:
                pruned = await self.prune_once()
            except Exception as error:
                if not is_database_unavailable(error):
                    log.warning("housekeeping_failed", error=repr(error))
            else:
                if any(pruned.values()):
                    log.info("housekeeping_pruned", **pruned)
            await asyncio.sleep(interval_s)
