"""Tenants, shops and payment methods: what an admin creates and changes, and what is announced."""

from __future__ import annotations

from test_support.registers import RegistersWorld, problem


async def test_platform_admin_creates_a_tenant_and_it_is_announced(world: RegistersWorld) -> None:
    created = await world.ok(
        "POST",
        "/v1/tenants",
        world.platform,
        201,
        json={
            "name": "Bakery Bros",
            "tier": "pro",
            "default_currency": "CHF",
            "default_timezone": "Europe/Zurich",
        },
    )
    assert (created["tier"], created["default_currency"], created["version"]) == ("pro", "CHF", 1)
    [event] = await world.events_of(created["id"])
    assert event["type"] == "tenant.created"
    assert event["tenant_id"] == created["id"]
    assert event["data"]["default_timezone"] == "Europe/Zurich"


async def test_platform_admin_lists_every_tenant_and_an_admin_only_its_own(
    world: RegistersWorld,
) -> None:
    first = await world.tenant(name="First")
    second = await world.tenant(name="Second")
    everyone = await world.ok("GET", "/v1/tenants?limit=250", world.platform)
    ids = {item["id"] for item in everyone["items"]}
    assert {str(first.id), str(second.id)} <= ids
    own = await world.ok("GET", "/v1/tenants", first.admin)
    assert [item["id"] for item in own["items"]] == [str(first.id)]


async def test_shop_defaults_to_the_tenants_currency_and_zone(world: RegistersWorld) -> None:
    tenant = await world.tenant(default_currency="GBP", default_timezone="Europe/London")
    shop = await world.shop(tenant, name="Soho")
    assert (shop["currency"], shop["timezone"], shop["business_day_cutoff"]) == (
        "GBP",
        "Europe/London",
        "04:00",
    )
    [event] = await world.events_of(shop["id"])
    assert (event["type"], event["data"]["name"]) == ("shop.created", "Soho")


async def test_shop_change_is_announced_and_carried_to_its_registers(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    register = await world.register(tenant, shop)

    changed = await world.ok(
        "PATCH",
        f"/v1/shops/{shop['id']}",
        tenant.admin,
        json={"name": "Harbour", "business_day_cutoff": "05:30", "timezone": "Europe/Berlin"},
    )

    assert (changed["name"], changed["business_day_cutoff"], changed["version"]) == (
        "Harbour",
        "05:30",
        2,
    )
    shop_event = (await world.events_of(shop["id"]))[-1]
    assert shop_event["type"] == "shop.updated"
    assert set(shop_event["data"]["changed"]) == {"name", "business_day_cutoff", "timezone"}
    register_event = (await world.events_of(register["id"]))[-1]
    assert register_event["type"] == "register.updated"
    assert register_event["aggregate_version"] == 2
    data = register_event["data"]
    assert (data["shop_name"], data["business_day_cutoff"], data["timezone"]) == (
        "Harbour",
        "05:30",
        "Europe/Berlin",
    )


async def test_shop_currency_cannot_change_once_it_has_registers(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    await world.register(tenant, shop)
    response = await world.client.patch(
        f"/v1/shops/{shop['id']}", json={"currency": "USD"}, headers=tenant.admin
    )
    assert response.status_code == 409
    assert "Open a new shop for the new currency" in response.json()["detail"]


async def test_patch_without_changes_writes_no_version_and_no_event(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    shop = await world.shop(tenant, name="Same")
    again = await world.ok("PATCH", f"/v1/shops/{shop['id']}", tenant.admin, json={"name": "Same"})
    assert again["version"] == 1
    assert len(await world.events_of(shop["id"])) == 1


async def test_tenant_tier_change_is_announced(world: RegistersWorld) -> None:
    tenant = await world.tenant("starter")
    upgraded = await world.ok(
        "PATCH", f"/v1/tenants/{tenant.id}", world.platform, json={"tier": "pro"}
    )
    assert (upgraded["tier"], upgraded["version"]) == ("pro", 2)
    event = (await world.events_of(tenant.id))[-1]
    assert (event["type"], event["data"]["tier"], event["data"]["changed"]) == (
        "tenant.updated",
        "pro",
        ["tier"],
    )


async def test_a_tenants_own_admin_renames_it_but_cannot_change_its_tier(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("starter")
    url = f"/v1/tenants/{tenant.id}"
    upgrade = await world.client.patch(url, json={"tier": "pro"}, headers=tenant.admin)
    assert upgrade.status_code == 403
    assert problem(upgrade)["detail"].startswith("Only a platform admin changes a tenant's tier")
    assert problem(upgrade)["errors"][0]["field"] == "tier"
    # Sending the tier it already has, with other changes, is no change of tier.
    renamed = await world.ok("PATCH", url, tenant.admin, json={"name": "Cafe", "tier": "starter"})
    assert (renamed["name"], renamed["tier"], renamed["version"]) == ("Cafe", "starter", 2)
    assert [event["type"] for event in await world.events_of(tenant.id)] == [
        "tenant.created",
        "tenant.updated",
    ]


async def test_payment_methods_are_created_changed_and_announced(world: RegistersWorld) -> None:
    tenant = await world.tenant("pro")
    method = await world.ok(
        "POST",
        "/v1/payment-methods",
        tenant.admin,
        201,
        json={"code": "CARD", "name": "Card", "kind": "card"},
    )
    linked = await world.ok(
        "PATCH",
        f"/v1/payment-methods/{method['id']}",
        tenant.admin,
        json={"odoo_payment_method_id": 2},
    )
    assert (linked["odoo_payment_method_id"], linked["version"]) == (2, 2)
    listed = await world.ok("GET", "/v1/payment-methods", tenant.admin)
    assert [item["code"] for item in listed["items"]] == ["CARD"]
    events = await world.events_of(method["id"])
    assert [e["type"] for e in events] == ["payment_method.created", "payment_method.updated"]
    assert events[-1]["data"]["odoo_payment_method_id"] == 2


async def test_registers_list_filters_by_shop_and_sync_state_and_pages(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    shop = await world.shop(tenant)
    other_shop = await world.shop(tenant, name="Other")
    registers = [await world.register(tenant, shop) for _ in range(3)]
    await world.register(tenant, other_shop)
    await world.odoo_synced(tenant, registers[0], odoo_id=9, name="Till 1")

    pending = await world.ok(
        "GET", f"/v1/registers?shop_id={shop['id']}&sync_state=pending_create", tenant.admin
    )
    assert {item["id"] for item in pending["items"]} == {r["id"] for r in registers[1:]}

    first_page = await world.ok("GET", f"/v1/registers?shop_id={shop['id']}&limit=2", tenant.admin)
    second_page = await world.ok(
        "GET",
        f"/v1/registers?shop_id={shop['id']}&limit=2&cursor={first_page['next_cursor']}",
        tenant.admin,
    )
    paged = [item["id"] for item in first_page["items"] + second_page["items"]]
    assert sorted(paged) == sorted(r["id"] for r in registers)
    assert second_page["next_cursor"] is None


async def test_get_answers_with_an_etag_of_the_version(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    response = await world.client.get(f"/v1/registers/{register['id']}", headers=tenant.admin)
    assert response.headers["etag"] == '"1"'
    ok = await world.client.patch(
        f"/v1/registers/{register['id']}",
        json={"name": "Renamed"},
        headers={**tenant.admin, "If-Match": response.headers["etag"]},
    )
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"2"'
