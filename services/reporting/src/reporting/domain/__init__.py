"""Reporting's rules, with no I/O: business dates, report arithmetic, projections, chat.

The names below are those other packages import from `reporting.domain`; each module says
which rules it holds.
"""

from reporting.domain.business_calendar import (
    FALLBACK_TIMEZONE,
    MAX_REPORT_DAYS,
    business_date,
    daily_report_due,
    hour_order,
    parse_cutoff,
    slot_of,
)
from reporting.domain.chat import mask_secret, retry_delay_s
from reporting.domain.figures import average_ticket

__all__ = [
    "FALLBACK_TIMEZONE",
    "MAX_REPORT_DAYS",
    "average_ticket",
    "business_date",
    "daily_report_due",
    "hour_order",
    "mask_secret",
    "parse_cutoff",
    "retry_delay_s",
    "slot_of",
]
