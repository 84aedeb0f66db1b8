"""Customers: who a sale is for. A till may look one up or add one at the counter; the back office
also corrects and archives them."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from registers import events
from registers.domain.customers import customer_email_taken
from registers.domain.edits import changed_fields, check_version, expected_version
from registers.http_mappers import customer_page, customer_public, new_customer
from registers.http_models import CustomerCreate, CustomerPage, CustomerPatch, CustomerPublic
from registers.repository import Lock
from registers.repository import customers as repo
from registers.repository.customers import CustomerRow
from registers.scope import own_tenant
from shared.actor import Actor
from shared.errors import NotFoundError
from shared.pagination import decode_cursor
from shared.postgres import Db


async def _own_customer(db: Db, actor: Actor, customer_id: UUID, lock: Lock = "") -> CustomerRow:
    customer = await repo.get_customer(db, actor.tenant_id, customer_id, lock)
    if customer is None:
        raise NotFoundError(f"There is no customer {customer_id} in this tenant.")
    return customer


class CustomerUseCases:
    _pool: asyncpg.Pool

    async def create_customer(self, actor: Actor, body: CustomerCreate) -> CustomerPublic:
        async with self._pool.acquire() as db, db.transaction():
            await own_tenant(db, actor, "FOR SHARE")
            try:
                async with db.transaction():
                    customer = await repo.insert_customer(db, new_customer(body, actor.tenant_id))
            except asyncpg.UniqueViolationError:
                raise customer_email_taken(str(body.email)) from None
            await events.emit(db, events.customer_changed(customer))
        return customer_public(customer)

    async def get_customer(self, actor: Actor, customer_id: UUID) -> CustomerPublic:
        async with self._pool.acquire() as db:
            return customer_public(await _own_customer(db, actor, customer_id))

    async def list_customers(
        self,
        actor: Actor,
        *,
        search: str | None,
        active: bool | None,
        cursor: str | None,
        limit: int,
    ) -> CustomerPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_customers(
                db,
                actor.tenant_id,
                search=search,
                active=active,
                before_seq=decode_cursor(cursor),
                limit=limit,
            )
        return customer_page(rows, limit)

    async def patch_customer(
        self, actor: Actor, customer_id: UUID, body: CustomerPatch, if_match: str | None
    ) -> CustomerPublic:
        expected = expected_version(if_match)
        async with self._pool.acquire() as db, db.transaction():
            customer = await _own_customer(db, actor, customer_id, "FOR UPDATE")
            check_version(customer.version, expected, "customer")
            changes = changed_fields(customer, body.sent())
            if not changes:
                return customer_public(customer)
            try:
                async with db.transaction():
                    updated = await repo.update_customer(db, customer_id, changes)
            except asyncpg.UniqueViolationError:
                raise customer_email_taken(str(changes.get("email"))) from None
            await events.emit(db, events.customer_changed(updated, changes))
        return customer_public(updated)
