"""Reporting's plain rules: business dates, hour buckets, averages, when a report is due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.money import round_minor

# Until a shop's own events arrive its orders are still reported, on UTC days.
FALLBACK_TIMEZONE = "UTC"
FALLBACK_CUTOFF = time(0, 0)
MAX_REPORT_DAYS = 366


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or FALLBACK_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(FALLBACK_TIMEZONE)


def business_date(moment: datetime, timezone: str | None, cutoff: time | None) -> date:
    """The shop's trading day: before the cutoff (e.g. 04:00 local) it is still yesterday."""
    local = moment.astimezone(zone(timezone))
    if local.time() < (cutoff or FALLBACK_CUTOFF):
        return local.date() - timedelta(days=1)
    return local.date()


def slot_of(moment: datetime) -> datetime:
    """The UTC quarter hour a moment falls in (the grain of the hourly rollup)."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def hour_order(hour: int, cutoff: time | None) -> int:
    """Sort key putting the hours of a business day in trading order (04:00 … 03:00)."""
    return (hour - (cutoff or FALLBACK_CUTOFF).hour) % 24


def average_ticket(net: int, order_count: int) -> int:
    """Net takings per order, rounded half up to the minor unit; 0 when nothing was sold."""
    if order_count == 0:
        return 0
    return round_minor(Decimal(net) / Decimal(order_count))


def parse_cutoff(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":")[:2])
    return time(hours, minutes)


def daily_report_due(
    now: datetime, report_time: time, timezone: str | None, cutoff: time | None
) -> date | None:
    """The business date whose daily report is due now, or None before today's report time.

    The report time is read in the tenant's timezone; the date reported is the shop's previous
    business date, so a cafe with a 04:00 cutoff gets yesterday's trading day at, say, 08:00.
    """
    local = now.astimezone(zone(timezone))
    if local.time() < report_time:
        return None
    return business_date(now, timezone, cutoff) - timedelta(days=1)


def retry_delay_s(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential back-off for a chat send that failed `attempts` times."""
    return float(min(max_s, base_s * 2 ** max(attempts - 1, 0)))


def mask_secret(secret: str) -> str:
    """Enough of a bot token to recognise it, never enough to use it."""
    if len(secret) <= 8:
        return "****"
    return f"{secret[:4]}…{secret[-4:]}"
