"""Payment methods: what a till can take, and the Odoo method each one books to."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from registers import events
from registers import repository as repo
from registers.domain.edits import changed_fields, check_version, expected_version
from registers.domain.inputs import payment_method_code_taken
from registers.http_mappers import (
    new_payment_method,
    payment_method_page,
    payment_method_public,
)
from registers.http_models import (
    PaymentMethodCreate,
    PaymentMethodPage,
    PaymentMethodPatch,
    PaymentMethodPublic,
)
from registers.scope import own_payment_method, own_tenant
from shared.actor import Actor
from shared.pagination import decode_cursor


class PaymentMethodUseCases:
    _pool: asyncpg.Pool

    async def create_payment_method(
        self, actor: Actor, body: PaymentMethodCreate
    ) -> PaymentMethodPublic:
        async with self._pool.acquire() as db, db.transaction():
            await own_tenant(db, actor, "FOR SHARE")
            try:
                async with db.transaction():
                    method = await repo.insert_payment_method(
                        db, new_payment_method(body, actor.tenant_id)
                    )
            except asyncpg.UniqueViolationError:
                raise payment_method_code_taken(body.code) from None
            await events.emit(db, events.payment_method_created(method))
        return payment_method_public(method)

    async def get_payment_method(
        self, actor: Actor, payment_method_id: UUID
    ) -> PaymentMethodPublic:
        async with self._pool.acquire() as db:
            return payment_method_public(await own_payment_method(db, actor, payment_method_id))

    async def list_payment_methods(
        self, actor: Actor, cursor: str | None, limit: int
    ) -> PaymentMethodPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_payment_methods(
                db, actor.tenant_id, decode_cursor(cursor), limit
            )
        return payment_method_page(rows, limit)

    async def patch_payment_method(
        self,
        actor: Actor,
        payment_method_id: UUID,
        body: PaymentMethodPatch,
        if_match: str | None,
    ) -> PaymentMethodPublic:
        wanted = body.sent()
        async with self._pool.acquire() as db, db.transaction():
            method = await own_payment_method(db, actor, payment_method_id, "FOR UPDATE")
            check_version(method.version, expected_version(if_match), "payment method")
            changes = changed_fields(method, wanted)
            if not changes:
                return payment_method_public(method)
            updated = await repo.update_payment_method(db, payment_method_id, changes)
            await events.emit(db, events.payment_method_updated(updated, changes))
        return payment_method_public(updated)
