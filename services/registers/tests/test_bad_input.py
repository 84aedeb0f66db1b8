"""Every bad request gets a problem+json answer a person can act on, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from registers.testing import RegistersWorld, Tenant, problem


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
