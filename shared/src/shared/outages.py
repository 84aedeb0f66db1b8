"""A dependency's outage as one component sees it: logged when it begins and when it ends.

Reconnect loops try again every few seconds; logging each attempt buries the one fact an
operator needs (what went away, when, for how long) under thousands of identical lines.
"""

from __future__ import annotations

import time

import structlog
from prometheus_client import Gauge

log = structlog.get_logger(__name__)

DEPENDENCY_UNAVAILABLE = Gauge(
    "dependency_unavailable",
    "1 while a component of this process cannot reach a dependency",
    ["dependency", "component"],
    # A service's workers each report theirs; 1 while any live one is cut off.
    multiprocess_mode="livemax",
)


class Outage:
    """Tracks whether `dependency` is reachable from `component`; repeated reports are quiet."""

    def __init__(self, dependency: str, component: str) -> None:
        self.dependency = dependency
        self.component = component
        self._since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def began(self, cause: BaseException | str) -> None:
        """Reports a failed attempt; only the first of an outage is logged."""
        if self._since is not None:
            return
        self._since = time.monotonic()
        DEPENDENCY_UNAVAILABLE.labels(self.dependency, self.component).set(1)
        log.warning(
            "outage_began",
            dependency=self.dependency,
            component=self.component,
            error=cause if isinstance(cause, str) else repr(cause),
        )

    def ended(self) -> None:
        """Reports a success; logs the outage's end and duration if one was going on."""
        if self._since is None:
            return
        duration_s = time.monotonic() - self._since
        self._since = None
        DEPENDENCY_UNAVAILABLE.labels(self.dependency, self.component).set(0)
        log.info(
            "outage_ended",
            dependency=self.dependency,
            component=self.component,
            duration_s=round(duration_s, 2),
        )
