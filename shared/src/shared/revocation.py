"""Revoked tokens, seen by every service: persisted from `token.revoked`, refreshed into memory.

One replica's consumer records a revocation in its schema; every replica reloads the table every
second, so a revoked token is refused everywhere within about a second (remembered as verified
or not: `TokenVerifier` checks revocations on every use), and after restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import asyncpg
import structlog

from shared.auth import TokenVerifier
from shared.consumer import Handler
from shared.events.contracts import TokenRevoked
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

log = structlog.get_logger(__name__)

TOKEN_EVENTS = ("token.revoked",)


async def record_revocation(db: Db, token_id: object, expires_at: object) -> None:
    await db.execute(
        """INSERT INTO revoked_tokens (token_id, expires_at) VALUES ($1, $2)
           ON CONFLICT (token_id) DO NOTHING""",
        token_id,
        expires_at,
    )


def revocation_handlers(verifier: TokenVerifier) -> Mapping[str, Handler]:
    async def on_revoked(db: Db, _: EventEnvelope, data: TokenRevoked) -> None:
        await record_revocation(db, data.token_id, data.expires_at)
        verifier.revoke(data.token_id)

    return {"token.revoked": on_revoked}


async def load_revocations(pool: asyncpg.Pool, verifier: TokenVerifier) -> None:
    rows = await pool.fetch("SELECT token_id FROM revoked_tokens WHERE expires_at > now()")
    for row in rows:
        verifier.revoke(row["token_id"])


async def refresh_revocations(
    pool: asyncpg.Pool, verifier: TokenVerifier, interval_s: float = 1.0
) -> None:
    """Runs until cancelled; a database hiccup only delays the next refresh."""
    while True:
        with contextlib.suppress(Exception):
            await load_revocations(pool, verifier)
        await asyncio.sleep(interval_s)
