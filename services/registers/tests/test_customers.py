"""Customers: added at the counter or in the back office, found again, unique by email."""

from __future__ import annotations

from typing import Any

from test_support.registers import RegistersWorld, Tenant, problem


async def _till(world: RegistersWorld, tenant: Tenant) -> Any:
    register = await world.register(tenant)
    return await world.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=register["id"]
    )


async def test_till_adds_a_customer_and_it_is_announced(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    till = await _till(world, tenant)

    customer = await world.ok(
        "POST",
        "/v1/customers",
        till,
        201,
        json={"name": "Anna Weber", "email": "anna@example.com", "country_code": "de"},
    )

    assert (customer["name"], customer["country_code"], customer["version"]) == (
        "Anna Weber",
        "DE",
        1,
    )
    [event] = await world.events_of(customer["id"])
    assert event["type"] == "customer.created"
    assert event["data"]["email"] == "anna@example.com"


async def test_email_is_unique_in_a_tenant_whatever_its_case(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    other = await world.tenant(name="Other")
    body = {"name": "Anna", "email": "anna@example.com"}
    await world.ok("POST", "/v1/customers", tenant.admin, 201, json=body)
    await world.ok("POST", "/v1/customers", other.admin, 201, json=body)

    again = await world.client.post(
        "/v1/customers", headers=tenant.admin, json={"name": "A. W.", "email": "Anna@Example.com"}
    )

    assert again.status_code == 409
    assert "already has a customer with email 'Anna@Example.com'" in problem(again)["detail"]


async def test_customers_without_email_do_not_collide(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    await world.ok("POST", "/v1/customers", tenant.admin, 201, json={"name": "Walk-in"})
    await world.ok("POST", "/v1/customers", tenant.admin, 201, json={"name": "Walk-in"})


async def test_search_finds_a_customer_by_part_of_name_email_or_phone(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    till = await _till(world, tenant)
    await world.ok(
        "POST",
        "/v1/customers",
        tenant.admin,
        201,
        json={"name": "Anna Weber", "email": "anna@example.com", "phone": "+49 30 1234"},
    )
    await world.ok("POST", "/v1/customers", tenant.admin, 201, json={"name": "Bob"})

    by_name = await world.ok("GET", "/v1/customers?search=weber", till)
    by_phone = await world.ok("GET", "/v1/customers", till, params={"search": "30 12"})
    nobody = await world.ok("GET", "/v1/customers?search=zoe", till)

    assert [c["name"] for c in by_name["items"]] == ["Anna Weber"]
    assert [c["name"] for c in by_phone["items"]] == ["Anna Weber"]
    assert nobody["items"] == []


async def test_archiving_a_customer_needs_the_back_office(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    till = await _till(world, tenant)
    customer = await world.ok("POST", "/v1/customers", till, 201, json={"name": "Anna"})
    path = f"/v1/customers/{customer['id']}"

    refused = await world.client.patch(path, headers=till, json={"active": False})
    archived = await world.ok(
        "PATCH", path, {**tenant.admin, "If-Match": '"1"'}, json={"active": False}
    )

    assert refused.status_code == 403
    assert archived["active"] is False
    assert [e["type"] for e in await world.events_of(customer["id"])] == [
        "customer.created",
        "customer.updated",
    ]


async def test_bad_email_and_country_are_refused_naming_the_field(world: RegistersWorld) -> None:
    tenant = await world.tenant()

    refused = await world.client.post(
        "/v1/customers",
        headers=tenant.admin,
        json={"name": "Anna", "email": "anna at example", "country_code": "Germany"},
    )

    assert refused.status_code == 422
    fields = {error["field"] for error in problem(refused)["errors"]}
    assert fields == {"email", "country_code"}
