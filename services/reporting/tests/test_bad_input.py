"""Every bad request gets problem+json with a message that says what to do."""

from __future__ import annotations

import uuid

import pytest

from reporting.api import router
from shared.auth import Role
from test_support.reporting import ReportingWorld, problem
from test_support.request_inputs import input_contract_tests


async def test_a_request_without_a_token_is_unauthenticated(world: ReportingWorld) -> None:
    response = await world.client.get("/v1/dashboard", params={"shop_id": str(uuid.uuid4())})
    assert response.status_code == 401
    assert "bearer token" in problem(response)["detail"]


async def test_a_malformed_shop_id_or_date_names_the_field(world: ReportingWorld) -> None:
    headers = world.token(uuid.uuid4())
    response = await world.client.get(
        "/v1/dashboard", params={"shop_id": "shop-1"}, headers=headers
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "shop_id"
    response = await world.client.get(
        "/v1/reports/daily",
        params={"shop_id": str(uuid.uuid4()), "business_date": "yesterday"},
        headers=headers,
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "business_date"
    response = await world.client.get("/v1/reports/daily", headers=headers)
    assert response.status_code == 422
    assert "shop_id is required" in problem(response)["detail"]


async def test_an_unknown_shop_is_not_found_with_a_reason(world: ReportingWorld) -> None:
    shop_id = uuid.uuid4()
    response = await world.client.get(
        "/v1/dashboard", params={"shop_id": str(shop_id)}, headers=world.token(uuid.uuid4())
    )
    assert response.status_code == 404
    assert f"No shop {shop_id} exists" in problem(response)["detail"]


@pytest.mark.parametrize("role", [Role.CASHIER, Role.MANAGER])
async def test_only_an_admin_sets_up_the_chat(world: ReportingWorld, role: Role) -> None:
    tenant = uuid.uuid4()
    body = {"bot_token": "123456:" + "A" * 30, "chat_id": "-1001"}
    response = await world.client.put("/v1/chat", json=body, headers=world.token(tenant, role))
    assert response.status_code == 403
    assert problem(response)["detail"] == (
        f"This action needs one of the roles admin; the token's role is {role.value}."
    )
    response = await world.client.get("/v1/chat", headers=world.token(tenant, Role.CASHIER))
    assert response.status_code == 403


async def test_chat_settings_are_checked_field_by_field(world: ReportingWorld) -> None:
    response = await world.client.put(
        "/v1/chat",
        json={
            "bot_token": "not-a-token",
            "chat_id": "my group",
            "daily_report_time": "25:00",
            "colour": "blue",
        },
        headers=world.token(uuid.uuid4(), Role.ADMIN),
    )
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in problem(response)["errors"]}
    assert "BotFather" in errors["bot_token"]
    assert "numeric chat id" in errors["chat_id"]
    assert "HH:MM" in errors["daily_report_time"]
    assert "remove it" in errors["colour"]


async def test_chat_settings_not_yet_made_are_not_found(world: ReportingWorld) -> None:
    response = await world.client.get("/v1/chat", headers=world.token(uuid.uuid4()))
    assert response.status_code == 404
    assert "PUT /v1/chat" in problem(response)["detail"]


async def test_malformed_json_is_a_bad_request(world: ReportingWorld) -> None:
    response = await world.client.put(
        "/v1/chat",
        content=b"{not json",
        headers={**world.token(uuid.uuid4()), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in problem(response)["detail"]


# Every input Postgres would refuse is refused first, for every field of every route.


async def _tokens(world: ReportingWorld) -> list[dict[str, str]]:
    tenant_id = uuid.uuid4()
    return [world.token(tenant_id, role) for role in (Role.ADMIN, Role.MANAGER, Role.CASHIER)]


(
    test_a_nul_in_any_text_input_is_refused_naming_it,
    test_an_integer_input_is_bounded_within_its_column,
) = input_contract_tests(router.routes, "reporting", _tokens)
