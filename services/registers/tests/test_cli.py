"""The operator's commands say what to set, in the variables this service reads."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from registers.cli import cli


def test_platform_admin_token_without_a_key_names_the_registers_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("REGISTERS_JWT_PRIVATE_KEY", "REGISTERS_DEV_MODE"):
        monkeypatch.delenv(name, raising=False)
    # Nothing listens here: the command must stop at the missing key, before any database.
    monkeypatch.setenv("REGISTERS_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")

    result = CliRunner().invoke(cli, ["platform-admin-token", "--subject", "ops@example.com"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "set REGISTERS_JWT_PRIVATE_KEY, or REGISTERS_DEV_MODE=true" in result.stderr
    assert " DEV_MODE=true" not in result.stderr
    assert "Traceback" not in result.stderr
