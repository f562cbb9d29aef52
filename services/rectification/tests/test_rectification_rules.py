"""Rectification rules: commitments, revisions, reviews, progress, deadlines, settlement."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

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
    CurrentCommitment,
    TaskPlan,
    TaskState,
    commitment_refusals,
    naming_order,
    progress_refusal,
    review_refusal,
    revision_refusal,
    settle_branch,
)

JUNE_30 = dt.date(2012, 6, 30)
WINDOW = (dt.date(2012, 3, 1), dt.date(2012, 9, 30))


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
    tasks = [TaskPlan("t-1", None, WINDOW[0]), TaskPlan("t-2", None, WINDOW[1])]
    assert commitment_refusals(tasks, listed_problems=set(), campaign_window=WINDOW) == []


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


def test_weak_then_average_branches_are_named_first() -> None:
    levels = {"b1": "strong", "b2": "weak", "b3": "average", "b4": None, "b5": "weak"}
    assert naming_order(levels, levels) == ["b2", "b5", "b3", "b1", "b4"]
