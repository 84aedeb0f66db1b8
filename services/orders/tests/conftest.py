"""Fixtures for the orders service: an app on a schema and exchange of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from orders.settings import OrdersSettings
from test_support.event_tap import EventTap
from test_support.orders import OrdersWorld, running_orders
from test_support.service_settings import settings_for_test
from test_support.tcp_proxy import TcpProxy


@pytest.fixture
def settings(database_url: str, amqp_url: str, broker_namespace: str) -> OrdersSettings:
    return OrdersSettings(
        **settings_for_test(
            "orders",
            database_url=database_url,
            amqp_url=amqp_url,
            broker_namespace=broker_namespace,
        )
    )


@pytest.fixture
async def tap(settings: OrdersSettings) -> AsyncIterator[EventTap]:
    """Everything published on the test's exchange (also makes every event routable)."""
    event_tap = EventTap(settings.amqp_url, settings.exchange_name)
    await event_tap.start()
    yield event_tap
    await event_tap.stop()


@pytest.fixture
async def world(settings: OrdersSettings) -> AsyncIterator[OrdersWorld]:
    async with running_orders(settings) as running:
        yield running


@pytest.fixture
async def broker_proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    parts = urlsplit(amqp_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    await proxy.start()
    yield proxy
    await proxy.cut()
