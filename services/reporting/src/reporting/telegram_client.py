"""The Telegram Bot API calls the chat needs: sendMessage, and setWebhook for its commands."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

# httpx logs each request URL at INFO, and a Bot API URL contains the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)


class ChatSendError(Exception):
    """The message did not reach the chat; `retry_after_s` is Telegram's hint, if it gave one."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TelegramClient:
    def __init__(self, api_base: str, timeout_s: float = 10.0) -> None:
        self._api_base = api_base.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def send_message(self, bot_token: str, chat_id: str, text: str) -> None:
        message = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
        await self._call(bot_token, "sendMessage", message)

    async def set_webhook(self, bot_token: str, url: str, secret_token: str) -> None:
        """Telegram sends the bot's updates to `url`, each with `secret_token` in its
        X-Telegram-Bot-Api-Secret-Token header; only messages are wanted."""
        webhook = {"url": url, "secret_token": secret_token, "allowed_updates": ["message"]}
        await self._call(bot_token, "setWebhook", webhook)

    async def _call(self, bot_token: str, method: str, payload: Mapping[str, object]) -> None:
        url = f"{self._api_base}/bot{bot_token}/{method}"
        try:
            response = await self._client.post(url, json=payload)
        except httpx.HTTPError as error:
            # The URL holds the token, so only the error's class travels on, never its text.
            raise ChatSendError(f"chat API unreachable ({type(error).__name__})") from None
        if response.status_code == 200:
            return
        description, retry_after = "", None
        try:
            body = response.json()
            description = str(body.get("description", ""))[:200]
            retry_after = (body.get("parameters") or {}).get("retry_after")
        except ValueError:
            pass
        raise ChatSendError(
            f"chat API answered {response.status_code}: {description or response.reason_phrase}",
            float(retry_after) if retry_after is not None else None,
        )

    async def close(self) -> None:
        await self._client.aclose()
