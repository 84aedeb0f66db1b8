"""The services side by side on one exchange, each on its own schema, as `make run` has them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from orders.settings import OrdersSettings
from orders.testing import OrdersWorld, running_orders
from registers.settings import RegistersSettings
from registers.testing import RegistersWorld, running_registers
from reporting.bootstrap import topology as reporting_topology
from reporting.settings import ReportingSettings
from reporting.testing import ReportingWorld, running_reporting
from shared.broker import delete_topology
from shared.testing.service_settings import settings_for_test


@dataclass
class System:
    registers: RegistersWorld
    orders: OrdersWorld
    reporting: ReportingWorld


@pytest.fixture
async def system(database_url: str, amqp_url: str, broker_namespace: str) -> AsyncIterator[System]:
    def common(service: str) -> dict[str, Any]:
        return settings_for_test(
            service,
            database_url=database_url,
            amqp_url=amqp_url,
            broker_namespace=broker_namespace,
        )

    reporting_settings = ReportingSettings(**common("reporting"))
    try:
        async with (
            running_orders(OrdersSettings(**common("orders"))) as orders,
            running_reporting(reporting_settings) as reporting,
            running_registers(RegistersSettings(**common("registers"))) as registers,
        ):
            yield System(registers, orders, reporting)
    finally:
        await delete_topology(amqp_url, reporting_topology(reporting_settings))
