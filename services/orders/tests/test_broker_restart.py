"""The orders service consumes again by itself after its broker is killed and restarted."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest

from orders.settings import OrdersSettings
from test_support.orders import OrdersWorld, running_orders
from test_support.polling import eventually
from test_support.private_servers import PrivateRabbitMQ
from test_support.service_settings import settings_for_test

pytestmark = pytest.mark.slow


@pytest.fixture
async def world(
    database_url: str, running_private_rabbitmq: PrivateRabbitMQ, broker_namespace: str
) -> AsyncIterator[OrdersWorld]:
    settings = OrdersSettings(
        **settings_for_test(
            "orders",
            database_url=database_url,
            amqp_url=running_private_rabbitmq.amqp_url,
            broker_namespace=broker_namespace,
        ),
        broker_reconnect_interval_s=0.3,
    )
    async with running_orders(settings) as running:
        yield running


async def _readiness(world: OrdersWorld) -> int:
    return (await world.client.get("/readyz")).status_code


async def test_the_orders_service_is_unready_while_its_broker_is_down_and_consumes_again_after(
    world: OrdersWorld, running_private_rabbitmq: PrivateRabbitMQ
) -> None:
    register = await world.create_register()
    assert await _readiness(world) == 200

    await asyncio.to_thread(running_private_rabbitmq.kill)

    async def unready() -> bool:
        return await _readiness(world) == 503

    await eventually(unready, what="readiness to drop")
    gc.collect()
    # Orders are still taken; their events wait in the outbox.
    placed = await world.client.post(
        "/v1/orders", json=world.order_body(register), headers=world.device(register)
    )
    assert placed.status_code == 201, placed.text

    await asyncio.to_thread(running_private_rabbitmq.start)

    async def ready() -> bool:
        return await _readiness(world) == 200

    await eventually(ready, within_s=30, what="readiness after the broker is back")
    # Every consumer is back: a register renamed now reaches the replica.
    register.name, register.version = "Till 1 (renamed)", 2
    await world.announce(register)
