"""The county calendar: deadlines are calendar days in the county's time (UTC+8). A task due on
30 June is overdue from 1 July 00:00 +08:00; a commitment is due `commitment_due_days` after
rectification actually opened. Every service and county system reckons days this one way."""

from __future__ import annotations

import datetime as dt

COUNTY_TIME = dt.timezone(dt.timedelta(hours=8), "CST")
DEFAULT_COMMITMENT_DUE_DAYS = 15


def at_county_hour(day: dt.date, hour: int) -> dt.datetime:
    """`hour`:00 of `day`, county time."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=COUNTY_TIME)


def county_today(now: dt.datetime) -> dt.date:
    """The county's calendar day at `now`; deadlines before it have passed."""
    return now.astimezone(COUNTY_TIME).date()


def overdue_from(deadline: dt.date) -> dt.datetime:
    """The instant a task due on `deadline` becomes overdue: the next day, 00:00 county time."""
    return at_county_hour(deadline + dt.timedelta(days=1), 0)


def is_overdue(deadline: dt.date, now: dt.datetime) -> bool:
    return now >= overdue_from(deadline)


def commitment_due_at(rectification_opened_at: dt.datetime, due_days: int) -> dt.datetime:
    return rectification_opened_at + dt.timedelta(days=due_days)


def commitment_due_on(rectification_opened_at: dt.datetime, due_days: int) -> dt.date:
    """The county day a commitment is due: `due_days` after rectification actually opened."""
    return county_today(commitment_due_at(rectification_opened_at, due_days))


DEFAULT_PROGRESS_REPORT_EVERY_DAYS = 14


def progress_report_due(
    first_day: dt.date, last_day: dt.date, every_days: int, today: dt.date
) -> dt.date | None:
    """The latest progress-report due date (工作进展情况) that has passed by `today`, or None:
    reports are due every `every_days` from the campaign's first day, the last one on or
    before its last day. A due date has passed from the next day on."""
    if every_days <= 0:
        return None
    passed = (min(today - dt.timedelta(days=1), last_day) - first_day).days // every_days
    if passed < 1:
        return None
    return first_day + dt.timedelta(days=passed * every_days)


def progress_report_missing(
    first_day: dt.date,
    last_day: dt.date,
    every_days: int,
    today: dt.date,
    last_reported_on: dt.date | None,
) -> dt.date | None:
    """The due date an organisation has missed, or None: it is lagging when no report of the
    period ending on the latest passed due date came (reported after the period began), until
    it reports (a late report clears it)."""
    due = progress_report_due(first_day, last_day, every_days, today)
    if due is None:
        return None
    period_start = due - dt.timedelta(days=every_days)
    if last_reported_on is not None and last_reported_on > period_start:
        return None
    return due
