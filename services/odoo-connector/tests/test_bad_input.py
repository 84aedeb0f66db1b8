"""Every bad request gets problem+json naming the field, before anything reaches Postgres."""

from __future__ import annotations

import uuid

from odoo_connector.api import router
from shared.auth import Role
from shared.http_fields import NUL_MESSAGE
from test_support.odoo_connector import ConnectorWorld
from test_support.request_inputs import input_contract_tests

GOOD = {
    "url": "https://cafe.example.com",
    "database": "cafe",
    "login": "pos-bot",
    "secret": "an api key",
}


async def _tokens(world: ConnectorWorld) -> list[dict[str, str]]:
    tenant_id = uuid.uuid4()
    return [world.token(tenant_id, role) for role in (Role.ADMIN, Role.MANAGER, Role.CASHIER)]


(
    test_a_nul_in_any_text_input_is_refused_naming_it,
    test_an_integer_input_is_bounded_within_its_column,
) = input_contract_tests(router.routes, "odoo_connector", _tokens)


async def test_settings_with_a_nul_and_a_huge_template_name_every_field_and_store_nothing(
    world: ConnectorWorld,
) -> None:
    tenant_id = uuid.uuid4()
    body = {**GOOD, "database": "ca\u0000fe", "login": "\u0000", "template_pos_config_id": 2**31}
    response = await world.client.put(
        f"/v1/tenants/{tenant_id}/odoo", json=body, headers=world.token(tenant_id)
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [
        {"field": "database", "message": NUL_MESSAGE},
        {"field": "login", "message": NUL_MESSAGE},
        {"field": "template_pos_config_id", "message": "must be at most 2147483647"},
    ]
    stored = await world.pool.fetchval(f"SELECT count(*) FROM {world.schema}.odoo_settings")
    assert stored == 0
