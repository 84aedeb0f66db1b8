"""Fixtures for the connector: its own schema and broker names, retry schedules in milliseconds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from odoo_connector.settings import ConnectorSettings
from test_support.event_tap import EventTap
from test_support.odoo_connector import ConnectorWorld, running_connector
from test_support.service_settings import settings_for_test

# 1, 2, 4, 8, 16 minutes, scaled to milliseconds.
TEST_RETRY_DELAYS_MS = (60, 120, 240, 480, 960)
# Registers: 1, 5, 15, 60, 240 minutes, scaled to 5 ms a minute.
TEST_REGISTER_RETRY_DELAYS_MS = (5, 25, 75, 300, 1200)


@pytest.fixture
def settings(database_url: str, amqp_url: str, broker_namespace: str) -> ConnectorSettings:
    return ConnectorSettings(
        **settings_for_test(
            "connector",
            database_url=database_url,
            amqp_url=amqp_url,
            broker_namespace=broker_namespace,
        ),
        retry_delays_ms=TEST_RETRY_DELAYS_MS,
        register_retry_delays_ms=TEST_REGISTER_RETRY_DELAYS_MS,
        register_create_settle_ms=100,
        wait_ms=50,
        predecessor_wait_max_s=5,
        predecessor_hold_ms=200,
        # Short, so the wait rounds behind it are what these tests see; test_in_flow_holds.py
        # holds with the production value.
        flow_hold_s=0.3,
        odoo_timeout_s=5,
        # One partition: a test knows which queue an order's dead letter is in
        # (test_support.odoo_connector.orders_queue); test_replicas.py shares out more.
        odoo_partitions=1,
        breaker_failure_threshold=3,
        breaker_probe_initial_s=0.05,
        breaker_probe_max_s=0.4,
    )


@pytest.fixture
async def tap(settings: ConnectorSettings) -> AsyncIterator[EventTap]:
    """Everything published on the test's exchange (also makes every event routable)."""
    event_tap = EventTap(settings.amqp_url, settings.exchange_name)
    await event_tap.start()
    yield event_tap
    await event_tap.stop()


@pytest.fixture
async def world(settings: ConnectorSettings) -> AsyncIterator[ConnectorWorld]:
    async with running_connector(settings) as running:
        yield running
