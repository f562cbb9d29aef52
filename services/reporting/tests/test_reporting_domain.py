"""The reporting rules on their own: what an event sets on a card, how the summary counters move
when a card or a task changes, and how a newer revision re-plans the tasks."""

from __future__ import annotations

import datetime as dt

import pytest

from grassroots.contract.emulation import BranchReviewed
from grassroots.contract.examples import DATA
from grassroots.contract.grading import BranchGraded, BranchIncomplete
from grassroots.contract.rectification import (
    BranchSettled,
    CommitmentMissing,
    CommitmentReviewed,
    CommitmentTask,
    ProblemUpdated,
    TaskCompleted,
)
from reporting.domain import (
    COVERAGE_ACTIVITIES,
    FOUR_ONES,
    Card,
    CardFacts,
    Marks,
    Problem,
    ProblemFacts,
    Task,
    TaskFacts,
    answer_overdue,
    awarding_body_order,
    card_columns,
    completed,
    deltas,
    escalated,
    listed,
    overdue,
    parent_lagging_reasons,
    progressed,
    rate,
    replan,
    satisfaction,
    updated,
)

GRADED = BranchGraded.model_validate(DATA["grading.branch_graded"])


def reviewed(revision: int) -> CommitmentReviewed:
    return CommitmentReviewed.model_validate(
        DATA["rectification.commitment_reviewed"] | {"revision": revision}
    )


def planned(task_id: str, title: str = "更新党员活动室") -> CommitmentTask:
    return CommitmentTask.model_validate(
        DATA["rectification.commitment_published"]["tasks"][0]
        | {"task_id": task_id, "title": title}
    )


def test_a_grade_sets_its_round_and_clears_what_was_missing() -> None:
    assert card_columns(GRADED, Card()) == {
        "initial_level": "fairly_strong",
        "initial_total": 83.8,
        "initial_scores": GRADED.scores.model_dump(),
        "initial_basis": "computed",
        "initial_missing": [],
        "initial_computed_level": None,
        "initial_override_reason": None,
        "initial_veto_reason": None,
        "initial_quota_limited": False,
        "initial_upgrade_capped": False,
        "initial_completion_rate": None,
        "initial_settled": None,
        "initial_supplementary": False,
        "initial_corrected": False,
        "initial_rules": None,
    }
    final = BranchGraded.model_validate(DATA["grading.branch_graded"] | {"round": "final"})
    columns = card_columns(final, Card())
    assert columns is not None and columns["final_level"] == "fairly_strong"
    assert columns["moved_up"] is False  # the final round always says


def test_a_grade_keeps_its_why_and_its_rules_in_order() -> None:
    capped = BranchGraded.model_validate(
        DATA["grading.branch_graded"]
        | {
            "round": "final",
            "computed_level": "strong",
            "previous_level": "fairly_strong",
            "moved_up": False,
            "completion_rate": 0.7,
            "settled": True,
            "upgrade_capped": True,
            "rules": [
                {
                    "rule": "upgrade_cap",
                    "level": "fairly_strong",
                    "threshold": 0.8,
                    "completion_rate": 0.7,
                }
            ],
        }
    )
    columns = card_columns(capped, Card(initial_level="fairly_strong"))
    assert columns is not None
    assert {k: v for k, v in columns.items() if k.startswith("final_") and v} == {
        "final_level": "fairly_strong",
        "final_total": 83.8,
        "final_scores": capped.scores.model_dump(),
        "final_basis": "computed",
        "final_computed_level": "strong",
        "final_upgrade_capped": True,
        "final_completion_rate": 0.7,
        "final_settled": True,
        "final_rules": [
            {
                "rule": "upgrade_cap",
                "level": "fairly_strong",
                "threshold": 0.8,
                "completion_rate": 0.7,
            }
        ],
    }


def test_a_supplementary_result_grades_only_a_round_without_a_level() -> None:
    supplementary = BranchGraded.model_validate(
        DATA["grading.branch_graded"]
        | {"supplementary": True, "rules": [{"rule": "supplementary", "level": "fairly_strong"}]}
    )
    incomplete = Card(initial_missing=("appraisal",))
    columns = card_columns(supplementary, incomplete)
    assert columns is not None
    assert columns["initial_level"] == "fairly_strong" and columns["initial_missing"] == []
    assert columns["initial_supplementary"] is True
    after = incomplete.with_columns(columns)
    assert deltas(incomplete.facts, after.facts) == {
        "incomplete:initial": -1,
        "level:initial:fairly_strong": 1,
    }
    assert card_columns(supplementary, after) is None  # repeated: graded already
    assert card_columns(supplementary, Card(initial_level="weak")) is None
    corrected = BranchGraded.model_validate(
        DATA["grading.branch_graded"] | {"level": "weak", "basis": "override", "corrected": True}
    )
    assert card_columns(corrected, after) is not None  # only a correction regrades
    corrects_a_supplementary = corrected.model_copy(update={"supplementary": True})
    assert card_columns(corrects_a_supplementary, after) is not None


def test_an_incomplete_round_is_named_until_it_has_a_level() -> None:
    data = BranchIncomplete.model_validate(DATA["grading.branch_incomplete"])
    assert card_columns(data, Card()) == {
        "initial_missing": ["appraisal"],
        "initial_level": None,
        "initial_total": None,
    }
    assert card_columns(data, Card(initial_level="weak")) is None  # never back to missing


def test_a_review_applies_only_to_the_cards_revision() -> None:
    card = Card(commitment_id="c-0007", commitment_revision=2, review="pending")
    assert card_columns(reviewed(1), card) is None
    assert card_columns(reviewed(2), card) == {"review": "returned", "guidance": "请细化整改措施"}
    assert card_columns(reviewed(1), Card()) is None  # nothing published yet


def test_missing_settled_and_assessed_set_their_columns() -> None:
    missing = CommitmentMissing.model_validate(DATA["rectification.commitment_missing"])
    settled = BranchSettled.model_validate(DATA["rectification.branch_settled"])
    assessed = BranchReviewed.model_validate(DATA["assessment.branch_reviewed"])
    assert card_columns(missing, Card()) == {"commitment_missing": True}
    assert card_columns(settled, Card()) == {
        "settled_rate": 0.8,
        "settled_total": 5,
        "settled_completed": 4,
        "settled_overdue": 1,
        "settled_on_track": None,  # said only by a settlement with gradual tasks
    }
    gradual = settled.model_copy(
        update={"tasks_total": 3, "tasks_completed": 2, "tasks_overdue": 0, "tasks_on_track": 1}
    )
    columns = card_columns(gradual, Card())
    assert columns is not None and columns["settled_on_track"] == 1
    assert card_columns(assessed, Card()) == {"assessment_score": 86}


def test_other_data_sets_no_card_column() -> None:
    done = TaskCompleted.model_validate(DATA["rectification.task_completed"])
    with pytest.raises(ValueError, match="TaskCompleted does not set columns of a card"):
        card_columns(done, Card())  # type: ignore[arg-type]


def test_deltas_name_only_the_counters_that_change() -> None:
    assert deltas(None, CardFacts(initial_level="weak")) == {"level:initial:weak": 1}
    assert deltas(CardFacts(initial_level="weak"), CardFacts(initial_level="strong")) == {
        "level:initial:weak": -1,
        "level:initial:strong": 1,
    }
    assert deltas(CardFacts(moved_up=True), CardFacts(moved_up=True)) == {}


def test_a_missing_commitment_stops_counting_once_published_and_reviews_count_if_published() -> (
    None
):
    missing = Card(commitment_missing=True)
    published = missing.with_columns({"commitment_id": "c-1", "review": "approved"})
    assert deltas(None, missing.facts) == {"commitments:missing": 1}
    assert deltas(missing.facts, published.facts) == {
        "commitments:missing": -1,
        "commitments:published": 1,
        "commitments:approved": 1,
    }
    assert deltas(None, CardFacts(review="approved")) == {}  # no commitment, no review count


def test_tasks_count_only_in_the_plan_and_completed_wins_over_overdue() -> None:
    assert deltas(None, TaskFacts(overdue=True)) == {}
    assert deltas(TaskFacts(overdue=True), TaskFacts(in_plan=True, overdue=True)) == {
        "tasks:total": 1,
        "tasks:overdue": 1,
    }
    assert deltas(
        TaskFacts(in_plan=True, overdue=True), TaskFacts(in_plan=True, overdue=True, completed=True)
    ) == {"tasks:completed": 1, "tasks:overdue": -1}
    assert deltas(TaskFacts(in_plan=True, completed=True), TaskFacts(completed=True)) == {
        "tasks:total": -1,
        "tasks:completed": -1,
    }


def test_a_newer_revision_replans_keeping_progress_and_dropping_what_it_left_out() -> None:
    before = {
        "t-1": Task(percent=40, in_plan=True, overdue=True, title="旧", kind="gradual"),
        "t-2": Task(percent=10, in_plan=True, title="删去"),
    }
    after = replan(before, [planned("t-1", "新"), planned("t-3")])
    assert after == {
        "t-1": Task(
            percent=40,
            in_plan=True,
            overdue=True,
            deadline=dt.date(2012, 6, 30),
            responsible="王建国",
            title="新",
            kind="gradual",
        ),
        "t-2": Task(percent=10, in_plan=False, title="删去"),
        "t-3": Task(
            in_plan=True,
            deadline=dt.date(2012, 6, 30),
            responsible="王建国",
            title="更新党员活动室",
            kind="gradual",
        ),
    }


def test_progress_completion_and_overdue_of_a_task() -> None:
    task = Task(percent=50, in_plan=True)
    assert progressed(task, 70, None) == Task(percent=70, in_plan=True)
    assert progressed(task, 30, None) is None  # backwards needs a note
    assert progressed(task, 30, "返工") == Task(percent=30, in_plan=True)
    assert progressed(Task(percent=50), 70, None) is None  # not in the plan
    assert completed(None) is None
    assert completed(task) == Task(percent=100, in_plan=True, completed=True)
    assert overdue(None, dt.date(2012, 6, 1), "李四") == Task(
        overdue=True, deadline=dt.date(2012, 6, 1), responsible="李四"
    )
    known = Task(in_plan=True, deadline=dt.date(2012, 6, 30), responsible="王建国")
    assert overdue(known, dt.date(2012, 6, 1), "李四") == Task(
        in_plan=True, overdue=True, deadline=dt.date(2012, 6, 30), responsible="王建国"
    )


AT = dt.datetime(2012, 5, 3, 1, tzinfo=dt.UTC)
COMMITTEE = "610526-edu-committee"


def problem_update(**data: object) -> ProblemUpdated:
    fields: dict[str, object] = {"branch_id": "b", "problem_id": "p-1", "escalation": None}
    return ProblemUpdated.model_validate(fields | data)


def test_a_problem_counts_by_status_once_listed_and_as_prominent_when_raised_by_people() -> None:
    """…by members or the public (党员群众反映的突出问题)."""
    assert ProblemFacts().counts() == {}  # escalated or updated before its listing
    assert deltas(None, ProblemFacts(listed=True, prominent=True)) == {
        "problems:total": 1,
        "problems:open": 1,
        "prominent:total": 1,
    }
    assert deltas(
        ProblemFacts(listed=True, prominent=True, status="in_rectification"),
        ProblemFacts(listed=True, prominent=True, status="resolved"),
    ) == {"problems:in_rectification": -1, "problems:resolved": 1, "prominent:resolved": 1}
    assert (
        deltas(
            ProblemFacts(listed=True, status="deferred"),
            ProblemFacts(listed=True, status="deferred"),
        )
        == {}
    )
    assert listed(None, "活动室陈旧", "public", True).facts == ProblemFacts(
        listed=True, prominent=True
    )
    assert listed(None, "自查发现", "self", False).facts.prominent is False


def test_an_escalation_counts_waiting_until_answered_and_overdue_when_named() -> None:
    sent = escalated(None, COMMITTEE)
    assert deltas(None, sent.facts) == {"escalations:total": 1, "escalations:waiting": 1}
    late = answer_overdue(sent, COMMITTEE, dt.date(2012, 5, 10))
    assert late.answer_waits_past_due
    assert deltas(sent.facts, late.facts) == {"escalations:overdue": 1}
    answered = updated(
        late,
        problem_update(
            status="open",
            escalation={"to_org_id": COMMITTEE, "answer": "cannot_resolve", "reason": "超出权限"},
        ),
        AT,
    )
    assert not answered.answer_waits_past_due
    assert (answered.answer, answered.answer_reason, answered.answered_at) == (
        "cannot_resolve",
        "超出权限",
        AT,
    )
    assert deltas(late.facts, answered.facts) == {
        "escalations:waiting": -1,
        "escalations:overdue": -1,
        "escalations:answered": 1,
    }
    # Overdue named without an escalation seen: it was escalated to that superior.
    assert answer_overdue(None, COMMITTEE, dt.date(2012, 5, 10)).escalated_to == COMMITTEE


def test_an_update_says_where_the_problem_stands_and_keeps_what_it_leaves_out() -> None:
    known = listed(None, "活动室陈旧", "public", True)
    working = updated(known, problem_update(status="in_rectification", task_id="t-1"), AT)
    assert (working.status, working.task_id, working.updated_at) == ("in_rectification", "t-1", AT)
    assert working.description == "活动室陈旧" and working.listed  # the listing is kept
    done = updated(working, problem_update(status="resolved", evidence="验收记录"), AT)
    assert (done.status, done.task_id, done.evidence) == ("resolved", "t-1", "验收记录")
    deferred = updated(working, problem_update(status="deferred", reason="列入下年度计划"), AT)
    assert (deferred.deferral_reason, deferred.evidence) == ("列入下年度计划", None)
    reopened = updated(working, problem_update(status="open"), AT)
    assert reopened.task_id is None  # open: no task names it
    assert updated(None, problem_update(status="open"), AT) == Problem(status="open", updated_at=AT)


def test_an_answer_keeps_the_time_it_first_came() -> None:
    accepted = {"to_org_id": COMMITTEE, "answer": "accepted", "action": "统筹", "due": "2012-06-20"}
    first = updated(None, problem_update(status="open", escalation=accepted), AT)
    later = AT + dt.timedelta(days=3)
    again = updated(first, problem_update(status="in_rectification", escalation=accepted), later)
    assert again.answered_at == AT and again.answer_due == dt.date(2012, 6, 20)
    silent = updated(
        again, problem_update(status="open", escalation={"to_org_id": COMMITTEE}), later
    )
    assert (silent.answer, silent.answered_at) == ("accepted", AT)  # never taken back
    changed = {"to_org_id": COMMITTEE, "answer": "resolved", "evidence": "已解决"}
    resolved = updated(silent, problem_update(status="resolved", escalation=changed), later)
    assert (resolved.answer, resolved.answer_action, resolved.answered_at) == (
        "resolved",
        None,
        later,
    )


def test_a_superior_is_lagging_for_its_own_reasons() -> None:
    assert parent_lagging_reasons(escalations_unanswered=0, reviews_overdue=0) == []
    assert parent_lagging_reasons(escalations_unanswered=2, reviews_overdue=1) == [
        "escalation_unanswered",
        "review_overdue",
    ]
    assert parent_lagging_reasons(escalations_unanswered=0, reviews_overdue=3) == ["review_overdue"]


@pytest.mark.parametrize(
    ("part", "whole", "share"),
    [(2, 6, 0.3333), (4, 6, 0.6667), (1, 6, 0.1667), (46, 50, 0.92), (0, 6, 0.0), (3, 0, 0.0)],
)
def test_a_share_is_a_fraction_rounded_half_up_to_four_decimals(
    part: int, whole: int, share: float
) -> None:
    assert rate(part, whole) == share


def test_rounding_is_half_up_not_to_even() -> None:
    assert rate(1, 8) == 0.125  # exact
    assert rate(1, 16) == 0.0625
    assert rate(1, 32) == 0.0313  # 0.03125: half-up, where rounding to even gives 0.0312


def test_all_four_needs_every_mark_and_coverage_is_apart() -> None:
    every = dict.fromkeys(FOUR_ONES, True)
    assert Marks.of(every).all_four is True
    assert Marks.of(every | {"excellent_member": False}).all_four is False
    covered_only = Marks.of(dict.fromkeys(COVERAGE_ACTIVITIES, True))
    assert covered_only.all_four is False and covered_only.pairing is True
    assert Marks.of({"themed_activity": None}) == Marks()  # SQL nulls read as no mark


def test_satisfaction_sums_every_rater_group() -> None:
    one = satisfaction([{"satisfied": 46, "basically_satisfied": 3, "dissatisfied": 1}])
    assert (one.total, one.satisfied_rate, one.satisfied_or_basically_rate) == (50, 0.92, 0.98)
    both = satisfaction(
        [
            {"satisfied": 46, "basically_satisfied": 3, "dissatisfied": 1},
            {"satisfied": 18, "basically_satisfied": 2, "dissatisfied": 0},
        ]
    )
    assert (both.satisfied, both.basically_satisfied, both.dissatisfied) == (64, 5, 1)
    assert (both.satisfied_rate, both.satisfied_or_basically_rate) == (0.9143, 0.9857)


def test_awarding_bodies_are_ordered_committee_first_then_by_name_then_not_stated() -> None:
    bodies = [
        ("branch", "城关中学党支部"),
        (None, None),
        ("committee", "蒲城县教育局党委"),
        ("general_branch", "城关镇中心学校党总支"),
    ]
    ordered = sorted(bodies, key=lambda body: awarding_body_order(*body))
    assert [name for _, name in ordered] == [
        "蒲城县教育局党委",
        *sorted(["城关中学党支部", "城关镇中心学校党总支"]),
        None,
    ]
