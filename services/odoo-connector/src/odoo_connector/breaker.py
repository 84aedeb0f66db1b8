"""A circuit breaker per Odoo endpoint: after repeated outages, stop calling it and probe instead.

While a breaker is open its tenant's messages wait (budget intact) instead of failing; a probe
runs with exponential backoff and closes the breaker when Odoo answers, so the backlog drains by
itself. The probe does what the work does (an authenticated `object` call on the tenant's
database): an Odoo whose `common` service answers while its database is down is still down.
A breaker is per Odoo database (URL and database) and per process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import Gauge

from odoo_connector.odoo_client import OdooEndpoint

log = structlog.get_logger(__name__)

BREAKER_OPEN = Gauge(
    "connector_breaker_open", "1 while the circuit to an Odoo endpoint is open", ["endpoint"]
)

Probe = Callable[[OdooEndpoint], Awaitable[object]]


def breaker_key(endpoint: OdooEndpoint) -> str:
    return f"{endpoint.url}#{endpoint.database}"


class EndpointBreaker:
    def __init__(self, endpoint: OdooEndpoint, threshold: int) -> None:
        self.endpoint = endpoint
        self.key = breaker_key(endpoint)
        self.threshold = threshold
        self.consecutive_failures = 0
        self.open = False
        # Set while closed: the work held through an outage goes on the moment a probe succeeds.
        self.closed = asyncio.Event()
        self.closed.set()


class CircuitBreakers:
    """All endpoints' breakers and their probes."""

    def __init__(
        self, probe: Probe, threshold: int, probe_initial_s: float, probe_max_s: float
    ) -> None:
        self._probe = probe
        self._threshold = threshold
        self._probe_initial_s = probe_initial_s
        self._probe_max_s = probe_max_s
        self._breakers: dict[str, EndpointBreaker] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}

    def _breaker(self, endpoint: OdooEndpoint) -> EndpointBreaker:
        key = breaker_key(endpoint)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = EndpointBreaker(endpoint, self._threshold)
            BREAKER_OPEN.labels(key).set(0)
        elif breaker.endpoint != endpoint:
            # New credentials for the same database: the probe logs in with the latest.
            breaker.endpoint = endpoint
        return breaker

    def is_open(self, endpoint: OdooEndpoint) -> bool:
        return self._breaker(endpoint).open

    def record_success(self, endpoint: OdooEndpoint) -> None:
        breaker = self._breaker(endpoint)
        breaker.consecutive_failures = 0

    def record_outage(self, endpoint: OdooEndpoint) -> bool:
        """Counts an unanswered call; True when the breaker is (now) open."""
        breaker = self._breaker(endpoint)
        breaker.consecutive_failures += 1
        if not breaker.open and breaker.consecutive_failures >= breaker.threshold:
            breaker.open = True
            breaker.closed.clear()
            BREAKER_OPEN.labels(breaker.key).set(1)
            log.warning("odoo_breaker_opened", endpoint=breaker.key)
            self._probes[breaker.key] = asyncio.create_task(
                self._probe_until_back(breaker), name=f"probe {breaker.key}"
            )
        return breaker.open

    async def wait_until_back(self, endpoint: OdooEndpoint, timeout_s: float) -> None:
        """Returns once the endpoint's breaker is closed again, or after `timeout_s`. Below the
        threshold (an outage not yet sure) it pauses as long as the first probe would."""
        breaker = self._breaker(endpoint)
        if not breaker.open:
            await asyncio.sleep(min(timeout_s, self._probe_initial_s))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(breaker.closed.wait(), timeout_s)

    async def _probe_until_back(self, breaker: EndpointBreaker) -> None:
        delay = self._probe_initial_s
        while True:
            await asyncio.sleep(delay)
            try:
                await self._probe(breaker.endpoint)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.info("odoo_probe_failed", endpoint=breaker.key, error=str(error)[:200])
                delay = min(delay * 2, self._probe_max_s)
                continue
            breaker.open = False
            breaker.closed.set()
            breaker.consecutive_failures = 0
            BREAKER_OPEN.labels(breaker.key).set(0)
            log.warning("odoo_breaker_closed", endpoint=breaker.key)
            self._probes.pop(breaker.key, None)
            return

    async def close(self) -> None:
        probes = list(self._probes.values())
        for task in probes:
            task.cancel()
        for task in probes:
            with contextlib.suppress(asyncio.CancelledError):
                await task
