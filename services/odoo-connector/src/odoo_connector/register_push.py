"""A register's pos.config in its tenant's Odoo: created by cloning the tenant's template, or
written to carry the register's name and state; in the register's lane, under its lock."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from odoo_connector import repository as repo
from odoo_connector.domain import (
    PosConfigMissingError,
    clonable_fields,
    many2one_id,
    may_still_be_linked,
    needs_pos_config_push,
    payment_method_ids_of,
    pos_config_changes,
    pos_config_clone,
)
from odoo_connector.odoo_pos import OdooPos, TenantOdoo
from odoo_connector.odoo_work import MESSAGES_PROCESSED, Apply, nothing
from odoo_connector.register_cash import RegisterCash, TemplateCash
from odoo_connector.register_lanes import RegisterLanes, Ticket
from shared.events.contracts import RegisterOdooSynced, RegisterState
from shared.events.envelope import EventEnvelope
from shared.outbox import add_event
from shared.postgres import Db
from shared.retry_topology import WaitForPrerequisite

log = structlog.get_logger(__name__)

# The tenant's Odoo, logged in (None for Starter), from the login cache the orders share.
TenantOdooOf = Callable[[UUID, repo.EventContext], Awaitable[TenantOdoo | None]]
# Turns Odoo's refusal of the stored credentials into a wait until they are fixed.
CredentialsWait = Callable[[UUID], AbstractContextManager[None]]
# The connector's event caused by another (same tenant, correlation and causation).
EventOf = Callable[[Any, EventEnvelope, UUID], EventEnvelope]


@dataclass(frozen=True)
class RegisterJob:
    """A register's pos.config to create or bring in line with the register."""

    odoo: TenantOdoo
    tenant_id: UUID
    register: RegisterState
    # The register's version (the event's aggregate_version).
    version: int
    template_pos_config_id: int | None


@dataclass(frozen=True)
class RegisterPushed:
    operation: str
    odoo_pos_config_id: int


class RegisterPush:
    def __init__(
        self,
        pool: asyncpg.Pool,
        odoo_pos: OdooPos,
        lanes: RegisterLanes,
        settle_s: float,
        *,
        tenant_odoo: TenantOdooOf,
        credentials_wait: CredentialsWait,
        event: EventOf,
    ) -> None:
        self._pool = pool
        self._odoo = odoo_pos
        self._lanes = lanes
        self._settle_s = settle_s
        self._tenant_odoo = tenant_odoo
        self._credentials_wait = credentials_wait
        self._event = event

    async def prepare_register(
        self, envelope: EventEnvelope, data: RegisterState, ticket: Ticket
    ) -> Apply:
        """A pending register: its pos.config created by clone, or written to match it."""
        if not needs_pos_config_push(data):
            MESSAGES_PROCESSED.labels(envelope.type, "no_odoo_work").inc()
            return nothing
        age_s = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
        if may_still_be_linked(data, age_s, self._settle_s):
            raise WaitForPrerequisite(
                "register_settling",
                f"register {data.register_id} was created {age_s:.1f}s ago; it may be linked "
                "to an existing pos.config yet",
            )
        with self._credentials_wait(envelope.tenant_id):
            async with self._pool.acquire() as conn:
                context = await repo.event_context(conn, envelope.tenant_id, data.register_id)
            # The event's tier is the register's truth; tenant.updated may still be on its way.
            context = dataclasses.replace(context, tier=data.tenant_tier)
            odoo = await self._tenant_odoo(envelope.tenant_id, context)
            assert odoo is not None
            assert context.settings is not None
            job = RegisterJob(
                odoo,
                envelope.tenant_id,
                data,
                envelope.aggregate_version,
                context.settings.template_pos_config_id,
            )
            with structlog.contextvars.bound_contextvars(
                tenant_id=str(envelope.tenant_id), register_id=str(data.register_id)
            ):
                pushed: RegisterPushed | None = await self._lanes.run(
                    ticket, ("register",), self._push_registers, job
                )
        if pushed is None:
            MESSAGES_PROCESSED.labels(envelope.type, "superseded").inc()
            return nothing

        async def apply(db: Db) -> None:
            await repo.record_pos_config(
                db,
                data.register_id,
                envelope.tenant_id,
                data.tenant_tier,
                data.sync_state,
                pushed.odoo_pos_config_id,
            )
            synced = RegisterOdooSynced(
                register_id=data.register_id,
                operation="create" if pushed.operation == "create" else "update",
                odoo_pos_config_id=pushed.odoo_pos_config_id,
                pushed_name=data.name,
                pushed_active=data.active,
                register_version=envelope.aggregate_version,
            )
            await add_event(db, self._event(synced, envelope, data.register_id))
            MESSAGES_PROCESSED.labels(envelope.type, "synced").inc()
            log.info(
                "register_synced",
                tenant_id=str(envelope.tenant_id),
                register_id=str(data.register_id),
                operation=pushed.operation,
                odoo_pos_config_id=pushed.odoo_pos_config_id,
            )

        return apply

    async def _push_registers(self, db: Db, jobs: list[RegisterJob]) -> list[Any]:
        """Under the register's lock, so two replicas never create its pos.config twice."""
        results: list[Any] = []
        for job in jobs:
            try:
                results.append(await self._push_register(db, job))
            except Exception as error:
                results.append(error)
        return results

    async def _push_register(self, db: Db, job: RegisterJob) -> RegisterPushed | None:
        """None for an event a newer one of the register supersedes (that one does the work)."""
        register = job.register
        if await self._superseded(db, job):
            return None
        creating = register.sync_state == "pending_create"
        config_id = register.odoo_pos_config_id or await repo.pos_config_of(
            db, register.register_id
        )
        if config_id is None and creating:
            config_id = await self._created_before(db, job)
            if config_id is None:
                config_id = await self._create_pos_config(db, job)
                if config_id is None:
                    return None
                return RegisterPushed("create", config_id)
        if config_id is None:
            raise PosConfigMissingError(
                f"register {register.register_id} is {register.sync_state} but has no pos.config"
            )
        current = await self._odoo.pos_config_state(job.odoo, config_id)
        if current is None:
            raise PosConfigMissingError(
                f"pos.config {config_id} of register {register.register_id} is not in Odoo "
                "(deleted there?)"
            )
        if (
            creating
            and await self._odoo.pos_config_by_external_id(job.odoo, register.register_id) is None
        ):
            # Made, recorded, but its external id was lost with a failed call.
            await self._odoo.claim_pos_config(job.odoo, register.register_id, config_id)
        changes = pos_config_changes(current, register)
        if changes:
            await self._odoo.write_pos_config(job.odoo, config_id, changes)
        return RegisterPushed("create" if creating else "update", config_id)

    async def _created_before(self, db: Db, job: RegisterJob) -> int | None:
        """The pos.config an earlier try made, if its answer (or our record of it) was lost:
        by our external id, else an unclaimed pos.config under a name we created it with."""
        register = job.register
        names = await repo.pos_config_create_names(db, register.register_id)
        if not names:
            return None
        found = await self._odoo.pos_config_by_external_id(job.odoo, register.register_id)
        if found is None:
            unclaimed = await self._odoo.unclaimed_pos_configs(job.odoo, names)
            taken = await repo.pos_configs_of_others(
                db, job.tenant_id, register.register_id, unclaimed
            )
            candidates = [i for i in unclaimed if i not in taken]
            if not candidates:
                return None
            found = candidates[0]
            await self._odoo.claim_pos_config(job.odoo, register.register_id, found)
            log.warning("pos_config_found_after_lost_answer", odoo_pos_config_id=found)
        await self._record_pos_config(db, job, found)
        return found

    async def _superseded(self, db: Db, job: RegisterJob) -> bool:
        """Whether a newer version of the register is known: it may have been linked to an
        existing pos.config meanwhile, which a create of this older one would duplicate."""
        latest = await repo.register_version(db, job.register.register_id)
        if latest is None or latest <= job.version:
            return False
        log.info("register_event_superseded", version=job.version, latest_version=latest)
        return True

    async def _create_pos_config(self, db: Db, job: RegisterJob) -> int | None:
        register = job.register
        fields = await self._odoo.pos_config_fields(job.odoo)
        template = await self._odoo.template_pos_config(
            job.odoo, job.template_pos_config_id, clonable_fields(fields)
        )
        method_ids = payment_method_ids_of(template, fields)
        cash = await self._odoo.cash_methods(job.odoo, method_ids)
        # Looked at again after the reads, right before the first call that cannot be undone.
        if await self._superseded(db, job):
            return None
        own_cash = None
        if cash:
            own_cash = await self._own_cash_method(db, job, template, cash, method_ids)
        values = pos_config_clone(template, fields, set(cash), register, own_cash)
        await repo.note_pos_config_create(db, register.register_id, register.name)
        config_id = await self._odoo.create_pos_config(job.odoo, values)
        # At once: the register's waiting orders go as soon as the id is here.
        await self._record_pos_config(db, job, config_id)
        await self._odoo.claim_pos_config(job.odoo, register.register_id, config_id)
        log.info(
            "pos_config_created",
            odoo_pos_config_id=config_id,
            template_pos_config_id=template["id"],
            cash_methods_left_out=sorted(cash),
            own_cash_method_id=own_cash,
        )
        return config_id

    async def _own_cash_method(
        self,
        db: Db,
        job: RegisterJob,
        template: dict[str, Any],
        cash: dict[int, int | None],
        method_ids: set[int],
    ) -> int:
        journal = next((j for j in cash.values() if j is not None), None)
        currency = await self._odoo.journal_currency(job.odoo, journal) if journal else None
        return await RegisterCash(
            self._odoo,
            db,
            job.odoo,
            job.tenant_id,
            job.register,
            TemplateCash(
                company_id=many2one_id(template.get("company_id")),
                currency_id=currency,
                shared_method_ids=sorted(method_ids - set(cash)),
            ),
        ).method()

    async def _record_pos_config(self, db: Db, job: RegisterJob, config_id: int) -> None:
        register = job.register
        await repo.attach_cash_method(db, register.register_id, config_id)
        await repo.record_pos_config(
            db,
            register.register_id,
            job.tenant_id,
            register.tenant_tier,
            register.sync_state,
            config_id,
        )
