"""The local register replica: kept from the registers service's events, read by every sale."""

from __future__ import annotations

from uuid import UUID

import structlog

from orders import repository as repo
from orders.domain.model import Register
from orders.domain.sale import require_open_for_sale
from orders.events import register_replica
from shared.actor import Actor
from shared.errors import InvalidRequestError
from shared.events.contracts import RegisterState
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

log = structlog.get_logger(__name__)


async def register_for_sale(db: Db, actor: Actor, register_id: UUID) -> Register:
    """The register an order, refund or session is on, known here and active."""
    register = await repo.get_register(db, actor.tenant_id, register_id)
    if register is None:
        raise InvalidRequestError(
            f"Register {register_id} is not known. If it was created a moment ago, "
            "retry shortly; otherwise check the register id on this device.",
            field="register_id",
        )
    require_open_for_sale(register)
    return register


class RegisterReplicaHandlers:
    async def apply_register_state(
        self, db: Db, envelope: EventEnvelope, data: RegisterState
    ) -> None:
        register = register_replica(envelope.tenant_id, data)
        applied = await repo.upsert_register(db, register, envelope.aggregate_version)
        if not applied:
            log.info("register_state_stale", register_id=str(data.register_id))
