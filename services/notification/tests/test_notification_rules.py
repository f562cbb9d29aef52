"""Who hears what, and when: the notification rules at their boundaries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Set

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grassroots.contract.calendar import COUNTY_TIME, at_county_hour, commitment_due_on
from grassroots.contract.labels import LABELS
from notification import planning
from notification.domain import (
    INBOX_ONLY,
    WHO_HEARS_WHAT,
    Addressee,
    AttemptResult,
    Audience,
    Channel,
    Endpoint,
    Kind,
    LaggingFact,
    Next,
    Reason,
    address_problem,
    announced_to_county,
    circular_period,
    escalate_deadlines_before,
    escalation_due_at,
    http_status_result,
    lagging_branches,
    next_step,
    plan_deliveries,
    reminder_due,
    retry_delay,
    smtp_code_is_permanent,
    unregistered,
)

JUNE_30 = dt.date(2012, 6, 30)


def cst(day: str, clock: str = "00:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=COUNTY_TIME)


def test_every_kind_has_an_audience_a_chinese_name_and_a_template() -> None:
    from notification.rendering import TEMPLATES

    assert set(WHO_HEARS_WHAT) == set(Kind)
    for kind in Kind:
        assert kind.value in LABELS["notification_kind"]
        assert (TEMPLATES / f"{kind.value}.txt.j2").is_file()
        for audience in WHO_HEARS_WHAT[kind]:
            assert audience.value in LABELS["audience"]


def test_an_organisation_named_twice_hears_once_per_channel_and_webhooks_once_per_endpoint() -> (
    None
):
    secretary = Addressee("b1", "城关中学党支部", "王建国", "wang@example.org")
    responsible = Addressee("b1", "城关中学党支部", "王建国", "wang@example.org", by_email=False)
    other = Addressee("b2", "东关小学党支部", "李明", None)
    planned = plan_deliveries(
        [responsible, secretary, other, secretary],
        [Endpoint("county-office", "http://a"), Endpoint("county-office", "http://a")],
    )
    assert [(p.channel, p.recipient, p.address) for p in planned] == [
        (Channel.INBOX, "b1", "b1"),
        (Channel.EMAIL, "wang@example.org", "wang@example.org"),
        (Channel.INBOX, "b2", "b2"),
        (Channel.EMAIL, "b2", None),  # no address: planned, then reported as failed
        (Channel.WEBHOOK, "county-office", "http://a"),
    ]


def test_a_responsible_person_alone_is_reached_through_the_branch_inbox_only() -> None:
    responsible = Addressee("b1", "城关中学党支部", "王建国", "wang@example.org", by_email=False)
    assert [p.channel for p in plan_deliveries([responsible], [])] == [Channel.INBOX]


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        (None, "no email address on record"),
        ("", "no email address on record"),
        ("wang@", "invalid email address"),
        ("wang@localhost", "invalid email address"),
        ("wang@example.org", None),
    ],
)
def test_bad_addresses_are_named(address: str | None, problem: str | None) -> None:
    found = address_problem(address)
    assert found == problem if problem is None else (found or "").startswith(problem)


def test_permanent_failures_fail_at_once_transient_ones_until_the_limit() -> None:
    transient = AttemptResult(ok=False, error="connection refused")
    permanent = AttemptResult(ok=False, permanent=True, error="550")
    assert next_step(AttemptResult(ok=True), 5, 5) is Next.DELIVERED
    assert next_step(permanent, 1, 5) is Next.FAILED
    assert next_step(transient, 4, 5) is Next.RETRY
    assert next_step(transient, 5, 5) is Next.FAILED


@pytest.mark.parametrize(
    ("status", "ok", "permanent"),
    [
        *((200, True, False), (204, True, False), (301, False, True), (400, False, True)),
        *((401, False, True), (410, False, True), (408, False, False), (429, False, False)),
        *((500, False, False), (503, False, False)),
    ],
)
def test_webhook_statuses(status: int, ok: bool, permanent: bool) -> None:
    result = http_status_result(status)
    assert (result.ok, result.permanent) == (ok, permanent)


def test_smtp_5xx_is_permanent_4xx_is_not() -> None:
    assert smtp_code_is_permanent(550) and smtp_code_is_permanent(554)
    assert not smtp_code_is_permanent(451) and not smtp_code_is_permanent(421)


@given(
    attempt=st.integers(1, 40),
    initial=st.floats(0.01, 100),
    maximum=st.floats(0.01, 10_000),
    jitter=st.floats(0, 1, exclude_max=True),
)
def test_backoff_grows_is_capped_and_never_below_half_a_step(
    attempt: int, initial: float, maximum: float, jitter: float
) -> None:
    step = min(maximum, initial * 2.0 ** (attempt - 1))
    delay = retry_delay(attempt, initial=initial, maximum=maximum, jitter=jitter)
    assert step / 2 <= delay <= step
    # the shortest wait never shrinks from one attempt to the next
    shortest = [
        retry_delay(n, initial=initial, maximum=maximum, jitter=0) for n in (attempt, attempt + 1)
    ]
    assert shortest[0] <= shortest[1]


def test_a_reminder_is_due_from_its_day_at_the_hour_until_the_deadline_day_ends() -> None:
    def due(now: dt.datetime, done: Set[int] = frozenset()) -> int | None:
        return reminder_due(JUNE_30, [7, 1], hour=8, now=now, done=set(done)).send

    assert due(cst("2012-06-23", "07:59:59")) is None
    assert due(cst("2012-06-23", "08:00:00")) == 7
    assert due(cst("2012-06-23", "09:00:00"), {7}) is None
    assert due(cst("2012-06-29", "08:00:00"), {7}) == 1
    assert due(cst("2012-06-30", "23:59:59"), {7}) == 1
    assert due(cst("2012-07-01", "00:00:00"), set()) is None  # the phase's planned end has passed


def test_when_several_reminders_are_due_at_once_only_the_nearest_is_sent() -> None:
    decision = reminder_due(JUNE_30, [1, 7, 3], hour=8, now=cst("2012-06-29", "10:00:00"), done={7})
    assert (decision.send, decision.passed) == (1, [3])


def test_the_commitment_is_due_as_rectification_counts_it() -> None:
    assert commitment_due_on(cst("2012-04-16", "09:00:00"), 15) == dt.date(2012, 5, 1)
    # opened late in the evening UTC is the next day in the county
    opened = dt.datetime(2012, 4, 16, 17, tzinfo=dt.UTC)
    assert commitment_due_on(opened, 0) == dt.date(2012, 4, 17)


def test_an_overdue_task_is_escalated_at_the_same_moment_either_way_it_is_asked() -> None:
    deadline = dt.date(2012, 5, 10)
    moment = escalation_due_at(deadline, 7)
    assert moment == cst("2012-05-18")
    assert not deadline < escalate_deadlines_before(moment - dt.timedelta(seconds=1), 7)
    assert deadline < escalate_deadlines_before(moment, 7)


def test_periodic_circulars_count_whole_periods_from_the_first_opening() -> None:
    anchor = cst("2012-04-16", "09:00:00")
    assert circular_period(anchor, anchor, 7) == 0
    assert circular_period(anchor, cst("2012-04-23", "08:59:59"), 7) == 0
    assert circular_period(anchor, cst("2012-04-23", "09:00:00"), 7) == 1
    assert circular_period(anchor, cst("2012-05-20", "09:00:00"), 7) == 4
    assert circular_period(anchor, anchor - dt.timedelta(days=3), 7) == 0


def test_a_circular_names_each_branch_once_with_each_fact_once() -> None:
    def fact(branch: str, reason: Reason, key: str, **detail: object) -> LaggingFact:
        return LaggingFact(branch, f"{branch}党支部", reason, key, detail)

    facts = [
        fact("b2", Reason.COMMITMENT_MISSING, "", due="2012-05-01"),
        fact("b1", Reason.TASK_OVERDUE, "t1", title="甲", deadline="2012-05-10"),
        fact("b1", Reason.TASK_OVERDUE, "t1", title="甲", deadline="2012-05-10"),  # re-sent
        fact("b1", Reason.GRADING_INCOMPLETE, "initial", round="initial", missing=["self"]),
        fact("b1", Reason.TASK_OVERDUE, "t2", title="乙", deadline="2012-05-12"),
        fact("b2", Reason.COMMITMENT_MISSING, "", due="2012-05-01"),  # found twice
    ]
    lines = lagging_branches(facts)
    assert [line.branch_id for line in lines] == ["b1", "b2"]  # most facts first
    b1 = lines[0]
    assert [r.reason for r in b1.reasons] == [Reason.TASK_OVERDUE, Reason.GRADING_INCOMPLETE]
    assert [d["title"] for d in b1.reasons[0].details] == ["甲", "乙"]
    assert len(lines[1].reasons) == 1 and len(lines[1].reasons[0].details) == 1


def test_hours_are_county_hours() -> None:
    assert at_county_hour(JUNE_30, 8).astimezone(dt.UTC) == dt.datetime(
        2012, 6, 30, 0, tzinfo=dt.UTC
    )


def test_a_committees_commendation_is_the_countys_and_any_other_the_organisations() -> None:
    assert announced_to_county("committee")
    assert not any(announced_to_county(k) for k in ("general_branch", "branch", None))
    assert WHO_HEARS_WHAT[Kind.COMMENDATION] == (Audience.SECRETARY,)


def test_a_signed_circular_reaches_every_organisation_and_a_draft_only_the_offices_inbox() -> None:
    assert WHO_HEARS_WHAT[Kind.CIRCULAR] == (Audience.EVERY_BRANCH, Audience.OFFICE)
    assert WHO_HEARS_WHAT[Kind.CIRCULAR_DRAFTED] == (Audience.OFFICE,)
    assert WHO_HEARS_WHAT[Kind.CIRCULAR_SIGN_OFF_DUE] == (Audience.OFFICE,)
    assert set(INBOX_ONLY) == {Kind.CIRCULAR_DRAFTED}  # nothing of a draft is mailed


def test_an_organisation_is_registered_only_in_its_own_county_and_refused_once() -> None:
    registered_in = {"b1": "610526", "c1": "610526", "x1": "610527"}
    assert unregistered(["b1", "c1"], registered_in, "610526") == []
    assert unregistered(["b9", "x1", "b9"], registered_in, "610526") == [
        "b9 is not a registered organisation of county 610526: register it "
        "(org.branch_registered) first",
        "x1 is not a registered organisation of county 610526: register it "
        "(org.branch_registered) first",
    ]


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_a_delivery_id_is_the_uuid5_of_its_key_as_ever(parts: list[str]) -> None:
    """Ids already planned stay the ids of their keys: a redelivered event plans nothing new."""
    expected = uuid.uuid5(planning.NOTIFICATION_NAMESPACE, "\x1f".join(parts))
    assert planning.derived_id(*parts) == str(expected)
