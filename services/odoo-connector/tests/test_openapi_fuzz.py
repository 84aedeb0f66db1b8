"""Property-based fuzzing of the connector's API against its own OpenAPI document."""

from __future__ import annotations

import uuid

from schemathesis import Case

from odoo_connector.api import router
from shared.auth import Role
from test_support.odoo_connector import ConnectorWorld
from test_support.openapi_fuzzing import FuzzTarget, openapi_fuzz_test

# A closed port on this machine: a check of stored settings is refused at once, and no
# generated address outside this machine is ever called.
NOWHERE = "http://127.0.0.1:9"


def _keep_odoo_on_this_machine(case: Case) -> None:
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = NOWHERE


async def _target(world: ConnectorWorld) -> FuzzTarget:
    tenant_id = uuid.uuid4()
    settings = {"url": NOWHERE, "database": "cafe", "login": "bot", "secret": "key"}
    stored = await world.client.put(
        f"/v1/tenants/{tenant_id}/odoo", json=settings, headers=world.token(tenant_id)
    )
    assert stored.status_code == 200, stored.text
    return FuzzTarget(
        world.client,
        tokens=[world.token(tenant_id, role) for role in (Role.ADMIN, Role.MANAGER, Role.CASHIER)],
        known={"tenant_id": str(tenant_id)},
        adjust=_keep_odoo_on_this_machine,
    )


test_every_answer_is_documented_and_none_is_a_5xx = openapi_fuzz_test(
    router.routes, _target, max_examples=150
)
