"""A production install of one service imports every module of it and of shared: the service's
locked dependencies without the dev group, our packages as wheels, as the Dockerfile installs
them, so a module that needs a dev-only package (pytest, asgi-lifespan, ...) fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

from test_support import module_imports
from test_support.module_imports import UnimportableModule, unimportable_modules

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"


def _services() -> list[tuple[str, str]]:
    """(distribution, import package) of every service."""
    services = []
    for pyproject in sorted(ROOT.glob("services/*/pyproject.toml")):
        config = tomllib.loads(pyproject.read_text())
        [package_dir] = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        services.append((config["project"]["name"], Path(package_dir).name))
    return services


@pytest.mark.slow
@pytest.mark.parametrize(("distribution", "package"), _services())
def test_a_production_install_of_the_service_imports_every_module(
    distribution: str, package: str, tmp_path: Path
) -> None:
    environment = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env |= {"UV_PROJECT_ENVIRONMENT": str(environment), "UV_PYTHON_DOWNLOADS": "never"}
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    sync = [str(UV), "sync", "--frozen", "--no-dev", "--no-editable", "--package", distribution]
    # The wheels of our packages come from uv's cache unless a source changed (their cache-keys).
    _run([*sync, "--python", python], ROOT, env)
    # Isolated (-I) and outside the repository, so only what the install put in site-packages
    # can be imported.
    python_of_install = str(environment / "bin" / "python")
    imported = _run(
        [python_of_install, "-I", module_imports.__file__, package, "shared"], tmp_path, env
    )
    failures = [UnimportableModule(**failure) for failure in json.loads(imported)]
    assert failures == [], "\n".join(
        f"{f.module} fails in a production install of {distribution}: "
        + (f"it needs {f.missing}, not among the service's dependencies" if f.missing else f.error)
        for f in failures
    )


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - the repository's uv, an install made by the test
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


@pytest.fixture
def package_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A fresh package on sys.path, with one module that imports fine."""
    name = f"install_check_{uuid.uuid4().hex[:8]}"
    (tmp_path / name / "sub").mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "fine.py").write_text("import json\n")
    (tmp_path / name / "sub" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name, tmp_path / name


def test_a_module_needing_a_package_the_install_lacks_is_named_with_that_package(
    package_on_path: tuple[str, Path],
) -> None:
    name, directory = package_on_path
    (directory / "sub" / "kit.py").write_text("import a_dev_only_package\n")
    [failure] = unimportable_modules([name])
    assert (failure.module, failure.missing) == (f"{name}.sub.kit", "a_dev_only_package")


def test_a_subpackage_that_fails_is_named_and_the_walk_goes_on(
    package_on_path: tuple[str, Path],
) -> None:
    name, directory = package_on_path
    (directory / "sub" / "__init__.py").write_text("raise RuntimeError('built at import')\n")
    (directory / "zlast.py").write_text("import another_missing_package\n")
    failures = unimportable_modules([name])
    assert [(f.module, f.missing) for f in failures] == [
        (f"{name}.sub", None),
        (f"{name}.zlast", "another_missing_package"),
    ]
    assert "RuntimeError: built at import" in failures[0].error


def test_a_main_module_is_not_run(package_on_path: tuple[str, Path]) -> None:
    name, directory = package_on_path
    (directory / "__main__.py").write_text("raise SystemExit('the command line ran')\n")
    assert unimportable_modules([name]) == []
