"""Orders with their lines and payments, and the Odoo sync stamps of orders and refunds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Literal
from uuid import UUID

import asyncpg

from orders.domain.model import (
    NewOrder,
    Order,
    OrderLine,
    OrderPayment,
)
from orders.repository.rows import Page, page_of, typed, typed_or_none
from shared.events.envelope import EventEnvelope
from shared.postgres import Db


async def get_order_fingerprint(db: Db, tenant_id: UUID, order_id: UUID) -> str | None:
    fingerprint: str | None = await db.fetchval(
        "SELECT request_fingerprint FROM orders WHERE tenant_id = $1 AND order_id = $2",
        tenant_id,
        order_id,
    )
    return fingerprint


def _sale_columns(order: NewOrder) -> tuple[Any, ...]:
    """The order's columns from business_date to created_by, in the table's order."""
    return (
        order.business_date,
        order.created_at,
        order.currency,
        order.net_total,
        order.tax_total,
        order.total,
        order.customer_ref,
        order.note,
        order.source,
        order.sync_state,
        order.created_by,
    )


def line_arrays(lines: Sequence[OrderLine]) -> tuple[list[Any], ...]:
    """Order lines as one array a column, line_id to total in the table's order (without the
    tenant and order ids), for `unnest`."""
    return (
        [line.line_id for line in lines],
        [line.position for line in lines],
        [line.product_ref for line in lines],
        [line.product_name for line in lines],
        [line.odoo_product_id for line in lines],
        [line.quantity for line in lines],
        [line.unit_price for line in lines],
        [line.discount_percent for line in lines],
        [line.tax_rate_percent for line in lines],
        [line.prices_include_tax for line in lines],
        [line.gross for line in lines],
        [line.discount for line in lines],
        [line.net for line in lines],
        [line.tax for line in lines],
        [line.total for line in lines],
    )


def payment_arrays(payments: Sequence[OrderPayment]) -> tuple[list[Any], ...]:
    """Order payments as one array a column, payment_id to change in the table's order
    (without the tenant and order ids), for `unnest`."""
    return (
        [payment.payment_id for payment in payments],
        [payment.position for payment in payments],
        [payment.method for payment in payments],
        [payment.kind for payment in payments],
        [payment.odoo_payment_method_id for payment in payments],
        [payment.amount for payment in payments],
        [payment.tendered for payment in payments],
        [payment.change for payment in payments],
    )


async def insert_order(
    db: Db, order: NewOrder, lines: Sequence[OrderLine], payments: Sequence[OrderPayment]
) -> Order:
    """Inserts the order with its lines and payments; returns it as stored."""
    received_at = await db.fetchval(
        """INSERT INTO orders (tenant_id, order_id, register_id, shop_id, session_id,
                               receipt_number, business_date, created_at, currency, net_total,
                               tax_total, total, customer_ref, note, source, sync_state,
                               created_by, request_fingerprint, odoo_order_id,
                               odoo_session_id, customer_id, odoo_partner_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20, $21, $22)
           RETURNING received_at""",
        order.tenant_id,
        order.order_id,
        order.register_id,
        order.shop_id,
        order.session_id,
        order.receipt_number,
        *_sale_columns(order),
        order.request_fingerprint,
        order.odoo_order_id,
        order.odoo_session_id,
        order.customer_id,
        order.odoo_partner_id,
    )
    await db.executemany(
        """INSERT INTO order_lines (line_id, tenant_id, order_id, position, product_ref,
                                    product_name, odoo_product_id, quantity, unit_price,
                                    discount_percent, tax_rate_percent, prices_include_tax,
                                    gross, discount, net, tax, total, product_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18)""",
        [
            (
                line.line_id,
                order.tenant_id,
                order.order_id,
                line.position,
                line.product_ref,
                line.product_name,
                line.odoo_product_id,
                line.quantity,
                line.unit_price,
                line.discount_percent,
                line.tax_rate_percent,
                line.prices_include_tax,
                line.gross,
                line.discount,
                line.net,
                line.tax,
                line.total,
                line.product_id,
            )
            for line in lines
        ],
    )
    await db.executemany(
        """INSERT INTO order_payments (payment_id, tenant_id, order_id, position, method, kind,
                                       odoo_payment_method_id, amount, tendered, change)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        [
            (
                payment.payment_id,
                order.tenant_id,
                order.order_id,
                payment.position,
                payment.method,
                payment.kind,
                payment.odoo_payment_method_id,
                payment.amount,
                payment.tendered,
                payment.change,
            )
            for payment in payments
        ],
    )
    written = {f.name: getattr(order, f.name) for f in fields(order)}
    return Order(**written, received_at=received_at)


# A till's sale in one statement, so one round trip: the replay check by the key, the register
# replica's check, the receipt number, the open session, the order with its lines and payments,
# and its order.placed event. Nothing is written when the id is taken (`stored_fingerprint` says
# by what), when the register is not the version the caller priced with or is deactivated
# (`register_current` false), or when no session is open; the caller then takes the step by step
# path, which answers each case as it always has.
#
# Locks are taken in the order every other sale path takes them: the receipt counter, then the
# session FOR SHARE (a close holds it FOR UPDATE, so no sale slips in behind its totals). A session
# closed while the statement waited for the counter leaves `session_id` NULL, and the NOT NULL
# violation rolls the counter back with the rest, so receipt numbers stay gap-free.
#
# The event was built with the session and receipt number unknown; they are set in it here.
# Receipt numbers are `<prefix>-<n>`, as `orders.domain.model.receipt_number` makes them.
PLACE_ORDER_SQL = """
WITH existing AS (
    SELECT request_fingerprint FROM orders WHERE tenant_id = $1 AND order_id = $2
),
register AS (
    SELECT receipt_prefix FROM registers
    WHERE register_id = $3 AND tenant_id = $1 AND version = $4 AND active
),
receipt AS (
    INSERT INTO receipt_sequences (register_id, last_value)
    SELECT $3, 1 FROM register
    WHERE NOT EXISTS (SELECT FROM existing)
      AND EXISTS (SELECT FROM cash_sessions WHERE register_id = $3 AND state = 'open')
    ON CONFLICT (register_id) DO UPDATE SET last_value = receipt_sequences.last_value + 1
    RETURNING last_value
),
session AS (
    SELECT session_id FROM cash_sessions WHERE register_id = $3 AND state = 'open' FOR SHARE
),
placed AS (
    INSERT INTO orders (tenant_id, order_id, register_id, shop_id, session_id, receipt_number,
                        business_date, created_at, currency, net_total, tax_total, total,
                        customer_ref, note, source, sync_state, created_by, request_fingerprint,
                        odoo_order_id, odoo_session_id, customer_id, odoo_partner_id)
    SELECT $1, $2, $3, $5, (SELECT session_id FROM session),
           register.receipt_prefix || '-' || receipt.last_value, $6, $7, $8, $9, $10, $11, $12,
           $13, $14, $15, $16, $17, $18, $19, $47, $48
    FROM receipt, register
    RETURNING received_at, session_id, receipt_number
),
lines AS (
    INSERT INTO order_lines (line_id, tenant_id, order_id, position, product_ref, product_name,
                             odoo_product_id, quantity, unit_price, discount_percent,
                             tax_rate_percent, prices_include_tax, gross, discount, net, tax,
                             total, product_id)
    SELECT l.line_id, $1, $2, l.position, l.product_ref, l.product_name, l.odoo_product_id,
           l.quantity, l.unit_price, l.discount_percent, l.tax_rate_percent,
           l.prices_include_tax, l.gross, l.discount, l.net, l.tax, l.total, l.product_id
    FROM placed,
         unnest($20::uuid[], $21::int[], $22::text[], $23::text[], $24::bigint[],
                $25::numeric[], $26::bigint[], $27::numeric[], $28::numeric[], $29::bool[],
                $30::bigint[], $31::bigint[], $32::bigint[], $33::bigint[], $34::bigint[],
                $49::uuid[])
           AS l (line_id, position, product_ref, product_name, odoo_product_id, quantity,
                 unit_price, discount_percent, tax_rate_percent, prices_include_tax, gross,
                 discount, net, tax, total, product_id)
),
payments AS (
    INSERT INTO order_payments (payment_id, tenant_id, order_id, position, method, kind,
                                odoo_payment_method_id, amount, tendered, change)
    SELECT p.payment_id, $1, $2, p.position, p.method, p.kind, p.odoo_payment_method_id,
           p.amount, p.tendered, p.change
    FROM placed,
         unnest($35::uuid[], $36::int[], $37::text[], $38::text[], $39::bigint[],
                $40::bigint[], $41::bigint[], $42::bigint[])
           AS p (payment_id, position, method, kind, odoo_payment_method_id, amount, tendered,
                 change)
),
event AS (
    INSERT INTO outbox (event_id, event_type, tenant_id, aggregate_id, aggregate_version,
                        envelope)
    SELECT $43, $44, $1, $2, $45,
           jsonb_set(jsonb_set(jsonb_set($46::text::jsonb,
               '{data,session_id}', to_jsonb(placed.session_id)),
               '{data,receipt_number}', to_jsonb(placed.receipt_number)),
               '{data,receipt_sequence}', to_jsonb(receipt.last_value))
    FROM placed, receipt
)
SELECT (SELECT request_fingerprint FROM existing) AS stored_fingerprint,
       EXISTS (SELECT FROM register) AS register_current,
       placed.received_at, placed.session_id, placed.receipt_number,
       receipt.last_value AS receipt_sequence
FROM (SELECT) AS one
LEFT JOIN placed ON true
LEFT JOIN receipt ON true
"""


def place_order_args(
    order: NewOrder,
    lines: Sequence[OrderLine],
    payments: Sequence[OrderPayment],
    event: EventEnvelope,
    *,
    register_version: int,
) -> tuple[Any, ...]:
    """`PLACE_ORDER_SQL`'s arguments. `order`'s session, receipt number and sequence (and the
    event's) are left to the statement: whatever they hold is not written."""
    return (
        order.tenant_id,
        order.order_id,
        order.register_id,
        register_version,
        order.shop_id,
        *_sale_columns(order),
        order.request_fingerprint,
        order.odoo_order_id,
        order.odoo_session_id,
        *line_arrays(lines),
        *payment_arrays(payments),
        event.id,
        event.type,
        event.aggregate_version,
        event.model_dump_json(),
        order.customer_id,
        order.odoo_partner_id,
        [line.product_id for line in lines],
    )


@dataclass(frozen=True)
class PlaceOutcome:
    """What `place_order` did: stored `order`, or found the id taken (`stored_fingerprint`), or
    wrote nothing because the register is not as priced (`register_current` false) or has no
    open session."""

    order: Order | None
    stored_fingerprint: str | None
    register_current: bool


async def place_order(
    db: Db,
    order: NewOrder,
    lines: Sequence[OrderLine],
    payments: Sequence[OrderPayment],
    event: EventEnvelope,
    *,
    register_version: int,
) -> PlaceOutcome:
    """Runs `PLACE_ORDER_SQL`; see there. Another request storing the same id at the same moment
    raises UniqueViolationError on orders_pkey, as `insert_order` does."""
    args = place_order_args(order, lines, payments, event, register_version=register_version)
    try:
        row = await db.fetchrow(PLACE_ORDER_SQL, *args)
    except asyncpg.NotNullViolationError as error:
        if error.column_name != "session_id":
            raise
        # The session closed while the statement waited for the receipt counter.
        return PlaceOutcome(order=None, stored_fingerprint=None, register_current=True)
    assert row is not None
    if row["received_at"] is None:
        return PlaceOutcome(None, row["stored_fingerprint"], row["register_current"])
    written = {f.name: getattr(order, f.name) for f in fields(order)}
    written.update(
        session_id=row["session_id"],
        receipt_number=row["receipt_number"],
        receipt_sequence=row["receipt_sequence"],
    )
    return PlaceOutcome(Order(**written, received_at=row["received_at"]), None, True)


async def lock_order(db: Db, tenant_id: UUID, order_id: UUID) -> Order | None:
    record = await db.fetchrow(
        "SELECT * FROM orders WHERE tenant_id = $1 AND order_id = $2 FOR UPDATE",
        tenant_id,
        order_id,
    )
    return typed_or_none(Order, record)


async def order_lines(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[OrderLine]:
    records = await db.fetch(
        """SELECT * FROM order_lines WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])
           ORDER BY order_id, position""",
        tenant_id,
        list(order_ids),
    )
    return [typed(OrderLine, r) for r in records]


async def order_payments(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[OrderPayment]:
    records = await db.fetch(
        """SELECT * FROM order_payments WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])
           ORDER BY order_id, position""",
        tenant_id,
        list(order_ids),
    )
    return [typed(OrderPayment, r) for r in records]


async def set_order_refund_state(db: Db, tenant_id: UUID, order_id: UUID, state: str) -> int:
    version: int = await db.fetchval(
        """UPDATE orders SET state = $3, version = version + 1
           WHERE tenant_id = $1 AND order_id = $2 RETURNING version""",
        tenant_id,
        order_id,
        state,
    )
    return version


async def get_orders(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[Order]:
    records = await db.fetch(
        "SELECT * FROM orders WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])",
        tenant_id,
        list(order_ids),
    )
    return [typed(Order, r) for r in records]


async def list_orders(
    db: Db,
    tenant_id: UUID,
    *,
    register_id: UUID | None,
    session_id: UUID | None,
    business_date: date | None,
    state: str | None,
    before_seq: int | None,
    limit: int,
) -> Page[Order]:
    records = await db.fetch(
        """SELECT * FROM orders
           WHERE tenant_id = $1
             AND ($2::uuid IS NULL OR register_id = $2)
             AND ($3::uuid IS NULL OR session_id = $3)
             AND ($4::date IS NULL OR business_date = $4)
             AND ($5::text IS NULL OR state = $5)
             AND ($6::bigint IS NULL OR seq < $6)
           ORDER BY seq DESC LIMIT $7""",
        tenant_id,
        register_id,
        session_id,
        business_date,
        state,
        before_seq,
        limit + 1,
    )
    return page_of(Order, records, limit)


# Odoo sync status, stamped from the connector's events.


# What the connector pushes to Odoo as a pos.order, with the table and key it is stamped on.
SyncedKind = Literal["order", "refund"]
_SYNCED_ROWS: dict[str, tuple[str, str]] = {
    "order": ("orders", "order_id"),
    "refund": ("refunds", "refund_id"),
}


async def mark_synced(
    db: Db,
    kind: SyncedKind,
    tenant_id: UUID,
    row_id: UUID,
    odoo_order_id: int,
    odoo_session_id: int | None,
) -> bool:
    table, key = _SYNCED_ROWS[kind]
    result = await db.execute(
        f"""UPDATE {table} SET sync_state = 'synced', sync_error = NULL, odoo_order_id = $3,
                               odoo_session_id = $4
            WHERE tenant_id = $1 AND {key} = $2""",
        tenant_id,
        row_id,
        odoo_order_id,
        odoo_session_id,
    )
    return str(result).endswith(" 1")


async def mark_sync_failed(
    db: Db, kind: SyncedKind, tenant_id: UUID, row_id: UUID, error: str
) -> bool:
    table, key = _SYNCED_ROWS[kind]
    # A late failure report never undoes a success.
    result = await db.execute(
        f"""UPDATE {table} SET sync_state = 'failed', sync_error = $3
            WHERE tenant_id = $1 AND {key} = $2 AND sync_state <> 'synced'""",
        tenant_id,
        row_id,
        error,
    )
    return str(result).endswith(" 1")


# Imported Odoo history.


async def lock_history_imports(db: Db, tenant_id: UUID) -> None:
    """Serializes a tenant's imports until commit, so two runs of a batch never both find a
    row new; the second sees what the first committed."""
    await db.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"orders-import:{tenant_id}"
    )


@dataclass(frozen=True)
class OdooOrderRef:
    order_id: UUID
    odoo_order_id: int
    source: str


async def orders_by_odoo_id(
    db: Db, tenant_id: UUID, odoo_order_ids: Sequence[int]
) -> list[OdooOrderRef]:
    records = await db.fetch(
        """SELECT order_id, odoo_order_id, source FROM orders
           WHERE tenant_id = $1 AND odoo_order_id = ANY($2::bigint[])""",
        tenant_id,
        list(odoo_order_ids),
    )
    return [typed(OdooOrderRef, r) for r in records]


@dataclass(frozen=True)
class ReceiptInUse:
    register_id: UUID
    receipt_number: str
    order_id: UUID


async def receipt_numbers_in_use(
    db: Db, register_ids: Sequence[UUID], receipt_numbers: Sequence[str]
) -> list[ReceiptInUse]:
    """Orders holding any of the (register, receipt number) pairs given position by position."""
    records = await db.fetch(
        """SELECT o.register_id, o.receipt_number, o.order_id
           FROM orders o
           JOIN unnest($1::uuid[], $2::text[]) AS wanted (register_id, receipt_number)
             ON wanted.register_id = o.register_id AND wanted.receipt_number = o.receipt_number""",
        list(register_ids),
        list(receipt_numbers),
    )
    return [typed(ReceiptInUse, r) for r in records]
