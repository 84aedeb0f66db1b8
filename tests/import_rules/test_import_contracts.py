"""make lint's import contracts (the root pyproject's [tool.importlinter]) fail on a violation:
each is run by lint-imports against a small tree of packages named as ours, first clean, then
with one bad import added."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LINTER = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]
SERVICES = ["orders", "registers", "reporting", "odoo_connector"]


def _write_module(root: Path, module: str, imports: list[str]) -> None:
    """Writes `module` (a package's __init__ if it is a package already) with these imports."""
    *packages, leaf = module.split(".")
    directory = root
    for package in packages:
        directory /= package
        directory.mkdir(exist_ok=True)
        (directory / "__init__.py").touch()
    path = (
        directory / leaf / "__init__.py"
        if (directory / leaf).is_dir()
        else directory / f"{leaf}.py"
    )
    with path.open("a") as source:
        source.writelines(f"import {name}\n" for name in imports)
    # An import of one of our modules counts only if that module is there.
    for name in imports:
        if name.split(".")[0] in LINTER["root_packages"] and not _exists(root, name):
            _write_module(root, name, [])


def _exists(root: Path, module: str) -> bool:
    path = root.joinpath(*module.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Our packages in miniature: each service's domain a package and its handlers doing I/O,
    shared's I/O modules, and every import the contracts ignore, so the tree keeps them all."""
    _write_module(tmp_path, "shared.postgres", ["asyncpg"])
    _write_module(tmp_path, "shared.broker", ["aio_pika"])
    _write_module(tmp_path, "shared.money", [])
    for service in SERVICES:
        _write_module(tmp_path, f"{service}.domain.rules", ["shared.money"])
        _write_module(tmp_path, f"{service}.handlers", [f"{service}.domain", "shared.postgres"])
    for contract in LINTER["contracts"]:
        for line in contract.get("ignore_imports", []):
            importer, imported = (part.strip() for part in line.split("->"))
            _write_module(tmp_path, importer.replace("*", "rules"), [imported])
    return tmp_path


def _kept(tree: Path, contract: str | None = None) -> bool:
    """Whether lint-imports passes on the tree: one contract, or all of them."""
    only = ["--contract", contract] if contract else []
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(  # noqa: S603 - the locked lint-imports, our own config
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *only, str(CONFIG)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Analyzed " in done.stdout, done.stdout + done.stderr
    return done.returncode == 0


VIOLATIONS = [
    ("domain-without-io", "orders.domain.rules", "asyncpg"),
    ("domain-without-io", "registers.domain", "shared.postgres"),
    ("domain-without-io", "reporting.domain.rules", "shared.broker"),
    ("domain-without-io", "odoo_connector.domain.rules", "httpx"),
    # Through the service's own handlers, which use the database.
    ("domain-without-io", "orders.domain.rules", "orders.handlers"),
    ("services-independent", "orders.handlers", "registers.domain"),
    ("services-independent", "odoo_connector.handlers", "reporting"),
    ("shared-imports-no-service", "shared.money", "odoo_connector.domain"),
    ("production-without-test-kits", "orders.handlers", "test_support"),
    ("production-without-test-kits", "shared.broker", "pytest"),
]


def test_our_tree_in_miniature_keeps_every_contract(tree: Path) -> None:
    assert _kept(tree)


@pytest.mark.parametrize(("contract", "importer", "imported"), VIOLATIONS)
def test_one_bad_import_breaks_the_contract(
    tree: Path, contract: str, importer: str, imported: str
) -> None:
    _write_module(tree, importer, [imported])
    assert not _kept(tree, contract)


def test_every_contract_in_the_config_is_checked_here() -> None:
    assert {c["id"] for c in LINTER["contracts"]} == {contract for contract, *_ in VIOLATIONS}
