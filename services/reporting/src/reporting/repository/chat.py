"""Chat settings and the chat messages queued for sending, claimed once each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID

from shared.postgres import Db


@dataclass(frozen=True)
class ChatConfigRow:
    tenant_id: UUID
    bot_token_encrypted: str
    chat_id: str
    daily_report_time: time
    enabled: bool
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class ShopSchedule:
    """What decides when a shop's daily report is due, and whether its chat gets it."""

    tenant_id: UUID
    shop_id: UUID
    timezone: str | None
    business_day_cutoff: time | None
    tenant_timezone: str | None
    daily_report_time: time | None
    chat_enabled: bool


@dataclass(frozen=True)
class DueNotification:
    """A message to send now, with its tenant's chat (None where the chat was removed)."""

    id: int
    tenant_id: UUID
    shop_id: UUID
    kind: str
    business_date: date
    session_id: UUID | None
    attempts: int
    message: str | None
    bot_token_encrypted: str | None
    chat_id: str | None
    enabled: bool | None


async def upsert_chat_config(
    db: Db,
    *,
    tenant_id: UUID,
    bot_token_encrypted: str,
    chat_id: str,
    daily_report_time: time,
    enabled: bool,
    updated_by: str,
) -> ChatConfigRow:
    row = await db.fetchrow(
        """INSERT INTO chat_configs (tenant_id, bot_token_encrypted, chat_id, daily_report_time,
                                     enabled, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id) DO UPDATE
           SET bot_token_encrypted = excluded.bot_token_encrypted, chat_id = excluded.chat_id,
               daily_report_time = excluded.daily_report_time, enabled = excluded.enabled,
               updated_by = excluded.updated_by, updated_at = now()
           RETURNING tenant_id, bot_token_encrypted, chat_id, daily_report_time, enabled,
                     updated_at, updated_by""",
        tenant_id,
        bot_token_encrypted,
        chat_id,
        daily_report_time,
        enabled,
        updated_by,
    )
    assert row is not None
    return ChatConfigRow(**row)


async def get_chat_config(db: Db, tenant_id: UUID) -> ChatConfigRow | None:
    row = await db.fetchrow(
        """SELECT tenant_id, bot_token_encrypted, chat_id, daily_report_time, enabled,
                  updated_at, updated_by
           FROM chat_configs WHERE tenant_id = $1""",
        tenant_id,
    )
    return None if row is None else ChatConfigRow(**row)


async def claim_shift_close(
    db: Db, tenant_id: UUID, shop_id: UUID, session_id: UUID, day: date
) -> None:
    """Queues the shift-close message of a session once, if the tenant's chat is enabled."""
    await db.execute(
        """INSERT INTO notifications (tenant_id, shop_id, kind, business_date, session_id)
           SELECT $1, $2, 'shift_close', $4, $3
           FROM chat_configs WHERE tenant_id = $1 AND enabled
           ON CONFLICT DO NOTHING""",
        tenant_id,
        shop_id,
        session_id,
        day,
    )


async def shops_for_daily_reports(db: Db, tenant_id: UUID | None = None) -> list[ShopSchedule]:
    """Every shop (or the tenant's), with what decides its business day and daily report."""
    rows = await db.fetch(
        """SELECT s.tenant_id, s.shop_id, s.timezone, s.business_day_cutoff,
                  t.timezone AS tenant_timezone, c.daily_report_time,
                  COALESCE(c.enabled, false) AS chat_enabled
           FROM shops s
           LEFT JOIN tenants t ON t.tenant_id = s.tenant_id
           LEFT JOIN chat_configs c ON c.tenant_id = s.tenant_id
           WHERE $1::uuid IS NULL OR s.tenant_id = $1
           ORDER BY s.name, s.shop_id""",
        tenant_id,
    )
    return [ShopSchedule(**r) for r in rows]


@dataclass(frozen=True)
class CommandChat:
    """What a command arriving at a tenant's webhook is checked against and answered with."""

    bot_token_encrypted: str
    chat_id: str
    enabled: bool
    webhook_secret_encrypted: str | None


async def command_chat_of(db: Db, tenant_id: UUID) -> CommandChat | None:
    row = await db.fetchrow(
        """SELECT bot_token_encrypted, chat_id, enabled, webhook_secret_encrypted
           FROM chat_configs WHERE tenant_id = $1""",
        tenant_id,
    )
    return None if row is None else CommandChat(**row)


async def set_webhook_secret(db: Db, tenant_id: UUID, secret_encrypted: str) -> None:
    await db.execute(
        "UPDATE chat_configs SET webhook_secret_encrypted = $2 WHERE tenant_id = $1",
        tenant_id,
        secret_encrypted,
    )


async def had_activity(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> bool:
    return bool(
        await db.fetchval(
            """SELECT EXISTS (SELECT 1 FROM daily_totals
                              WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3)""",
            tenant_id,
            shop_id,
            day,
        )
    )


async def daily_already_claimed(db: Db, tenant_id: UUID, shop_id: UUID, day: date) -> bool:
    return bool(
        await db.fetchval(
            """SELECT EXISTS (SELECT 1 FROM notifications
                              WHERE tenant_id = $1 AND shop_id = $2 AND business_date = $3
                                AND kind = 'daily')""",
            tenant_id,
            shop_id,
            day,
        )
    )


async def claim_daily(
    db: Db, tenant_id: UUID, shop_id: UUID, day: date, send: bool, message: str
) -> bool:
    """Claims the shop's daily report for the date; False if another replica already did."""
    claimed = await db.fetchval(
        """INSERT INTO notifications (tenant_id, shop_id, kind, business_date, state, message)
           VALUES ($1, $2, 'daily', $3, $4, $5)
           ON CONFLICT DO NOTHING RETURNING true""",
        tenant_id,
        shop_id,
        day,
        "pending" if send else "skipped",
        message,
    )
    return bool(claimed)


async def next_due_notification(db: Db) -> DueNotification | None:
    """Locks one due send; other replicas skip it while this transaction holds it."""
    row = await db.fetchrow(
        """SELECT n.id, n.tenant_id, n.shop_id, n.kind, n.business_date, n.session_id,
                  n.attempts, n.message, c.bot_token_encrypted, c.chat_id, c.enabled
           FROM notifications n
           LEFT JOIN chat_configs c ON c.tenant_id = n.tenant_id
           WHERE n.state = 'pending' AND n.next_attempt_at <= now()
           ORDER BY n.next_attempt_at
           LIMIT 1
           FOR UPDATE OF n SKIP LOCKED"""
    )
    return None if row is None else DueNotification(**row)


async def mark_notification(
    db: Db,
    notification_id: int,
    *,
    state: str,
    error: str | None = None,
    retry_in_s: float = 0.0,
) -> None:
    await db.execute(
        """UPDATE notifications
           SET state = $2, attempts = attempts + 1, last_error = $3,
               next_attempt_at = now() + make_interval(secs => $4),
               sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
           WHERE id = $1""",
        notification_id,
        state,
        error,
        retry_in_s,
    )
