"""The events reporting emits, built from what the service decided."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from reporting.http_models import DailyReportPublic
from shared.events.contracts import ReportDailyReady
from shared.events.envelope import EventEnvelope
from shared.structured_logging import current_correlation_id

PRODUCER = "reporting"


def daily_report_ready(
    tenant_id: UUID, shop_id: UUID, day: date, report: DailyReportPublic
) -> EventEnvelope:
    totals = report.totals
    event = ReportDailyReady(
        shop_id=shop_id,
        business_date=day,
        currency=report.currency or "",
        order_count=totals.order_count,
        refund_count=totals.refund_count,
        gross=totals.gross,
        refunds=totals.refunds,
        net=totals.net,
        registers_still_open=len(report.registers_still_open),
    )
    return EventEnvelope.wrap(
        event,
        tenant_id=tenant_id,
        aggregate_id=shop_id,
        # One daily event per shop and date: the date orders them.
        aggregate_version=day.toordinal(),
        producer=PRODUCER,
        correlation_id=current_correlation_id(),
    )
