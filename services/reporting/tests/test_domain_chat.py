"""Chat and period rules without a database: failed sends, report periods."""

from __future__ import annotations

from datetime import date

from reporting.domain.business_calendar import MAX_REPORT_DAYS, period_problem
from reporting.domain.chat import SendRetryPolicy, after_failed_send

POLICY = SendRetryPolicy(max_attempts=3, base_s=5, max_s=60)


def test_a_failed_send_is_tried_again_after_the_back_off() -> None:
    assert after_failed_send(1, POLICY, None).retry_in_s == 5
    assert after_failed_send(2, POLICY, None).retry_in_s == 10


def test_a_chat_api_asking_to_wait_longer_is_obeyed() -> None:
    assert after_failed_send(1, POLICY, 30.0).retry_in_s == 30.0
    assert after_failed_send(2, POLICY, 1.0).retry_in_s == 10


def test_a_send_is_given_up_after_its_last_attempt() -> None:
    assert after_failed_send(3, POLICY, None).given_up
    assert not after_failed_send(2, POLICY, None).given_up


def test_a_period_runs_forward_and_is_at_most_a_year_and_a_day() -> None:
    assert period_problem(date(2026, 1, 1), date(2026, 1, 1)) is None
    backwards = period_problem(date(2026, 1, 2), date(2026, 1, 1))
    assert backwards is not None
    assert "is before from" in backwards
    too_long = period_problem(date(2025, 1, 1), date(2026, 1, 2))
    assert too_long is not None
    assert f"at most {MAX_REPORT_DAYS} days" in too_long
    last_day = date.fromordinal(date(2025, 1, 1).toordinal() + MAX_REPORT_DAYS - 1)
    assert period_problem(date(2025, 1, 1), last_day) is None
