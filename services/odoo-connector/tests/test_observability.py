"""What an on-call engineer sees: readiness, Prometheus metrics and JSON logs of Odoo calls."""

from __future__ import annotations

import json

import pytest

from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import running_emulator
from test_support.odoo_connector import ConnectorWorld, running_connector
from test_support.polling import eventually


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_the_connector_is_ready_once_postgres_answers_and_its_consumers_are_attached(
    world: ConnectorWorld,
) -> None:
    response = await world.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_metrics_show_odoo_latency_sync_lag_and_the_breaker_of_each_endpoint(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        await world.place(tenant, order)
        await world.synced_odoo_id(order.order_id)
        emu.go_down()
        for _ in range(3):
            await world.place(tenant, world.order(tenant))

        async def breaker_open() -> bool:
            text = (await world.client.get("/metrics")).text
            return _metric(text, "connector_breaker_open", endpoint=f"{emu.url}#demo") == 1.0

        await eventually(breaker_open, what="the breaker opening")
        emu.come_up()

        async def breaker_closed() -> bool:
            text = (await world.client.get("/metrics")).text
            return _metric(text, "connector_breaker_open", endpoint=f"{emu.url}#demo") == 0.0

        await eventually(breaker_closed, what="the breaker closing after a probe")
    text = (await world.client.get("/metrics")).text
    assert (_metric(text, "connector_sync_lag_seconds_count") or 0) >= 1
    calls = _metric(
        text,
        "connector_odoo_call_seconds_count",
        method="pos.order.create_from_ui",
        outcome="ok",
    )
    assert calls is not None
    assert calls >= 1


async def test_each_odoo_call_is_logged_as_json_with_tenant_orders_call_and_duration(
    settings: ConnectorSettings, capfd: pytest.CaptureFixture[str]
) -> None:
    verbose = settings.model_copy(update={"log_json": True, "log_level": "INFO"})
    async with running_connector(verbose) as world, running_emulator(version=18) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        order = world.order(tenant)
        await world.place(tenant, order)
        await world.synced_odoo_id(order.order_id)
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    pushes = [
        line
        for line in lines
        if line.get("event") == "odoo_call" and line.get("odoo_call") == "pos.order.sync_from_ui"
    ]
    assert pushes
    assert pushes[0]["tenant_id"] == str(tenant.tenant_id)
    assert pushes[0]["order_ids"] == [str(order.order_id)]
    assert pushes[0]["duration_ms"] > 0
    bot_key = next(u for u in tenant.seed["users"] if u["login"] == "pos-bot")["api_key"]
    assert all(bot_key not in json.dumps(line) for line in lines), "the Odoo key was logged"
