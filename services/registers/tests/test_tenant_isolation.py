"""No request reads or changes another tenant's data: to a foreign id the answer is 404."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.events.contracts import RegisterOdooSynced
from test_support.registers import RegistersWorld, problem


@pytest.fixture
async def foreign(world: RegistersWorld) -> dict[str, Any]:
    """Another tenant's shop, register, payment method and token."""
    other = await world.tenant("pro", name="Other")
    shop = await world.shop(other)
    register = await world.register(other, shop)
    method = await world.ok(
        "POST",
        "/v1/payment-methods",
        other.admin,
        201,
        json={"code": "CASH", "name": "Cash", "kind": "cash"},
    )
    token = await world.issue(other.admin, role="manager", subject="their manager")
    return {
        "tenant": str(other.id),
        "shop": shop["id"],
        "register": register["id"],
        "method": method["id"],
        "token": token["id"],
    }


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("GET", "/v1/tenants/{tenant}", None),
        ("PATCH", "/v1/tenants/{tenant}", {"tier": "starter"}),
        ("GET", "/v1/shops/{shop}", None),
        ("PATCH", "/v1/shops/{shop}", {"name": "Mine"}),
        ("POST", "/v1/shops/{shop}/registers", {"name": "Mine", "receipt_prefix": "MINE"}),
        ("GET", "/v1/registers/{register}", None),
        ("PATCH", "/v1/registers/{register}", {"name": "Mine"}),
        ("POST", "/v1/registers/{register}/retry-sync", None),
        ("GET", "/v1/payment-methods/{method}", None),
        ("PATCH", "/v1/payment-methods/{method}", {"name": "Mine"}),
        ("DELETE", "/v1/tokens/{token}", None),
    ],
)
async def test_foreign_ids_are_not_found(
    world: RegistersWorld, foreign: dict[str, Any], method: str, path: str, json: Any
) -> None:
    mine = await world.tenant()
    response = await world.client.request(
        method, path.format(**foreign), json=json, headers=mine.admin
    )
    assert response.status_code == 404, response.text
    assert problem(response)["title"] == "Not found"


async def test_a_device_token_for_a_foreign_register_is_not_issued(
    world: RegistersWorld, foreign: dict[str, Any]
) -> None:
    mine = await world.tenant()
    response = await world.client.post(
        "/v1/tokens",
        json={"role": "cashier", "subject": "tablet", "register_id": foreign["register"]},
        headers=mine.admin,
    )
    assert response.status_code == 404
    assert "There is no register" in problem(response)["detail"]


async def test_lists_show_only_the_callers_tenant(
    world: RegistersWorld, foreign: dict[str, Any]
) -> None:
    mine = await world.tenant()
    for path in ("/v1/shops", "/v1/registers", "/v1/payment-methods", "/v1/tokens"):
        listed = await world.ok("GET", path, mine.admin)
        ids = {item["id"] for item in listed["items"]}
        assert not ids & set(foreign.values()), path


async def test_a_connector_result_for_a_foreign_register_changes_nothing(
    world: RegistersWorld, foreign: dict[str, Any]
) -> None:
    mine = await world.tenant("pro")
    # Published under my tenant id, naming their register: must be ignored.
    await world.as_connector(
        mine,
        {"id": foreign["register"]},
        RegisterOdooSynced(
            register_id=uuid.UUID(foreign["register"]),
            operation="create",
            odoo_pos_config_id=99,
            pushed_name="Till 1",
            pushed_active=True,
            register_version=1,
        ),
    )
    row = await world.pool.fetchrow(
        f"SELECT sync_state, odoo_pos_config_id FROM {world.schema}.registers "
        "WHERE register_id = $1",
        uuid.UUID(foreign["register"]),
    )
    assert row is not None
    assert (row["sync_state"], row["odoo_pos_config_id"]) == ("pending_create", None)
