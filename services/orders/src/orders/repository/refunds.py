"""Refunds with their lines and payments, and what each sold line has had back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from orders.domain.amounts import Figures
from orders.domain.model import (
    GivenBack,
    Refund,
    RefundLine,
    RefundPayment,
)
from orders.repository.rows import typed, typed_or_none
from shared.postgres import Db


@dataclass(frozen=True)
class RefundFingerprint:
    order_id: UUID
    request_fingerprint: str


async def get_refund_fingerprint(
    db: Db, tenant_id: UUID, refund_id: UUID
) -> RefundFingerprint | None:
    record = await db.fetchrow(
        "SELECT order_id, request_fingerprint FROM refunds WHERE tenant_id = $1 AND refund_id = $2",
        tenant_id,
        refund_id,
    )
    return typed_or_none(RefundFingerprint, record)


async def insert_refund(
    db: Db, refund: Refund, lines: Sequence[RefundLine], payments: Sequence[RefundPayment]
) -> None:
    await db.execute(
        """INSERT INTO refunds (tenant_id, refund_id, order_id, register_id, session_id,
                                business_date, created_at, currency, reason, net_total,
                                tax_total, total, created_by, request_fingerprint, source,
                                odoo_order_id, sync_state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                   $17)""",
        refund.tenant_id,
        refund.refund_id,
        refund.order_id,
        refund.register_id,
        refund.session_id,
        refund.business_date,
        refund.created_at,
        refund.currency,
        refund.reason,
        refund.net_total,
        refund.tax_total,
        refund.total,
        refund.created_by,
        refund.request_fingerprint,
        refund.source,
        refund.odoo_order_id,
        refund.sync_state,
    )
    await db.executemany(
        """INSERT INTO refund_lines (refund_line_id, tenant_id, refund_id, order_line_id, position,
                                     quantity, net, tax, total)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        [
            (
                line.refund_line_id,
                refund.tenant_id,
                refund.refund_id,
                line.order_line_id,
                line.position,
                line.quantity,
                line.net,
                line.tax,
                line.total,
            )
            for line in lines
        ],
    )
    await db.executemany(
        """INSERT INTO refund_payments (payment_id, tenant_id, refund_id, position, method, kind,
                                        odoo_payment_method_id, amount)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [
            (
                payment.payment_id,
                refund.tenant_id,
                refund.refund_id,
                payment.position,
                payment.method,
                payment.kind,
                payment.odoo_payment_method_id,
                payment.amount,
            )
            for payment in payments
        ],
    )


async def refunds_of_orders(db: Db, tenant_id: UUID, order_ids: Sequence[UUID]) -> list[Refund]:
    records = await db.fetch(
        """SELECT * FROM refunds WHERE tenant_id = $1 AND order_id = ANY($2::uuid[])
           ORDER BY seq""",
        tenant_id,
        list(order_ids),
    )
    return [typed(Refund, r) for r in records]


async def refund_lines(db: Db, tenant_id: UUID, refund_ids: Sequence[UUID]) -> list[RefundLine]:
    records = await db.fetch(
        """SELECT * FROM refund_lines WHERE tenant_id = $1 AND refund_id = ANY($2::uuid[])
           ORDER BY refund_id, position""",
        tenant_id,
        list(refund_ids),
    )
    return [typed(RefundLine, r) for r in records]


async def refund_payments(
    db: Db, tenant_id: UUID, refund_ids: Sequence[UUID]
) -> list[RefundPayment]:
    records = await db.fetch(
        """SELECT * FROM refund_payments WHERE tenant_id = $1 AND refund_id = ANY($2::uuid[])
           ORDER BY refund_id, position""",
        tenant_id,
        list(refund_ids),
    )
    return [typed(RefundPayment, r) for r in records]


async def refunded_quantities(db: Db, tenant_id: UUID, order_id: UUID) -> dict[UUID, Decimal]:
    rows = await db.fetch(
        """SELECT rl.order_line_id, sum(rl.quantity) AS quantity
           FROM refund_lines rl JOIN refunds r
             ON r.tenant_id = rl.tenant_id AND r.refund_id = rl.refund_id
           WHERE r.tenant_id = $1 AND r.order_id = $2
           GROUP BY rl.order_line_id""",
        tenant_id,
        order_id,
    )
    return {row["order_line_id"]: row["quantity"] for row in rows}


async def refunded_so_far(db: Db, tenant_id: UUID, order_id: UUID) -> dict[UUID, GivenBack]:
    """Per order line: the quantity, net, tax and total its refunds have given back."""
    rows = await db.fetch(
        """SELECT rl.order_line_id, sum(rl.quantity) AS quantity, sum(rl.net)::bigint AS net,
                  sum(rl.tax)::bigint AS tax, sum(rl.total)::bigint AS total
           FROM refund_lines rl JOIN refunds r
             ON r.tenant_id = rl.tenant_id AND r.refund_id = rl.refund_id
           WHERE r.tenant_id = $1 AND r.order_id = $2
           GROUP BY rl.order_line_id""",
        tenant_id,
        order_id,
    )
    return {
        row["order_line_id"]: GivenBack(
            row["quantity"], Figures(net=row["net"], tax=row["tax"], total=row["total"])
        )
        for row in rows
    }


async def existing_refund_ids(db: Db, tenant_id: UUID, refund_ids: Sequence[UUID]) -> set[UUID]:
    rows = await db.fetch(
        "SELECT refund_id FROM refunds WHERE tenant_id = $1 AND refund_id = ANY($2::uuid[])",
        tenant_id,
        list(refund_ids),
    )
    return {row["refund_id"] for row in rows}
