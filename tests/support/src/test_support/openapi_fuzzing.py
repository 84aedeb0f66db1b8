"""Property-based fuzzing of a running service against the OpenAPI document it serves.

Schemathesis generates each operation's requests (valid ones and ones that break the schema),
some with a value Postgres would refuse planted in one field; they go through the test's own
httpx client, so the app runs in the test's event loop on the test's Postgres and RabbitMQ.
Every answer must be no 5xx, a documented status, the documented content type and a body of
the documented shape.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import BaseRoute

from test_support.request_inputs import openapi_of

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Generous enough for one request on a loaded 2-core machine; a hang is a failure, not a wait.
_REQUEST_TIMEOUT_S = 30.0


def operations_of(routes: Sequence[BaseRoute]) -> list[tuple[str, str]]:
    """(METHOD, path) of every documented operation, for a test's parametrization."""
    return [
        (method.upper(), path)
        for path, item in openapi_of(routes)["paths"].items()
        for method in item
    ]


Known = str | SearchStrategy[Any]


@dataclass
class FuzzTarget:
    """What the fuzzer sends with. A token is drawn per request. In most requests, `known`
    values (ids of things that exist, a till's currency; a strategy is drawn from) take
    the place of what was generated for a path, query or body field of that name, and an
    operation named in `bodies` gets a body drawn from its strategy (one a schema cannot
    describe: an order whose lines add up), so requests get past 404s and 422s."""

    client: httpx.AsyncClient
    tokens: Sequence[Mapping[str, str]]
    known: Mapping[str, Known] = field(default_factory=dict)
    bodies: Mapping[tuple[str, str], SearchStrategy[Any]] = field(default_factory=dict)
    # Rewrites a generated case before it is sent (say, to keep a URL on this machine).
    adjust: Callable[[Case[Any]], None] = lambda case: None


async def fuzz_operation(target: FuzzTarget, method: str, path: str, *, max_examples: int) -> int:
    """Runs `max_examples` generated requests against one operation, deterministically
    (derandomized; FUZZ_MAX_EXAMPLES in the environment runs more, for a deeper look); a
    failing check raises with the request that broke it. Returns how many were sent."""
    document = (await target.client.get("/openapi.json")).json()
    operation = schemathesis.openapi.from_dict(document)[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    body = target.bodies.get((method, path))
    loop = asyncio.get_running_loop()
    sent = 0

    @settings(
        max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", max_examples)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, token=st.sampled_from(list(target.tokens)), data=st.data())
    def one_request(case: Case[Any], token: Mapping[str, str], data: st.DataObject) -> None:
        nonlocal sent
        # Hypothesis leans towards False, the simpler value: towards requests that get far.
        if not data.draw(st.booleans(), label="only generated values"):
            if body is not None:
                case.body = data.draw(body, label="body")
            for container in (case.path_parameters, case.query, case.body):
                _use_known(container, target.known, data)
        if data.draw(st.booleans(), label="plant a hostile value"):
            _plant_hostile_value(case, data)
        target.adjust(case)
        try:
            request = _httpx_request(target.client, case, token)
        except (UnicodeEncodeError, ValueError, TypeError, httpx.InvalidURL):
            # A header or URL no HTTP client can send (a newline in a header, say).
            reject()
        future = asyncio.run_coroutine_threadsafe(target.client.send(request), loop)
        response = future.result(timeout=_REQUEST_TIMEOUT_S)
        sent += 1
        case.validate_response(response, checks=CHECKS)

    # Hypothesis drives the examples from a worker thread while the app keeps serving here.
    await asyncio.to_thread(one_request)
    return sent


def openapi_fuzz_test(
    routes: Sequence[BaseRoute],
    target_for: Callable[[Any], Awaitable[FuzzTarget]],
    *,
    max_examples: int,
) -> Callable[[Any, str, str], Awaitable[None]]:
    """A service's fuzz test: one case an operation of `routes`, each with `max_examples`
    requests; `target_for(world)` seeds the service and says what to send with."""

    @pytest.mark.slow
    @pytest.mark.parametrize(("method", "path"), operations_of(routes))
    async def fuzz_test(world: Any, method: str, path: str) -> None:
        target = await target_for(world)
        assert await fuzz_operation(target, method, path, max_examples=max_examples) > 0

    test: Callable[[Any, str, str], Awaitable[None]] = fuzz_test
    return test


# What a schema's generator seldom produces but a client may send, and Postgres refuses: a NUL
# in text, integers past int4 and int8. Planted into one field of an otherwise far-reaching
# request, they must come back as a 4xx, never reach SQL.
_HOSTILE_TEXT = ("a\x00b", "\x00")
_HOSTILE_INTEGERS = (2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30)


def _plant_hostile_value(case: Case[Any], data: st.DataObject) -> None:
    places = [
        (container, key)
        # Not the path: a raw NUL cannot be sent in a URL, and path ids are UUIDs.
        for root in (case.query, case.body)
        for container, key in _leaves(root)
    ]
    if not places:
        return
    container, key = data.draw(st.sampled_from(places), label="hostile place")
    value = container[key]
    hostile = _HOSTILE_TEXT if isinstance(value, str) else _HOSTILE_INTEGERS
    container[key] = data.draw(st.sampled_from(hostile), label="hostile value")


def _leaves(value: object) -> list[tuple[Any, Any]]:
    """(container, key) of every text or integer (not boolean) inside `value`."""
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found: list[tuple[Any, Any]] = []
    for key, child in children:
        if isinstance(child, str) or (isinstance(child, int) and not isinstance(child, bool)):
            found.append((value, key))
        else:
            found.extend(_leaves(child))
    return found


def _use_known(value: object, known: Mapping[str, Known], data: st.DataObject) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            if name in known and not isinstance(child, (dict, list)):
                chosen = known[name]
                value[name] = chosen if isinstance(chosen, str) else data.draw(chosen, label=name)
            else:
                _use_known(child, known, data)
    elif isinstance(value, list):
        for child in value:
            _use_known(child, known, data)


def _httpx_request(
    client: httpx.AsyncClient, case: Case[Any], token: Mapping[str, str]
) -> httpx.Request:
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=str(client.base_url).rstrip("/"))
    headers = {
        name: value
        for name, value in kwargs.get("headers", {}).items()
        if name.lower() not in ("authorization", "x-schemathesis-testcaseid")
    }
    headers.update(token)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        body["content"] = kwargs["data"]
    return client.build_request(
        kwargs["method"],
        kwargs["url"],
        headers=headers,
        params=kwargs.get("params") or None,
        **body,
    )
