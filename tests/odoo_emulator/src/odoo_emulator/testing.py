"""Running an emulator from tests and benchmarks, and a typed client for its control API.

async with running_emulator(version=17) as emu:
    emu.url             # http://127.0.0.1:<port>, the Odoo server (JSON-RPC at emu.jsonrpc_url)
    await emu.control.records("demo", "pos.order")
    emu.go_down(); emu.come_up()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from odoo_emulator.app import create_app
from odoo_emulator.emulator import Emulator
from odoo_emulator.server import EmulatorServer, ServerThread


class EmulatorControl:
    """The control API (/_emulator/...) over HTTP; works against an emulator in any process."""

    def __init__(self, control_url: str, client: httpx.AsyncClient | None = None) -> None:
        self.control_url = control_url.rstrip("/")
        # Plain HTTP only: skipping the TLS context makes a client cheap to build per test.
        self._client = client or httpx.AsyncClient(
            base_url=self.control_url,
            timeout=10.0,
            verify=False,  # noqa: S501
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any
    ) -> Any:
        response = await self._client.request(
            method,
            f"/_emulator{path}",
            json=body,
            params={k: v for k, v in params.items() if v is not None},
        )
        if response.status_code >= 400:
            raise RuntimeError(
                f"control API {method} {path}: {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    # state
    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/health")
        return result

    async def reset(self) -> None:
        """Back to the seeded databases, with no faults and an empty call log."""
        await self._call("POST", "/reset")

    async def behaviour(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/behaviour")
        return result

    async def set_behaviour(self, **changes: Any) -> dict[str, Any]:
        """E.g. odoo16_dedup='early', odoo18_variant='early', partner_unlink_guard=False."""
        result: dict[str, Any] = await self._call("PUT", "/behaviour", changes)
        return result

    async def create_database(self, name: str, seed: bool = True) -> dict[str, Any]:
        """A new database (a new tenant); returns the seeded ids, logins and API keys."""
        result: dict[str, Any] = await self._call(
            "POST", "/databases", {"name": name, "seed": seed}
        )
        return result

    async def drop_database(self, name: str) -> None:
        await self._call("DELETE", f"/databases/{name}")

    async def seed(self, database: str = "demo") -> dict[str, Any]:
        """The seeded ids, logins and API keys of a database."""
        result: dict[str, Any] = await self._call("GET", f"/databases/{database}")
        return result

    async def add_user(
        self,
        database: str,
        login: str,
        password: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
    ) -> int:
        body = {"login": login, "password": password, "api_key": api_key, "name": name}
        result = await self._call("POST", f"/databases/{database}/users", body)
        uid: int = result["uid"]
        return uid

    async def records(
        self,
        database: str,
        model: str,
        domain: list[Any] | None = None,
        fields: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every matching record (archived too), relations as bare ids, ordered by id."""
        import json

        result: list[dict[str, Any]] = await self._call(
            "GET",
            f"/databases/{database}/records/{model}",
            domain=json.dumps(domain) if domain else None,
            fields=",".join(fields) if fields else None,
        )
        return result

    async def session_books(self, database: str, session_id: int) -> dict[str, Any]:
        """What a pos.session booked at its close (before it closes: what its close would book).

        Keys: state, move_id, projected, cash_register_balance_start, cash_register_balance_end,
        cash_register_balance_end_real, cash_register_difference, taxes [{tax_id, name, amount,
        price_include, base, tax}], sales [{account_id, tax_ids, amount}], payments
        [{payment_method_id, amount}], cash_statement_lines [{payment_ref, amount,
        counterpart_account_id}], balanced. Amounts are floats in currency units, sales positive.
        """
        result: dict[str, Any] = await self._call(
            "GET", f"/databases/{database}/sessions/{session_id}/books"
        )
        return result

    async def calls(
        self, since: int = 0, model: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """The call log; `method` filters on the model method for object calls."""
        entries: list[dict[str, Any]] = await self._call("GET", "/calls", since=since)
        return [
            e
            for e in entries
            if (model is None or e.get("model") == model)
            and (method is None or method in (e.get("model_method"), e.get("method")))
        ]

    async def clear_calls(self) -> None:
        await self._call("DELETE", "/calls")

    async def set_call_log_size(self, max_entries: int) -> None:
        await self._call("PUT", "/calls", {"max_entries": max_entries})

    # faults
    async def set_latency(self, fixed_ms: float, jitter_ms: float = 0.0) -> None:
        await self._call("PUT", "/latency", {"fixed_ms": fixed_ms, "jitter_ms": jitter_ms})

    async def clear_latency(self) -> None:
        await self._call("DELETE", "/latency")

    async def fail(
        self,
        kind: str,
        *,
        count: int | None = None,
        fraction: float | None = None,
        model: str | None = None,
        method: str | None = None,
        service: str | None = None,
        database: str | None = None,
        delay_ms: float = 0.0,
        after_commit: bool = False,
        error_name: str | None = None,
        error_message: str | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Fail the next `count` (or a `fraction` of) matching calls with `kind`.

        Kinds: connection_reset, http_502, http_503, http_504, timeout (connection closed with
        no answer after delay_ms), serialization_failure, odoo_error (error_name, error_message).
        after_commit=True runs the call first, so its effects stay and only the answer is lost.
        """
        body: dict[str, Any] = {
            "kind": kind,
            "count": count,
            "fraction": fraction,
            "model": model,
            "method": method,
            "service": service,
            "database": database,
            "delay_ms": delay_ms,
            "after_commit": after_commit,
        }
        if error_name is not None:
            body["error_name"] = error_name
        if error_message is not None:
            body["error_message"] = error_message
        if seed is not None:
            body["seed"] = seed
        result: dict[str, Any] = await self._call("POST", "/faults", body)
        return result

    async def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/faults")
        return result

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def go_down(self, for_seconds: float | None = None) -> None:
        """Stop accepting connections on the Odoo port (for `for_seconds`, or until come_up)."""
        await self._call("POST", "/down", {"for_seconds": for_seconds})

    async def come_up(self) -> None:
        await self._call("POST", "/up")


@dataclass
class RunningEmulator:
    """An emulator serving on 127.0.0.1 in a background thread of this process."""

    version: int
    url: str
    port: int
    control_url: str
    control: EmulatorControl
    emulator: Emulator
    _thread: ServerThread

    @property
    def jsonrpc_url(self) -> str:
        return f"{self.url}/jsonrpc"

    def go_down(self, for_seconds: float | None = None) -> None:
        """Close the Odoo port now (from any thread); connections are refused until come_up."""
        self._thread.run_on_loop(self._thread.server.go_down(for_seconds))

    def come_up(self) -> None:
        self._thread.run_on_loop(self._thread.server.come_up())


@contextmanager
def emulator_in_thread(
    version: int = 17,
    databases: tuple[str, ...] = ("demo",),
    port: int = 0,
    host: str = "127.0.0.1",
    call_log_size: int = 10_000,
    **behaviour: Any,
) -> Iterator[RunningEmulator]:
    """Start an emulator on a free port (or `port`) in a thread; for sync code and benchmarks."""
    app = create_app(version, databases, call_log_size, **behaviour)
    server = EmulatorServer(app, host=host, port=port, control_port=0)
    thread = ServerThread(server)
    thread.start()
    control_url = f"http://{host}:{server.control_port}"
    control = EmulatorControl(control_url)
    try:
        yield RunningEmulator(
            version=version,
            url=f"http://{host}:{server.port}",
            port=server.port,
            control_url=control_url,
            control=control,
            emulator=app.emulator,
            _thread=thread,
        )
    finally:
        thread.stop()


@asynccontextmanager
async def running_emulator(
    version: int = 17,
    databases: tuple[str, ...] = ("demo",),
    port: int = 0,
    call_log_size: int = 10_000,
    **behaviour: Any,
) -> AsyncIterator[RunningEmulator]:
    """`async with running_emulator(version=18) as emu:` for pytest-asyncio tests."""
    with emulator_in_thread(
        version, databases, port, call_log_size=call_log_size, **behaviour
    ) as emu:
        try:
            yield emu
        finally:
            await emu.control.aclose()
