"""The rows of orders' aggregates as plain frozen values: what the repository reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal
from uuid import UUID

from orders.domain.amounts import Figures, LineAmounts, LineInput

SyncState = Literal["local", "pending", "synced", "failed"]
Source = Literal["pos", "odoo_pulled"]


def initial_sync_state(tenant_tier: str) -> SyncState:
    """A Pro tenant's sale waits for Odoo; a Starter tenant's has nowhere to go."""
    return "pending" if tenant_tier == "pro" else "local"


def sync_error(error_class: str, message: str) -> str:
    """What an order, refund or session keeps of the connector's failure to put it in Odoo."""
    return f"{error_class}: {message}"


def receipt_number(receipt_prefix: str, sequence: int) -> str:
    return f"{receipt_prefix}-{sequence}"


@dataclass(frozen=True, kw_only=True)
class Register:
    """The local replica of a register, as the registers service last announced it."""

    register_id: UUID
    tenant_id: UUID
    shop_id: UUID
    name: str
    receipt_prefix: str
    active: bool
    currency: str
    timezone: str
    business_day_cutoff: time
    prices_include_tax: bool
    tenant_tier: str


@dataclass(frozen=True, kw_only=True)
class CashSession:
    session_id: UUID
    tenant_id: UUID
    register_id: UUID
    shop_id: UUID
    state: str
    business_date: date
    currency: str
    opened_at: datetime
    opened_by: str
    opened_implicitly: bool
    opening_cash: int
    closed_at: datetime | None
    closed_by: str | None
    counted_cash: int | None
    expected_cash: int | None
    closing_note: str | None
    version: int
    source: Source
    odoo_session_id: int | None
    odoo_session_name: str | None
    sync_state: SyncState
    sync_error: str | None


@dataclass(frozen=True, kw_only=True)
class OrderLine:
    line_id: UUID
    order_id: UUID
    position: int
    product_ref: str
    product_name: str
    odoo_product_id: int | None
    quantity: Decimal
    unit_price: int
    discount_percent: Decimal
    tax_rate_percent: Decimal
    prices_include_tax: bool
    gross: int
    discount: int
    net: int
    tax: int
    total: int
    product_id: UUID | None = None

    @classmethod
    def priced_as(
        cls,
        priced: LineInput,
        amounts: LineAmounts,
        *,
        line_id: UUID,
        order_id: UUID,
        position: int,
        product_ref: str,
        product_name: str,
        odoo_product_id: int | None,
        product_id: UUID | None = None,
    ) -> OrderLine:
        return cls(
            product_id=product_id,
            line_id=line_id,
            order_id=order_id,
            position=position,
            product_ref=product_ref,
            product_name=product_name,
            odoo_product_id=odoo_product_id,
            quantity=priced.quantity,
            unit_price=priced.unit_price,
            discount_percent=priced.discount_percent,
            tax_rate_percent=priced.tax_rate_percent,
            prices_include_tax=priced.prices_include_tax,
            gross=amounts.gross,
            discount=amounts.discount,
            net=amounts.net,
            tax=amounts.tax,
            total=amounts.total,
        )

    @property
    def priced(self) -> LineInput:
        return LineInput(
            quantity=self.quantity,
            unit_price=self.unit_price,
            discount_percent=self.discount_percent,
            tax_rate_percent=self.tax_rate_percent,
            prices_include_tax=self.prices_include_tax,
        )

    @property
    def figures(self) -> Figures:
        return Figures(net=self.net, tax=self.tax, total=self.total)


@dataclass(frozen=True, kw_only=True)
class Payment:
    payment_id: UUID
    position: int
    method: str
    kind: str
    odoo_payment_method_id: int | None
    amount: int


@dataclass(frozen=True, kw_only=True)
class OrderPayment(Payment):
    order_id: UUID
    tendered: int | None = None
    change: int | None = None


@dataclass(frozen=True, kw_only=True)
class RefundPayment(Payment):
    refund_id: UUID


@dataclass(frozen=True, kw_only=True)
class NewOrder:
    """An order as written: from a till, or from Odoo's history with its Odoo ids."""

    tenant_id: UUID
    order_id: UUID
    register_id: UUID
    shop_id: UUID
    session_id: UUID
    receipt_number: str
    business_date: date
    created_at: datetime
    currency: str
    net_total: int
    tax_total: int
    total: int
    customer_ref: str | None
    note: str | None
    source: Source
    sync_state: SyncState
    created_by: str
    request_fingerprint: str
    odoo_order_id: int | None = None
    odoo_session_id: int | None = None
    # The register's counter behind a till's receipt number; not stored, only announced.
    receipt_sequence: int | None = None
    customer_id: UUID | None = None
    odoo_partner_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Order(NewOrder):
    """An order as stored: what was written, when it arrived, and what happened since."""

    received_at: datetime
    state: str = "paid"
    sync_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class RefundLine:
    refund_line_id: UUID
    refund_id: UUID
    order_line_id: UUID
    position: int
    quantity: Decimal
    net: int
    tax: int
    total: int


@dataclass(frozen=True, kw_only=True)
class Refund:
    tenant_id: UUID
    refund_id: UUID
    order_id: UUID
    register_id: UUID
    session_id: UUID
    business_date: date
    created_at: datetime
    currency: str
    reason: str
    net_total: int
    tax_total: int
    total: int
    created_by: str
    request_fingerprint: str
    sync_state: SyncState
    source: Source = "pos"
    odoo_order_id: int | None = None
    state: str = "refunded"
    sync_error: str | None = None


@dataclass(frozen=True)
class GivenBack:
    """What earlier refunds gave back of one sold line."""

    quantity: Decimal
    figures: Figures
