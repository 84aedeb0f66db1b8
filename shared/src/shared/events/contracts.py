"""Event contracts. Adding an optional field keeps the version; a change of meaning is a new type.

Events carry the state a consumer needs, so no consumer ever calls back for it. Amounts are
integers in minor units of the event's `currency`; quantities are decimal strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventData


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# Tenants and shops (published by the registers service).

TenantTier = Literal["starter", "pro"]
PaymentKind = Literal["cash", "card", "qr", "other"]


class TenantState(EventData):
    tenant_id: UUID
    name: str
    tier: TenantTier
    default_currency: str
    default_timezone: str
    changed: tuple[str, ...] = ()


class TenantCreated(TenantState):
    event_type: ClassVar[str] = "tenant.created"


class TenantUpdated(TenantState):
    event_type: ClassVar[str] = "tenant.updated"


class ShopState(EventData):
    shop_id: UUID
    name: str
    currency: str
    timezone: str
    business_day_cutoff: str  # "HH:MM" in the shop's timezone
    prices_include_tax: bool
    changed: tuple[str, ...] = ()


class ShopCreated(ShopState):
    event_type: ClassVar[str] = "shop.created"


class ShopUpdated(ShopState):
    event_type: ClassVar[str] = "shop.updated"


class TokenRevoked(EventData):
    """A token id every service must refuse from now on, until the token would have expired."""

    event_type: ClassVar[str] = "token.revoked"

    token_id: UUID
    expires_at: datetime


# Registers (published by the registers service; the orders service keeps a replica).

RegisterSyncState = Literal["local", "pending_create", "pending_update", "synced", "sync_error"]


class RegisterState(EventData):
    register_id: UUID
    shop_id: UUID
    name: str
    receipt_prefix: str
    active: bool
    currency: str
    timezone: str
    business_day_cutoff: str  # "HH:MM" in the shop's timezone
    prices_include_tax: bool = True
    tenant_tier: TenantTier = "starter"
    shop_name: str | None = None
    sync_state: RegisterSyncState = "local"
    odoo_pos_config_id: int | None = None
    changed: tuple[str, ...] = ()


class RegisterCreated(RegisterState):
    event_type: ClassVar[str] = "register.created"


class RegisterUpdated(RegisterState):
    """The register's whole state after a change; `changed` names what moved.

    The envelope's `aggregate_version` is the register's version: replicas drop older ones.
    """

    event_type: ClassVar[str] = "register.updated"


RegisterSyncOperation = Literal["create", "update"]


class RegisterOdooSynced(EventData):
    """The connector created or updated the register's pos.config; says exactly what it pushed."""

    event_type: ClassVar[str] = "register.odoo_synced"

    register_id: UUID
    operation: RegisterSyncOperation
    odoo_pos_config_id: int
    pushed_name: str
    pushed_active: bool
    register_version: int


class RegisterOdooSyncFailed(EventData):
    """The connector gave up (dead-lettered) a register's create or update."""

    event_type: ClassVar[str] = "register.odoo_sync_failed"

    register_id: UUID
    operation: RegisterSyncOperation
    error_class: str
    message: str
    attempts: int
    register_version: int


# Payment methods (published by the registers service; the connector maps them to Odoo).


class PaymentMethodState(EventData):
    payment_method_id: UUID
    code: str
    name: str
    kind: PaymentKind
    active: bool = True
    odoo_payment_method_id: int | None = None
    changed: tuple[str, ...] = ()


class PaymentMethodCreated(PaymentMethodState):
    event_type: ClassVar[str] = "payment_method.created"


class PaymentMethodUpdated(PaymentMethodState):
    event_type: ClassVar[str] = "payment_method.updated"


# The tenant's catalog (published by the registers service). `catalog_revision` is the tenant's
# catalog revision after the change: a replica that has seen it is as fresh as that change.


class ProductCategoryState(EventData):
    category_id: UUID
    name: str
    odoo_category_id: int | None = None
    catalog_revision: int
    changed: tuple[str, ...] = ()


class ProductCategoryCreated(ProductCategoryState):
    event_type: ClassVar[str] = "catalog.category.created"


class ProductCategoryUpdated(ProductCategoryState):
    event_type: ClassVar[str] = "catalog.category.updated"


class ProductState(EventData):
    product_id: UUID
    reference: str
    name: str
    category_id: UUID | None = None
    prices: dict[str, int]  # minor units per currency code
    tax_rate_percent: str
    prices_include_tax: bool
    shop_ids: tuple[UUID, ...] = ()
    register_ids: tuple[UUID, ...] = ()
    active: bool = True
    odoo_product_id: int | None = None
    catalog_revision: int
    changed: tuple[str, ...] = ()


class ProductCreated(ProductState):
    event_type: ClassVar[str] = "catalog.product.created"


class ProductUpdated(ProductState):
    event_type: ClassVar[str] = "catalog.product.updated"


class CustomerState(EventData):
    customer_id: UUID
    name: str
    email: str | None = None
    phone: str | None = None
    vat: str | None = None
    street: str | None = None
    city: str | None = None
    zip: str | None = None
    country_code: str | None = None
    active: bool = True
    odoo_partner_id: int | None = None
    changed: tuple[str, ...] = ()


class CustomerCreated(CustomerState):
    event_type: ClassVar[str] = "customer.created"


class CustomerUpdated(CustomerState):
    event_type: ClassVar[str] = "customer.updated"


# Orders and refunds (published by the orders service).

OrderSource = Literal["pos", "odoo_pulled"]


class OrderLineState(_Part):
    line_id: UUID
    product_ref: str
    product_name: str
    odoo_product_id: int | None = None
    quantity: str
    unit_price: int
    discount_percent: str
    tax_rate_percent: str
    prices_include_tax: bool
    gross: int
    discount: int
    net: int
    tax: int
    total: int
    # The catalog product the line sold, where the till named one (the tenant keeps a catalog).
    product_id: UUID | None = None


class PaymentState(_Part):
    payment_id: UUID
    method: str
    kind: PaymentKind
    odoo_payment_method_id: int | None = None
    amount: int
    tendered: int | None = None
    change: int | None = None


class OrderPlaced(EventData):
    event_type: ClassVar[str] = "order.placed"

    order_id: UUID
    register_id: UUID
    shop_id: UUID
    session_id: UUID
    receipt_number: str
    business_date: date
    created_at: datetime
    currency: str
    lines: list[OrderLineState]
    payments: list[PaymentState]
    net_total: int
    tax_total: int
    total: int
    customer_ref: str | None = None
    note: str | None = None
    source: OrderSource = "pos"
    odoo_order_id: int | None = None
    # The register's gap-free sale number (the <n> of <prefix>-<n>): order n-1 came before it.
    receipt_sequence: int | None = None
    # The tenant's customer the sale is for, and that customer's Odoo partner when linked.
    customer_id: UUID | None = None
    odoo_partner_id: int | None = None


class RefundLineState(_Part):
    refund_line_id: UUID
    order_line_id: UUID
    product_ref: str
    quantity: str
    net: int
    tax: int
    total: int


class OrderRefunded(EventData):
    event_type: ClassVar[str] = "order.refunded"

    refund_id: UUID
    order_id: UUID
    register_id: UUID
    shop_id: UUID
    session_id: UUID
    business_date: date
    created_at: datetime
    currency: str
    reason: str
    lines: list[RefundLineState]
    payments: list[PaymentState]
    net_total: int
    tax_total: int
    total: int
    # Imported from Odoo (`odoo_pulled`): already there, never pushed back.
    source: OrderSource = "pos"
    odoo_order_id: int | None = None


class OrderOdooSynced(EventData):
    event_type: ClassVar[str] = "order.odoo_synced"

    order_id: UUID
    odoo_order_id: int
    odoo_session_id: int | None = None


class OrderOdooSyncFailed(EventData):
    event_type: ClassVar[str] = "order.odoo_sync_failed"

    order_id: UUID
    error_class: str
    message: str


class RefundOdooSynced(EventData):
    """The refund is in Odoo as its own refund order, linked to the original's lines."""

    event_type: ClassVar[str] = "refund.odoo_synced"

    refund_id: UUID
    order_id: UUID
    odoo_order_id: int
    odoo_session_id: int | None = None


class RefundOdooSyncFailed(EventData):
    """The connector gave up on pushing the refund (dead-lettered); `message` says why."""

    event_type: ClassVar[str] = "refund.odoo_sync_failed"

    refund_id: UUID
    order_id: UUID
    error_class: str
    message: str


# Cash sessions (published by the orders service).


class SessionOpened(EventData):
    event_type: ClassVar[str] = "session.opened"

    session_id: UUID
    register_id: UUID
    shop_id: UUID
    business_date: date
    opened_at: datetime
    currency: str
    opening_cash: int
    opened_by: str
    opened_implicitly: bool = False
    source: OrderSource = "pos"


class TenderTotal(_Part):
    method: str
    kind: PaymentKind
    sales: int
    refunds: int
    net: int


class SessionClosed(EventData):
    event_type: ClassVar[str] = "session.closed"

    session_id: UUID
    register_id: UUID
    shop_id: UUID
    business_date: date
    opened_at: datetime
    closed_at: datetime
    currency: str
    opening_cash: int
    expected_cash: int
    counted_cash: int
    cash_difference: int
    order_count: int
    refund_count: int
    sales_total: int
    refunds_total: int
    net_total: int
    tenders: list[TenderTotal]
    first_receipt_number: str | None = None
    last_receipt_number: str | None = None
    opened_by: str
    closed_by: str
    note: str | None = None
    # Imported from Odoo: a past session, already closed there; nothing to push or announce.
    source: OrderSource = "pos"


class SessionOdooSynced(EventData):
    """The till session is closed in Odoo: every Odoo session its orders went to is closed."""

    event_type: ClassVar[str] = "session.odoo_synced"

    session_id: UUID
    odoo_session_ids: list[int]
    # counted − expected as Odoo booked it on the last Odoo session to close, in minor units.
    cash_difference: int


class SessionOdooSyncFailed(EventData):
    """Odoo refused to close the till session's Odoo session; `final` once we gave up on it."""

    event_type: ClassVar[str] = "session.odoo_sync_failed"

    session_id: UUID
    error_class: str
    message: str
    final: bool


# Reports (published by the reporting service).


class ReportDailyReady(EventData):
    """A shop's business day has been reported: its totals as the reporting service sees them."""

    event_type: ClassVar[str] = "report.daily_ready"

    shop_id: UUID
    business_date: date
    currency: str
    order_count: int
    refund_count: int
    gross: int
    refunds: int
    net: int
    registers_still_open: int
