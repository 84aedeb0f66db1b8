"""Settings read from the environment the way an operator writes them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from shared.settings import IntList, ServiceSettings


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHAREDTEST_", extra="ignore", frozen=True)

    delays_ms: IntList = (1, 2)


@pytest.mark.parametrize(
    "written", ["200,400,800", " 200, 400 ,800 ", "[200, 400, 800]", "[200,400,800]"]
)
def test_a_list_of_integers_may_be_written_with_commas_or_as_json(
    monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    monkeypatch.setenv("SHAREDTEST_DELAYS_MS", written)
    assert _Settings().delays_ms == (200, 400, 800)


def test_a_list_of_integers_keeps_its_default_and_refuses_what_is_not_a_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _Settings().delays_ms == (1, 2)
    monkeypatch.setenv("SHAREDTEST_DELAYS_MS", "200,soon")
    with pytest.raises(ValidationError, match="delays_ms"):
        _Settings()
