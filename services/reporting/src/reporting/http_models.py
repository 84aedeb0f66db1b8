"""Reporting's HTTP shapes. Amounts are integers in minor units of the report's `currency`."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.http_fields import Text


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Totals(_Out):
    """gross − refunds = net, to the unit; taxes are the part of each already included."""

    order_count: int
    refund_count: int
    gross: int
    refunds: int
    net: int
    average_ticket: int
    discounts: int
    sales_tax: int
    refunds_tax: int
    net_tax: int


class SyncCounts(_Out):
    """Odoo status of orders: `pending` counts those the connector has not reported on yet."""

    orders: int
    synced: int
    failed: int
    pending: int


class OpenSessionCard(_Out):
    session_id: UUID
    business_date: date
    opened_at: datetime
    opened_by: str
    opening_cash: int
    order_count: int
    refund_count: int
    takings: int


class RegisterCard(_Out):
    register_id: UUID
    name: str | None
    today: Totals
    open_session: OpenSessionCard | None
    last_order_at: datetime | None
    odoo_sync: SyncCounts | None


class DashboardPublic(_Out):
    shop_id: UUID
    shop_name: str | None
    business_date: date
    timezone: str
    currency: str | None
    generated_at: datetime
    totals: Totals
    registers: list[RegisterCard]


class RegisterTotals(_Out):
    register_id: UUID
    name: str | None
    totals: Totals


class HourTotals(_Out):
    hour: int = Field(description="Hour of the day in the shop's timezone, 0-23")
    order_count: int
    refund_count: int
    gross: int
    refunds: int
    net: int


class PaymentMethodTotals(_Out):
    method: str
    kind: str
    sale_count: int
    sales: int
    refund_count: int
    refunds: int
    net: int


class ProductTotals(_Out):
    product_ref: str
    product_name: str
    quantity: str
    gross: int
    discounts: int
    total: int
    refund_quantity: str
    refunds: int
    net: int


class RefundEntry(_Out):
    refund_id: UUID
    order_id: UUID
    register_id: UUID
    session_id: UUID
    created_at: datetime
    reason: str
    amount: int
    tax: int


class SessionEntry(_Out):
    session_id: UUID
    register_id: UUID
    state: Literal["open", "closed"]
    opened_at: datetime
    closed_at: datetime | None
    opened_by: str
    closed_by: str | None
    opening_cash: int
    expected_cash: int | None
    counted_cash: int | None
    cash_difference: int | None


class TaxRow(_Out):
    """pos-domain 4.3 for one tax: bases are the amounts without tax, refunds as positives.

    Our events carry no tax id or name, so a tax is known by its rate and inclusive flag alone.
    Rows come sorted by rate, then exclusive before inclusive; zero-rated lines are a "0" row.
    """

    rate: str | None = Field(
        description="Percent as the till sent it, less trailing zeros: '10', '5.5', '0'. Our "
        "events carry no tax id or name. null for refunded lines whose order has not reached "
        "reports yet"
    )
    inclusive: bool | None = Field(
        description="Whether the line's price included the tax; null when rate is"
    )
    sales_taxable_base: int
    sales_tax_amount: int
    refund_taxable_base: int
    refund_tax_amount: int
    net_taxable_base: int = Field(description="sales_taxable_base − refund_taxable_base")
    net_tax_amount: int = Field(
        description="sales_tax_amount − refund_tax_amount; the rows add up to the report's tax"
    )


class OpenRegister(_Out):
    register_id: UUID
    session_id: UUID
    business_date: date
    opened_at: datetime


class DailyReportPublic(_Out):
    shop_id: UUID
    shop_name: str | None
    business_date: date
    timezone: str
    currency: str | None
    generated_at: datetime
    complete: bool = Field(description="False while a register's session of the day is open")
    totals: Totals
    by_register: list[RegisterTotals]
    by_payment_method: list[PaymentMethodTotals]
    taxes: list[TaxRow] = Field(description="Σ net_tax_amount = totals.net_tax")
    by_hour: list[HourTotals]
    top_products: list[ProductTotals]
    refunds: list[RefundEntry]
    sessions: list[SessionEntry]
    registers_still_open: list[OpenRegister]


class SalesGroupTotals(_Out):
    """A group's figures. Grouped by day, hour or register a group has every figure of Totals.
    A figure a grouping cannot have is null, never 0: a payment method takes part of an order,
    not its discounts or tax; a product is part of a ticket, so has no average ticket."""

    order_count: int = Field(
        description="Orders in the group; by payment method those paid (at least in part) by it, "
        "by product those with a line of it"
    )
    refund_count: int = Field(
        description="Refunds in the group; by payment method those paid back by it, by product "
        "those giving it back"
    )
    gross: int = Field(
        description="What the orders came to, with tax; by payment method what it took, by "
        "product what its lines came to"
    )
    refunds: int
    net: int = Field(description="gross − refunds")
    average_ticket: int | None = Field(
        description="net / order_count; null by payment method and by product"
    )
    discounts: int | None = Field(description="null by payment method")
    sales_tax: int | None = Field(description="null by payment method")
    refunds_tax: int | None = Field(description="null by payment method")
    net_tax: int | None = Field(description="sales_tax − refunds_tax; null by payment method")


class SalesGroup(_Out):
    key: str = Field(
        description="The group: a date, an hour, a register id, a payment method's code (as "
        "payments name it) or a product ref"
    )
    label: str | None = Field(
        description="A register's name, a payment method's name (its code until the registers "
        "service has named it here), a product's name; null by day and hour"
    )
    payment_method_id: UUID | None = Field(
        description="By payment method: its id in the registers service, null if it has none "
        "there (a method imported from Odoo, or not announced yet); null in other groupings"
    )
    kind: str | None = Field(description="By payment method: cash, card, qr or other; else null")
    totals: SalesGroupTotals


SalesGroupBy = Literal["day", "hour", "register", "payment_method", "product"]


class SalesReportPublic(_Out):
    shop_id: UUID
    currency: str | None
    timezone: str
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    group_by: SalesGroupBy
    totals: Totals
    groups: list[SalesGroup]


class SalesSummary(_Out):
    """pos-domain 4.2, for what the events carry (no tips, voids or service charges exist)."""

    gross_sales: int = Field(description="Σ quantity × unit price, before discounts")
    discount_total: int
    discounted_order_count: int
    sales_total: int = Field(description="What the orders came to: after discounts, with tax")
    refund_count: int
    refunds_total: int
    refunds_net: int = Field(description="Refunded value without its tax")
    net_total: int = Field(description="sales_total − refunds_total")
    net_sales: int = Field(description="Sales without tax, less refunds without tax")
    tax_total: int = Field(description="Tax on sales − tax on refunds")
    order_count: int
    average_ticket: int


class TenderRow(_Out):
    method: str
    kind: str
    is_cash: bool
    sale_count: int
    sales_amount: int
    refund_count: int
    refunds_amount: int
    net_amount: int
    expected: int | None
    counted: int | None
    difference: int | None


class CashDrawer(_Out):
    opening_float: int
    cash_sales: int
    cash_refunds: int
    expected_cash: int
    counted_cash: int | None
    over_short: int | None


class IntegrationStatus(_Out):
    """Odoo status of a Pro session's orders; `pending` counts those not reported on yet."""

    tier: str | None = Field(
        description="pro, or null while the tenant's tier has not reached reports yet"
    )
    orders: int
    pending: int
    synced: int
    failed: int


class SessionReportPublic(_Out):
    report_type: Literal["X", "Z"]
    tenant_name: str | None
    shop_id: UUID
    shop_name: str | None
    register_id: UUID
    register_name: str | None
    receipt_prefix: str | None
    session_id: UUID
    business_date: date
    opened_at: datetime
    closed_at: datetime | None
    generated_at: datetime
    opened_by: str
    closed_by: str | None
    closing_note: str | None
    currency: str
    timezone: str
    first_receipt_number: str | None
    last_receipt_number: str | None
    receipt_count: int
    sales: SalesSummary
    tenders: list[TenderRow]
    taxes: list[TaxRow] = Field(description="Σ net_tax_amount = sales.tax_total")
    cash_drawer: CashDrawer
    by_product: list[ProductTotals]
    by_hour: list[HourTotals]
    integration: IntegrationStatus | None = Field(
        description="null for a Starter tenant, which has no Odoo to sync with"
    )


_BOT_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _bot_token(value: str) -> str:
    if not _BOT_TOKEN.match(value):
        raise ValueError(
            "is not a Telegram bot token; paste the token BotFather gave, shaped like "
            "123456789:AAE... (digits, a colon, then the key)"
        )
    return value


def _chat_id(value: str) -> str:
    if not _CHAT_ID.match(value):
        raise ValueError(
            "must be a numeric chat id (groups are negative, e.g. -1001234567890) "
            "or a public channel name such as @mycafe"
        )
    return value


def _clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError("must be a time of day as HH:MM on a 24-hour clock, such as 08:30")
    return value


class ChatConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_token: Annotated[Text, AfterValidator(_bot_token)] = Field(
        description="The Telegram bot token, as BotFather gave it"
    )
    chat_id: Annotated[Text, AfterValidator(_chat_id)]
    daily_report_time: Annotated[Text, AfterValidator(_clock)] = Field(
        default="08:00", description="HH:MM in the tenant's timezone"
    )
    enabled: bool = True


class ChatWebhookPublic(_Out):
    url: str = Field(description="Where Telegram now sends the bot's messages")
    commands: list[str] = Field(description="What the tenant's chat may ask the bot")


class ChatConfigPublic(_Out):
    bot_token: str = Field(description="Masked; the token itself is never returned")
    chat_id: str
    daily_report_time: str
    enabled: bool
    updated_at: datetime
    updated_by: str
