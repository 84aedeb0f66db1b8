"""A replica that only serves reports: no projector in its event loop, the reports as usual."""

from __future__ import annotations

import random
from datetime import date

from reporting.bootstrap import PROJECTION_QUEUE, TOKENS_QUEUE
from reporting.settings import ReportingSettings
from test_support.reporting import Shop, running_reporting, trading_day


async def test_a_replica_without_the_projector_serves_what_another_projected(
    settings: ReportingSettings,
) -> None:
    shop = Shop.new(registers=1)
    day = date(2026, 8, 5)
    async with running_reporting(settings) as projecting:
        await projecting.feed(trading_day(shop, day, random.Random(4), orders=6, refunds=1))
        expected = await projecting.get(
            "/v1/reports/daily", shop.tenant_id, shop_id=shop.shop_id, business_date=day
        )

        reports_only = settings.model_copy(update={"projector_enabled": False})
        async with running_reporting(reports_only) as serving:
            consumed = [consumer.name for consumer in serving.app.state.consumers]
            assert consumed == [TOKENS_QUEUE]
            assert PROJECTION_QUEUE not in consumed
            ready = await serving.client.get("/readyz")
            assert ready.status_code == 200, ready.text
            served = await serving.get(
                "/v1/reports/daily", shop.tenant_id, shop_id=shop.shop_id, business_date=day
            )

    assert {k: v for k, v in served.items() if k != "generated_at"} == {
        k: v for k, v in expected.items() if k != "generated_at"
    }
    assert served["totals"]["order_count"] == 6
