"""The ASGI application: Odoo's /jsonrpc and JSON-2 routes, and the emulator's control API."""

from __future__ import annotations

import asyncio
import html
import json
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from odoo_emulator.behaviour import Behaviour
from odoo_emulator.control_api import build_control_routes
from odoo_emulator.emulator import Emulator
from odoo_emulator.errors import OdooError, from_python_exception
from odoo_emulator.faults import CallKey, FaultRule

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_TYPES = ("application/json", "application/json-rpc")
_PROXY_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


class NetworkControl(Protocol):
    """What the server running the app offers for taking the Odoo port down and up."""

    async def go_down(self, for_seconds: float | None = None) -> None: ...

    async def come_up(self) -> None: ...

    @property
    def is_down(self) -> bool: ...


def werkzeug_error_page(status: int, title: str, description: str) -> bytes:
    """The HTML body werkzeug renders for an HTTPException (Odoo's 400/404/415 answers)."""
    # markupsafe's escaping, which werkzeug uses: quotes become &#34; and &#39;.
    escaped = (
        html.escape(description, quote=True)
        .replace("&quot;", "&#34;")
        .replace("&#x27;", "&#39;")
        .replace("\n", "<br>")
    )
    return (
        "<!doctype html>\n<html lang=en>\n"
        f"<title>{status} {title}</title>\n<h1>{title}</h1>\n<p>{escaped}</p>\n"
    ).encode()


def _nginx_page(status: int) -> bytes:
    title = _PROXY_PAGES[status]
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _transport_of(send: Send) -> asyncio.Transport | None:
    """uvicorn's send is a bound method of the request cycle, which holds the connection."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


def _reset_connection(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout makes close() send a RST instead of a FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class EmulatorApp:
    """An ASGI app serving one Emulator; `network` is set by the server that can go down."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.network: NetworkControl | None = None
        self._control = build_control_routes(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith("/_emulator"):
            await self._control(scope, receive, send)
        elif path == "/jsonrpc":
            await self._jsonrpc(scope, receive, send)
        elif path.startswith("/json/2/") and self.emulator.behaviour.json2:
            await self._json2(scope, receive, send)
        elif path == "/web/webclient/version_info":
            await _read_body(receive)
            outcome = self.emulator.call("common", "version", [])
            await self._send_jsonrpc(send, None, outcome.result, outcome.error)
        else:
            await _read_body(receive)
            body = werkzeug_error_page(
                404,
                "Not Found",
                "The requested URL was not found on the server. If you entered the URL manually "
                "please check your spelling and try again.",
            )
            await _respond(send, 404, body, "text/html; charset=utf-8")

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------ /jsonrpc

    async def _jsonrpc(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        headers = dict(scope["headers"])
        content_type = (
            headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        )
        if content_type not in _JSON_TYPES:
            await self._wrong_content_type(send)
            return
        try:
            request = json.loads(raw)
        except ValueError:
            await _respond(send, 400, b"Invalid JSON data", "text/html; charset=utf-8")
            return
        if not isinstance(request, dict):
            await _respond(send, 400, b"Invalid JSON-RPC data", "text/html; charset=utf-8")
            return
        request_id = request.get("id")
        params = request.get("params") or {}
        if not isinstance(params, dict):
            params = {}
        missing = [name for name in ("service", "method", "args") if name not in params]
        if missing:
            names = " and ".join(repr(m) for m in missing)
            plural = "s" if len(missing) > 1 else ""
            error = from_python_exception(
                TypeError(
                    f"RPC.jsonrpc() missing {len(missing)} required positional "
                    f"argument{plural}: {names}"
                )
            )
            await self._send_jsonrpc(send, request_id, None, error)
            return
        service, method, args = params["service"], params["method"], params["args"]
        key = _call_key(service, method, args)
        await self._inject_latency()
        rule = self.emulator.faults.pick(key)
        if rule is not None and not rule.after_commit:
            self.emulator.log_fault(service, method, args, rule.kind)
            await self._fail(send, request_id, rule)
            return
        outcome = self.emulator.call(service, method, args)
        if rule is not None:
            outcome.entry["fault"] = rule.kind
            await self._fail(send, request_id, rule)
            return
        await self._send_jsonrpc(send, request_id, outcome.result, outcome.error)

    async def _wrong_content_type(self, send: Send) -> None:
        sentence = (
            "Request inferred type is compatible with ['http'] but '/jsonrpc' is type='json'."
        )
        if self.emulator.behaviour.version >= 18:
            description = (
                f"{sentence}\n\nPlease verify the Content-Type request header and try again."
            )
            body = werkzeug_error_page(415, "Unsupported Media Type", description)
            accept = [(b"accept", b"application/json, application/json-rpc")]
            await _respond(send, 415, body, "text/html; charset=utf-8", accept)
            return
        await _respond(
            send, 400, werkzeug_error_page(400, "Bad Request", sentence), "text/html; charset=utf-8"
        )

    async def _send_jsonrpc(
        self, send: Send, request_id: Any, result: Any, error: OdooError | None
    ) -> None:
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        if error is not None:
            answer["error"] = {"code": 200, "message": "Odoo Server Error", "data": error.as_data()}
        elif result is not None:
            # Odoo 16/17 leave `result` out when the method returned None (odoo-api.md 1.1).
            answer["result"] = result
        await _respond(send, 200, json.dumps(answer).encode(), "application/json")

    async def _inject_latency(self) -> None:
        delay = self.emulator.faults.latency_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _fail(self, send: Send, request_id: Any, rule: FaultRule) -> None:
        if rule.delay_ms and rule.kind != "timeout":
            await asyncio.sleep(rule.delay_ms / 1000.0)
        kind = rule.kind
        if kind in ("connection_reset", "timeout"):
            transport = _transport_of(send)
            if kind == "timeout":
                await asyncio.sleep(rule.delay_ms / 1000.0)
            if transport is None:
                raise ConnectionAbortedError("injected failure: no transport to drop")
            if kind == "connection_reset":
                _reset_connection(transport)
            else:
                transport.close()
            return
        if kind.startswith("http_"):
            status = int(kind.removeprefix("http_"))
            await _respond(send, status, _nginx_page(status), "text/html")
            return
        if kind == "serialization_failure":
            error = OdooError(
                "psycopg2.errors.SerializationFailure",
                "could not serialize access due to concurrent update\n",
            )
        else:
            error = OdooError(rule.error_name, rule.error_message, rule.error_arguments)
        await self._send_jsonrpc(send, request_id, None, error)

    # ------------------------------------------------------------------ JSON-2 (Odoo 19 style)

    async def _json2(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        _prefix, _json, _two, model, method = ([*scope["path"].split("/", 4), "", ""])[:5]
        api_key = headers.get("authorization", "")
        api_key = api_key[7:] if api_key.lower().startswith("bearer ") else ""
        database = headers.get("x-odoo-database") or next(iter(sorted(self.emulator.databases)), "")
        db = self.emulator.databases.get(database)
        uid = db.credentials.api_keys.get(api_key) if db is not None else None
        if uid is None:
            error = OdooError(
                "werkzeug.exceptions.Unauthorized", "Invalid apikey", ["Invalid apikey", 401]
            )
            await _respond(send, 401, json.dumps(error.as_data()).encode(), "application/json")
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            error = from_python_exception(exc)
            await _respond(send, 400, json.dumps(error.as_data()).encode(), "application/json")
            return
        await self._inject_latency()
        outcome = self.emulator.call(
            "object", "execute_kw", [database, uid, api_key, model, method, *_json2_arguments(body)]
        )
        if outcome.error is not None:
            status = outcome.error.http_status
            await _respond(
                send, status, json.dumps(outcome.error.as_data()).encode(), "application/json"
            )
            return
        await _respond(send, 200, json.dumps(outcome.result).encode(), "application/json")


def _json2_arguments(body: dict[str, Any]) -> list[Any]:
    """JSON-2 sends named parameters; record methods get `ids` as their first positional one."""
    kwargs = dict(body)
    args: list[Any] = []
    if "ids" in kwargs:
        args.append(kwargs.pop("ids"))
    return [args, kwargs]


def _call_key(service: Any, method: Any, args: Any) -> CallKey:
    database = args[0] if isinstance(args, list) and args and isinstance(args[0], str) else None
    if service == "object" and isinstance(args, list) and len(args) >= 5:
        return CallKey(service, str(args[3]), str(args[4]), database)
    return CallKey(str(service), None, str(method), database)


def create_app(
    version: int = 17,
    databases: tuple[str, ...] | list[str] = ("demo",),
    call_log_size: int = 10_000,
    **behaviour: Any,
) -> EmulatorApp:
    """An ASGI app emulating one Odoo server of the given major version."""
    emulator = Emulator(Behaviour(version=version, **behaviour), databases, call_log_size)
    return EmulatorApp(emulator)
