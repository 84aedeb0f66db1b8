"""Reporting's pure rules: business dates, quarter-hour slots, when a daily report is due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain import (
    average_ticket,
    business_date,
    daily_report_due,
    mask_secret,
    retry_delay_s,
    slot_of,
)


def test_before_the_cutoff_it_is_still_yesterday_in_the_shops_timezone() -> None:
    # 01:30 in Tokyo on the 2nd is 16:30 UTC on the 1st.
    moment = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)
    assert business_date(moment, "Asia/Tokyo", time(4, 0)) == date(2026, 1, 1)
    assert business_date(moment, "Asia/Tokyo", time(0, 0)) == date(2026, 1, 2)
    assert business_date(moment, "UTC", time(4, 0)) == date(2026, 1, 1)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_a_slot_is_the_quarter_hour_a_moment_falls_in(naive: datetime) -> None:
    moment = naive.replace(tzinfo=UTC)
    slot = slot_of(moment)
    assert slot <= moment < slot + timedelta(minutes=15)
    assert (slot.minute % 15, slot.second, slot.microsecond) == (0, 0, 0)


def test_the_daily_report_is_due_for_the_previous_business_date_after_its_time() -> None:
    paris_0759 = datetime(2026, 6, 10, 5, 59, tzinfo=UTC)
    paris_0800 = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)
    assert daily_report_due(paris_0759, time(8, 0), "Europe/Paris", time(4, 0)) is None
    assert daily_report_due(paris_0800, time(8, 0), "Europe/Paris", time(4, 0)) == date(2026, 6, 9)


def test_average_ticket_rounds_half_up_and_is_zero_without_orders() -> None:
    assert average_ticket(1001, 2) == 501
    assert average_ticket(-5, 2) == -3
    assert average_ticket(0, 0) == 0


def test_back_off_doubles_up_to_its_ceiling() -> None:
    assert [retry_delay_s(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def test_a_masked_token_cannot_be_used() -> None:
    token = "123456789:AAE" + "x" * 30 + "wxyz"
    assert mask_secret(token) == "1234…wxyz"
    assert mask_secret("short") == "****"
