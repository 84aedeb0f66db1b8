"""Property-based fuzzing of the registers API against its own OpenAPI document."""

from __future__ import annotations

from hypothesis import strategies as st

from registers.api import router
from test_support.openapi_fuzzing import FuzzTarget, openapi_fuzz_test
from test_support.registers import RegistersWorld


async def _target(world: RegistersWorld) -> FuzzTarget:
    tenant = await world.tenant()
    shop = await world.shop(tenant)
    register = await world.register(tenant, shop)
    method_body = {"code": "CARD", "name": "Card", "kind": "card"}
    payment_method = await world.ok(
        "POST", "/v1/payment-methods", tenant.admin, 201, json=method_body
    )
    spare = await world.issue(tenant.admin, role="manager", subject="spare")
    cashier = await world.token_for(
        tenant.admin, role="cashier", subject="till", register_id=register["id"]
    )
    return FuzzTarget(
        world.client,
        tokens=[tenant.admin, cashier, world.platform],
        known={
            "tenant_id": str(tenant.id),
            "shop_id": shop["id"],
            "register_id": register["id"],
            "payment_method_id": payment_method["id"],
            "token_id": spare["id"],
            "currency": "EUR",
            "default_currency": "EUR",
            "timezone": "Europe/Paris",
            "default_timezone": "Europe/Paris",
            "business_day_cutoff": "04:00",
            "receipt_prefix": st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True),
        },
    )


test_every_answer_is_documented_and_none_is_a_5xx = openapi_fuzz_test(
    router.routes, _target, max_examples=40
)
