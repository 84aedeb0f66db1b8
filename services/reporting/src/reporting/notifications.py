"""Chat notifications: claims each due daily report once, then sends pending messages with retries.

Every replica runs the same loop. A message happens once because it is first *claimed* as a
unique row in `notifications` (daily: shop and business date; shift close: session), and a send
holds its row locked (SKIP LOCKED) while it runs, so no two replicas send the same row. A crash
between Telegram's answer and our commit is the one window where a message can go twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, time
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Counter

from reporting import repository as repo
from reporting.chat_messages import daily_message, shift_close_message
from reporting.domain import daily_report_due, parse_cutoff, retry_delay_s
from reporting.handlers import PRODUCER, ReportQueries
from reporting.settings import ReportingSettings
from reporting.telegram_client import ChatSendError, TelegramClient
from shared.events.contracts import ReportDailyReady
from shared.events.envelope import EventEnvelope
from shared.outbox import add_event
from shared.postgres import Db
from shared.secret_box import SecretBox, SecretKeyError
from shared.structured_logging import current_correlation_id

log = structlog.get_logger(__name__)

CHAT_MESSAGES = Counter("chat_messages_total", "Chat messages by outcome", ["kind", "outcome"])


class Notifier:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        settings: ReportingSettings,
        queries: ReportQueries,
        box: SecretBox,
        telegram: TelegramClient,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._queries = queries
        self._box = box
        self._telegram = telegram
        self.default_report_time = parse_cutoff(settings.default_daily_report_time)
        self._wake = asyncio.Event()
        # Completed rounds, so a test can wait for "it looked again" instead of sleeping.
        self.rounds = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Schedules and sends until cancelled; a failure of one round never stops the next."""
        while True:
            self._wake.clear()
            try:
                await self.schedule_daily_reports()
                while await self.send_next():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("notifier_round_failed", error=repr(error))
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.notifier_interval_s)

    async def schedule_daily_reports(self) -> int:
        """Claims every shop's daily report that is due and not yet claimed; returns how many."""
        now = self._queries.clock()
        claimed = 0
        async with self._pool.acquire() as db:
            shops = await repo.shops_for_daily_reports(db)
            for shop in shops:
                report_time: time = shop["daily_report_time"] or self.default_report_time
                timezone = shop["tenant_timezone"] or shop["timezone"]
                day = daily_report_due(now, report_time, timezone, shop["business_day_cutoff"])
                if day is None:
                    continue
                tenant_id, shop_id = shop["tenant_id"], shop["shop_id"]
                if await repo.daily_already_claimed(db, tenant_id, shop_id, day):
                    continue
                if not await repo.had_activity(db, tenant_id, shop_id, day):
                    continue
                if await self._claim_daily(db, tenant_id, shop_id, day, shop["chat_enabled"]):
                    claimed += 1
        return claimed

    async def _claim_daily(
        self, db: Db, tenant_id: UUID, shop_id: UUID, day: date, send: bool
    ) -> bool:
        report = await self._queries.daily_report_of(tenant_id, shop_id, day)
        async with db.transaction():
            message = daily_message(report)
            if not await repo.claim_daily(db, tenant_id, shop_id, day, send, message):
                return False
            totals = report.totals
            event = ReportDailyReady(
                shop_id=shop_id,
                business_date=day,
                currency=report.currency or "",
                order_count=totals.order_count,
                refund_count=totals.refund_count,
                gross=totals.gross,
                refunds=totals.refunds,
                net=totals.net,
                registers_still_open=len(report.registers_still_open),
            )
            await add_event(
                db,
                EventEnvelope.wrap(
                    event,
                    tenant_id=tenant_id,
                    aggregate_id=shop_id,
                    # One daily event per shop and date: the date orders them.
                    aggregate_version=day.toordinal(),
                    producer=PRODUCER,
                    correlation_id=current_correlation_id(),
                ),
            )
        log.info("daily_report_claimed", shop_id=str(shop_id), business_date=day.isoformat())
        return True

    async def send_next(self) -> bool:
        """Sends one due message; False when none is due."""
        async with self._pool.acquire() as db, db.transaction():
            row = await repo.next_due_notification(db)
            if row is None:
                return False
            await self._send(db, row)
            return True

    async def _send(self, db: Db, row: Any) -> None:
        kind, attempts = row["kind"], row["attempts"] + 1
        if not row["enabled"] or row["bot_token_encrypted"] is None:
            await repo.mark_notification(db, row["id"], state="skipped", error="chat disabled")
            CHAT_MESSAGES.labels(kind, "skipped").inc()
            return
        try:
            text = await self._render(row)
            token = self._box.open(row["bot_token_encrypted"])
            await self._telegram.send_message(token, row["chat_id"], text)
        except (ChatSendError, SecretKeyError) as error:
            hint = error.retry_after_s if isinstance(error, ChatSendError) else None
            if attempts >= self._settings.notify_max_attempts:
                await repo.mark_notification(db, row["id"], state="failed", error=str(error))
                CHAT_MESSAGES.labels(kind, "failed").inc()
                log.error("chat_message_given_up", kind=kind, attempts=attempts, error=str(error))
                return
            delay = max(
                hint or 0.0,
                retry_delay_s(
                    attempts,
                    self._settings.notify_retry_base_s,
                    self._settings.notify_retry_max_s,
                ),
            )
            await repo.mark_notification(
                db, row["id"], state="pending", error=str(error), retry_in_s=delay
            )
            CHAT_MESSAGES.labels(kind, "retry").inc()
            log.warning("chat_message_retry", kind=kind, attempts=attempts, error=str(error))
            return
        await repo.mark_notification(db, row["id"], state="sent")
        CHAT_MESSAGES.labels(kind, "sent").inc()
        log.info("chat_message_sent", kind=kind, notification_id=row["id"])

    async def _render(self, row: Any) -> str:
        if row["message"] is not None:
            message: str = row["message"]
            return message
        if row["kind"] == "shift_close":
            report = await self._queries.session_report_of(row["tenant_id"], row["session_id"])
            return shift_close_message(report)
        daily = await self._queries.daily_report_of(
            row["tenant_id"], row["shop_id"], row["business_date"]
        )
        return daily_message(daily)
