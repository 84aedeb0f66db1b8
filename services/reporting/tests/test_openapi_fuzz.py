"""Property-based fuzzing of the reporting API against its own OpenAPI document."""

from __future__ import annotations

import random
from datetime import date

from reporting.api import router
from shared.auth import Role
from test_support.openapi_fuzzing import FuzzTarget, openapi_fuzz_test
from test_support.reporting import ReportingWorld, Shop, trading_day


async def _target(world: ReportingWorld) -> FuzzTarget:
    shop = Shop.new()
    day = date(2026, 11, 20)
    events = trading_day(shop, day, random.Random(12), orders=6, refunds=2)
    await world.feed(events)
    session = next(e for e in events if e.type == "session.opened")
    till = world.issuer.issue(
        subject="till",
        tenant_id=shop.tenant_id,
        role=Role.CASHIER,
        register_id=shop.register_ids[0],
    )
    return FuzzTarget(
        world.client,
        tokens=[
            world.token(shop.tenant_id, Role.MANAGER),
            world.token(shop.tenant_id, Role.ADMIN),
            {"Authorization": f"Bearer {till}"},
        ],
        known={
            "shop_id": str(shop.shop_id),
            "session_id": str(session.aggregate_id),
            "business_date": day.isoformat(),
            "from": day.isoformat(),
            "to": day.isoformat(),
        },
    )


test_every_answer_is_documented_and_none_is_a_5xx = openapi_fuzz_test(
    router.routes, _target, max_examples=100
)
