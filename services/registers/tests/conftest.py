"""Fixtures for the registers service: an app on a schema and exchange of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from registers.settings import RegistersSettings
from test_support.registers import RegistersWorld, running_registers
from test_support.service_settings import settings_for_test


@pytest.fixture
def settings(database_url: str, amqp_url: str, broker_namespace: str) -> RegistersSettings:
    return RegistersSettings(
        **settings_for_test(
            "registers",
            database_url=database_url,
            amqp_url=amqp_url,
            broker_namespace=broker_namespace,
        )
    )


@pytest.fixture
async def world(settings: RegistersSettings) -> AsyncIterator[RegistersWorld]:
    async with running_registers(settings) as running:
        yield running
