"""The register's Odoo sync state machine, one test per rule, through the API and the events."""

from __future__ import annotations

import asyncio
from typing import Any

from test_support.registers import RegistersWorld


def _last_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    return events[-1]


async def test_register_on_pro_tenant_starts_pending_create(world: RegistersWorld) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    assert register["sync_state"] == "pending_create"
    [created] = await world.events_of(register["id"])
    assert created["type"] == "register.created"
    assert created["data"]["sync_state"] == "pending_create"
    assert created["data"]["tenant_tier"] == "pro"
    assert created["aggregate_version"] == 1


async def test_register_on_starter_tenant_is_local(world: RegistersWorld) -> None:
    tenant = await world.tenant("starter")
    register = await world.register(tenant)
    assert register["sync_state"] == "local"
    assert register["odoo_pos_config_id"] is None


async def test_upgrading_to_pro_queues_a_create_for_each_active_register(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("starter")
    shop = await world.shop(tenant)
    active = await world.register(tenant, shop)
    inactive = await world.register(tenant, shop)
    await world.patch_register(tenant, inactive, active=False)

    await world.ok("PATCH", f"/v1/tenants/{tenant.id}", world.platform, json={"tier": "pro"})

    assert (await world.get_register(tenant, active))["sync_state"] == "pending_create"
    assert (await world.get_register(tenant, inactive))["sync_state"] == "local"
    event = _last_event(await world.events_of(active["id"]))
    assert event["type"] == "register.updated"
    assert event["data"]["sync_state"] == "pending_create"
    assert event["data"]["tenant_tier"] == "pro"
    assert set(event["data"]["changed"]) == {"tenant_tier", "sync_state"}


async def test_downgrading_to_starter_keeps_the_odoo_link_and_goes_local(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    await world.odoo_synced(tenant, register, odoo_id=41, name="Till 1")

    await world.ok("PATCH", f"/v1/tenants/{tenant.id}", world.platform, json={"tier": "starter"})
    local = await world.get_register(tenant, register)
    assert (local["sync_state"], local["odoo_pos_config_id"]) == ("local", 41)

    await world.ok("PATCH", f"/v1/tenants/{tenant.id}", world.platform, json={"tier": "pro"})
    # Back on Pro, the existing pos.config is updated, never created a second time.
    back = await world.get_register(tenant, register)
    assert (back["sync_state"], back["odoo_pos_config_id"]) == ("pending_update", 41)


async def test_rename_of_synced_register_queues_an_update_with_a_fresh_budget(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    await world.odoo_synced(tenant, register, odoo_id=7, name="Till 1")

    renamed = await world.patch_register(tenant, register, name="Front counter")

    assert renamed["sync_state"] == "pending_update"
    assert renamed["sync"]["attempts"] == 0
    event = _last_event(await world.events_of(register["id"]))
    assert event["data"]["sync_state"] == "pending_update"
    assert event["data"]["name"] == "Front counter"
    assert event["data"]["odoo_pos_config_id"] == 7
    assert event["aggregate_version"] == renamed["version"]
    assert set(event["data"]["changed"]) == {"name", "sync_state"}


async def test_deactivate_and_reactivate_of_synced_register_queue_updates(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    synced = await world.odoo_synced(tenant, register, odoo_id=7, name="Till 1")
    assert synced["sync_state"] == "synced"

    deactivated = await world.patch_register(tenant, register, active=False)
    assert deactivated["sync_state"] == "pending_update"
    archived = await world.odoo_synced(
        tenant,
        register,
        odoo_id=7,
        name="Till 1",
        active=False,
        operation="update",
        version=deactivated["version"],
    )
    assert archived["sync_state"] == "synced"
    reactivated = await world.patch_register(tenant, register, active=True)
    assert reactivated["sync_state"] == "pending_update"


async def test_rename_of_starter_register_queues_nothing(world: RegistersWorld) -> None:
    tenant = await world.tenant("starter")
    register = await world.register(tenant)
    renamed = await world.patch_register(tenant, register, name="Terrace", active=False)
    assert renamed["sync_state"] == "local"
    event = _last_event(await world.events_of(register["id"]))
    assert event["data"]["sync_state"] == "local"
    assert set(event["data"]["changed"]) == {"active", "name"}


async def test_rename_during_pending_create_stays_pending_create(world: RegistersWorld) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    renamed = await world.patch_register(tenant, register, name="Terrace", active=False)
    assert renamed["sync_state"] == "pending_create"
    assert renamed["odoo_pos_config_id"] is None


async def test_create_landing_after_a_rename_in_flight_queues_an_update(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant, name="Till 1")
    await world.patch_register(tenant, register, name="Terrace")

    # The connector created the pos.config with the name it had when the create left.
    after = await world.odoo_synced(tenant, register, odoo_id=12, name="Till 1")

    assert after["sync_state"] == "pending_update"
    assert after["odoo_pos_config_id"] == 12
    event = _last_event(await world.events_of(register["id"]))
    assert event["data"]["sync_state"] == "pending_update"
    assert event["data"]["name"] == "Terrace"
    assert event["data"]["odoo_pos_config_id"] == 12


async def test_create_landing_with_current_name_is_synced(world: RegistersWorld) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant, name="Till 1")
    after = await world.odoo_synced(tenant, register, odoo_id=12, name="Till 1")
    assert after["sync_state"] == "synced"
    assert after["odoo_pos_config_id"] == 12
    assert after["sync"]["last_synced_at"] is not None


async def test_failed_create_is_sync_error_and_waits_for_an_operator(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    failed = await world.odoo_sync_failed(
        tenant, register, version=1, message="Invalid field 'foo' on model 'pos.config'"
    )
    assert failed["sync_state"] == "sync_error"
    assert failed["sync"]["last_error"] == (
        "ValidationError: Invalid field 'foo' on model 'pos.config'"
    )
    assert failed["sync"]["attempts"] == 6

    renamed = await world.patch_register(tenant, register, name="Still not in Odoo")
    assert renamed["sync_state"] == "sync_error"

    retried = await world.ok("POST", f"/v1/registers/{register['id']}/retry-sync", tenant.admin)
    assert retried["sync_state"] == "pending_create"
    assert retried["sync"]["attempts"] == 0
    event = _last_event(await world.events_of(register["id"]))
    assert (event["type"], event["data"]["sync_state"]) == ("register.updated", "pending_create")


async def test_failed_update_is_requeued_by_the_next_edit(world: RegistersWorld) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    await world.odoo_synced(tenant, register, odoo_id=5, name="Till 1")
    renamed = await world.patch_register(tenant, register, name="Bar")
    failed = await world.odoo_sync_failed(
        tenant, register, version=renamed["version"], operation="update"
    )
    assert (failed["sync_state"], failed["odoo_pos_config_id"]) == ("sync_error", 5)

    again = await world.patch_register(tenant, register, name="Bar counter")
    assert again["sync_state"] == "pending_update"
    assert again["sync"]["attempts"] == 0


async def test_failure_of_a_push_older_than_the_current_budget_is_ignored(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    await world.odoo_synced(tenant, register, odoo_id=5, name="Till 1")
    first = await world.patch_register(tenant, register, name="Bar")
    second = await world.patch_register(tenant, register, name="Bar counter")

    after = await world.odoo_sync_failed(
        tenant, register, version=first["version"], operation="update"
    )

    assert after["sync_state"] == "pending_update"
    assert after["version"] == second["version"]


async def test_receipt_prefix_change_never_changes_the_sync_state(world: RegistersWorld) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    await world.odoo_synced(tenant, register, odoo_id=5, name="Till 1")
    changed = await world.patch_register(tenant, register, receipt_prefix="NEWP")
    assert changed["sync_state"] == "synced"
    event = _last_event(await world.events_of(register["id"]))
    assert event["data"]["receipt_prefix"] == "NEWP"
    assert event["data"]["changed"] == ["receipt_prefix"]


async def test_linking_an_existing_pos_config_sets_synced_without_odoo_work(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    linked = await world.patch_register(tenant, register, odoo_pos_config_id=3)
    assert (linked["sync_state"], linked["odoo_pos_config_id"]) == ("synced", 3)
    event = _last_event(await world.events_of(register["id"]))
    assert event["data"]["sync_state"] == "synced"
    assert event["data"]["odoo_pos_config_id"] == 3


async def test_a_register_linked_at_creation_is_synced_and_queues_no_create(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant, odoo_pos_config_id=4)
    assert (register["sync_state"], register["odoo_pos_config_id"]) == ("synced", 4)
    [created] = await world.events_of(register["id"])
    assert (created["data"]["sync_state"], created["data"]["odoo_pos_config_id"]) == ("synced", 4)


async def test_a_create_landing_after_the_admin_linked_the_register_is_ignored(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    linked = await world.patch_register(tenant, register, odoo_pos_config_id=3)

    # The connector's create from before the link lands late with another pos.config.
    after = await world.odoo_synced(tenant, register, odoo_id=9, name="Till 1", version=1)

    assert (after["sync_state"], after["odoo_pos_config_id"]) == ("synced", 3)
    assert after["version"] == linked["version"]


async def test_linking_a_starter_register_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant("starter")
    refused = await world.client.post(
        f"/v1/shops/{(await world.shop(tenant))['id']}/registers",
        json={"name": "Till", "receipt_prefix": "LINK", "odoo_pos_config_id": 3},
        headers=tenant.admin,
    )
    assert refused.status_code == 409
    assert "upgrade the tenant to Pro" in refused.json()["detail"]
    register = await world.register(tenant)
    response = await world.client.patch(
        f"/v1/registers/{register['id']}", json={"odoo_pos_config_id": 3}, headers=tenant.admin
    )
    assert response.status_code == 409
    assert "upgrade the tenant to Pro" in response.json()["detail"]


async def test_retry_of_a_register_that_is_not_in_error_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    response = await world.client.post(
        f"/v1/registers/{register['id']}/retry-sync", headers=tenant.admin
    )
    assert response.status_code == 409
    assert "only a register in sync_error can be retried" in response.json()["detail"]


async def test_concurrent_patches_on_one_register_each_get_their_own_version(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    await world.odoo_synced(tenant, register, odoo_id=5, name="Till 1")
    names = [f"Till {n}" for n in range(2, 12)]

    results = await asyncio.gather(
        *(world.patch_register(tenant, register, name=name) for name in names)
    )

    versions = sorted(result["version"] for result in results)
    assert versions == list(range(3, 13))
    events = await world.events_of(register["id"])
    assert [e["aggregate_version"] for e in events] == list(range(1, 13))
    final = await world.get_register(tenant, register)
    assert final["name"] == events[-1]["data"]["name"]
    assert final["sync_state"] == "pending_update"


async def test_concurrent_patches_with_the_same_if_match_let_exactly_one_win(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant("pro")
    register = await world.register(tenant)
    headers = {**tenant.admin, "If-Match": f'"{register["version"]}"'}

    responses = await asyncio.gather(
        *(
            world.client.patch(
                f"/v1/registers/{register['id']}", json={"name": f"N{n}"}, headers=headers
            )
            for n in range(6)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409, 409, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "read it again and reapply your change" in loser.json()["detail"]
