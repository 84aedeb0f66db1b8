"""Orders and refunds as Odoo is to receive them: references, amounts, lines and payments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from odoo_connector.domain.failures import RefundNotMappableError
from odoo_connector.domain.taxes import TaxMap
from shared.events.contracts import OrderLineState, OrderPlaced, OrderRefunded, PaymentState
from shared.money import currency_exponent, round_minor


def order_reference(receipt_number: str) -> str:
    """Our receipt number as Odoo's `pos_reference` (16/17 look a re-send up by it)."""
    return f"Order {receipt_number}"


def refund_reference(refund_id: UUID) -> str:
    return f"Refund {refund_id}"


def sequence_number(receipt_number: str) -> int:
    digits = re.findall(r"\d+", receipt_number)
    return int(digits[-1]) if digits else 0


def amount(minor: int, currency: str) -> float:
    return float(Decimal(minor).scaleb(-currency_exponent(currency)))


def minor_units(value: float, currency: str) -> int:
    """An Odoo amount (a float in currency units) in minor units."""
    return round_minor(Decimal(repr(value)).scaleb(currency_exponent(currency)))


def odoo_datetime(moment: datetime) -> str:
    """Odoo reads a naive datetime as UTC (odoo-api.md 4.5); a tablet's offset must not leak in."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def discount_for_odoo(
    price_unit_minor: int, quantity: Decimal, discount_percent: Decimal, discounted_minor: int
) -> float:
    """The discount percent under which Odoo's line base (price_unit × (1 − d/100) × qty, rounded
    once) is our discounted amount: the till's own percent when that rounds the same way, else
    the exact percent our figures carry (we round the discount, Odoo the discounted price, so a
    half-cent tie can fall the other way)."""
    full = quantity * price_unit_minor
    if round_minor(full * (1 - discount_percent / 100)) == discounted_minor or full == 0:
        return float(discount_percent)
    return float((1 - Decimal(discounted_minor) / full) * 100)


@dataclass(frozen=True)
class SessionTarget:
    odoo_session_id: int
    pricelist_id: int | None
    user_id: int


@dataclass(frozen=True)
class OdooLine:
    """One line as Odoo is to receive it."""

    product_id: int
    qty: float
    price_unit: float
    discount: float
    price_subtotal: float
    price_subtotal_incl: float
    name: str
    tax_ids: tuple[int, ...] = ()
    refunded_orderline_id: int | None = None
    uuid: str | None = None

    def values(self, version: int) -> list[Any]:
        values: dict[str, Any] = {
            "product_id": self.product_id,
            "qty": self.qty,
            "price_unit": self.price_unit,
            "discount": self.discount,
            "price_subtotal": self.price_subtotal,
            "price_subtotal_incl": self.price_subtotal_incl,
            "full_product_name": self.name,
            # Always sent, even empty: 16/17 would otherwise take the product's taxes and 18
            # would book none (odoo-api.md 4.5).
            "tax_ids": [[6, False, list(self.tax_ids)]],
        }
        if self.refunded_orderline_id is not None:
            values["refunded_orderline_id"] = self.refunded_orderline_id
        if version == 18 and self.uuid is not None:
            values["uuid"] = self.uuid
        return [0, 0, values]


@dataclass(frozen=True)
class OdooPayment:
    payment_method_id: int
    amount: float


@dataclass(frozen=True)
class OdooOrder:
    """An order or refund ready for `create_from_ui` (16/17) or `sync_from_ui` (18)."""

    uuid: str
    reference: str
    sequence_number: int
    placed_at: datetime
    lines: tuple[OdooLine, ...]
    payments: tuple[OdooPayment, ...]
    amount_total: float
    amount_tax: float
    # The customer's res.partner; orders without one go to Odoo without a partner.
    partner_id: int | None = None

    @property
    def amount_paid(self) -> float:
        return round(sum(p.amount for p in self.payments), 6)

    def payload(self, version: int, target: SessionTarget) -> dict[str, Any]:
        date = odoo_datetime(self.placed_at)
        lines = [line.values(version) for line in self.lines]
        common: dict[str, Any] = {
            "name": self.reference,
            "user_id": target.user_id,
            "partner_id": self.partner_id or False,
            "sequence_number": self.sequence_number,
            "fiscal_position_id": False,
            "pricelist_id": target.pricelist_id or False,
            "amount_total": self.amount_total,
            "amount_tax": self.amount_tax,
            "amount_paid": self.amount_paid,
            # Payments carry what was kept, never what was tendered: no change line in Odoo.
            "amount_return": 0,
            "to_invoice": False,
            "lines": lines,
        }
        if version == 18:
            return {
                **common,
                "uuid": self.uuid,
                "access_token": self.uuid,
                "session_id": target.odoo_session_id,
                "state": "paid",
                "date_order": date,
                "payment_ids": [
                    [
                        0,
                        0,
                        {
                            "payment_method_id": p.payment_method_id,
                            "amount": p.amount,
                            "payment_date": date,
                        },
                    ]
                    for p in self.payments
                ],
            }
        data = {
            **common,
            "pos_session_id": target.odoo_session_id,
            "creation_date" if version == 16 else "date_order": date,
            "statement_ids": [
                [0, 0, {"name": date, "payment_method_id": p.payment_method_id, "amount": p.amount}]
                for p in self.payments
            ],
        }
        return {"id": self.uuid, "to_invoice": False, "data": data}


def order_lines(
    order: OrderPlaced, product_ids: dict[str, int], taxes: TaxMap
) -> tuple[OdooLine, ...]:
    """price_unit in the meaning of the line's tax (with tax when it is price-included, as the
    till priced it), so that Odoo's own computation gives our net, tax and total."""

    def line(state: OrderLineState) -> OdooLine:
        quantity = Decimal(state.quantity)
        discounted = state.total if state.prices_include_tax else state.net
        return OdooLine(
            product_id=state.odoo_product_id or product_ids[state.product_ref],
            qty=float(quantity),
            price_unit=amount(state.unit_price, order.currency),
            discount=discount_for_odoo(
                state.unit_price, quantity, Decimal(state.discount_percent), discounted
            ),
            price_subtotal=amount(state.net, order.currency),
            price_subtotal_incl=amount(state.total, order.currency),
            name=state.product_name,
            tax_ids=taxes.tax_ids(state.tax_rate_percent, state.prices_include_tax),
            uuid=str(state.line_id),
        )

    return tuple(line(state) for state in order.lines)


@dataclass(frozen=True)
class PaymentMethodMap:
    """Which Odoo payment method a payment of a register goes to.

    At a register whose pos.config the connector created with its own cash method, a cash
    payment goes to that method: Odoo refuses the tenant's cash method (the template's) on any
    other pos.config. A payment's explicit `odoo_payment_method_id` wins only if the register's
    pos.config was created with it; a non-cash payment maps as anywhere else. Elsewhere
    (registers adopted or linked to an existing pos.config), the explicit id, else the
    tenant's mapping of the payment's code."""

    by_code: dict[str, int]
    own_cash: int | None = None
    register_methods: frozenset[int] = frozenset()

    def _to_own_cash(self, payment: PaymentState) -> bool:
        if self.own_cash is None or payment.kind != "cash":
            return False
        explicit = payment.odoo_payment_method_id
        return explicit is None or explicit not in self.register_methods

    def method_of(self, payment: PaymentState) -> int:
        if self._to_own_cash(payment):
            assert self.own_cash is not None
            return self.own_cash
        return payment.odoo_payment_method_id or self.by_code[payment.method]

    def unmapped(self, payments: list[PaymentState]) -> list[str]:
        """The codes of payments that name no method and whose code the tenant has not mapped."""
        return sorted(
            {
                p.method
                for p in payments
                if p.odoo_payment_method_id is None and not self._to_own_cash(p)
            }
            - set(self.by_code)
        )


def odoo_payments(
    payments: list[PaymentState], methods: PaymentMethodMap, currency: str, sign: int = 1
) -> tuple[OdooPayment, ...]:
    return tuple(
        OdooPayment(
            payment_method_id=methods.method_of(p),
            amount=sign * amount(p.amount, currency),
        )
        for p in payments
    )


def odoo_order(
    order: OrderPlaced, product_ids: dict[str, int], methods: PaymentMethodMap, taxes: TaxMap
) -> OdooOrder:
    return OdooOrder(
        uuid=str(order.order_id),
        reference=order_reference(order.receipt_number),
        sequence_number=sequence_number(order.receipt_number),
        placed_at=order.created_at,
        lines=order_lines(order, product_ids, taxes),
        payments=odoo_payments(order.payments, methods, order.currency),
        amount_total=amount(order.total, order.currency),
        amount_tax=amount(order.tax_total, order.currency),
        partner_id=order.odoo_partner_id,
    )


@dataclass(frozen=True)
class OriginalLine:
    """A line of the refunded order as it is in Odoo."""

    odoo_line_id: int
    product_id: int
    price_unit: float
    discount: float = 0.0
    tax_ids: tuple[int, ...] = ()


def odoo_refund(
    refund: OrderRefunded,
    original_lines: dict[UUID, OriginalLine],
    methods: PaymentMethodMap,
    taxes: TaxMap,
) -> OdooOrder:
    """Negative quantities and amounts, each line pointing at the line it gives back, with its
    price, discount and taxes, so that Odoo books the refund as the till apportioned it."""
    lines = []
    for state in refund.lines:
        original = original_lines.get(state.order_line_id)
        if original is None:
            raise RefundNotMappableError(
                f"refund line {state.refund_line_id} gives back order line {state.order_line_id}, "
                "which the original order in Odoo does not have"
            )
        quantity = -Decimal(state.quantity)
        discounted = -(state.total if taxes.included(original.tax_ids) else state.net)
        lines.append(
            OdooLine(
                product_id=original.product_id,
                qty=float(quantity),
                price_unit=original.price_unit,
                discount=discount_for_odoo(
                    minor_units(original.price_unit, refund.currency),
                    quantity,
                    Decimal(repr(original.discount)),
                    discounted,
                ),
                price_subtotal=-amount(state.net, refund.currency),
                price_subtotal_incl=-amount(state.total, refund.currency),
                name=state.product_ref,
                tax_ids=original.tax_ids,
                refunded_orderline_id=original.odoo_line_id,
                uuid=str(state.refund_line_id),
            )
        )
    return OdooOrder(
        uuid=str(refund.refund_id),
        reference=refund_reference(refund.refund_id),
        sequence_number=0,
        placed_at=refund.created_at,
        lines=tuple(lines),
        payments=odoo_payments(refund.payments, methods, refund.currency, sign=-1),
        amount_total=-amount(refund.total, refund.currency),
        amount_tax=-amount(refund.tax_total, refund.currency),
    )
