"""Imports every module of some packages and names the ones that fail, with what they lacked.

Run by path with another environment's python (`python -I module_imports.py orders shared`), so
that environment's installed packages are what is judged: this file imports the standard
library only. It prints a JSON list of the modules that failed.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class UnimportableModule:
    module: str
    # The module that could not be found (a package the install lacks), when that is the cause.
    missing: str | None
    error: str


def unimportable_modules(packages: list[str]) -> list[UnimportableModule]:
    """Every module of these packages, subpackages included, that fails to import."""
    failed: list[UnimportableModule] = []
    for package in packages:
        if failure := _import_failure(package):
            failed.append(failure)
            continue
        root = importlib.import_module(package)
        # walk_packages yields a subpackage before importing it to look inside, so a failing one
        # is recorded below; ignoring the error keeps the walk going past it.
        for found in pkgutil.walk_packages(root.__path__, f"{package}.", onerror=_ignore):
            # A __main__ module runs its command line when imported.
            if found.name.rsplit(".", 1)[-1] == "__main__":
                continue
            if failure := _import_failure(found.name):
                failed.append(failure)
    return failed


def _import_failure(module: str) -> UnimportableModule | None:
    try:
        importlib.import_module(module)
    except Exception as error:
        missing = error.name if isinstance(error, ModuleNotFoundError) else None
        return UnimportableModule(module, missing, f"{type(error).__name__}: {error}")
    return None


def _ignore(name: str) -> None:
    pass


if __name__ == "__main__":
    print(json.dumps([asdict(failure) for failure in unimportable_modules(sys.argv[1:])]))
