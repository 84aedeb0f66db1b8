"""The connector's retry schedules as an operator writes them in the environment."""

from __future__ import annotations

import pytest

from odoo_connector.settings import ConnectorSettings


def test_retry_delays_may_be_a_comma_separated_list_or_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_RETRY_DELAYS_MS", "200,400,800")
    monkeypatch.setenv("CONNECTOR_REGISTER_RETRY_DELAYS_MS", "[1000, 5000]")
    settings = ConnectorSettings()
    assert settings.retry_schedule.delays_ms == (200, 400, 800)
    assert settings.register_retry_schedule.delays_ms == (1000, 5000)
