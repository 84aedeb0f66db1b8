"""JSON-RPC to Odoo 16/17/18 (`POST /jsonrpc`, services `common` and `object`/`execute_kw`).

Three kinds of outcome matter to callers: a result; an `OdooError` (Odoo answered with an error
object: its `name` says what kind, see odoo-api.md 1.4); an `OdooUnavailable` (no usable answer:
refused, reset, timed out, a proxy's 5xx page). Secrets are never logged.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from prometheus_client import Histogram

from odoo_connector.odoo_errors import OdooError as OdooError
from odoo_connector.odoo_errors import OdooProtocolError as OdooProtocolError
from odoo_connector.odoo_errors import OdooUnavailable as OdooUnavailable
from odoo_connector.odoo_errors import UnsupportedOdooVersion as UnsupportedOdooVersion

log = structlog.get_logger(__name__)

ODOO_CALL_SECONDS = Histogram(
    "connector_odoo_call_seconds",
    "Latency of Odoo JSON-RPC calls",
    ["method", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

SUPPORTED_VERSIONS = (16, 17, 18)


@dataclass(frozen=True)
class OdooEndpoint:
    """Where and as whom to call one tenant's Odoo."""

    url: str
    database: str
    login: str
    secret: str

    @property
    def jsonrpc_url(self) -> str:
        return f"{self.url.rstrip('/')}/jsonrpc"

    def __repr__(self) -> str:  # the secret must never reach a log line through a repr
        return f"OdooEndpoint(url={self.url!r}, database={self.database!r}, login={self.login!r})"


def version_from(answer: Any) -> int:
    """16, 17 or 18 from `common.version`'s answer ("17.0", "17.0+e", [17, 0, ...])."""
    info = answer.get("server_version_info") if isinstance(answer, dict) else None
    major: Any = info[0] if isinstance(info, list) and info else None
    if not isinstance(major, int):
        text = str(answer.get("server_version", "")) if isinstance(answer, dict) else ""
        head = text.split(".", 1)[0].split("+", 1)[0]
        major = int(head) if head.isdigit() else None
    if major not in SUPPORTED_VERSIONS:
        raise UnsupportedOdooVersion(
            f"Odoo version {major or 'unknown'} is not supported (16, 17 and 18 are)"
        )
    return int(major)


class OdooClient:
    """One pooled HTTP client for every tenant's Odoo."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self._ids = itertools.count(1)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def version(self, url: str) -> int:
        answer = await self._call(f"{url.rstrip('/')}/jsonrpc", "common", "version", [])
        return version_from(answer)

    async def probe(self, endpoint: OdooEndpoint) -> None:
        """Returns once the database answers an authenticated `object` call, as the work makes
        (an error answer, a refused login included, still means it is back); raises
        OdooUnavailable while it does not."""
        try:
            uid = await self.authenticate(endpoint)
            if uid is not None:
                await self.execute_kw(
                    endpoint, uid, "res.users", "search", [[["id", "=", uid]]], {"limit": 1}
                )
        except (OdooError, OdooProtocolError):
            return

    async def authenticate(self, endpoint: OdooEndpoint) -> int | None:
        """The uid, or None when Odoo refuses the login (it answers `false`, not an error)."""
        uid = await self._call(
            endpoint.jsonrpc_url,
            "common",
            "authenticate",
            [endpoint.database, endpoint.login, endpoint.secret, {}],
        )
        return uid if isinstance(uid, int) and not isinstance(uid, bool) and uid > 0 else None

    async def execute_kw(
        self,
        endpoint: OdooEndpoint,
        uid: int,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        return await self._call(
            endpoint.jsonrpc_url,
            "object",
            "execute_kw",
            [endpoint.database, uid, endpoint.secret, model, method, args, kwargs or {}],
            label=f"{model}.{method}",
        )

    async def _call(
        self, url: str, service: str, method: str, args: list[Any], label: str | None = None
    ) -> Any:
        label = label or f"{service}.{method}"
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": next(self._ids),
            "params": {"service": service, "method": method, "args": args},
        }
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._post(url, body)
        except OdooError:
            outcome = "odoo_error"
            raise
        except OdooUnavailable:
            outcome = "unavailable"
            raise
        except OdooProtocolError:
            outcome = "protocol_error"
            raise
        finally:
            elapsed = time.perf_counter() - started
            ODOO_CALL_SECONDS.labels(label, outcome).observe(elapsed)
            log.info(
                "odoo_call",
                odoo_url=url,
                odoo_call=label,
                outcome=outcome,
                duration_ms=round(elapsed * 1000, 2),
            )

    async def _post(self, url: str, body: dict[str, Any]) -> Any:
        try:
            response = await self._http.post(url, json=body)
        except httpx.TimeoutException as error:
            raise OdooUnavailable(f"Odoo did not answer in time ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise OdooUnavailable(
                f"Odoo is unreachable ({type(error).__name__}: {error})"
            ) from None
        if response.status_code >= 500:
            raise OdooUnavailable(f"Odoo (or its proxy) answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise OdooProtocolError(
                f"Odoo answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            payload = response.json()
        except ValueError:
            raise OdooUnavailable("Odoo answered with a body that is not JSON") from None
        if not isinstance(payload, dict):
            raise OdooProtocolError("Odoo answered with something that is not JSON-RPC")
        failure = payload.get("error")
        if failure is not None:
            data = failure.get("data") or {}
            raise OdooError(
                str(data.get("name") or failure.get("message") or "unknown"),
                str(data.get("message") or failure.get("message") or ""),
            )
        # A method returning None drops the key (odoo-api.md 1.1).
        return payload.get("result")
