"""A token the registers service revokes is refused by reporting too."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.auth import Role
from shared.events.contracts import TokenRevoked
from test_support.event_publishing import publish_as_another_service
from test_support.polling import eventually
from test_support.reporting import ReportingWorld


async def test_a_revoked_token_is_refused_by_reporting(world: ReportingWorld) -> None:
    tenant_id, token_id = uuid.uuid4(), uuid.uuid4()
    token = world.issuer.issue(
        subject="manager@test", tenant_id=tenant_id, role=Role.MANAGER, token_id=token_id
    )
    headers = {"Authorization": f"Bearer {token}"}
    params = {"shop_id": str(uuid.uuid4())}
    before = await world.client.get("/v1/dashboard", params=params, headers=headers)
    assert before.status_code != 401, before.text

    await publish_as_another_service(
        world.settings.amqp_url,
        world.settings.exchange_name,
        TokenRevoked(token_id=token_id, expires_at=datetime.now(UTC) + timedelta(hours=1)),
        tenant_id=tenant_id,
        aggregate_id=token_id,
    )

    async def refused() -> bool:
        response = await world.client.get("/v1/dashboard", params=params, headers=headers)
        return response.status_code == 401 and "revoked" in response.json()["detail"]

    await eventually(refused, what="reporting refusing the revoked token")
