"""The customers' SQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from registers.repository import Lock
from registers.repository.tables import (
    CUSTOMERS,
    all_typed,
    get_in_tenant,
    page_clause,
    typed,
    update,
)
from shared.postgres import Db


@dataclass(frozen=True)
class CustomerRow:
    customer_id: UUID
    tenant_id: UUID
    seq: int
    name: str
    email: str | None
    phone: str | None
    vat: str | None
    street: str | None
    city: str | None
    zip: str | None
    country_code: str | None
    active: bool
    odoo_partner_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewCustomer:
    customer_id: UUID
    tenant_id: UUID
    name: str
    email: str | None
    phone: str | None
    vat: str | None
    street: str | None
    city: str | None
    zip: str | None
    country_code: str | None
    odoo_partner_id: int | None


async def insert_customer(db: Db, customer: NewCustomer) -> CustomerRow:
    record = await db.fetchrow(
        """INSERT INTO customers (customer_id, tenant_id, name, email, phone, vat, street, city,
                                  zip, country_code, odoo_partner_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *""",
        customer.customer_id,
        customer.tenant_id,
        customer.name,
        customer.email,
        customer.phone,
        customer.vat,
        customer.street,
        customer.city,
        customer.zip,
        customer.country_code,
        customer.odoo_partner_id,
    )
    return typed(CustomerRow, record)


async def get_customer(
    db: Db, tenant_id: UUID, customer_id: UUID, lock: Lock = ""
) -> CustomerRow | None:
    return await get_in_tenant(db, CustomerRow, CUSTOMERS, tenant_id, customer_id, lock)


async def list_customers(
    db: Db,
    tenant_id: UUID,
    *,
    search: str | None,
    active: bool | None,
    before_seq: int | None,
    limit: int,
) -> list[CustomerRow]:
    """Newest first; `search` finds a part of the name, email or phone, in any case."""
    params: list[Any] = [tenant_id, limit, search, active]
    if before_seq is not None:
        params.append(before_seq)
    records = await db.fetch(
        f"""SELECT * FROM customers
            WHERE tenant_id = $1 AND ($4::boolean IS NULL OR active = $4)
              AND ($3::text IS NULL
                   OR strpos(lower(name), lower($3)) > 0
                   OR strpos(lower(coalesce(email, '')), lower($3)) > 0
                   OR strpos(coalesce(phone, ''), $3) > 0)
              {page_clause(before_seq, 5)}
            ORDER BY seq DESC LIMIT $2""",
        *params,
    )
    return all_typed(CustomerRow, records)


async def update_customer(db: Db, customer_id: UUID, fields: Mapping[str, Any]) -> CustomerRow:
    return await update(db, CustomerRow, CUSTOMERS, customer_id, fields)
