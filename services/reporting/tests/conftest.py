"""Fixtures for the reporting service: an app on a schema and exchange of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from reporting.bootstrap import topology
from reporting.settings import ReportingSettings
from shared.broker import delete_topology
from test_support.reporting import FakeChatApi, ReportingWorld, running_fake_chat, running_reporting
from test_support.service_settings import settings_for_test


@pytest.fixture
async def chat_api() -> AsyncIterator[FakeChatApi]:
    async with running_fake_chat() as fake:
        yield fake


@pytest.fixture
async def settings(
    database_url: str, amqp_url: str, broker_namespace: str, chat_api: FakeChatApi
) -> AsyncIterator[ReportingSettings]:
    """The test's settings; its queues and exchanges are deleted afterwards, because a long run
    that leaves them all behind wedges the broker (seen on RabbitMQ 3.10.8)."""
    settings = ReportingSettings(
        **settings_for_test(
            "reporting",
            database_url=database_url,
            amqp_url=amqp_url,
            broker_namespace=broker_namespace,
        ),
        telegram_api_base=chat_api.base_url,
        public_url="https://pos.example.test",
        notifier_interval_s=0.05,
        notify_retry_base_s=0.05,
        notify_retry_max_s=0.2,
    )
    yield settings
    await delete_topology(settings.amqp_url, topology(settings))


@pytest.fixture
async def world(settings: ReportingSettings) -> AsyncIterator[ReportingWorld]:
    async with running_reporting(settings) as running:
        yield running
