"""The control API under /_emulator: inspect state and inject faults. Not part of Odoo."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from odoo_emulator.errors import OdooError

if TYPE_CHECKING:
    from odoo_emulator.app import EmulatorApp

PREFIX = "/_emulator"


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def build_control_routes(app: EmulatorApp) -> Router:
    """Routes that read and change the emulator's state; each answers JSON."""
    emulator = app.emulator

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "version": emulator.behaviour.version,
                "databases": sorted(emulator.databases),
                "down": bool(app.network and app.network.is_down),
            }
        )

    async def reset(request: Request) -> Response:
        emulator.reset()
        return JSONResponse({"databases": sorted(emulator.databases)})

    async def behaviour(request: Request) -> Response:
        if request.method == "PUT":
            emulator.set_behaviour(await _json_body(request))
        return JSONResponse(emulator.behaviour.as_dict())

    async def databases(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            summary = emulator.create_database(body.get("name", ""), seed=body.get("seed", True))
            return JSONResponse(summary, status_code=201)
        return JSONResponse(sorted(emulator.databases))

    async def database(request: Request) -> Response:
        name = request.path_params["db"]
        if name not in emulator.databases:
            return _problem(404, f"no database {name!r}")
        if request.method == "DELETE":
            emulator.drop_database(name)
            return Response(status_code=204)
        return JSONResponse(emulator.seeds[name])

    async def users(request: Request) -> Response:
        name = request.path_params["db"]
        if name not in emulator.databases:
            return _problem(404, f"no database {name!r}")
        body = await _json_body(request)
        uid = emulator.add_user(
            name, body["login"], body.get("password"), body.get("api_key"), body.get("name")
        )
        return JSONResponse({"uid": uid, "login": body["login"]}, status_code=201)

    async def records(request: Request) -> Response:
        name, model = request.path_params["db"], request.path_params["model"]
        if name not in emulator.databases:
            return _problem(404, f"no database {name!r}")
        if not emulator.registry.has_model(model):
            return _problem(404, f"no model {model!r}")
        domain = json.loads(request.query_params.get("domain", "[]"))
        fields_param = request.query_params.get("fields")
        fields = fields_param.split(",") if fields_param else None
        try:
            found = emulator.records(name, model, domain, fields)
        except OdooError as exc:
            return _problem(400, exc.message)
        return JSONResponse(found)

    async def session_books(request: Request) -> Response:
        name = request.path_params["db"]
        if name not in emulator.databases:
            return _problem(404, f"no database {name!r}")
        session_id = int(request.path_params["session_id"])
        if emulator.databases[name].table("pos.session").get(session_id) is None:
            return _problem(404, f"no pos.session {session_id} in {name!r}")
        try:
            books = emulator.session_books(name, session_id)
        except OdooError as exc:
            return _problem(400, exc.message)
        return JSONResponse(books)

    async def calls(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.call_log.clear()
            return Response(status_code=204)
        if request.method == "PUT":
            body = await _json_body(request)
            emulator.call_log.resize(int(body["max_entries"]))
            return Response(status_code=204)
        since = int(request.query_params.get("since", "0"))
        return JSONResponse(emulator.call_log.entries(since))

    async def latency(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.faults.set_latency(0.0, 0.0)
        else:
            body = await _json_body(request)
            emulator.faults.set_latency(
                float(body.get("fixed_ms", 0.0)), float(body.get("jitter_ms", 0.0))
            )
        return JSONResponse(emulator.faults.as_dict()["latency"])

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.faults.rules.clear()
            return Response(status_code=204)
        if request.method == "POST":
            rule = emulator.faults.add(await _json_body(request))
            return JSONResponse(rule.as_dict(), status_code=201)
        return JSONResponse(emulator.faults.as_dict())

    async def down(request: Request) -> Response:
        if app.network is None:
            return _problem(
                501, "this server cannot close its listener (not started by odoo_emulator)"
            )
        body = await _json_body(request)
        seconds = body.get("for_seconds")
        await app.network.go_down(float(seconds) if seconds is not None else None)
        return JSONResponse({"down": True})

    async def up(request: Request) -> Response:
        if app.network is None:
            return _problem(
                501, "this server cannot close its listener (not started by odoo_emulator)"
            )
        await app.network.come_up()
        return JSONResponse({"down": False})

    routes = [
        Route(f"{PREFIX}/health", health, methods=["GET"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/behaviour", behaviour, methods=["GET", "PUT"]),
        Route(f"{PREFIX}/databases", databases, methods=["GET", "POST"]),
        Route(f"{PREFIX}/databases/{{db}}", database, methods=["GET", "DELETE"]),
        Route(f"{PREFIX}/databases/{{db}}/users", users, methods=["POST"]),
        Route(f"{PREFIX}/databases/{{db}}/records/{{model}}", records, methods=["GET"]),
        Route(
            f"{PREFIX}/databases/{{db}}/sessions/{{session_id:int}}/books",
            session_books,
            methods=["GET"],
        ),
        Route(f"{PREFIX}/calls", calls, methods=["GET", "DELETE", "PUT"]),
        Route(f"{PREFIX}/latency", latency, methods=["PUT", "DELETE"]),
        Route(f"{PREFIX}/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/down", down, methods=["POST"]),
        Route(f"{PREFIX}/up", up, methods=["POST"]),
    ]
    router = Router(routes)
    return _with_client_errors(router)


def _with_client_errors(router: Router) -> Router:
    """Bad control requests answer 400 with the reason instead of a 500."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        try:
            await router(scope, receive, send)
        except (ValueError, KeyError, TypeError) as exc:
            response = _problem(400, f"{type(exc).__name__}: {exc}")
            await response(scope, receive, send)

    return guarded  # type: ignore[return-value]
