"""Fixtures for the reporting service: an app on a schema and exchange of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from reporting.settings import ReportingSettings
from reporting.testing import FakeChatApi, ReportingWorld, running_fake_chat, running_reporting


@pytest.fixture
async def chat_api() -> AsyncIterator[FakeChatApi]:
    async with running_fake_chat() as fake:
        yield fake


@pytest.fixture
def settings(
    database_url: str, amqp_url: str, broker_namespace: str, chat_api: FakeChatApi
) -> ReportingSettings:
    return ReportingSettings(
        database_url=database_url,
        amqp_url=amqp_url,
        broker_namespace=broker_namespace,
        schema_name=f"reporting_{broker_namespace}",
        dev_mode=True,
        log_json=False,
        log_level="WARNING",
        outbox_poll_interval_s=0.2,
        consumer_redeliveries=2,
        telegram_api_base=chat_api.base_url,
        notifier_interval_s=0.05,
        notify_retry_base_s=0.05,
        notify_retry_max_s=0.2,
    )


@pytest.fixture
async def world(settings: ReportingSettings) -> AsyncIterator[ReportingWorld]:
    async with running_reporting(settings) as running:
        yield running
