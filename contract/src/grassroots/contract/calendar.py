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
