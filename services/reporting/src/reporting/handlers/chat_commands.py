"""Commands a tenant's chat sends its bot: `/report` answers today's figures of every shop.

Telegram posts each update to the tenant's webhook with the secret set when the owner connected
it. An update without that secret, from another chat, or with another text is ignored: the
answer is the same 200 either way, so the webhook tells a stranger nothing, and Telegram, which
retries a non-2xx answer, does not send it again.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Counter

from reporting.chat_messages import daily_message
from reporting.domain.business_calendar import business_date
from reporting.handlers.reports import ReportQueries
from reporting.http_models import ChatWebhookPublic
from reporting.repository import chat
from reporting.telegram_client import ChatSendError, TelegramClient
from shared.actor import Actor
from shared.errors import NotFoundError, ServiceUnavailableError
from shared.secret_box import SecretBox

log = structlog.get_logger(__name__)

CHAT_COMMANDS = Counter(
    "chat_commands_total", "Updates at the chat webhooks, by outcome", ["outcome"]
)

# "/report", or "/report@CafeBot" as Telegram writes a command in a group with several bots.
_REPORT = re.compile(r"^/report(@\w+)?(\s|$)")
# Telegram refuses longer messages; a tenant with many shops gets several.
_MAX_MESSAGE = 4000


def _message_of(update: Mapping[str, Any]) -> tuple[str, str] | None:
    """The chat id and text of a message update, if it is one."""
    message = update.get("message")
    if not isinstance(message, Mapping):
        return None
    sender_chat, text = message.get("chat"), message.get("text")
    if not isinstance(sender_chat, Mapping) or not isinstance(text, str):
        return None
    chat_id = sender_chat.get("id")
    if not isinstance(chat_id, int | str) or isinstance(chat_id, bool):
        return None
    return str(chat_id), text


def split_messages(parts: list[str]) -> list[str]:
    """Joins the shops' texts into as few messages as Telegram takes."""
    messages: list[str] = []
    for part in parts:
        if messages and len(messages[-1]) + 2 + len(part) <= _MAX_MESSAGE:
            messages[-1] += "\n\n" + part
        else:
            messages.append(part[:_MAX_MESSAGE])
    return messages


class ChatCommands:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        box: SecretBox,
        telegram: TelegramClient,
        queries: ReportQueries,
        public_url: str | None,
    ) -> None:
        self._pool = pool
        self._box = box
        self._telegram = telegram
        self._queries = queries
        self._public_url = public_url

    async def connect_webhook(self, actor: Actor) -> ChatWebhookPublic:
        """Points the tenant's bot at this service, with a new secret Telegram will send back."""
        if self._public_url is None:
            raise ServiceUnavailableError(
                "This deployment has no address Telegram can reach: set REPORTING_PUBLIC_URL "
                "(such as https://pos.example.com) and connect again."
            )
        async with self._pool.acquire() as db:
            config = await chat.command_chat_of(db, actor.tenant_id)
        if config is None:
            raise NotFoundError(
                "No chat is set up for this tenant yet; PUT /v1/chat with a Telegram bot token "
                "and chat id first."
            )
        url = f"{self._public_url.rstrip('/')}/v1/telegram/{actor.tenant_id}"
        secret = secrets.token_urlsafe(32)
        try:
            bot_token = self._box.open(config.bot_token_encrypted)
            await self._telegram.set_webhook(bot_token, url, secret)
        except ChatSendError as error:
            raise ServiceUnavailableError(
                f"Telegram did not take the webhook ({error}); check the bot token in "
                "PUT /v1/chat and that REPORTING_PUBLIC_URL is an https address, then retry."
            ) from None
        async with self._pool.acquire() as db:
            await chat.set_webhook_secret(db, actor.tenant_id, self._box.seal(secret))
        log.info("chat_webhook_connected", tenant_id=str(actor.tenant_id))
        return ChatWebhookPublic(url=url, commands=["/report"])

    async def on_update(
        self, tenant_id: UUID, secret: str | None, update: Mapping[str, Any]
    ) -> None:
        outcome = await self._answer(tenant_id, secret, update)
        CHAT_COMMANDS.labels(outcome).inc()
        log.info("chat_update", tenant_id=str(tenant_id), outcome=outcome)

    async def _answer(self, tenant_id: UUID, secret: str | None, update: Mapping[str, Any]) -> str:
        async with self._pool.acquire() as db:
            config = await chat.command_chat_of(db, tenant_id)
        if config is None or config.webhook_secret_encrypted is None or secret is None:
            return "ignored_not_connected" if secret is not None else "ignored_no_secret"
        expected = self._box.open(config.webhook_secret_encrypted)
        if not hmac.compare_digest(secret.encode(), expected.encode()):
            return "ignored_wrong_secret"
        message = _message_of(update)
        if message is None or message[0] != config.chat_id:
            return "ignored_other_chat"
        if not config.enabled:
            return "ignored_chat_disabled"
        if _REPORT.match(message[1]) is None:
            return "ignored_other_text"
        try:
            bot_token = self._box.open(config.bot_token_encrypted)
            for text in split_messages(await self._todays_figures(tenant_id)):
                await self._telegram.send_message(bot_token, config.chat_id, text)
        except ChatSendError as error:
            log.warning("chat_report_not_sent", tenant_id=str(tenant_id), error=str(error))
            return "send_failed"
        return "answered"

    async def _todays_figures(self, tenant_id: UUID) -> list[str]:
        now = self._queries.clock()
        async with self._pool.acquire() as db:
            shops = await chat.shops_for_daily_reports(db, tenant_id)
        texts = []
        for shop in shops:
            today = business_date(
                now, shop.timezone or shop.tenant_timezone, shop.business_day_cutoff
            )
            report = await self._queries.daily_report_of(tenant_id, shop.shop_id, today)
            texts.append(daily_message(report))
        return texts or ["No shop of this tenant has sold anything yet."]
