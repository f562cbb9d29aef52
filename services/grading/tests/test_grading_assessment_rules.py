"""The committee's assessment (局党委评估) in the final round, campaign rule `assessment_weight`:
total = (1 − w) × the five criteria's mean + w × the committee's score, rounded half-up; the
thresholds decide on that total, the floor still on the five criteria, and the `assessment`
line comes first. Unset, or no assessment: nothing changes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from grading.domain import (
    CRITERIA,
    BranchInputs,
    Grade,
    Input,
    Rules,
    grade_branch,
    grade_round,
    grade_supplementary,
)
from grading.results import graded as published

WEIGHED = Rules.from_campaign({"assessment_weight": 0.4})
# leadership, membership, mechanism, performance, reputation: mean 78.00
SEVENTY_EIGHT = dict(zip(CRITERIA, map(Decimal, ("80", "76", "78", "82", "74")), strict=True))


def uniform(score: float | str) -> dict[str, Decimal]:
    return dict.fromkeys(CRITERIA, Decimal(str(score)))


def branch(
    scores: dict[str, Decimal],
    *,
    assessment: str | None = None,
    branch_id: str = "b1",
    initial: str | None = None,
    completion: str | None = "1",
    override: tuple[str, str] | None = None,
) -> BranchInputs:
    superior = Input(
        scores,
        override_level=override[0] if override else None,
        override_reason=override[1] if override else None,
    )
    return BranchInputs(
        branch_id=branch_id,
        registered=True,
        by_source={"self": Input(scores), "appraisal": Input(scores), "superior": superior},
        initial_level=initial,
        completion_rate=Decimal(completion) if completion is not None else None,
        assessment_score=Decimal(assessment) if assessment is not None else None,
    )


def final(inputs: BranchInputs, rules: Rules = WEIGHED) -> Grade:
    outcome = grade_branch(rules, inputs, final=True)
    assert isinstance(outcome, Grade)
    return outcome


def test_the_campaign_rule_is_read_as_a_decimal_and_is_off_by_default() -> None:
    assert WEIGHED.assessment_weight == Decimal("0.4")
    assert Rules.from_campaign({}).assessment_weight is None
    assert Rules.from_campaign(None).assessment_weight is None


def test_the_worked_example_78_with_95_at_weight_0_4_is_84_80_and_fairly_strong() -> None:
    unweighted = final(branch(SEVENTY_EIGHT, assessment="95"), Rules())
    assert (unweighted.total, unweighted.level, unweighted.rules) == (
        Decimal("78.00"),
        "average",
        (),
    )
    grade = final(branch(SEVENTY_EIGHT, assessment="95"))
    assert (grade.total, grade.level, grade.computed_level) == (
        Decimal("84.80"),
        "fairly_strong",
        "fairly_strong",
    )
    assert grade.scores == SEVENTY_EIGHT  # the five criteria are shown as they were
    (line,) = grade.rules
    assert (line.rule, line.level, line.score, line.weight, line.previous_total) == (
        "assessment",
        "fairly_strong",
        Decimal("95"),
        Decimal("0.4"),
        Decimal("78.00"),
    )


def test_the_published_line_carries_the_weight_and_the_total_before() -> None:
    grade = final(branch(SEVENTY_EIGHT, assessment="95", initial="average"))
    event = published(grade, "final")
    assert (event.level, event.total, event.moved_up) == ("fairly_strong", 84.8, True)
    assert [r.model_dump(mode="json", exclude_none=True) for r in event.rules or []] == [
        {
            "rule": "assessment",
            "level": "fairly_strong",
            "score": 95.0,
            "weight": 0.4,
            "previous_total": 78.0,
        }
    ]


def test_the_blended_total_is_rounded_half_up_and_decides_at_the_threshold() -> None:
    # 0.5 × 80.01 + 0.5 × 85 = 82.505 → 82.51
    halves = Rules.from_campaign({"assessment_weight": 0.5})
    assert final(branch(uniform("80.01"), assessment="85"), halves).total == Decimal("82.51")
    # 0.5 × 70 + 0.5 × 90 = 80.00: exactly fairly_strong; 89.98 just below it
    assert final(branch(uniform(70), assessment="90"), halves).level == "fairly_strong"
    assert final(branch(uniform(70), assessment="89.98"), halves).level == "average"


def test_a_low_assessment_lowers_the_level_as_the_same_rule_says() -> None:
    # 0.6 × 85 + 0.4 × 60 = 75.00
    grade = final(branch(uniform(85), assessment="60"))
    assert (grade.total, grade.level) == (Decimal("75.00"), "average")
    assert [(r.rule, r.level) for r in grade.rules] == [("assessment", "average")]


def test_the_line_is_there_even_when_the_level_stays() -> None:
    grade = final(branch(uniform(85), assessment="85"))
    assert (grade.total, grade.level) == (Decimal("85.00"), "fairly_strong")
    assert [(r.rule, r.previous_total) for r in grade.rules] == [("assessment", Decimal("85.00"))]


def test_the_floor_still_looks_at_the_five_criteria_after_the_assessment() -> None:
    # mean (4 × 95 + 55) / 5 = 87.00; 0.6 × 87 + 0.4 × 100 = 92.20 → strong, floor → average
    scores = {**uniform(95), "reputation": Decimal(55)}
    grade = final(branch(scores, assessment="100"))
    assert (grade.total, grade.level, grade.computed_level) == (
        Decimal("92.20"),
        "average",
        "average",
    )
    assert [(r.rule, r.level, r.criterion, r.score) for r in grade.rules] == [
        ("assessment", "strong", None, Decimal("100")),
        ("floor", "average", "reputation", Decimal("55.00")),
    ]


def test_the_upgrade_cap_override_and_veto_follow_the_blended_level() -> None:
    capped = final(branch(SEVENTY_EIGHT, assessment="95", initial="average", completion="0.5"))
    assert (capped.level, capped.upgrade_capped, capped.moved_up) == ("average", True, False)
    assert [(r.rule, r.level) for r in capped.rules] == [
        ("assessment", "fairly_strong"),
        ("upgrade_cap", "average"),
    ]
    overridden = final(branch(SEVENTY_EIGHT, assessment="95", override=("weak", "群众反映强烈")))
    assert (overridden.level, overridden.computed_level, overridden.total) == (
        "weak",
        "fairly_strong",
        Decimal("84.80"),
    )
    assert [r.rule for r in overridden.rules] == ["assessment", "override"]


def test_the_strong_quota_ranks_by_the_blended_totals() -> None:
    # 2 seats of 4; a has the best five criteria (95) but the lowest blended total of the strong
    rules = Rules.from_campaign({"assessment_weight": 0.4, "strong_quota": 0.5})
    grades = grade_round(
        rules,
        [
            branch(uniform(95), assessment="85", branch_id="a"),  # 91.00
            branch(uniform(92), assessment="100", branch_id="b"),  # 95.20
            branch(uniform(93), assessment="90", branch_id="c"),  # 91.80
            branch(uniform(70), branch_id="d"),  # no assessment: 70.00
        ],
        final=True,
    ).graded
    levels = {g.branch_id: (g.total, g.level, g.quota_limited) for g in grades}
    assert levels == {
        "a": (Decimal("91.00"), "fairly_strong", True),
        "b": (Decimal("95.20"), "strong", False),
        "c": (Decimal("91.80"), "strong", False),
        "d": (Decimal("70.00"), "average", False),
    }


def test_a_supplementary_determination_in_the_final_round_follows_the_same_rule() -> None:
    grade = grade_supplementary(
        WEIGHED, branch(SEVENTY_EIGHT, assessment="95"), final=True, graded=5, strong=0
    )
    assert grade is not None
    assert (grade.total, grade.level) == (Decimal("84.80"), "fairly_strong")
    assert [r.rule for r in grade.rules] == ["assessment", "supplementary"]
    alone = BranchInputs(
        "b1",
        True,
        {"superior": Input(uniform(70), override_level="average", override_reason="无法补交")},
        assessment_score=Decimal(90),
    )
    decided = grade_supplementary(WEIGHED, alone, final=True, graded=5, strong=0)
    assert decided is not None  # 0.6 × 70 + 0.4 × 90 = 78.00, then the superior's level
    assert (decided.total, decided.level) == (Decimal("78.00"), "average")
    assert [r.rule for r in decided.rules] == ["assessment", "override", "supplementary"]


def test_the_initial_round_never_weighs_the_assessment() -> None:
    grade = grade_branch(WEIGHED, branch(SEVENTY_EIGHT, assessment="95"), final=False)
    assert isinstance(grade, Grade)
    assert (grade.total, grade.level, grade.rules) == (Decimal("78.00"), "average", ())


scores = st.decimals(min_value=0, max_value=100, places=2)
criterion_scores = st.fixed_dictionaries({c: scores for c in CRITERIA})
levels = st.sampled_from(("strong", "fairly_strong", "average", "weak", None))
completions = st.sampled_from((None, "0", "0.79", "0.8", "1"))


@given(criterion_scores, scores, levels, completions)
def test_without_the_rule_an_assessment_changes_nothing(
    five: dict[str, Decimal], assessment: Decimal, initial: str | None, completion: str | None
) -> None:
    without = branch(five, initial=initial, completion=completion)
    with_one = replace(without, assessment_score=assessment)
    assert final(with_one, Rules()) == final(without, Rules())


@given(criterion_scores, levels, completions, st.decimals(min_value=0, max_value=1, places=2))
def test_with_the_rule_a_branch_without_an_assessment_is_graded_as_today(
    five: dict[str, Decimal], initial: str | None, completion: str | None, weight: Decimal
) -> None:
    without = branch(five, initial=initial, completion=completion)
    assert final(without, Rules(assessment_weight=weight)) == final(without, Rules())


@given(criterion_scores, scores, st.decimals(min_value=0, max_value=1, places=2))
def test_the_blended_total_lies_between_the_mean_and_the_score(
    five: dict[str, Decimal], assessment: Decimal, weight: Decimal
) -> None:
    grade = final(branch(five, assessment=str(assessment)), Rules(assessment_weight=weight))
    mean = grade.rules[0].previous_total
    assert mean is not None
    low, high = sorted([mean, assessment])
    assert low - Decimal("0.01") <= grade.total <= high + Decimal("0.01")
