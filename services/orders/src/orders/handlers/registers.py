"""The local register replica: kept from the registers service's events, read by every sale."""

from __future__ import annotations

from datetime import time
from uuid import UUID

import structlog

from orders import repository as repo
from orders.domain.model import Register
from shared.actor import Actor
from shared.errors import ConflictError, InvalidRequestError
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
    if not register.active:
        raise ConflictError(
            f"Register {register.name!r} is deactivated; an admin must reactivate it "
            "before it can take orders or refunds."
        )
    return register


class RegisterReplicaHandlers:
    async def apply_register_state(
        self, db: Db, envelope: EventEnvelope, data: RegisterState
    ) -> None:
        hours, minutes = (int(part) for part in data.business_day_cutoff.split(":")[:2])
        applied = await repo.upsert_register(
            db,
            tenant_id=envelope.tenant_id,
            register_id=data.register_id,
            shop_id=data.shop_id,
            name=data.name,
            receipt_prefix=data.receipt_prefix,
            active=data.active,
            currency=data.currency,
            timezone=data.timezone,
            business_day_cutoff=time(hours, minutes),
            prices_include_tax=data.prices_include_tax,
            tenant_tier=data.tenant_tier,
            version=envelope.aggregate_version,
        )
        if not applied:
            log.info("register_state_stale", register_id=str(data.register_id))
