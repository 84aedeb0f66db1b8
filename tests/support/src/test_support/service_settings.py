"""The settings every service takes in tests: this run's servers, the test's own schema and
broker names, dev keys, quiet logs and short polls."""

from __future__ import annotations

from typing import Any


def settings_for_test(
    service: str, *, database_url: str, amqp_url: str, broker_namespace: str
) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "broker_namespace": broker_namespace,
        "schema_name": f"{service}_{broker_namespace}",
        "dev_mode": True,
        "log_json": False,
        "log_level": "WARNING",
        "outbox_poll_interval_s": 0.2,
        "consumer_redeliveries": 2,
    }
