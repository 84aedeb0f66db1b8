"""The local register replica: kept from the registers service's events, read by every sale."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class KnownRegister:
    register: Register
    version: int


# Registers a process remembers; the oldest is forgotten first once there are more.
REGISTERS_KEPT = 10_000


class RegisterReplicaCache:
    """The register replica's rows as this process last read them, so a sale need not read its
    register first. A remembered row may be stale (another process may have applied a newer
    event): whoever writes with it checks its version in the same statement, and forgets it when
    that check fails."""

    def __init__(self, kept: int = REGISTERS_KEPT) -> None:
        self._known: dict[tuple[UUID, UUID], KnownRegister] = {}
        self._kept = kept

    async def get(self, db: Db, tenant_id: UUID, register_id: UUID) -> KnownRegister | None:
        """The register as remembered, else as read now; None if the replica has no such row."""
        key = (tenant_id, register_id)
        known = self._known.get(key)
        if known is not None:
            return known
        found = await repo.get_register_version(db, tenant_id, register_id)
        if found is None:
            return None
        known = KnownRegister(*found)
        if len(self._known) >= self._kept:
            del self._known[next(iter(self._known))]
        self._known[key] = known
        return known

    def forget(self, tenant_id: UUID, register_id: UUID) -> None:
        self._known.pop((tenant_id, register_id), None)


class RegisterReplicaHandlers:
    _registers: RegisterReplicaCache

    async def apply_register_state(
        self, db: Db, envelope: EventEnvelope, data: RegisterState
    ) -> None:
        register = register_replica(envelope.tenant_id, data)
        applied = await repo.upsert_register(db, register, envelope.aggregate_version)
        # Forgotten even before the commit: a sale that reads the old row meanwhile is caught by
        # the version check of its statement.
        self._registers.forget(envelope.tenant_id, data.register_id)
        if not applied:
            log.info("register_state_stale", register_id=str(data.register_id))
