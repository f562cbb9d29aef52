"""Progress reports (工作进展情况) are due every N days from the campaign's first day; an
organisation that has not reported for the period of a passed due date is lagging until it
reports — the one rule reporting and notification both reckon by."""

from __future__ import annotations

import datetime as dt

from grassroots.contract.calendar import progress_report_due, progress_report_missing

FIRST, LAST = dt.date(2012, 3, 1), dt.date(2012, 9, 30)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_a_due_date_has_passed_from_the_next_day() -> None:
    assert progress_report_due(FIRST, LAST, 14, day("2012-03-15")) is None
    assert progress_report_due(FIRST, LAST, 14, day("2012-03-16")) == day("2012-03-15")
    assert progress_report_due(FIRST, LAST, 14, day("2012-03-30")) == day("2012-03-29")


def test_no_due_date_after_the_campaign_s_last_day() -> None:
    assert progress_report_due(FIRST, LAST, 14, day("2012-12-01")) == day("2012-09-27")


def test_lagging_until_it_reports_for_the_period_a_late_report_clears_it() -> None:
    today = day("2012-03-16")
    assert progress_report_missing(FIRST, LAST, 14, today, None) == day("2012-03-15")
    assert progress_report_missing(FIRST, LAST, 14, today, day("2012-03-10")) is None
    assert progress_report_missing(FIRST, LAST, 14, today, day("2012-03-16")) is None  # late
    # A report of the period before does not count for the next one.
    assert progress_report_missing(FIRST, LAST, 14, day("2012-03-30"), day("2012-03-15")) == (
        day("2012-03-29")
    )


def test_every_zero_days_means_no_reports_are_due() -> None:
    assert progress_report_missing(FIRST, LAST, 0, day("2012-06-01"), None) is None
