"""Rectification rules: commitments, revisions, reviews, progress, deadlines, settlement (with
gradual tasks on track), and problems followed through: coverage of the prominent problems,
their life cycle, the superior's answers, answers and reviews due."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from grassroots.contract import ContractViolation, parse_event
from grassroots.contract.calendar import (
    COUNTY_TIME,
    commitment_due_at,
    commitment_due_on,
    is_overdue,
)
from grassroots.contract.examples import DATA, envelope
from rectification.domain import (
    Answer,
    CampaignWindow,
    CurrentCommitment,
    EscalationState,
    Problem,
    TaskPlan,
    TaskState,
    answer_refusal,
    commitment_refusals,
    coverage_refusal,
    defer,
    due_on,
    follow_approved_plan,
    naming_order,
    overdue_since,
    problem_refusal,
    progress_refusal,
    record_answer,
    resolve,
    review_refusal,
    revision_refusal,
    settle_branch,
    uncovered_problems,
)

JUNE_30 = dt.date(2012, 6, 30)
WINDOW = CampaignWindow(dt.date(2012, 3, 1), dt.date(2012, 9, 30), dt.date(2012, 9, 30))
CLOSED = dt.datetime(2012, 6, 30, 18, 0, tzinfo=COUNTY_TIME)
BRANCH = "610526-edu-0007"


@pytest.mark.parametrize("clear", ["responsible", "requirement", "measures", "deadline", "kind"])
def test_a_task_missing_one_of_the_four_clears_or_its_kind_is_refused_naming_task_and_field(
    clear: str,
) -> None:
    data = json.loads(json.dumps(DATA["rectification.commitment_published"]))
    data["tasks"].append({**data["tasks"][0], "task_id": "t-2"})
    del data["tasks"][1][clear]
    with pytest.raises(ContractViolation) as refused:
        parse_event(json.dumps(envelope("rectification.commitment_published", data)).encode())
    assert f"data.tasks.1 (task t-2).{clear}: Field required" in refused.value.reason


def test_a_blank_clear_counts_as_missing() -> None:
    data = json.loads(json.dumps(DATA["rectification.commitment_published"]))
    data["tasks"][0]["responsible"] = "   "
    with pytest.raises(ContractViolation) as refused:
        parse_event(json.dumps(envelope("rectification.commitment_published", data)).encode())
    assert "(task t-1).responsible" in refused.value.reason


def test_a_deadline_outside_the_campaign_and_an_unknown_problem_are_named() -> None:
    tasks = [
        TaskPlan("t-1", "p-1", dt.date(2012, 6, 1)),
        TaskPlan("t-2", "p-9", dt.date(2013, 1, 5)),
    ]
    assert commitment_refusals(tasks, listed_problems={"p-1"}, campaign_window=WINDOW) == [
        "task t-2: problem p-9 was not listed",
        "task t-2: deadline 2013-01-05 is outside the campaign (2012-03-01 – 2012-09-30)",
    ]


def test_deadlines_on_the_campaign_edges_are_inside() -> None:
    tasks = [TaskPlan("t-1", None, WINDOW.starts_on), TaskPlan("t-2", None, WINDOW.ends_on)]
    assert commitment_refusals(tasks, listed_problems=set(), campaign_window=WINDOW) == []


def test_a_gradual_task_may_run_past_the_campaign_up_to_the_horizon() -> None:
    window = CampaignWindow(dt.date(2012, 3, 1), dt.date(2012, 9, 30), dt.date(2012, 12, 31))
    tasks = [
        TaskPlan("t-1", None, dt.date(2012, 12, 31), "gradual"),  # on the horizon: accepted
        TaskPlan("t-2", None, dt.date(2012, 10, 1), "immediate"),  # immediate: the window
        TaskPlan("t-3", None, dt.date(2013, 3, 1), "gradual"),
        TaskPlan("t-4", None, dt.date(2012, 2, 1), "gradual"),  # before the campaign
    ]
    assert commitment_refusals(tasks, listed_problems=set(), campaign_window=window) == [
        "task t-2: deadline 2012-10-01 is outside the campaign (2012-03-01 – 2012-09-30)",
        "task t-3 (gradual): deadline 2013-03-01 is after the horizon 2012-12-31",
        "task t-4: deadline 2012-02-01 is outside the campaign (2012-03-01 – 2012-09-30)",
    ]


def test_by_default_the_horizon_of_gradual_tasks_is_the_campaign_last_day() -> None:
    late = [TaskPlan("t-3", None, dt.date(2012, 10, 1), "gradual")]
    assert commitment_refusals(late, listed_problems=set(), campaign_window=WINDOW) == [
        "task t-3 (gradual): deadline 2012-10-01 is after the horizon 2012-09-30"
    ]


def test_revisions_must_grow_on_the_same_commitment() -> None:
    current = CurrentCommitment("c-1", 2)
    assert revision_refusal(None, "c-1", 1) is None
    assert revision_refusal(current, "c-1", 3) is None
    assert "not newer than the published revision 2" in (revision_refusal(current, "c-1", 2) or "")
    assert "already committed as c-1" in (revision_refusal(current, "c-2", 3) or "")


def test_only_the_latest_revision_can_be_reviewed() -> None:
    current = CurrentCommitment("c-1", 2)
    assert review_refusal(current, "c-1", 2) is None
    assert "not the latest (revision 2)" in (review_refusal(current, "c-1", 1) or "")
    assert "was not published" in (review_refusal(None, "c-1", 1) or "")


def test_progress_goes_backwards_only_with_a_reason() -> None:
    assert progress_refusal(completed=False, current_percent=60, percent=80, note=None) is None
    assert "say why in note" in (
        progress_refusal(completed=False, current_percent=60, percent=40, note=None) or ""
    )
    assert (
        progress_refusal(completed=False, current_percent=60, percent=40, note="返工：验收未通过")
        is None
    )
    assert progress_refusal(completed=True, current_percent=100, percent=100, note=None)


def test_a_task_becomes_overdue_at_the_first_instant_after_its_deadline_day() -> None:
    last_moment = dt.datetime(2012, 6, 30, 23, 59, 59, 999999, tzinfo=COUNTY_TIME)
    assert not is_overdue(JUNE_30, last_moment)
    assert is_overdue(JUNE_30, last_moment + dt.timedelta(microseconds=1))
    # The same instant seen from UTC.
    assert is_overdue(JUNE_30, dt.datetime(2012, 6, 30, 16, 0, tzinfo=dt.UTC))
    assert not is_overdue(JUNE_30, dt.datetime(2012, 6, 30, 15, 59, 59, tzinfo=dt.UTC))


def test_a_commitment_is_due_the_configured_days_after_rectification_opened() -> None:
    opened = dt.datetime(2012, 4, 16, 9, 0, tzinfo=COUNTY_TIME)
    assert commitment_due_at(opened, 15) == dt.datetime(2012, 5, 1, 9, 0, tzinfo=COUNTY_TIME)
    assert commitment_due_on(opened, 15) == dt.date(2012, 5, 1)


def test_settlement_counts_completed_and_overdue_at_the_close() -> None:
    closed = dt.datetime(2012, 7, 1, 10, 0, tzinfo=COUNTY_TIME)
    tasks = [
        TaskState("a", dt.date(2012, 5, 1), completed=True),
        TaskState("b", dt.date(2012, 5, 1), completed=True),
        TaskState("c", dt.date(2012, 6, 30), completed=False),  # overdue at the close
        TaskState("d", dt.date(2012, 8, 30), completed=False),  # open, not yet due
    ]
    assert settle_branch(tasks, closed) == settle_branch(list(reversed(tasks)), closed)
    settlement = settle_branch(tasks, closed)
    assert (settlement.tasks_total, settlement.tasks_completed, settlement.tasks_overdue) == (
        4,
        2,
        1,
    )
    assert settlement.completion_rate == Decimal("0.5")


def test_a_branch_without_tasks_settles_at_zero() -> None:
    settlement = settle_branch([], dt.datetime(2012, 7, 1, tzinfo=COUNTY_TIME))
    assert (settlement.tasks_total, settlement.completion_rate) == (0, Decimal(0))


def test_completion_rates_are_rounded_to_four_places() -> None:
    tasks = [TaskState(str(i), dt.date(2012, 9, 1), completed=i < 2) for i in range(3)]
    assert settle_branch(
        tasks, dt.datetime(2012, 7, 1, tzinfo=COUNTY_TIME)
    ).completion_rate == Decimal("0.6667")


def test_a_gradual_task_not_yet_due_at_the_close_is_on_track_and_left_out_of_the_rate() -> None:
    tasks = [
        TaskState("a", dt.date(2012, 5, 1), completed=True),
        TaskState("b", dt.date(2012, 6, 1), completed=True),
        TaskState("c", dt.date(2012, 9, 30), completed=False, kind="gradual"),
    ]
    settlement = settle_branch(tasks, CLOSED)  # 2 immediate completed + 1 gradual not yet due
    assert settlement.tasks_on_track == 1
    assert (settlement.tasks_total, settlement.tasks_completed, settlement.tasks_overdue) == (
        3,
        2,
        0,
    )
    assert settlement.completion_rate == Decimal(1)


def test_a_gradual_task_late_or_completed_at_the_close_is_not_on_track() -> None:
    tasks = [
        TaskState("a", dt.date(2012, 6, 29), completed=False, kind="gradual"),  # overdue
        TaskState("b", dt.date(2012, 9, 1), completed=True, kind="gradual"),  # done early
        TaskState("c", dt.date(2012, 6, 30), completed=False, kind="gradual"),  # due today
        TaskState("d", dt.date(2012, 6, 30), completed=False),  # immediate, due today
    ]
    settlement = settle_branch(tasks, CLOSED)
    assert (settlement.tasks_overdue, settlement.tasks_on_track) == (1, 1)
    assert settlement.completion_rate == Decimal("0.3333")  # 1 ÷ (4 − 1)


def test_a_branch_with_only_gradual_tasks_on_track_settles_at_one() -> None:
    tasks = [TaskState("a", dt.date(2012, 12, 1), completed=False, kind="gradual")]
    settlement = settle_branch(tasks, CLOSED)
    assert (settlement.tasks_total, settlement.tasks_on_track) == (1, 1)
    assert settlement.completion_rate == Decimal(1)
    assert settle_branch([], CLOSED).tasks_on_track == 0


def problem(source: str = "public", status: str = "open", **kwargs: Any) -> Problem:
    return Problem("610526", source, status, **kwargs)


def test_prominent_problems_must_be_named_by_a_task_deferred_or_resolved() -> None:
    problems = {
        "p-1": problem("public"),  # named below
        "p-2": problem("members"),
        "p-3": problem("public"),
        "p-4": problem("survey"),  # not raised by members or the public
        "p-5": problem("self"),
        "p-6": problem("members", "deferred", reason="列入下年度计划"),
        "p-7": problem("public", "resolved", evidence="已解决"),
        "p-8": problem("public", "in_rectification", task_id="t-old"),  # the plan dropped it
    }
    tasks = [TaskPlan("t-1", "p-1", JUNE_30), TaskPlan("t-2", None, JUNE_30)]
    uncovered = uncovered_problems(problems, tasks)
    assert uncovered == ["p-2", "p-3", "p-8"]
    assert coverage_refusal(uncovered, None) == (
        "approving leaves problems raised by members or the public uncovered: p-2, p-3, p-8 — "
        "name them in a task, defer them, or give uncovered_reason"
    )
    assert coverage_refusal(uncovered, "上级统筹后另行安排") is None
    assert coverage_refusal([], None) is None


def test_an_approved_plan_puts_the_problems_it_names_in_rectification() -> None:
    problems = {
        "p-1": problem(),
        "p-2": problem(status="in_rectification", task_id="t-2"),  # still named by t-2
        "p-3": problem(status="in_rectification", task_id="t-9"),  # t-9 left the plan
        "p-4": problem(status="in_rectification", task_id="t-8"),  # no longer named at all
        "p-5": problem(status="deferred", reason="暂缓"),  # dealt with: unchanged
        "p-6": problem(status="resolved", evidence="已解决"),
    }
    tasks = {
        "t-3": TaskPlan("t-3", "p-1", JUNE_30),
        "t-1": TaskPlan("t-1", "p-1", JUNE_30),
        "t-2": TaskPlan("t-2", "p-2", JUNE_30),
        "t-0": TaskPlan("t-0", "p-2", JUNE_30),
        "t-4": TaskPlan("t-4", "p-3", JUNE_30),
        "t-5": TaskPlan("t-5", "p-5", JUNE_30),
        "t-6": TaskPlan("t-6", "p-6", JUNE_30),
    }
    assert follow_approved_plan(problems, tasks) == {
        "p-1": problem(status="in_rectification", task_id="t-1"),  # the first by task_id
        "p-3": problem(status="in_rectification", task_id="t-4"),
        "p-4": problem(status="open"),
    }


def test_only_a_listed_problem_not_yet_resolved_is_resolved_or_deferred() -> None:
    assert problem_refusal(None, BRANCH, "p-9") == f"problem p-9 was never listed by {BRANCH}"
    resolved = resolve(defer(problem(), "暂缓"), "验收记录")
    assert (resolved.status, resolved.evidence, resolved.reason) == ("resolved", "验收记录", None)
    assert problem_refusal(resolved, BRANCH, "p-1") == (
        f"problem p-1 of {BRANCH} is already resolved"
    )
    assert problem_refusal(defer(problem(), "暂缓"), BRANCH, "p-1") is None  # may still be solved


def test_only_the_organisation_it_went_to_answers_an_escalation() -> None:
    escalated = problem(escalation=EscalationState("610526-edu-committee", CLOSED))
    assert answer_refusal(None, BRANCH, "p-9", "610526-edu-committee") == (
        f"problem p-9 was never listed by {BRANCH}"
    )
    assert answer_refusal(problem(), BRANCH, "p-1", "610526-edu-committee") == (
        f"problem p-1 of {BRANCH} was never escalated"
    )
    assert answer_refusal(escalated, BRANCH, "p-1", "610526-other") == (
        f"problem p-1 of {BRANCH} was escalated to 610526-edu-committee, not 610526-other"
    )
    assert answer_refusal(escalated, BRANCH, "p-1", "610526-edu-committee") is None


def test_an_answer_is_recorded_and_resolved_resolves_the_problem() -> None:
    escalated = problem(escalation=EscalationState("610526-edu-committee", CLOSED))
    accepted = record_answer(
        escalated, Answer("accepted", "统筹经费", dt.date(2012, 6, 20), None, None), CLOSED
    )
    assert accepted.status == "open"
    assert accepted.escalation == EscalationState(
        "610526-edu-committee",
        CLOSED,
        "accepted",
        "统筹经费",
        dt.date(2012, 6, 20),
        None,
        None,
        CLOSED,
    )
    later = CLOSED + dt.timedelta(days=3)
    resolved = record_answer(accepted, Answer("resolved", None, None, "已拨款", None), later)
    assert (resolved.status, resolved.evidence) == ("resolved", "已拨款")
    assert resolved.escalation is not None
    assert (resolved.escalation.answer, resolved.escalation.action) == ("resolved", None)
    assert resolved.escalation.answered_at == later


def test_an_answer_or_a_review_is_due_days_after_on_the_county_calendar() -> None:
    # 20:00 UTC on 16 April is already 17 April in the county.
    escalated = dt.datetime(2012, 4, 16, 20, 0, tzinfo=dt.UTC)
    assert due_on(escalated, 10) == dt.date(2012, 4, 27)
    last_moment = dt.datetime(2012, 4, 27, 23, 59, 59, tzinfo=COUNTY_TIME)
    assert overdue_since(escalated, 10, last_moment) is None
    assert overdue_since(escalated, 10, last_moment + dt.timedelta(seconds=1)) == dt.date(
        2012, 4, 27
    )


def test_weak_then_average_branches_are_named_first() -> None:
    levels = {"b1": "strong", "b2": "weak", "b3": "average", "b4": None, "b5": "weak"}
    assert naming_order(levels, levels) == ["b2", "b5", "b3", "b1", "b4"]
