"""Every bad request gets a problem+json answer a person can act on, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from registers.api import router
from shared.http_fields import NUL_MESSAGE
from test_support.registers import RegistersWorld, Tenant, problem
from test_support.request_inputs import input_contract_tests


async def _refused(
    world: RegistersWorld,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    detail: str,
    json: Any = None,
) -> dict[str, Any]:
    response = await world.client.request(method, path, json=json, headers=headers)
    assert response.status_code == status, response.text
    body = problem(response)
    assert detail in (body.get("detail") or "") + str(body.get("errors", "")), body
    return body


async def test_duplicate_receipt_prefix_in_a_tenant_is_a_conflict(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    await world.register(tenant, shop, receipt_prefix="CAFE")
    body = await _refused(
        world,
        "POST",
        f"/v1/shops/{shop['id']}/registers",
        tenant.admin,
        409,
        "Receipt prefix CAFE is already used by another register of this tenant",
        json={"name": "Till 2", "receipt_prefix": "cafe"},
    )
    assert body["errors"] == [{"field": "receipt_prefix", "message": body["detail"]}]
    listed = await world.ok("GET", "/v1/registers", tenant.admin)
    assert len(listed["items"]) == 1


async def test_renaming_a_prefix_onto_another_registers_is_a_conflict(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    await world.register(tenant, shop, receipt_prefix="ONE")
    second = await world.register(tenant, shop, receipt_prefix="TWO")
    await _refused(
        world,
        "PATCH",
        f"/v1/registers/{second['id']}",
        tenant.admin,
        409,
        "Receipt prefix ONE is already used",
        json={"receipt_prefix": "ONE"},
    )
    assert (await world.get_register(tenant, second))["receipt_prefix"] == "TWO"


async def test_the_same_prefix_in_two_tenants_is_fine(world: RegistersWorld) -> None:
    first = await world.tenant()
    second = await world.tenant(name="Other")
    await world.register(first, receipt_prefix="SAME")
    await world.register(second, receipt_prefix="SAME")


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "is not an IANA time zone"),
        ({"currency": "EUX"}, "currency", "is not an ISO 4217 currency"),
        ({"currency": "XAU"}, "currency", "is not an ISO 4217 currency"),
        ({"business_day_cutoff": "25:00"}, "business_day_cutoff", "as HH:MM (24-hour)"),
    ],
)
async def test_shop_with_unknown_zone_currency_or_cutoff_is_refused(
    world: RegistersWorld, body: dict[str, str], field: str, detail: str
) -> None:
    tenant = await world.tenant()
    answer = await _refused(
        world, "POST", "/v1/shops", tenant.admin, 422, detail, json={"name": "X", **body}
    )
    assert answer["errors"][0]["field"] == field
    assert (await world.ok("GET", "/v1/shops", tenant.admin))["items"] == []


async def test_tenant_with_unknown_timezone_is_refused(world: RegistersWorld) -> None:
    await _refused(
        world,
        "POST",
        "/v1/tenants",
        world.platform,
        422,
        "'Europe/Pariss' is not an IANA time zone",
        json={"name": "T", "default_currency": "EUR", "default_timezone": "Europe/Pariss"},
    )


async def test_bad_receipt_prefix_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    await _refused(
        world,
        "POST",
        f"/v1/shops/{shop['id']}/registers",
        tenant.admin,
        422,
        "use 1 to 12 letters A-Z or digits",
        json={"name": "Till", "receipt_prefix": "CAFÉ-1"},
    )


async def _cashier(world: RegistersWorld, tenant: Tenant) -> dict[str, str]:
    register = await world.register(tenant)
    return await world.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=register["id"]
    )


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("POST", "/v1/shops", {"name": "X"}),
        ("GET", "/v1/shops", None),
        ("GET", "/v1/registers", None),
        ("POST", "/v1/payment-methods", {"code": "C", "name": "C", "kind": "cash"}),
        ("POST", "/v1/tokens", {"role": "cashier", "subject": "x"}),
        ("GET", "/v1/tokens", None),
        (
            "POST",
            "/v1/tenants",
            {"name": "T", "default_currency": "EUR", "default_timezone": "UTC"},
        ),
    ],
)
async def test_cashier_token_is_forbidden_on_admin_endpoints(
    world: RegistersWorld, method: str, path: str, json: Any
) -> None:
    tenant = await world.tenant()
    cashier = await _cashier(world, tenant)
    await _refused(world, method, path, cashier, 403, "the token's role is cashier", json=json)


async def test_manager_reads_but_cannot_change(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    manager = await world.token_for(tenant.admin, role="manager", subject="m")
    assert (await world.client.get("/v1/registers", headers=manager)).status_code == 200
    await _refused(
        world,
        "PATCH",
        f"/v1/registers/{register['id']}",
        manager,
        403,
        "This action needs one of the roles admin; the token's role is manager.",
        json={"name": "Mine now"},
    )


async def test_stale_if_match_is_a_conflict_and_changes_nothing(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    await world.patch_register(tenant, register, name="Second")
    await _refused(
        world,
        "PATCH",
        f"/v1/registers/{register['id']}",
        {**tenant.admin, "If-Match": '"1"'},
        409,
        "it is at version 2, your If-Match names 1",
        json={"name": "Third"},
    )
    assert (await world.get_register(tenant, register))["name"] == "Second"


async def test_malformed_if_match_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    await _refused(
        world,
        "PATCH",
        f"/v1/shops/{shop['id']}",
        {**tenant.admin, "If-Match": "yesterday"},
        422,
        "If-Match must be an ETag this API gave out",
        json={"name": "Y"},
    )


async def test_null_for_a_required_field_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    await _refused(
        world,
        "PATCH",
        f"/v1/registers/{register['id']}",
        tenant.admin,
        422,
        "name cannot be null; leave it out to keep it.",
        json={"name": None},
    )


async def test_unknown_field_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    await _refused(
        world,
        "PATCH",
        f"/v1/registers/{register['id']}",
        tenant.admin,
        422,
        "sync_state",
        json={"sync_state": "synced"},
    )
    assert (await world.get_register(tenant, register))["sync_state"] == "local"


async def test_cashier_token_without_register_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    await _refused(
        world,
        "POST",
        "/v1/tokens",
        tenant.admin,
        422,
        "A cashier token is a device's: name its register in register_id.",
        json={"role": "cashier", "subject": "tablet"},
    )


async def test_token_longer_than_the_maximum_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    await _refused(
        world,
        "POST",
        "/v1/tokens",
        tenant.admin,
        422,
        "ttl_seconds may be at most",
        json={"role": "manager", "subject": "m", "ttl_seconds": 10**9},
    )


async def test_duplicate_payment_method_code_is_a_conflict(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    body = {"code": "CASH", "name": "Cash", "kind": "cash"}
    await world.ok("POST", "/v1/payment-methods", tenant.admin, 201, json=body)
    await _refused(
        world,
        "POST",
        "/v1/payment-methods",
        tenant.admin,
        409,
        "already has a payment method with code 'CASH'",
        json=body,
    )


async def test_request_without_token_is_unauthenticated(world: RegistersWorld) -> None:
    await _refused(
        world, "GET", "/v1/shops", {}, 401, "Send a bearer token in the Authorization header."
    )


async def test_platform_admin_must_name_the_tenant_of_a_token(world: RegistersWorld) -> None:
    await _refused(
        world,
        "POST",
        "/v1/tokens",
        world.platform,
        422,
        "must name the tenant the token is for in tenant_id",
        json={"role": "admin", "subject": "owner"},
    )


# Every input Postgres would refuse is refused first, for every field of every route.


async def _tokens(world: RegistersWorld) -> list[dict[str, str]]:
    tenant = await world.tenant()
    manager = await world.token_for(tenant.admin, role="manager", subject="m")
    return [tenant.admin, world.platform, manager]


(
    test_a_nul_in_any_text_input_is_refused_naming_it,
    test_an_integer_input_is_bounded_within_its_column,
) = input_contract_tests(router.routes, "registers", _tokens)


async def test_a_shop_name_with_a_nul_is_refused_and_nothing_is_stored(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    answer = await _refused(
        world, "POST", "/v1/shops", tenant.admin, 422, NUL_MESSAGE, json={"name": "a\u0000b"}
    )
    assert answer["errors"] == [{"field": "name", "message": NUL_MESSAGE}]
    assert (await world.ok("GET", "/v1/shops", tenant.admin))["items"] == []


async def test_an_odoo_id_beyond_postgres_integer_is_refused_on_post_and_patch(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant(tier="pro")
    shop = await world.shop(tenant)
    body = {"name": "Till", "receipt_prefix": "BIG", "odoo_pos_config_id": 2**31}
    await _refused(
        world,
        "POST",
        f"/v1/shops/{shop['id']}/registers",
        tenant.admin,
        422,
        "odoo_pos_config_id must be at most 2147483647",
        json=body,
    )
    method = await world.ok(
        "POST",
        "/v1/payment-methods",
        tenant.admin,
        201,
        json={"code": "C", "name": "C", "kind": "card"},
    )
    await _refused(
        world,
        "PATCH",
        f"/v1/payment-methods/{method['id']}",
        tenant.admin,
        422,
        "odoo_payment_method_id must be at most 2147483647",
        json={"odoo_payment_method_id": 2**31},
    )


@pytest.mark.parametrize("cursor", ["a%00b", "MTI=", "OTIyMzM3MjAzNjg1NDc3NTgwOA"])
async def test_a_cursor_we_did_not_give_out_is_refused_plainly(
    world: RegistersWorld, cursor: str
) -> None:
    tenant = await world.tenant()
    answer = await _refused(
        world,
        "GET",
        f"/v1/shops?cursor={cursor}",
        tenant.admin,
        422,
        "The cursor is not one this API gave out; start again without it.",
    )
    assert answer["errors"][0]["field"] == "cursor"


# Every error of a body at once.


async def test_a_tenant_with_a_bad_currency_and_a_bad_zone_names_both(
    world: RegistersWorld,
) -> None:
    body = {"name": "", "default_currency": "EUX", "default_timezone": "Europe/Pariss"}
    answer = await _refused(world, "POST", "/v1/tenants", world.platform, 422, "", json=body)
    assert [e["field"] for e in answer["errors"]] == [
        "name",
        "default_currency",
        "default_timezone",
    ]
    assert "'EUX' is not an ISO 4217 currency" in answer["detail"]
    assert "'Europe/Pariss' is not an IANA time zone" in answer["detail"]


async def test_a_shop_patch_names_every_bad_field_nulls_included(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    body = {
        "name": None,
        "currency": "EUX",
        "timezone": "Mars/Olympus",
        "business_day_cutoff": "25:00",
        "prices_include_tax": None,
    }
    answer = await _refused(
        world, "PATCH", f"/v1/shops/{shop['id']}", tenant.admin, 422, "", json=body
    )
    assert sorted(e["field"] for e in answer["errors"]) == sorted(body)
    assert (await world.ok("GET", f"/v1/shops/{shop['id']}", tenant.admin))["name"] == shop["name"]


async def test_a_register_with_a_bad_prefix_and_a_bad_odoo_id_names_both(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    body = {"name": "Till", "receipt_prefix": "CAFÉ-1", "odoo_pos_config_id": 0}
    answer = await _refused(
        world, "POST", f"/v1/shops/{shop['id']}/registers", tenant.admin, 422, "", json=body
    )
    assert [e["field"] for e in answer["errors"]] == ["receipt_prefix", "odoo_pos_config_id"]


async def test_a_payment_method_link_may_be_cleared_with_null(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    body = {"code": "CARD", "name": "Card", "kind": "card", "odoo_payment_method_id": 7}
    method = await world.ok("POST", "/v1/payment-methods", tenant.admin, 201, json=body)
    cleared = await world.ok(
        "PATCH",
        f"/v1/payment-methods/{method['id']}",
        tenant.admin,
        json={"odoo_payment_method_id": None},
    )
    assert cleared["odoo_payment_method_id"] is None


@pytest.mark.parametrize("if_match", ['"²"', '"' + "9" * 5000 + '"'])
async def test_an_if_match_that_only_looks_like_a_number_is_refused(
    world: RegistersWorld, if_match: str
) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    # Header values are bytes on the wire; Starlette reads them as Latin-1.
    headers = {**tenant.admin, "If-Match": if_match.encode("latin-1")}
    response = await world.client.patch(
        f"/v1/shops/{shop['id']}", json={"name": "Y"}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert "If-Match must be an ETag this API gave out" in problem(response)["detail"]


async def test_a_wrong_method_names_every_method_of_the_path(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    response = await world.client.delete(f"/v1/shops/{shop['id']}", headers=tenant.admin)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH"
    assert "this path takes GET, PATCH" in problem(response)["detail"]


async def test_the_openapi_document_lets_docs_authorize_and_lists_the_problems(
    world: RegistersWorld,
) -> None:
    document = (await world.client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from the registers service: POST /v1/tokens, or "
            "registers platform-admin-token for the first one",
        }
    }
    patch_shop = document["paths"]["/v1/shops/{shop_id}"]["patch"]
    assert patch_shop["security"] == [{"HTTPBearer": []}]
    assert sorted(patch_shop["responses"]) == [
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
        "422",
        "503",
    ]
    assert patch_shop["responses"]["409"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
