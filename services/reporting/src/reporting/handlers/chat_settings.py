"""A tenant's chat settings: the Telegram bot and chat its reports go to, and when."""

from __future__ import annotations

import asyncpg
import structlog

from reporting import http_mappers as to_http
from reporting.domain.business_calendar import parse_cutoff
from reporting.domain.chat import mask_secret
from reporting.http_models import ChatConfigPublic, ChatConfigUpdate
from reporting.repository import chat
from reporting.repository.chat import ChatConfigRow
from shared.actor import Actor
from shared.errors import NotFoundError
from shared.secret_box import SecretBox

log = structlog.get_logger(__name__)


class ChatSettings:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox) -> None:
        self._pool = pool
        self._box = box

    async def update(self, actor: Actor, body: ChatConfigUpdate) -> ChatConfigPublic:
        async with self._pool.acquire() as db:
            config = await chat.upsert_chat_config(
                db,
                tenant_id=actor.tenant_id,
                bot_token_encrypted=self._box.seal(body.bot_token),
                chat_id=body.chat_id,
                daily_report_time=parse_cutoff(body.daily_report_time),
                enabled=body.enabled,
                updated_by=actor.subject,
            )
        log.info("chat_config_updated", tenant_id=str(actor.tenant_id), enabled=body.enabled)
        return self._public(config)

    async def get(self, actor: Actor) -> ChatConfigPublic:
        async with self._pool.acquire() as db:
            config = await chat.get_chat_config(db, actor.tenant_id)
        if config is None:
            raise NotFoundError(
                "No chat is set up for this tenant yet; PUT /v1/chat with a Telegram bot token "
                "and chat id to set one up."
            )
        return self._public(config)

    def _public(self, config: ChatConfigRow) -> ChatConfigPublic:
        token = mask_secret(self._box.open(config.bot_token_encrypted))
        return to_http.chat_config_public(config, token)
