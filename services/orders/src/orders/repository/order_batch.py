"""A batch of orders written set-based: one statement a table, whatever the batch's size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from uuid import UUID

from orders.domain.model import NewOrder, Order, OrderLine, OrderPayment
from shared.postgres import Db


async def stored_fingerprints(
    db: Db, tenant_id: UUID, order_ids: Sequence[UUID]
) -> dict[UUID, str]:
    """The request fingerprint of each of these orders that is already stored."""
    records = await db.fetch(
        """SELECT order_id, request_fingerprint FROM orders
           WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])""",
        tenant_id,
        list(order_ids),
    )
    return {r["order_id"]: r["request_fingerprint"] for r in records}


async def reserve_receipt_values(db: Db, counts: Mapping[UUID, int]) -> dict[UUID, int]:
    """Takes `counts[register]` receipt numbers of each register at once; returns the first of
    each block. The counters stay locked until the caller commits, as for a single order."""
    # Locked in register order, so two batches over the same registers cannot deadlock.
    register_ids = sorted(counts)
    records = await db.fetch(
        """INSERT INTO receipt_sequences (register_id, last_value)
           SELECT * FROM unnest($1::uuid[], $2::bigint[])
           ON CONFLICT (register_id)
           DO UPDATE SET last_value = receipt_sequences.last_value + EXCLUDED.last_value
           RETURNING register_id, last_value""",
        register_ids,
        [counts[r] for r in register_ids],
    )
    return {r["register_id"]: r["last_value"] - counts[r["register_id"]] + 1 for r in records}


async def insert_orders(
    db: Db,
    orders: Sequence[NewOrder],
    lines: Sequence[OrderLine],
    payments: Sequence[OrderPayment],
) -> list[Order]:
    """Inserts the orders (all of one tenant) with all their lines and payments; returns them as
    stored, in the order given."""
    tenant_id = orders[0].tenant_id
    received = await _insert_order_rows(db, tenant_id, orders)
    await db.execute(
        """INSERT INTO order_lines (line_id, tenant_id, order_id, position, product_ref,
                                    product_name, odoo_product_id, quantity, unit_price,
                                    discount_percent, tax_rate_percent, prices_include_tax,
                                    gross, discount, net, tax, total, product_id)
           SELECT l.line_id, $1, l.order_id, l.position, l.product_ref, l.product_name,
                  l.odoo_product_id, l.quantity, l.unit_price, l.discount_percent,
                  l.tax_rate_percent, l.prices_include_tax, l.gross, l.discount, l.net, l.tax,
                  l.total, l.product_id
           FROM unnest($2::uuid[], $3::uuid[], $4::integer[], $5::text[], $6::text[],
                       $7::bigint[], $8::numeric[], $9::bigint[], $10::numeric[], $11::numeric[],
                       $12::boolean[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[],
                       $17::bigint[], $18::uuid[])
                AS l (line_id, order_id, position, product_ref, product_name, odoo_product_id,
                      quantity, unit_price, discount_percent, tax_rate_percent,
                      prices_include_tax, gross, discount, net, tax, total, product_id)""",
        tenant_id,
        [line.line_id for line in lines],
        [line.order_id for line in lines],
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
        [line.product_id for line in lines],
    )
    if payments:
        await db.execute(
            """INSERT INTO order_payments (payment_id, tenant_id, order_id, position, method,
                                           kind, odoo_payment_method_id, amount, tendered,
                                           change)
               SELECT p.payment_id, $1, p.order_id, p.position, p.method, p.kind,
                      p.odoo_payment_method_id, p.amount, p.tendered, p.change
               FROM unnest($2::uuid[], $3::uuid[], $4::integer[], $5::text[], $6::text[],
                           $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
                    AS p (payment_id, order_id, position, method, kind,
                          odoo_payment_method_id, amount, tendered, change)""",
            tenant_id,
            [p.payment_id for p in payments],
            [p.order_id for p in payments],
            [p.position for p in payments],
            [p.method for p in payments],
            [p.kind for p in payments],
            [p.odoo_payment_method_id for p in payments],
            [p.amount for p in payments],
            [p.tendered for p in payments],
            [p.change for p in payments],
        )
    return [
        Order(**{f.name: getattr(o, f.name) for f in fields(o)}, received_at=received[o.order_id])
        for o in orders
    ]


async def _insert_order_rows(
    db: Db, tenant_id: UUID, orders: Sequence[NewOrder]
) -> dict[UUID, datetime]:
    records = await db.fetch(
        """INSERT INTO orders (tenant_id, order_id, register_id, shop_id, session_id,
                               receipt_number, business_date, created_at, currency, net_total,
                               tax_total, total, customer_ref, note, source, sync_state,
                               created_by, request_fingerprint, customer_id, odoo_partner_id)
           SELECT $1, o.* FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[],
                                      $7::date[], $8::timestamptz[], $9::text[], $10::bigint[],
                                      $11::bigint[], $12::bigint[], $13::text[], $14::text[],
                                      $15::text[], $16::text[], $17::text[], $18::text[],
                                      $19::uuid[], $20::integer[]) AS o
           RETURNING order_id, received_at""",
        tenant_id,
        [o.order_id for o in orders],
        [o.register_id for o in orders],
        [o.shop_id for o in orders],
        [o.session_id for o in orders],
        [o.receipt_number for o in orders],
        [o.business_date for o in orders],
        [o.created_at for o in orders],
        [o.currency for o in orders],
        [o.net_total for o in orders],
        [o.tax_total for o in orders],
        [o.total for o in orders],
        [o.customer_ref for o in orders],
        [o.note for o in orders],
        [o.source for o in orders],
        [o.sync_state for o in orders],
        [o.created_by for o in orders],
        [o.request_fingerprint for o in orders],
        [o.customer_id for o in orders],
        [o.odoo_partner_id for o in orders],
    )
    return {r["order_id"]: r["received_at"] for r in records}
