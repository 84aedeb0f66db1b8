"""Chat notifications: claims each due daily report once, then sends pending messages with retries.

Every replica runs the same loop. A message happens once because it is first *claimed* as a
unique row in `notifications` (daily: shop and business date; shift close: session), and a send
holds its row locked (SKIP LOCKED) while it runs, so no two replicas send the same row. A crash
between Telegram's answer and our commit is the one window where a message can go twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Counter

from reporting.chat_messages import daily_message, shift_close_message
from reporting.domain.business_calendar import daily_report_due, parse_cutoff
from reporting.domain.chat import SendRetryPolicy, after_failed_send
from reporting.events import daily_report_ready
from reporting.handlers import ReportQueries
from reporting.repository import chat
from reporting.repository.chat import DueNotification, ShopSchedule
from reporting.settings import ReportingSettings
from reporting.telegram_client import ChatSendError, TelegramClient
from shared.outbox import add_event
from shared.postgres import Db
from shared.secret_box import SecretBox, SecretKeyError

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
        self._retry_policy = SendRetryPolicy(
            max_attempts=settings.notify_max_attempts,
            base_s=settings.notify_retry_base_s,
            max_s=settings.notify_retry_max_s,
        )
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
            for shop in await chat.shops_for_daily_reports(db):
                day = self._due_day(shop, now)
                if day is None:
                    continue
                tenant_id, shop_id = shop.tenant_id, shop.shop_id
                if await chat.daily_already_claimed(db, tenant_id, shop_id, day):
                    continue
                if not await chat.had_activity(db, tenant_id, shop_id, day):
                    continue
                if await self._claim_daily(db, tenant_id, shop_id, day, shop.chat_enabled):
                    claimed += 1
        return claimed

    def _due_day(self, shop: ShopSchedule, now: datetime) -> date | None:
        # The report time is the tenant's (one chat for all its shops), read in its timezone.
        return daily_report_due(
            now,
            shop.daily_report_time or self.default_report_time,
            shop.tenant_timezone or shop.timezone,
            shop.business_day_cutoff,
        )

    async def _claim_daily(
        self, db: Db, tenant_id: UUID, shop_id: UUID, day: date, send: bool
    ) -> bool:
        report = await self._queries.daily_report_of(tenant_id, shop_id, day)
        async with db.transaction():
            if not await chat.claim_daily(db, tenant_id, shop_id, day, send, daily_message(report)):
                return False
            await add_event(db, daily_report_ready(tenant_id, shop_id, day, report))
        log.info("daily_report_claimed", shop_id=str(shop_id), business_date=day.isoformat())
        return True

    async def send_next(self) -> bool:
        """Sends one due message; False when none is due."""
        async with self._pool.acquire() as db, db.transaction():
            due = await chat.next_due_notification(db)
            if due is None:
                return False
            await self._send(db, due)
            return True

    async def _send(self, db: Db, due: DueNotification) -> None:
        kind, attempts = due.kind, due.attempts + 1
        if not due.enabled or due.bot_token_encrypted is None or due.chat_id is None:
            await chat.mark_notification(db, due.id, state="skipped", error="chat disabled")
            CHAT_MESSAGES.labels(kind, "skipped").inc()
            return
        try:
            text = await self._render(due)
            token = self._box.open(due.bot_token_encrypted)
            await self._telegram.send_message(token, due.chat_id, text)
        except (ChatSendError, SecretKeyError) as error:
            hint = error.retry_after_s if isinstance(error, ChatSendError) else None
            failed = after_failed_send(attempts, self._retry_policy, hint)
            if failed.retry_in_s is None:
                await chat.mark_notification(db, due.id, state="failed", error=str(error))
                CHAT_MESSAGES.labels(kind, "failed").inc()
                log.error("chat_message_given_up", kind=kind, attempts=attempts, error=str(error))
                return
            await chat.mark_notification(
                db, due.id, state="pending", error=str(error), retry_in_s=failed.retry_in_s
            )
            CHAT_MESSAGES.labels(kind, "retry").inc()
            log.warning("chat_message_retry", kind=kind, attempts=attempts, error=str(error))
            return
        await chat.mark_notification(db, due.id, state="sent")
        CHAT_MESSAGES.labels(kind, "sent").inc()
        log.info("chat_message_sent", kind=kind, notification_id=due.id)

    async def _render(self, due: DueNotification) -> str:
        # A daily report's text is kept from its claim, so every retry sends the same message.
        if due.message is not None:
            return due.message
        if due.kind == "shift_close" and due.session_id is not None:
            report = await self._queries.session_report_of(due.tenant_id, due.session_id)
            return shift_close_message(report)
        daily = await self._queries.daily_report_of(due.tenant_id, due.shop_id, due.business_date)
        return daily_message(daily)
