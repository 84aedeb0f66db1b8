"""The texts sent to a shop's chat: the shift-close message and the daily report."""

from __future__ import annotations

from reporting.http_models import DailyReportPublic, IntegrationStatus, SessionReportPublic
from shared.money import UnknownCurrencyError, format_money


def _money(amount: int, currency: str | None) -> str:
    if currency is None:
        return str(amount)
    try:
        return format_money(amount, currency)
    except UnknownCurrencyError:
        return f"{amount} {currency}"


def _signed(amount: int, currency: str | None) -> str:
    text = _money(abs(amount), currency)
    if amount > 0:
        return f"+{text} (over)"
    if amount < 0:
        return f"-{text} (short)"
    return text


def shift_close_message(report: SessionReportPublic) -> str:
    c = report.currency
    sales, drawer, integration = report.sales, report.cash_drawer, report.integration
    register = report.register_name or str(report.register_id)
    where = f"{register} · {report.shop_name}" if report.shop_name else register
    lines = [
        f"Shift closed: {where}",
        f"Business date {report.business_date.isoformat()}",
        f"Cashier: opened by {report.opened_by}, closed by {report.closed_by or '?'}",
        "",
        f"Orders: {sales.order_count}   Sales: {_money(sales.sales_total, c)}",
        f"Refunds: {sales.refund_count}   {_money(sales.refunds_total, c)}",
        f"Net: {_money(sales.net_total, c)}",
        "",
        "Takings by payment method:",
    ]
    if not report.tenders:
        lines.append("  none")
    for tender in report.tenders:
        refunds = f" (refunds {_money(tender.refunds_amount, c)})" if tender.refunds_amount else ""
        lines.append(f"  {tender.method}: {_money(tender.net_amount, c)}{refunds}")
    lines += [
        "",
        f"Opening cash: {_money(drawer.opening_float, c)}",
        f"Expected cash: {_money(drawer.expected_cash, c)}",
        f"Counted cash: {_money(drawer.counted_cash or 0, c)}",
        f"Difference: {_signed(drawer.over_short or 0, c)}",
        "",
        _integration_line(integration),
    ]
    return "\n".join(lines)


def _integration_line(integration: IntegrationStatus | None) -> str:
    if integration is None or integration.tier != "pro":
        return "Odoo: not connected"
    status = (
        f"Odoo: {integration.synced} synced, {integration.pending} pending, "
        f"{integration.failed} failed"
    )
    return status + ("  <- check the connector" if integration.failed else "")


def daily_message(report: DailyReportPublic) -> str:
    c, t = report.currency, report.totals
    title = report.shop_name or str(report.shop_id)
    lines = [
        f"Daily report: {title}, {report.business_date.isoformat()}",
        "",
        f"Gross: {_money(t.gross, c)}",
        f"Refunds: {_money(t.refunds, c)} ({t.refund_count})",
        f"Net: {_money(t.net, c)}",
        f"Orders: {t.order_count}   Average ticket: {_money(t.average_ticket, c)}",
    ]
    if report.by_payment_method:
        lines += ["", "By payment method:"]
        lines += [f"  {m.method}: {_money(m.net, c)}" for m in report.by_payment_method]
    if report.by_register:
        lines += ["", "By register:"]
        lines += [
            f"  {r.name or r.register_id}: {_money(r.totals.net, c)}" for r in report.by_register
        ]
    if report.top_products:
        lines += ["", "Top products:"]
        lines += [
            f"  {p.product_name} x{p.quantity}: {_money(p.net, c)}" for p in report.top_products[:5]
        ]
    if report.refunds:
        lines += ["", "Refunds:"]
        lines += [f"  {_money(r.amount, c)}: {r.reason}" for r in report.refunds[:10]]
        if len(report.refunds) > 10:
            lines.append(f"  and {len(report.refunds) - 10} more")
    if report.registers_still_open:
        lines += ["", f"Still open: {len(report.registers_still_open)} register(s); not final."]
    return "\n".join(lines)
