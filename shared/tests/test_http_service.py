"""What every service's app has alike: the bearer scheme and problem+json answers in its
OpenAPI, our own 401 without a token, and 405s that name every method of the path."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from shared.auth import DEV_PRIVATE_KEY, DEV_PUBLIC_KEY, Claims, Role, TokenIssuer, TokenVerifier
from shared.http_service import create_service_app

router = APIRouter(prefix="/v1")


class ThingPatch(BaseModel):
    name: str


@router.get("/things/{thing_id}")
async def get_thing(thing_id: str, claims: Claims) -> dict[str, str]:
    return {"id": thing_id, "tenant": str(claims.tenant_id)}


@router.patch("/things/{thing_id}")
async def patch_thing(thing_id: str, body: ThingPatch, claims: Claims) -> dict[str, str]:
    return {"id": thing_id, "name": body.name}


@router.get("/open")
async def open_route() -> dict[str, str]:
    return {"status": "ok"}


async def _ready(_: FastAPI) -> str | None:
    return None


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


def _app() -> FastAPI:
    app = create_service_app(title="Things", lifespan=_lifespan, readiness=_ready)
    app.include_router(router)
    app.state.token_verifier = TokenVerifier(DEV_PUBLIC_KEY)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _bearer() -> dict[str, str]:
    token = TokenIssuer(DEV_PRIVATE_KEY).issue(subject="t", tenant_id=uuid.uuid4(), role=Role.ADMIN)
    return {"Authorization": f"Bearer {token}"}


async def test_a_405_names_every_method_the_path_takes(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/things/1", headers=_bearer())
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "DELETE is not allowed here; this path takes GET, PATCH."


@pytest.mark.parametrize(
    "authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "bearer"]
)
async def test_without_a_bearer_token_the_answer_is_our_own_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/v1/things/1", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "Send a bearer token in the Authorization header."


async def test_a_bearer_token_is_read_from_the_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/things/1", headers=_bearer())
    assert response.status_code == 200


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_the_openapi_declares_a_bearer_scheme_on_routes_that_need_a_token() -> None:
    document = _app().openapi()
    schemes = document["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    (name,) = schemes
    operations = _operations(document)
    assert operations["get", "/v1/things/{thing_id}"]["security"] == [{name: []}]
    assert operations["patch", "/v1/things/{thing_id}"]["security"] == [{name: []}]
    assert "security" not in operations["get", "/v1/open"]


def test_the_openapi_declares_the_problem_answers_each_route_can_give() -> None:
    document = _app().openapi()
    statuses = {
        key: sorted(int(status) for status in operation["responses"])
        for key, operation in _operations(document).items()
    }
    assert statuses == {
        ("get", "/v1/things/{thing_id}"): [200, 401, 403, 404, 422, 503],
        ("patch", "/v1/things/{thing_id}"): [200, 400, 401, 403, 404, 409, 422, 503],
        ("get", "/v1/open"): [200, 404, 503],
    }
    for operation in _operations(document).values():
        for status, response in operation["responses"].items():
            if status != "200":
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail"]
    assert schemas["Problem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/FieldError"
    }
    assert "HTTPValidationError" not in schemas


async def test_a_validation_answer_has_the_documented_problem_shape(
    client: httpx.AsyncClient,
) -> None:
    response = await client.patch("/v1/things/1", json={"name": 5}, headers=_bearer())
    assert response.status_code == 422
    body = response.json()
    problem = _app().openapi()["components"]["schemas"]["Problem"]
    assert set(problem["required"]) <= set(body)
    assert set(body) <= set(problem["properties"])
    assert body["errors"] == [{"field": "name", "message": "Input should be a valid string"}]


@pytest.mark.parametrize("body", [b"\xe0\xe8 not UTF-8", b"\x00", b"{"])
async def test_a_body_that_is_not_json_is_a_400_saying_so(
    client: httpx.AsyncClient, body: bytes
) -> None:
    headers = {**_bearer(), "content-type": "application/json"}
    response = await client.patch("/v1/things/1", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:pos:problem:malformed-json"
    assert "JSON" in response.json()["detail"]
