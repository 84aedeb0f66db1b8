"""From rows and domain figures to the HTTP shapes of http_models.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time
from uuid import UUID

from reporting.domain import session_figures
from reporting.domain.figures import (
    Counters,
    HourFigures,
    PaymentMethodFigures,
    ProductFigures,
    RegisterFigures,
    ReportTotals,
    SalesGroupFigures,
    SyncStatus,
    TaxFigures,
    dashboard_sync_status,
    decimal_text,
    in_trading_order,
    sum_totals,
)
from reporting.domain.session_figures import (
    CashDrawerFigures,
    IntegrationFigures,
    SalesSummaryFigures,
    SessionOrderSummary,
    SessionRefundSummary,
    TenderFigures,
    TenderLine,
    cash_difference,
)
from reporting.http_models import (
    CashDrawer,
    ChatConfigPublic,
    HourTotals,
    IntegrationStatus,
    OpenRegister,
    OpenSessionCard,
    PaymentMethodTotals,
    ProductTotals,
    RefundEntry,
    RegisterCard,
    RegisterTotals,
    SalesGroup,
    SalesSummary,
    SessionEntry,
    SessionReportPublic,
    SyncCounts,
    TaxRow,
    TenderRow,
    Totals,
)
from reporting.repository.chat import ChatConfigRow
from reporting.repository.day_reports import OpenSessionRow, RefundRow, RegisterRow, SessionRow
from reporting.repository.session_reports import SessionHeader


def totals_public(totals: ReportTotals) -> Totals:
    return Totals.model_validate(totals, from_attributes=True)


def sync_counts_public(status: SyncStatus) -> SyncCounts:
    return SyncCounts.model_validate(status, from_attributes=True)


def open_session_card(session: OpenSessionRow, takings: Counters) -> OpenSessionCard:
    return OpenSessionCard(
        session_id=session.session_id,
        business_date=session.business_date,
        opened_at=session.opened_at,
        opened_by=session.opened_by,
        opening_cash=session.opening_cash,
        order_count=takings.order_count,
        refund_count=takings.refund_count,
        takings=takings.net,
    )


def register_cards(
    registers: Iterable[RegisterRow],
    *,
    today: Mapping[UUID, RegisterFigures],
    open_sessions: Mapping[UUID, OpenSessionRow],
    takings: Mapping[UUID, Counters],
    last_orders: Mapping[UUID, datetime | None],
    tenant_tier: str | None,
) -> list[RegisterCard]:
    """The dashboard's card of each register: its day, its open session, its Odoo counts."""
    cards = []
    for register in registers:
        rid = register.register_id
        figures = today.get(rid)
        session = open_sessions.get(rid)
        odoo_sync = dashboard_sync_status(figures, register.tier, tenant_tier)
        cards.append(
            RegisterCard(
                register_id=rid,
                name=register.name,
                today=totals_public(sum_totals([figures.counters] if figures else [])),
                open_session=open_session_card(session, takings[session.session_id])
                if session
                else None,
                last_order_at=last_orders.get(rid),
                odoo_sync=sync_counts_public(odoo_sync) if odoo_sync else None,
            )
        )
    return cards


def register_totals(
    registers: Iterable[RegisterFigures], names: Mapping[UUID, str | None]
) -> list[RegisterTotals]:
    """By register name, unnamed registers last, then by id."""
    ordered = sorted(registers, key=lambda r: (names.get(r.register_id) or "", str(r.register_id)))
    return [
        RegisterTotals(
            register_id=r.register_id,
            name=names.get(r.register_id),
            totals=totals_public(sum_totals([r.counters])),
        )
        for r in ordered
    ]


def product_totals(product: ProductFigures) -> ProductTotals:
    return ProductTotals(
        product_ref=product.product_ref,
        product_name=product.label,
        quantity=decimal_text(product.quantity),
        gross=product.gross,
        discounts=product.discounts,
        total=product.total,
        refund_quantity=decimal_text(product.refund_quantity),
        refunds=product.refunds,
        net=product.net,
    )


def tax_rows(taxes: Iterable[TaxFigures]) -> list[TaxRow]:
    return [
        TaxRow(
            rate=None if tax.rate is None else decimal_text(tax.rate),
            inclusive=tax.inclusive,
            sales_taxable_base=tax.sales_base,
            sales_tax_amount=tax.sales_tax,
            refund_taxable_base=tax.refund_base,
            refund_tax_amount=tax.refund_tax,
            net_taxable_base=tax.net_base,
            net_tax_amount=tax.net_tax,
        )
        for tax in taxes
    ]


def hour_totals(hours: Iterable[HourFigures], cutoff: time | None) -> list[HourTotals]:
    return [
        HourTotals(
            hour=h.hour,
            order_count=h.counters.order_count,
            refund_count=h.counters.refund_count,
            gross=h.counters.gross,
            refunds=h.counters.refunds,
            net=h.counters.net,
        )
        for h in in_trading_order(hours, cutoff)
    ]


def payment_method_totals(methods: Iterable[PaymentMethodFigures]) -> list[PaymentMethodTotals]:
    return [
        PaymentMethodTotals(
            method=m.method,
            kind=m.kind,
            sale_count=m.sale_count,
            sales=m.sales,
            refund_count=m.refund_count,
            refunds=m.refunds,
            net=m.net,
        )
        for m in methods
    ]


def sales_group(group: SalesGroupFigures) -> SalesGroup:
    return SalesGroup.model_validate(group, from_attributes=True)


def refund_entry(refund: RefundRow) -> RefundEntry:
    return RefundEntry(
        refund_id=refund.refund_id,
        order_id=refund.order_id,
        register_id=refund.register_id,
        session_id=refund.session_id,
        created_at=refund.created_at,
        reason=refund.reason,
        amount=refund.total,
        tax=refund.tax_total,
    )


def session_entry(session: SessionRow) -> SessionEntry:
    return SessionEntry(
        session_id=session.session_id,
        register_id=session.register_id,
        state=session.state,
        opened_at=session.opened_at,
        closed_at=session.closed_at,
        opened_by=session.opened_by,
        closed_by=session.closed_by,
        opening_cash=session.opening_cash,
        expected_cash=session.expected_cash,
        counted_cash=session.counted_cash,
        cash_difference=cash_difference(session.counted_cash, session.expected_cash),
    )


def open_register(session: OpenSessionRow) -> OpenRegister:
    return OpenRegister(
        register_id=session.register_id,
        session_id=session.session_id,
        business_date=session.business_date,
        opened_at=session.opened_at,
    )


def tender_row(line: TenderLine) -> TenderRow:
    tender = line.tender
    return TenderRow(
        method=tender.method,
        kind=tender.kind,
        is_cash=tender.is_cash,
        sale_count=tender.sale_count,
        sales_amount=tender.sales,
        refund_count=tender.refund_count,
        refunds_amount=tender.refunds,
        net_amount=tender.net,
        expected=line.expected,
        counted=line.counted,
        difference=line.difference,
    )


def sales_summary(summary: SalesSummaryFigures) -> SalesSummary:
    return SalesSummary.model_validate(summary, from_attributes=True)


def cash_drawer(drawer: CashDrawerFigures) -> CashDrawer:
    return CashDrawer.model_validate(drawer, from_attributes=True)


def integration_status(integration: IntegrationFigures | None) -> IntegrationStatus | None:
    if integration is None:
        return None
    return IntegrationStatus.model_validate(integration, from_attributes=True)


def chat_config_public(config: ChatConfigRow, masked_token: str) -> ChatConfigPublic:
    return ChatConfigPublic(
        bot_token=masked_token,
        chat_id=config.chat_id,
        daily_report_time=config.daily_report_time.strftime("%H:%M"),
        enabled=config.enabled,
        updated_at=config.updated_at,
        updated_by=config.updated_by,
    )


def session_report_public(
    session: SessionHeader,
    *,
    orders: SessionOrderSummary,
    refunds: SessionRefundSummary,
    tenders: Sequence[TenderFigures],
    taxes: Iterable[TaxFigures],
    products: Iterable[ProductFigures],
    hours: Iterable[HourFigures],
    generated_at: datetime,
) -> SessionReportPublic:
    """The X (open) or Z (closed) report of a session, with its drawer worked out."""
    drawer = session_figures.cash_drawer(session.cash, tenders)
    return SessionReportPublic(
        report_type=session_figures.report_type(session.cash),
        tenant_name=session.tenant_name,
        shop_id=session.shop_id,
        shop_name=session.shop_name,
        register_id=session.register_id,
        register_name=session.register_name,
        receipt_prefix=session.receipt_prefix,
        session_id=session.session_id,
        business_date=session.business_date,
        opened_at=session.opened_at,
        closed_at=session.closed_at,
        generated_at=generated_at,
        opened_by=session.opened_by,
        closed_by=session.closed_by,
        closing_note=session.closing_note,
        currency=session.currency,
        timezone=session.timezone,
        first_receipt_number=orders.first_receipt,
        last_receipt_number=orders.last_receipt,
        receipt_count=orders.order_count,
        sales=sales_summary(session_figures.sales_summary(orders, refunds)),
        tenders=[tender_row(line) for line in session_figures.tender_lines(tenders, drawer)],
        taxes=tax_rows(taxes),
        cash_drawer=cash_drawer(drawer),
        by_product=[product_totals(p) for p in products],
        by_hour=hour_totals(hours, session.business_day_cutoff),
        integration=integration_status(
            session_figures.integration_status(session.register_tier, session.tenant_tier, orders)
        ),
    )
