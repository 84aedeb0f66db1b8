"""Errors as RFC 9457 problem+json, with a message a person can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.postgres import UNAVAILABLE_ERRORS, is_database_unavailable
from shared.structured_logging import current_correlation_id

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

# A database restart takes seconds; a client that waits this long before retrying finds it back
# more often than not, without hammering it while it comes up.
DATABASE_RETRY_AFTER_S = 5


class Problem(Exception):  # noqa: N818 - the name RFC 9457 gives it
    """Raised anywhere in a request; rendered as problem+json with this status."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def not_found(what: str, identifier: object) -> Problem:
    return Problem(
        404, "Not found", f"No {what} {identifier} exists.", type_="urn:pos:problem:not-found"
    )


def problem_response(problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    correlation_id = current_correlation_id()
    if correlation_id:
        body["correlation_id"] = correlation_id
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def database_unavailable() -> Problem:
    return Problem(
        503,
        "Service unavailable",
        "Our database cannot be reached right now, so nothing was saved; try again in a few "
        "seconds.",
        type_="urn:pos:problem:unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _internal_error(exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error=repr(exc))
    return problem_response(
        Problem(
            500,
            "Internal error",
            "Something went wrong on our side and nothing was saved; try again, and quote "
            "the correlation id if it happens again.",
        )
    )


def field_path(location: Sequence[Any]) -> str:
    """('body', 'lines', 0, 'quantity') -> 'lines[0].quantity'."""
    path = ""
    for part in location:
        if part in ("body", "query", "path", "header") and not path:
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


# Pydantic's bound errors, said as what the value must be.
_BOUNDS = {
    "greater_than": ("gt", "must be greater than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "is not a field of this request; remove it"
    if kind == "missing":
        return "is required"
    if kind in _BOUNDS:
        key, sentence = _BOUNDS[str(kind)]
        bound = error.get("ctx", {}).get(key)
        if bound is not None:
            return sentence.format(bound)
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def _sentence(field: str, message: str) -> str:
    joined = message.startswith(("is ", "must ", "may ", "cannot "))
    return f"{field} {message}" if joined else f"{field}: {message}"


def validation_problem(errors: Sequence[Mapping[str, Any]]) -> Problem:
    if any(e.get("type") == "json_invalid" for e in errors):
        context = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {})
        return Problem(
            400,
            "Malformed JSON",
            f"The request body is not valid JSON ({context.get('error', 'parse error')}).",
            type_="urn:pos:problem:malformed-json",
        )
    items = [{"field": field_path(e.get("loc", ())), "message": _message(e)} for e in errors]
    shown = "; ".join(_sentence(i["field"], i["message"]) for i in items[:3])
    more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
    return Problem(
        422,
        "Invalid request",
        f"{shown}{more}.",
        type_="urn:pos:problem:validation",
        extra={"errors": items},
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path takes. Starlette names the methods of the first
    route that matched the path only; routes are asked through their public `matches`, since
    FastAPI nests included routers in routes of its own."""
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(exc.errors()))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        titles = {404: "Not found", 405: "Method not allowed"}
        headers = dict(exc.headers or {})
        detail = str(exc.detail)
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
            detail = f"{request.method} is not allowed here; this path takes {headers['Allow']}."
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot even decode (bytes that are not UTF-8).
            return problem_response(
                Problem(
                    400,
                    "Malformed JSON",
                    "The request body could not be read as JSON; send UTF-8 JSON with "
                    "content-type application/json.",
                    type_="urn:pos:problem:malformed-json",
                )
            )
        return problem_response(
            Problem(
                exc.status_code,
                titles.get(exc.status_code, "HTTP error"),
                detail,
                headers=headers,
            )
        )

    async def on_database_error(_: Request, exc: Exception) -> JSONResponse:
        if not is_database_unavailable(exc):
            return _internal_error(exc)
        # Not logged per request: each is in the access log as a 503, and the outage is logged
        # once by the components that wait for the database to come back.
        return problem_response(database_unavailable())

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _internal_error(exc)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for error_class in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error_class, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)


# The OpenAPI description of these answers, added to every operation by `document_problems`.


class FieldError(BaseModel):
    field: str = Field(description="The field, as a path: lines[0].quantity")
    message: str = Field(description="What is wrong with it and what to send instead")


class ProblemDocument(BaseModel):
    """An error, as RFC 9457 problem details; `errors` lists each bad field of a request."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="A URN naming the kind of problem, or about:blank")
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to do about it")
    correlation_id: str = Field(default="", description="Quote it when asking for help")
    errors: list[FieldError] = Field(default_factory=list)


_PROBLEM_STATUSES = {
    400: "The body is not valid JSON, or the request breaks a rule",
    401: "No bearer token, or one that is not valid (expired, revoked, forged)",
    403: "The token's role may not do this",
    404: "No such thing in the token's tenant",
    409: "The request conflicts with what is stored (a duplicate, a stale If-Match)",
    422: "A field is not valid; errors names each one",
    503: "A dependency (the database) is unreachable; retry after Retry-After seconds",
}
_PROBLEM_REF = "#/components/schemas/Problem"
_WRITES = frozenset(("post", "put", "patch", "delete"))


def _problem_statuses(method: str, operation: Mapping[str, Any]) -> list[int]:
    """The error answers an operation can give, from what it takes."""
    statuses = [404, 503]
    if operation.get("security"):
        statuses += [401, 403]
    if method in _WRITES:
        statuses.append(409)
    if "requestBody" in operation:
        statuses.append(400)
    if "requestBody" in operation or operation.get("parameters"):
        statuses.append(422)
    return sorted(statuses)


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declares the problem+json answers on every operation of an OpenAPI document, in place."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for path_item in openapi.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for status in _problem_statuses(method, operation):
                responses[str(status)] = {
                    "description": _PROBLEM_STATUSES[status],
                    "content": {PROBLEM_JSON: {"schema": {"$ref": _PROBLEM_REF}}},
                }
            operation["responses"] = dict(sorted(responses.items()))
    # FastAPI's own shape of a 422, which this API never sends, once nothing refers to it.
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in json.dumps(openapi):
            schemas.pop(unused, None)
    return openapi
