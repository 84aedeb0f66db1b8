"""The tenant's chat asks its bot for /report and gets today's figures; anyone else, nothing."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from typing import Any

import httpx

from reporting.settings import ReportingSettings
from shared.auth import Role
from test_support.reporting import (
    Events,
    FakeChatApi,
    ReportingWorld,
    Shop,
    at_local,
    problem,
    running_reporting,
)

BOT_TOKEN = "987654321:AAH" + "s3cr3t" * 6
A_DAY = date(2026, 3, 10)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def _connected(world: ReportingWorld, chat_api: FakeChatApi, tenant_id: uuid.UUID) -> str:
    """Sets up the chat and its webhook; the secret Telegram will send back."""
    admin = world.token(tenant_id, Role.ADMIN)
    put = await world.client.put(
        "/v1/chat", json={"bot_token": BOT_TOKEN, "chat_id": "-1001"}, headers=admin
    )
    assert put.status_code == 200, put.text
    connected = await world.client.post("/v1/chat/webhook", headers=admin)
    assert connected.status_code == 200, connected.text
    assert connected.json()["url"] == f"https://pos.example.test/v1/telegram/{tenant_id}"
    url, secret = chat_api.webhooks[BOT_TOKEN]
    assert url == connected.json()["url"]
    return secret


def _update(chat_id: int | str, text: str) -> dict[str, Any]:
    return {
        "update_id": 1,
        "message": {"message_id": 7, "chat": {"id": chat_id, "type": "group"}, "text": text},
    }


async def _send(
    world: ReportingWorld, tenant_id: uuid.UUID, update: dict[str, Any], secret: str | None
) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return await world.client.post(f"/v1/telegram/{tenant_id}", json=update, headers=headers)


async def _traded_today(world: ReportingWorld) -> Shop:
    shop = Shop.new(registers=1)
    events = Events(shop)
    at = at_local(shop, A_DAY, time(10, 0))
    world.pin_clock(at + timedelta(hours=2))
    opened = events.session_opened(shop.register_ids[0], at)
    order = events.order(shop.register_ids[0], opened.aggregate_id, at)
    await world.feed([*events.reference_data(at), opened, order])
    return shop


async def test_report_from_the_configured_chat_answers_todays_figures(
    world: ReportingWorld, chat_api: FakeChatApi
) -> None:
    shop = await _traded_today(world)
    secret = await _connected(world, chat_api, shop.tenant_id)

    answered = await _send(world, shop.tenant_id, _update(-1001, "/report@CafeBot"), secret)

    assert answered.status_code == 200
    [text] = chat_api.texts_to("-1001")
    assert f"Daily report: Corner Cafe, {A_DAY.isoformat()}" in text
    assert "Gross: 9.20 EUR" in text


async def test_report_from_another_chat_gets_nothing(
    world: ReportingWorld, chat_api: FakeChatApi
) -> None:
    shop = await _traded_today(world)
    secret = await _connected(world, chat_api, shop.tenant_id)

    answered = await _send(world, shop.tenant_id, _update(-999, "/report"), secret)

    assert answered.status_code == 200
    assert chat_api.messages == []


async def test_update_without_the_webhooks_secret_is_ignored(
    world: ReportingWorld, chat_api: FakeChatApi
) -> None:
    shop = await _traded_today(world)
    await _connected(world, chat_api, shop.tenant_id)

    wrong = await _send(world, shop.tenant_id, _update(-1001, "/report"), "guessed")
    missing = await _send(world, shop.tenant_id, _update(-1001, "/report"), None)

    assert (wrong.status_code, missing.status_code) == (200, 200)
    assert chat_api.messages == []


async def test_other_texts_from_the_chat_are_not_answered(
    world: ReportingWorld, chat_api: FakeChatApi
) -> None:
    shop = await _traded_today(world)
    secret = await _connected(world, chat_api, shop.tenant_id)

    await _send(world, shop.tenant_id, _update(-1001, "nice coffee today"), secret)
    await _send(world, shop.tenant_id, {"update_id": 2, "edited_message": {}}, secret)

    assert chat_api.messages == []


async def test_connecting_the_webhook_needs_a_chat_first(world: ReportingWorld) -> None:
    refused = await world.client.post(
        "/v1/chat/webhook", headers=world.token(uuid.uuid4(), Role.ADMIN)
    )

    assert refused.status_code == 404
    assert "PUT /v1/chat" in problem(refused)["detail"]


async def test_connecting_the_webhook_needs_a_public_address(
    settings: ReportingSettings, chat_api: FakeChatApi
) -> None:
    tenant_id = uuid.uuid4()
    async with running_reporting(settings.model_copy(update={"public_url": None})) as world:
        admin = world.token(tenant_id, Role.ADMIN)
        await world.client.put(
            "/v1/chat", json={"bot_token": BOT_TOKEN, "chat_id": "-1001"}, headers=admin
        )

        refused = await world.client.post("/v1/chat/webhook", headers=admin)

    assert refused.status_code == 503
    assert "REPORTING_PUBLIC_URL" in problem(refused)["detail"]
    assert chat_api.webhooks == {}
