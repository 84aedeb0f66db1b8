"""Every input a service's routes take (body fields, query and path parameters), found in the
OpenAPI its request models make, so a test over them covers a field the day it is added."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal
from urllib.parse import quote

import httpx
import pytest
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from shared.http_fields import INT4_MAX, INT4_MIN, INT8_MAX, INT8_MIN, NUL_MESSAGE
from shared.migrations import load_migrations
from shared.problems import field_path

Kind = Literal["text", "integer"]
Schema = Mapping[str, Any]
# Formats pydantic parses into something that is not text (a UUID, a date) before storing it.
_PARSED_FORMATS = frozenset(("uuid", "date", "date-time", "time", "duration"))
_COLUMN = re.compile(r"^\s*(?:ADD COLUMN\s+)?(\w+)\s+(integer|bigint|smallint)\b", re.I | re.M)
# Odoo's record ids are Postgres integers in Odoo itself, whatever column keeps them here.
ODOO_ID = re.compile(r"^odoo_\w*id$")


@dataclass(frozen=True)
class RouteInput:
    """One input of one operation: `location` is the path to it inside the body, or its name."""

    method: str
    path: str
    where: Literal["body", "query", "path"]
    location: tuple[str | int, ...]
    kind: Kind
    schema: Schema
    path_params: tuple[str, ...]

    @property
    def field(self) -> str:
        """The field as a problem+json `errors` item names it."""
        return field_path(self.location)

    @property
    def name(self) -> str:
        """The field's own name (its column's, where it is stored)."""
        return next(str(part) for part in reversed(self.location) if isinstance(part, str))

    @property
    def test_id(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.field}"

    def minimum(self) -> int | None:
        bounds = [int(self.schema["minimum"])] if "minimum" in self.schema else []
        if "exclusiveMinimum" in self.schema:
            bounds.append(int(self.schema["exclusiveMinimum"]) + 1)
        return max(bounds, default=None)

    def maximum(self) -> int | None:
        bounds = [int(self.schema["maximum"])] if "maximum" in self.schema else []
        if "exclusiveMaximum" in self.schema:
            bounds.append(int(self.schema["exclusiveMaximum"]) - 1)
        return min(bounds, default=None)

    def request(self, value: object, headers: Mapping[str, str]) -> httpx.Request:
        """A request that carries `value` in this input and placeholders in the other ids."""
        values: dict[str, object] = {name: uuid.uuid4() for name in self.path_params}
        params: dict[str, Any] = {}
        body: Any = None
        if self.where == "path":
            values[self.field] = value
        elif self.where == "query":
            params[self.field] = value
        else:
            body = value
            for part in reversed(self.location):
                body = [body] if isinstance(part, int) else {part: body}
        path = self.path.format(**{name: quote(str(v), safe="") for name, v in values.items()})
        return httpx.Request(
            self.method, f"http://test{path}", params=params, json=body, headers=headers
        )


def openapi_of(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    return get_openapi(title="under test", version="0", routes=routes)


def route_inputs(routes: Sequence[BaseRoute], kind: Kind) -> list[RouteInput]:
    """Every input of `kind` that the routes take, as their OpenAPI describes it."""
    document = openapi_of(routes)
    schemas: Mapping[str, Schema] = document.get("components", {}).get("schemas", {})
    found: list[RouteInput] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            parameters = operation.get("parameters", [])
            path_params = tuple(p["name"] for p in parameters if p["in"] == "path")
            places: list[tuple[Literal["body", "query", "path"], Schema, tuple[str, ...]]] = [
                (p["in"], p["schema"], (p["name"],))
                for p in parameters
                if p["in"] in ("query", "path")
            ]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                places.append(("body", body["schema"], ()))
            for where, schema, root in places:
                for location, leaf in _leaves(schema, root, schemas):
                    if _kind(leaf) == kind:
                        found.append(
                            RouteInput(
                                method.upper(), path, where, location, kind, leaf, path_params
                            )
                        )
    return found


def _leaves(
    schema: Schema, location: tuple[str | int, ...], schemas: Mapping[str, Schema]
) -> Iterator[tuple[tuple[str | int, ...], Schema]]:
    if "$ref" in schema:
        yield from _leaves(schemas[schema["$ref"].rsplit("/", 1)[-1]], location, schemas)
        return
    options = [
        option
        for option in schema.get("anyOf", schema.get("oneOf", schema.get("allOf", [])))
        if option.get("type") != "null"
    ]
    if len(options) == 1:
        yield from _leaves(options[0], location, schemas)
        return
    if options:
        # A value of several shapes (a Decimal is a number or a string) is none of ours.
        return
    if schema.get("type") == "object":
        for name, child in schema.get("properties", {}).items():
            yield from _leaves(child, (*location, name), schemas)
    elif schema.get("type") == "array":
        yield from _leaves(schema.get("items", {}), (*location, 0), schemas)
    else:
        yield location, schema


def _kind(leaf: Schema) -> Kind | None:
    if "enum" in leaf or "const" in leaf:
        return None
    if leaf.get("type") == "string" and leaf.get("format") not in _PARSED_FORMATS:
        return "text"
    if leaf.get("type") == "integer":
        return "integer"
    return None


def column_bounds(package: str) -> dict[str, tuple[int, int]]:
    """The bounds of each integer column in a service's migrations, by column name (the
    narrowest where two tables disagree)."""
    bounds: dict[str, tuple[int, int]] = {}
    for migration in load_migrations(package, resources.files(package) / "migrations"):
        for name, type_ in _COLUMN.findall(migration.sql):
            if type_.lower() == "smallint":
                bound = (-(2**15), 2**15 - 1)
            elif type_.lower() == "integer":
                bound = (INT4_MIN, INT4_MAX)
            else:
                bound = (INT8_MIN, INT8_MAX)
            lower, upper = bounds.get(name, bound)
            bounds[name] = (max(lower, bound[0]), min(upper, bound[1]))
    return bounds


def storable_bounds(item: RouteInput, columns: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    """What an integer input may hold so that Postgres takes it: its column's bounds, an Odoo
    id's, or a bigint's for a value that is not stored as it is."""
    if ODOO_ID.match(item.name):
        return (INT4_MIN, INT4_MAX)
    return columns.get(item.name, (INT8_MIN, INT8_MAX))


async def send_as_allowed(
    client: httpx.AsyncClient, item: RouteInput, value: object, tokens: Sequence[Mapping[str, str]]
) -> httpx.Response:
    """Sends `value` in `item` with the first token whose role may call the route (a 403 means
    the role check answered before the input was looked at)."""
    response = None
    for headers in tokens:
        response = await client.send(item.request(value, headers))
        if response.status_code != 403:
            return response
    assert response is not None, "no tokens to send with"
    return response


def assert_refused(response: httpx.Response, item: RouteInput, message: str) -> None:
    """A 422 problem+json whose `errors` name `item` with a message starting with `message`."""
    assert response.status_code == 422, (item.test_id, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    messages = [e["message"] for e in response.json()["errors"] if e["field"] == item.field]
    assert messages, (item.test_id, response.json()["errors"])
    assert any(m.startswith(message) for m in messages), (item.test_id, messages)


async def assert_nul_refused(
    client: httpx.AsyncClient, item: RouteInput, tokens: Sequence[Mapping[str, str]]
) -> None:
    """A NUL in a text input is a 422 naming it (a body's says so; a query's, how to recover)."""
    response = await send_as_allowed(client, item, "a\x00b", tokens)
    assert_refused(response, item, NUL_MESSAGE if item.where == "body" else "")


async def assert_bounded_within_column(
    client: httpx.AsyncClient,
    item: RouteInput,
    tokens: Sequence[Mapping[str, str]],
    columns: Mapping[str, tuple[int, int]],
) -> None:
    """An integer input declares bounds that its column holds, and a value past either is a
    422 naming it."""
    lowest, highest = storable_bounds(item, columns)
    minimum, maximum = item.minimum(), item.maximum()
    assert minimum is not None, f"{item.test_id} has no lower bound"
    assert maximum is not None, f"{item.test_id} has no upper bound"
    assert lowest <= minimum, (item.test_id, minimum, lowest)
    assert maximum <= highest, (item.test_id, maximum, highest)
    response = await send_as_allowed(client, item, maximum + 1, tokens)
    assert_refused(response, item, f"must be at most {maximum}")
    response = await send_as_allowed(client, item, minimum - 1, tokens)
    assert_refused(response, item, "must be ")


TokensFor = Callable[[Any], Awaitable[Sequence[Mapping[str, str]]]]
InputTest = Callable[[Any, "RouteInput | None"], Awaitable[None]]


def _parameters(inputs: list[RouteInput]) -> list[Any]:
    # A service without such inputs still runs the test once, so it is never a skip.
    return [pytest.param(item, id=item.test_id) for item in inputs] or [
        pytest.param(None, id="none-yet")
    ]


def input_contract_tests(
    routes: Sequence[BaseRoute], package: str, tokens_for: TokensFor
) -> tuple[InputTest, InputTest]:
    """The two tests each service runs over every text and every integer input of its routes,
    one case an input; `tokens_for(world)` gives tokens of roles that may call the routes."""

    @pytest.mark.parametrize("item", _parameters(route_inputs(routes, "text")))
    async def text_test(world: Any, item: RouteInput | None) -> None:
        if item is not None:
            await assert_nul_refused(world.client, item, await tokens_for(world))

    @pytest.mark.parametrize("item", _parameters(route_inputs(routes, "integer")))
    async def integer_test(world: Any, item: RouteInput | None) -> None:
        if item is not None:
            tokens = await tokens_for(world)
            await assert_bounded_within_column(world.client, item, tokens, column_bounds(package))

    return text_test, integer_test
