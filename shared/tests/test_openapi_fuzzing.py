"""The fuzzing harness finds what it is there to find: a 5xx, and an answer its document does
not describe. A harness that passes everything would let every service's fuzz test pass."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.openapi.checks import JsonSchemaError, UndefinedStatusCode

from shared.http_service import create_service_app
from test_support.openapi_fuzzing import FuzzTarget, fuzz_operation

router = APIRouter(prefix="/v1")


class Named(BaseModel):
    name: str


@router.get("/ratio")
async def ratio(divisor: int) -> dict[str, float]:
    return {"ratio": 100 / divisor}


@router.get("/named", response_model=Named)
async def named() -> JSONResponse:
    # Bypasses the response model, as a hand-built answer can.
    return JSONResponse({"name": 5})


@router.get("/teapot")
async def teapot() -> JSONResponse:
    return JSONResponse({"detail": "short and stout"}, status_code=418)


@router.post("/named")
async def echo(body: Named) -> Named:
    return body


async def _ready(_: FastAPI) -> str | None:
    return None


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


@pytest.fixture
async def target() -> AsyncIterator[FuzzTarget]:
    app = create_service_app(title="Fuzzed", lifespan=_lifespan, readiness=_ready)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzzed") as client:
        yield FuzzTarget(client, tokens=[{}])


async def test_a_5xx_is_found(target: FuzzTarget) -> None:
    with pytest.raises(FailureGroup) as found:
        await fuzz_operation(target, "GET", "/v1/ratio", max_examples=50)
    assert found.group_contains(ServerError)


async def test_a_body_that_breaks_its_schema_is_found(target: FuzzTarget) -> None:
    with pytest.raises(FailureGroup) as found:
        await fuzz_operation(target, "GET", "/v1/named", max_examples=5)
    assert found.group_contains(JsonSchemaError)


async def test_an_undocumented_status_is_found(target: FuzzTarget) -> None:
    with pytest.raises(FailureGroup) as found:
        await fuzz_operation(target, "GET", "/v1/teapot", max_examples=5)
    assert found.group_contains(UndefinedStatusCode)


async def test_a_route_that_keeps_its_contract_passes(target: FuzzTarget) -> None:
    assert await fuzz_operation(target, "POST", "/v1/named", max_examples=50) > 0
