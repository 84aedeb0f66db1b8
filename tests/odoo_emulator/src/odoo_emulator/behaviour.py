"""Which Odoo the emulator pretends to be: the major version and the variants inside it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

SUPPORTED_VERSIONS = (16, 17, 18)

Variant = Literal["early", "late"]


@dataclass
class Behaviour:
    """Version switches; the variants are where odoo-api.md found a change inside a branch."""

    version: int = 17
    # 16.0 changed its create_from_ui de-duplication inside the branch (odoo-api.md 2.3).
    odoo16_dedup: Variant = "late"
    # Late 18.0 returns the id of an already-paid re-sent order; early 18.0 omits it (2.3).
    odoo18_variant: Variant = "late"
    # Refusing to unlink a partner with POS orders is only confirmed in 19 (6.1).
    partner_unlink_guard: bool = True
    # The JSON-2 API is an Odoo 19 feature (1.6); off unless asked for.
    json2: bool = False

    def __post_init__(self) -> None:
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported Odoo version {self.version}; choose 16, 17 or 18")
        if self.odoo16_dedup not in ("early", "late") or self.odoo18_variant not in (
            "early",
            "late",
        ):
            raise ValueError("variants are 'early' or 'late'")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> Behaviour:
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise ValueError(f"unknown behaviour settings: {sorted(unknown)}")
        return Behaviour(**{**asdict(self), **changes})

    @property
    def server_version(self) -> str:
        return f"{self.version}.0"
