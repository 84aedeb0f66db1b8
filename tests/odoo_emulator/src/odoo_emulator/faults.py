"""Injected latency and failures for the Odoo routes (never for the control API)."""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = (
    "connection_reset",  # the TCP connection is reset, no HTTP answer
    "http_502",  # a proxy's Bad Gateway page
    "http_503",  # a proxy's Service Unavailable page
    "http_504",  # a proxy's Gateway Timeout page
    "timeout",  # the worker is killed: the connection closes with no answer after delay_ms
    "serialization_failure",  # psycopg2.errors.SerializationFailure after Odoo's own retries
    "odoo_error",  # any Odoo exception: error_name and error_message
)
# Failures that can happen after Odoo committed: the call's effects stay, the answer is lost.
TRANSPORT_KINDS = frozenset({"connection_reset", "http_502", "http_503", "http_504", "timeout"})


@dataclass
class FaultRule:
    """Fail the next `count` matching calls, or each matching call with probability `fraction`."""

    id: int
    kind: str
    count: int | None = None
    fraction: float | None = None
    service: str | None = None
    model: str | None = None
    method: str | None = None
    database: str | None = None
    delay_ms: float = 0.0
    after_commit: bool = False
    error_name: str = "odoo.exceptions.UserError"
    error_message: str = "Injected failure"
    error_arguments: list[Any] | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; choose one of {', '.join(FAULT_KINDS)}"
            )
        if (self.count is None) == (self.fraction is None):
            raise ValueError("give exactly one of count (next N calls) or fraction (0..1)")
        if self.fraction is not None and not 0.0 <= self.fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        if self.after_commit and self.kind not in TRANSPORT_KINDS:
            raise ValueError("after_commit only applies to transport failures")

    def matches(self, call: CallKey) -> bool:
        return all(
            wanted is None or wanted == actual
            for wanted, actual in (
                (self.service, call.service),
                (self.model, call.model),
                (self.method, call.method),
                (self.database, call.database),
            )
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CallKey:
    """What a fault rule can match on: `method` is the model method for object calls."""

    service: str | None
    model: str | None
    method: str | None
    database: str | None


@dataclass
class FaultPlan:
    latency_fixed_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rules: list[FaultRule] = field(default_factory=list)
    seed: int | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _random: random.Random = field(default_factory=random.Random)

    def set_latency(self, fixed_ms: float, jitter_ms: float = 0.0) -> None:
        if fixed_ms < 0 or jitter_ms < 0:
            raise ValueError("latency must not be negative")
        self.latency_fixed_ms, self.latency_jitter_ms = fixed_ms, jitter_ms

    def latency_seconds(self) -> float:
        jitter = self._random.uniform(0, self.latency_jitter_ms) if self.latency_jitter_ms else 0.0
        return (self.latency_fixed_ms + jitter) / 1000.0

    def add(self, spec: dict[str, Any]) -> FaultRule:
        if "seed" in spec:
            self._random.seed(spec.pop("seed"))
        spec = {k: v for k, v in spec.items() if k not in ("id", "fired")}
        rule = FaultRule(id=next(self._ids), **spec)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()
        self.latency_fixed_ms = self.latency_jitter_ms = 0.0

    def pick(self, call: CallKey) -> FaultRule | None:
        """The first rule that fires for this call; a counted rule is used up as it fires."""
        for rule in self.rules:
            if not rule.matches(call):
                continue
            if rule.count is not None:
                if rule.count <= 0:
                    continue
                rule.count -= 1
            elif self._random.random() >= (rule.fraction or 0.0):
                continue
            rule.fired += 1
            self.rules = [r for r in self.rules if r.count is None or r.count > 0]
            return rule
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency": {"fixed_ms": self.latency_fixed_ms, "jitter_ms": self.latency_jitter_ms},
            "rules": [rule.as_dict() for rule in self.rules],
        }
