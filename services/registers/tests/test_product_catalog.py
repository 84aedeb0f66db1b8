"""The tenant's catalog: products and categories an admin keeps, and what a till may sell."""

from __future__ import annotations

import uuid
from typing import Any

from test_support.registers import RegistersWorld, Tenant, problem


def _product(**overrides: Any) -> dict[str, Any]:
    return {
        "reference": "FW",
        "name": "Flat white",
        "prices": [{"amount": 350, "currency": "EUR"}],
        "tax_rate_percent": "10",
        **overrides,
    }


async def _cashier(world: RegistersWorld, tenant: Tenant, register: dict[str, Any]) -> Any:
    return await world.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=register["id"]
    )


async def test_product_is_created_versioned_and_announced(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    category = await world.ok(
        "POST", "/v1/product-categories", tenant.admin, 201, json={"name": "Coffee"}
    )
    product = await world.ok(
        "POST",
        "/v1/products",
        tenant.admin,
        201,
        json=_product(category_id=category["id"], tax_rate_percent="5.500"),
    )
    assert (product["version"], product["active"], product["tax_rate_percent"]) == (1, True, "5.5")
    assert product["prices"] == [{"amount": 350, "currency": "EUR"}]
    [event] = await world.events_of(product["id"])
    assert event["type"] == "catalog.product.created"
    assert event["data"]["prices"] == {"EUR": 350}
    assert event["data"]["category_id"] == category["id"]
    [category_event] = await world.events_of(category["id"])
    assert category_event["type"] == "catalog.category.created"
    assert event["data"]["catalog_revision"] == category_event["data"]["catalog_revision"] + 1


async def test_price_change_needs_the_version_read_and_is_announced(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    product = await world.ok("POST", "/v1/products", tenant.admin, 201, json=_product())
    path = f"/v1/products/{product['id']}"
    new_price = {"prices": [{"amount": 380, "currency": "EUR"}]}

    changed = await world.ok(
        "PATCH", path, {**tenant.admin, "If-Match": '"1"'}, 200, json=new_price
    )
    stale = await world.client.patch(
        path, headers={**tenant.admin, "If-Match": '"1"'}, json={"name": "Latte"}
    )

    assert (changed["version"], changed["prices"][0]["amount"]) == (2, 380)
    assert stale.status_code == 409
    assert problem(stale)["type"] == "urn:pos:problem:stale-version"
    assert "changed since you read it" in problem(stale)["detail"]
    events = await world.events_of(product["id"])
    assert [e["type"] for e in events] == ["catalog.product.created", "catalog.product.updated"]
    assert events[1]["data"]["changed"] == ["prices"]


async def test_product_reference_is_unique_in_a_tenant_only(world: RegistersWorld) -> None:
    first = await world.tenant(name="First")
    second = await world.tenant(name="Second")
    await world.ok("POST", "/v1/products", first.admin, 201, json=_product())
    await world.ok("POST", "/v1/products", second.admin, 201, json=_product())

    again = await world.client.post("/v1/products", headers=first.admin, json=_product())

    assert again.status_code == 409
    assert "already has a product with reference 'FW'" in problem(again)["detail"]


async def test_product_naming_another_tenants_shop_is_refused_with_the_ids(
    world: RegistersWorld,
) -> None:
    ours = await world.tenant(name="Ours")
    theirs = await world.tenant(name="Theirs")
    their_shop = await world.shop(theirs)

    refused = await world.client.post(
        "/v1/products", headers=ours.admin, json=_product(shop_ids=[their_shop["id"]])
    )

    assert refused.status_code == 422
    body = problem(refused)
    assert their_shop["id"] in body["detail"]
    assert "shop_ids" in body["detail"]


async def test_product_with_an_unknown_category_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    missing = uuid.uuid4()

    refused = await world.client.post(
        "/v1/products", headers=tenant.admin, json=_product(category_id=str(missing))
    )

    assert refused.status_code == 422
    assert f"no product category {missing}" in problem(refused)["detail"]


async def test_two_prices_in_one_currency_are_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    prices = [{"amount": 350, "currency": "EUR"}, {"amount": 360, "currency": "EUR"}]

    refused = await world.client.post(
        "/v1/products", headers=tenant.admin, json=_product(prices=prices)
    )

    assert refused.status_code == 422
    assert "EUR twice" in problem(refused)["detail"]


async def test_tax_rate_over_a_hundred_percent_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()

    refused = await world.client.post(
        "/v1/products", headers=tenant.admin, json=_product(tax_rate_percent="120")
    )

    assert refused.status_code == 422
    assert "at most 100" in refused.text


async def test_register_sells_only_what_is_offered_there_in_its_currency(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    paris = await world.shop(tenant, name="Paris")
    zurich = await world.shop(tenant, name="Zurich", currency="CHF")
    till = await world.register(tenant, paris)
    other_till = await world.register(tenant, paris)
    eur = [{"amount": 350, "currency": "EUR"}]
    offered = {
        "EVERY": _product(reference="EVERY", prices=eur),
        "SHOP": _product(reference="SHOP", prices=eur, shop_ids=[paris["id"]]),
        "TILL": _product(reference="TILL", prices=eur, register_ids=[till["id"]]),
        "OTHER": _product(reference="OTHER", prices=eur, register_ids=[other_till["id"]]),
        "ZURICH": _product(reference="ZURICH", prices=eur, shop_ids=[zurich["id"]]),
        "CHF": _product(reference="CHF", prices=[{"amount": 500, "currency": "CHF"}]),
    }
    for body in offered.values():
        await world.ok("POST", "/v1/products", tenant.admin, 201, json=body)
    archived = await world.ok(
        "POST", "/v1/products", tenant.admin, 201, json=_product(reference="OLD")
    )
    await world.ok("PATCH", f"/v1/products/{archived['id']}", tenant.admin, json={"active": False})

    catalog = await world.ok("GET", "/v1/catalog", await _cashier(world, tenant, till))

    assert catalog["currency"] == "EUR"
    assert [p["reference"] for p in catalog["products"]] == ["EVERY", "SHOP", "TILL"]
    assert catalog["products"][0]["unit_price"] == {"amount": 350, "currency": "EUR"}


async def test_unchanged_catalog_answers_304_and_a_change_a_new_etag(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    product = await world.ok("POST", "/v1/products", tenant.admin, 201, json=_product())
    cashier = await _cashier(world, tenant, register)
    first = await world.client.get("/v1/catalog", headers=cashier)
    etag = first.headers["ETag"]

    unchanged = await world.client.get("/v1/catalog", headers={**cashier, "If-None-Match": etag})
    await world.ok(
        "PATCH", f"/v1/products/{product['id']}", tenant.admin, json={"name": "Flat white L"}
    )
    changed = await world.client.get("/v1/catalog", headers={**cashier, "If-None-Match": etag})

    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == etag
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.json()["products"][0]["name"] == "Flat white L"


async def test_cashier_cannot_read_another_registers_catalog(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    own = await world.register(tenant, shop)
    other = await world.register(tenant, shop)

    refused = await world.client.get(
        f"/v1/catalog?register_id={other['id']}", headers=await _cashier(world, tenant, own)
    )

    assert refused.status_code == 403
    assert f"belongs to register {own['id']}" in problem(refused)["detail"]


async def test_admin_must_name_the_register_whose_catalog_it_reads(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)

    unnamed = await world.client.get("/v1/catalog", headers=tenant.admin)
    named = await world.ok("GET", f"/v1/catalog?register_id={register['id']}", tenant.admin)

    assert unnamed.status_code == 422
    assert "register_id" in problem(unnamed)["detail"]
    assert named["register_id"] == register["id"]


async def test_products_list_filters_by_category_and_activity(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    coffee = await world.ok(
        "POST", "/v1/product-categories", tenant.admin, 201, json={"name": "Coffee"}
    )
    await world.ok(
        "POST", "/v1/products", tenant.admin, 201, json=_product(category_id=coffee["id"])
    )
    cake = await world.ok(
        "POST", "/v1/products", tenant.admin, 201, json=_product(reference="CAKE", name="Cake")
    )
    await world.ok("PATCH", f"/v1/products/{cake['id']}", tenant.admin, json={"active": False})

    in_coffee = await world.ok("GET", f"/v1/products?category_id={coffee['id']}", tenant.admin)
    archived = await world.ok("GET", "/v1/products?active=false", tenant.admin)

    assert [p["reference"] for p in in_coffee["items"]] == ["FW"]
    assert [p["reference"] for p in archived["items"]] == ["CAKE"]


async def test_category_name_is_unique_in_a_tenant(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    await world.ok("POST", "/v1/product-categories", tenant.admin, 201, json={"name": "Tea"})

    again = await world.client.post(
        "/v1/product-categories", headers=tenant.admin, json={"name": "Tea"}
    )

    assert again.status_code == 409
    assert "already has a product category named 'Tea'" in problem(again)["detail"]
