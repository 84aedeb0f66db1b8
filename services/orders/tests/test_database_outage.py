"""While its database is down, the orders service says so (503 with Retry-After), then heals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from orders.settings import OrdersSettings
from test_support.orders import OrdersWorld, problem, running_orders
from test_support.polling import eventually
from test_support.private_servers import PrivatePostgres
from test_support.service_settings import settings_for_test

pytestmark = pytest.mark.slow


@pytest.fixture
async def world(
    running_private_postgres: PrivatePostgres, amqp_url: str, broker_namespace: str
) -> AsyncIterator[OrdersWorld]:
    settings = OrdersSettings(
        **settings_for_test(
            "orders",
            database_url=running_private_postgres.url,
            amqp_url=amqp_url,
            broker_namespace=broker_namespace,
        )
    )
    async with running_orders(settings) as running:
        yield running


async def test_an_order_posted_while_the_database_is_down_is_a_503_and_taken_once_it_is_back(
    world: OrdersWorld, running_private_postgres: PrivatePostgres
) -> None:
    register = await world.create_register()
    body = world.order_body(register)
    headers = world.device(register)

    await asyncio.to_thread(running_private_postgres.stop)
    for method, path, json in (
        ("POST", "/v1/orders", body),
        ("GET", "/v1/orders", None),
        ("GET", f"/v1/orders/{body['id']}", None),
    ):
        response = await world.client.request(method, path, json=json, headers=headers)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert problem(response)["type"] == "urn:pos:problem:unavailable"
    assert (await world.client.get("/readyz")).status_code == 503
    assert (await world.client.get("/healthz")).status_code == 200

    await asyncio.to_thread(running_private_postgres.start)

    async def ready() -> bool:
        return (await world.client.get("/readyz")).status_code == 200

    await eventually(ready, within_s=20, what="readiness after the database is back")
    retried = await world.client.post("/v1/orders", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert await world.count("orders", register.tenant_id) == 1
