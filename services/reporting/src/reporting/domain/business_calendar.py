"""Business dates, quarter-hour slots, trading-order hours, report periods and when one is due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def parse_cutoff(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":")[:2])
    return time(hours, minutes)


def period_problem(first: date, last: date) -> str | None:
    """Why a report period of business dates (both included) cannot be served, or None."""
    if last < first:
        return (
            f"to ({last}) is before from ({first}); give the first and last business "
            "dates of the period, both included."
        )
    days = (last - first).days + 1
    if days > MAX_REPORT_DAYS:
        return (
            f"The period from {first} to {last} spans {days} days; "
            f"ask for at most {MAX_REPORT_DAYS} days at a time."
        )
    return None


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
