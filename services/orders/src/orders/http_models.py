"""HTTP shapes of the orders API: `*Create` in, `*Public` out. Never used as events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from shared.http_fields import OdooId, PercentString, Text, decimal_string
from shared.money import Money, SignedMoney

PaymentKind = Literal["cash", "card", "qr", "other"]
MAX_QUANTITY = Decimal(100_000)


def _in_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# A moment is answered in UTC whatever offset the tablet sent, so the first answer, an idempotent
# replay and a later GET of the same order serialize the same.
UtcDatetime = Annotated[datetime, AfterValidator(_in_utc)]


def _quantity(value: str) -> str:
    decimal_string(value, allow_zero=False, upper=MAX_QUANTITY, what="quantity")
    return value


QuantityString = Annotated[Text, Field(max_length=20), AfterValidator(_quantity)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OrderLineCreate(_Input):
    product_ref: Text = Field(min_length=1, max_length=100)
    product_name: Text = Field(min_length=1, max_length=200)
    odoo_product_id: OdooId | None = None
    quantity: QuantityString
    unit_price: Money
    discount_percent: PercentString = "0"
    tax_rate_percent: PercentString
    prices_include_tax: bool
    total: Money
    product_id: UUID | None = Field(
        default=None,
        description="The catalog product sold (GET /v1/catalog); refused if this register may "
        "not sell it. Leave out where the tenant keeps no catalog",
    )


class PaymentCreate(_Input):
    method: Text = Field(min_length=1, max_length=50)
    kind: PaymentKind
    odoo_payment_method_id: OdooId | None = None
    amount: Money
    tendered: Money | None = None
    change: Money | None = None

    @model_validator(mode="after")
    def _cash_details(self) -> PaymentCreate:
        if (self.tendered is not None or self.change is not None) and self.kind != "cash":
            raise ValueError("tendered and change are only for cash payments")
        if self.tendered is not None:
            change = self.change.amount if self.change is not None else 0
            if self.tendered.amount - change != self.amount.amount:
                raise ValueError(
                    f"tendered ({self.tendered.amount}) minus change ({change}) must equal "
                    f"the amount ({self.amount.amount})"
                )
        return self


class OrderCreate(_Input):
    id: UUID
    register_id: UUID
    created_at: AwareDatetime
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=500)
    payments: list[PaymentCreate] = Field(max_length=20)
    total: Money
    customer_ref: Text | None = Field(default=None, max_length=100)
    note: Text | None = Field(default=None, max_length=1000)
    customer_id: UUID | None = Field(
        default=None, description="The tenant's customer the sale is for (GET /v1/customers)"
    )


class RefundLineCreate(_Input):
    order_line_id: UUID
    quantity: QuantityString


class RefundPaymentCreate(_Input):
    method: Text = Field(min_length=1, max_length=50)
    kind: PaymentKind
    odoo_payment_method_id: OdooId | None = None
    amount: Money


class RefundCreate(_Input):
    id: UUID
    lines: list[RefundLineCreate] = Field(min_length=1, max_length=500)
    payments: list[RefundPaymentCreate] = Field(max_length=20)
    reason: Text = Field(min_length=1, max_length=500)
    created_at: AwareDatetime | None = None


class SessionOpen(_Input):
    register_id: UUID
    opening_cash: Money


class SessionClose(_Input):
    counted_cash: Money
    note: Text | None = Field(default=None, max_length=1000)


class OrderLinePublic(BaseModel):
    id: UUID
    product_ref: str
    product_name: str
    odoo_product_id: int | None
    quantity: str
    refunded_quantity: str
    unit_price: SignedMoney
    discount_percent: str
    tax_rate_percent: str
    prices_include_tax: bool
    gross: SignedMoney
    discount: SignedMoney
    net: SignedMoney
    tax: SignedMoney
    total: SignedMoney
    product_id: UUID | None = None


class PaymentPublic(BaseModel):
    id: UUID
    method: str
    kind: PaymentKind
    odoo_payment_method_id: int | None
    amount: SignedMoney
    tendered: SignedMoney | None = None
    change: SignedMoney | None = None


class RefundLinePublic(BaseModel):
    id: UUID
    order_line_id: UUID
    quantity: str
    net: SignedMoney
    tax: SignedMoney
    total: SignedMoney


class RefundPublic(BaseModel):
    id: UUID
    order_id: UUID
    register_id: UUID
    session_id: UUID
    business_date: date
    created_at: UtcDatetime
    state: Literal["refunded"]
    reason: str
    lines: list[RefundLinePublic]
    payments: list[PaymentPublic]
    net_total: SignedMoney
    tax_total: SignedMoney
    total: SignedMoney
    source: Literal["pos", "odoo_pulled"]
    sync_state: Literal["local", "pending", "synced", "failed"] = Field(
        description="local: Starter, never pushed; pending: on its way to Odoo; synced: in Odoo "
        "(odoo_order_id is its refund order); failed: the connector gave up (sync_error says why)"
    )
    sync_error: str | None
    odoo_order_id: int | None  # the Odoo refund order's id


class OrderPublic(BaseModel):
    id: UUID
    register_id: UUID
    shop_id: UUID
    session_id: UUID
    receipt_number: str
    business_date: date
    created_at: UtcDatetime
    received_at: UtcDatetime
    state: Literal["paid", "partially_refunded", "refunded"]
    source: Literal["pos", "odoo_pulled"]
    lines: list[OrderLinePublic]
    payments: list[PaymentPublic]
    net_total: SignedMoney
    tax_total: SignedMoney
    total: SignedMoney
    customer_ref: str | None
    note: str | None
    refunds: list[RefundPublic]
    sync_state: Literal["local", "pending", "synced", "failed"]
    sync_error: str | None
    odoo_order_id: int | None
    customer_id: UUID | None = None


class OrderPage(BaseModel):
    items: list[OrderPublic]
    next_cursor: str | None


# A tablet back online sends its queue (POST /v1/orders/batch).
MAX_BATCH_ORDERS = 500


def _batch_size(orders: object) -> object:
    # Before the orders are validated: a batch too big is refused without reading 10,000 orders.
    if isinstance(orders, list) and not 1 <= len(orders) <= MAX_BATCH_ORDERS:
        raise ValueError(
            f"must hold 1 to {MAX_BATCH_ORDERS} orders; got {len(orders)}. Send a longer queue "
            f"as several batches of at most {MAX_BATCH_ORDERS}"
        )
    return orders


class OrderBatchCreate(_Input):
    orders: Annotated[
        list[OrderCreate],
        Field(min_length=1, max_length=MAX_BATCH_ORDERS),
        BeforeValidator(_batch_size),
    ]


class FieldProblemPublic(BaseModel):
    field: str
    message: str


class OrderProblemPublic(BaseModel):
    """Why one order of a batch was refused: the problem+json POST /v1/orders would answer."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblemPublic] = Field(default_factory=list)


class OrderBatchResultPublic(BaseModel):
    id: UUID
    outcome: Literal["created", "replayed", "refused"] = Field(
        description="created: stored now; replayed: stored before with the same content (order "
        "is the stored one); refused: not stored (problem says why, as POST /v1/orders would)"
    )
    order: OrderPublic | None
    problem: OrderProblemPublic | None


class OrderBatchPublic(BaseModel):
    results: list[OrderBatchResultPublic] = Field(description="One per order, in the order sent")


class TenderTotalPublic(BaseModel):
    method: str
    kind: PaymentKind
    sales: SignedMoney
    refunds: SignedMoney
    net: SignedMoney


class SessionTotalsPublic(BaseModel):
    order_count: int
    refund_count: int
    sales_total: SignedMoney
    refunds_total: SignedMoney
    net_total: SignedMoney
    cash_sales: SignedMoney
    cash_refunds: SignedMoney
    tenders: list[TenderTotalPublic]
    first_receipt_number: str | None
    last_receipt_number: str | None


class SessionPublic(BaseModel):
    id: UUID
    register_id: UUID
    shop_id: UUID
    state: Literal["open", "closed"]
    business_date: date
    opened_at: UtcDatetime
    opened_by: str
    opened_implicitly: bool
    opening_cash: SignedMoney
    closed_at: UtcDatetime | None
    closed_by: str | None
    closing_note: str | None
    expected_cash: SignedMoney
    counted_cash: SignedMoney | None
    cash_difference: SignedMoney | None
    totals: SessionTotalsPublic
    source: Literal["pos", "odoo_pulled"]
    odoo_session_id: int | None
    odoo_session_name: str | None
    sync_state: Literal["local", "pending", "synced", "failed"] = Field(
        description="Pro: pending until Odoo closed the session, failed once the connector gave "
        "up; local for Starter"
    )
    sync_error: str | None = Field(
        description="Why Odoo refused the close, while pending (being retried) or failed"
    )


class SessionPage(BaseModel):
    items: list[SessionPublic]
    next_cursor: str | None


# Imported Odoo history (POST /v1/imports/orders): what the connector's backfill sends. Odoo's
# figures are history and are stored as given; `net` and `total` are Odoo's price_subtotal and
# price_subtotal_incl.

MAX_IMPORT_SESSIONS = 100
MAX_IMPORT_ORDERS = 5000
MAX_IMPORT_REFUNDS = 1000


class _OdooLineFigures(_Input):
    net: Money
    total: Money

    @model_validator(mode="after")
    def _total_includes_net(self) -> _OdooLineFigures:
        if self.total.amount < self.net.amount:
            raise ValueError(
                f"total ({self.total.amount}, Odoo's price_subtotal_incl) is less than net "
                f"({self.net.amount}, its price_subtotal); check that they are not swapped"
            )
        return self


class SessionImport(_Input):
    odoo_session_id: OdooId
    register_id: UUID
    name: Text = Field(min_length=1, max_length=200)
    opened_at: AwareDatetime
    closed_at: AwareDatetime
    opened_by: Text = Field(min_length=1, max_length=200)
    closed_by: Text = Field(min_length=1, max_length=200)
    opening_cash: Money
    counted_cash: Money

    @model_validator(mode="after")
    def _closed_after_opening(self) -> SessionImport:
        if self.closed_at < self.opened_at:
            raise ValueError(
                f"closed_at ({self.closed_at.isoformat()}) is before opened_at "
                f"({self.opened_at.isoformat()})"
            )
        return self


class OrderLineImport(_OdooLineFigures):
    odoo_line_id: OdooId
    product_ref: Text = Field(min_length=1, max_length=100)
    product_name: Text = Field(min_length=1, max_length=200)
    odoo_product_id: OdooId | None = None
    quantity: QuantityString
    unit_price: Money
    discount_percent: PercentString = "0"
    tax_rate_percent: PercentString
    prices_include_tax: bool


class PaymentImport(_Input):
    method: Text = Field(min_length=1, max_length=50)
    kind: PaymentKind
    odoo_payment_method_id: OdooId | None = None
    amount: Money


class OrderImport(_Input):
    odoo_order_id: OdooId
    odoo_session_id: OdooId
    register_id: UUID
    receipt_number: Text = Field(min_length=1, max_length=100)
    created_at: AwareDatetime
    lines: list[OrderLineImport] = Field(min_length=1, max_length=500)
    payments: list[PaymentImport] = Field(max_length=20)
    total: Money
    customer_ref: Text | None = Field(default=None, max_length=100)
    note: Text | None = Field(default=None, max_length=1000)


class RefundLineImport(_OdooLineFigures):
    odoo_line_id: OdooId
    refunded_odoo_line_id: OdooId
    quantity: QuantityString


class RefundImport(_Input):
    odoo_order_id: OdooId
    original_odoo_order_id: OdooId
    odoo_session_id: OdooId
    register_id: UUID
    created_at: AwareDatetime
    reason: Text = Field(min_length=1, max_length=500)
    lines: list[RefundLineImport] = Field(min_length=1, max_length=500)
    payments: list[PaymentImport] = Field(max_length=20)
    total: Money


class OdooHistoryImport(_Input):
    """One batch: closed sessions, each with all of its orders and refunds."""

    sessions: list[SessionImport] = Field(default_factory=list, max_length=MAX_IMPORT_SESSIONS)
    orders: list[OrderImport] = Field(default_factory=list, max_length=MAX_IMPORT_ORDERS)
    refunds: list[RefundImport] = Field(default_factory=list, max_length=MAX_IMPORT_REFUNDS)


class ImportCountsPublic(BaseModel):
    new: int
    already_present: int


SkippedOrderReason = Literal["pushed_from_here"]
SkippedRefundReason = Literal[
    "original_not_imported",
    "original_pushed_from_here",
    "line_not_in_original",
    "exceeds_sold_quantity",
    "session_already_imported",
]


class SkippedOrderPublic(BaseModel):
    odoo_order_id: int
    reason: SkippedOrderReason
    detail: str


class SkippedRefundPublic(BaseModel):
    odoo_order_id: int
    original_odoo_order_id: int
    reason: SkippedRefundReason
    detail: str


class ImportSummaryPublic(BaseModel):
    sessions: ImportCountsPublic
    orders: ImportCountsPublic
    refunds: ImportCountsPublic
    skipped_orders: list[SkippedOrderPublic]
    skipped_refunds: list[SkippedRefundPublic]
