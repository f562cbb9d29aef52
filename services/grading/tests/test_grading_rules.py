"""The grading rules at their boundaries, and their invariants."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from grading.domain import (
    CRITERIA,
    BranchInputs,
    Grade,
    Incomplete,
    Input,
    Rules,
    grade_branch,
    grade_round,
    grade_supplementary,
    rank,
)

DEFAULT = Rules()


def uniform(score: float | str) -> dict[str, Decimal]:
    return dict.fromkeys(CRITERIA, Decimal(str(score)))


def branch(
    scores: dict[str, Decimal] | None = None,
    *,
    branch_id: str = "b1",
    override: tuple[str, str | None] | None = None,
    veto: str | None = None,
    initial: str | None = None,
    completion: str | None = None,
    superior_scores: dict[str, Decimal] | None = None,
) -> BranchInputs:
    scores = scores or uniform(85)
    superior = Input(
        scores=superior_scores or scores,
        override_level=override[0] if override else None,
        override_reason=override[1] if override else None,
        veto_reason=veto,
    )
    return BranchInputs(
        branch_id=branch_id,
        registered=True,
        by_source={"self": Input(scores), "appraisal": Input(scores), "superior": superior},
        initial_level=initial,
        completion_rate=Decimal(completion) if completion is not None else None,
    )


def graded(inputs: BranchInputs, *, final: bool = False, rules: Rules = DEFAULT) -> Grade:
    outcome = grade_branch(rules, inputs, final=final)
    assert isinstance(outcome, Grade)
    return outcome


def test_a_total_exactly_at_each_threshold_reaches_that_level() -> None:
    assert graded(branch(uniform(90))).level == "strong"
    assert graded(branch(uniform(80))).level == "fairly_strong"
    assert graded(branch(uniform(60))).level == "average"


def test_a_total_just_below_each_threshold_falls_to_the_next_level() -> None:
    assert graded(branch(uniform("89.99"))).level == "fairly_strong"
    assert graded(branch(uniform("79.99"))).level == "average"
    assert graded(branch(uniform("59.99"))).level == "weak"


def test_the_total_is_the_mean_of_the_weighted_criteria() -> None:
    # superior 100, others 0 → 0.5·100 = 50 per criterion.
    inputs = BranchInputs(
        "b1",
        True,
        {
            "self": Input(uniform(0)),
            "appraisal": Input(uniform(0)),
            "superior": Input(uniform(100)),
        },
    )
    grade = graded(inputs)
    assert grade.total == Decimal("50.00")
    assert grade.level == "weak"


def test_weights_are_respected_per_source() -> None:
    inputs = BranchInputs(
        "b1",
        True,
        {
            "self": Input(uniform(100)),
            "appraisal": Input(uniform(0)),
            "superior": Input(uniform(0)),
        },
    )
    assert graded(inputs).total == Decimal("20.00")
    custom = Rules.from_campaign({"weights": {"self": 0.6, "appraisal": 0.2, "superior": 0.2}})
    assert graded(inputs, rules=custom).total == Decimal("60.00")


def test_a_single_criterion_at_59_99_caps_a_high_total_at_average() -> None:
    scores = {**uniform(98), "reputation": Decimal("59.99")}
    grade = graded(branch(scores))
    assert grade.total > 90
    assert grade.level == "average"
    assert grade.computed_level == "average"


def test_a_criterion_exactly_at_the_floor_does_not_cap() -> None:
    scores = {**uniform(98), "reputation": Decimal(60)}
    assert graded(branch(scores)).level == "strong"


def test_the_superior_override_decides_and_keeps_its_reason() -> None:
    grade = graded(branch(uniform(95), override=("average", "群众反映问题较多")))
    assert (grade.level, grade.basis, grade.computed_level) == ("average", "override", "strong")
    assert grade.override_reason == "群众反映问题较多"


def test_without_an_override_the_basis_is_computed_and_no_reason_is_kept() -> None:
    grade = graded(branch(uniform(95)))
    assert (grade.basis, grade.override_reason) == ("computed", None)


def test_a_veto_makes_the_level_weak_even_over_an_override() -> None:
    assert graded(branch(uniform(99), veto="发生违纪事件")).level == "weak"
    vetoed = graded(branch(uniform(99), override=("strong", "表现突出"), veto="发生违纪事件"))
    assert vetoed.level == "weak"
    assert vetoed.veto_reason == "发生违纪事件"


def test_a_missing_input_makes_the_branch_incomplete_naming_it() -> None:
    inputs = BranchInputs("b1", True, {"self": Input(uniform(90))})
    assert grade_branch(DEFAULT, inputs, final=False) == Incomplete("b1", ("appraisal", "superior"))


def test_an_unregistered_branch_is_reported_not_dropped() -> None:
    inputs = BranchInputs("ghost", False, branch().by_source)
    assert grade_branch(DEFAULT, inputs, final=False) == Incomplete("ghost", ("registration",))


def test_upgrade_is_blocked_at_79_percent_completion_and_allowed_at_80() -> None:
    blocked = graded(branch(uniform(92), initial="average", completion="0.79"), final=True)
    assert (blocked.level, blocked.upgrade_capped, blocked.moved_up) == ("average", True, False)
    allowed = graded(branch(uniform(92), initial="average", completion="0.80"), final=True)
    assert (allowed.level, allowed.upgrade_capped, allowed.moved_up) == ("strong", False, True)
    assert allowed.previous_level == "average"


def test_a_branch_never_settled_counts_as_zero_completion_and_says_so() -> None:
    grade = graded(branch(uniform(92), initial="average"), final=True)
    assert (grade.level, grade.settled, grade.completion_rate) == ("average", False, Decimal(0))


def test_low_completion_never_pushes_a_branch_below_its_computed_level() -> None:
    grade = graded(branch(uniform(70), initial="strong", completion="0"), final=True)
    assert (grade.level, grade.upgrade_capped, grade.moved_up) == ("average", False, False)


def test_the_strong_quota_demotes_the_lowest_totals_then_by_branch_id() -> None:
    rules = Rules.from_campaign({"strong_quota": 0.3})
    branches = [
        branch(uniform(95), branch_id="b-a"),
        branch(uniform(93), branch_id="b-c"),
        branch(uniform(93), branch_id="b-b"),
        branch(uniform(91), branch_id="b-d"),
        *(branch(uniform(70), branch_id=f"b-x{i}") for i in range(6)),
    ]
    result = grade_round(rules, branches, final=False)
    levels = {g.branch_id: (g.level, g.quota_limited) for g in result.graded}
    # 10 graded × 30 % = 3 seats: 95, then the 93 tie goes to b-b before b-c.
    assert levels["b-a"] == ("strong", False)
    assert levels["b-b"] == ("strong", False)
    assert levels["b-c"] == ("strong", False)
    assert levels["b-d"] == ("fairly_strong", True)
    assert result.counts() == {"strong": 3, "fairly_strong": 1, "average": 6, "weak": 0}


def test_a_quota_tie_at_the_last_seat_is_broken_by_branch_id() -> None:
    rules = Rules.from_campaign({"strong_quota": 0.2})
    branches = [branch(uniform(93), branch_id=f"b-{c}") for c in "dcba"] + [
        branch(uniform(70), branch_id=f"b-x{i}") for i in range(6)
    ]
    strong = [
        g.branch_id for g in grade_round(rules, branches, final=False).graded if g.level == "strong"
    ]
    assert sorted(strong) == ["b-a", "b-b"]


def test_overrides_to_strong_take_quota_seats_but_are_never_demoted() -> None:
    rules = Rules.from_campaign({"strong_quota": 0.2})
    branches = [
        branch(uniform(70), branch_id="b-o1", override=("strong", "上级认定")),
        branch(uniform(70), branch_id="b-o2", override=("strong", "上级认定")),
        branch(uniform(99), branch_id="b-top"),
        *(branch(uniform(70), branch_id=f"b-x{i}") for i in range(7)),
    ]
    levels = {g.branch_id: g.level for g in grade_round(rules, branches, final=False).graded}
    assert levels["b-o1"] == levels["b-o2"] == "strong"
    assert levels["b-top"] == "fairly_strong"


score_values = st.decimals(min_value=0, max_value=100, places=2)
criterion_scores = st.fixed_dictionaries({c: score_values for c in CRITERIA})


@given(criterion_scores, st.sampled_from(CRITERIA), score_values)
def test_raising_any_score_never_lowers_the_level(
    scores: dict[str, Decimal], criterion: str, other: Decimal
) -> None:
    low, high = sorted([scores[criterion], other])
    worse = graded(branch({**scores, criterion: low}))
    better = graded(branch({**scores, criterion: high}))
    assert rank(better.level) <= rank(worse.level)
    assert better.total >= worse.total


@given(criterion_scores, criterion_scores, criterion_scores)
def test_the_total_stays_within_the_range_of_the_inputs(
    own: dict[str, Decimal], appraisal: dict[str, Decimal], superior: dict[str, Decimal]
) -> None:
    inputs = BranchInputs(
        "b1",
        True,
        {
            "self": Input(own),
            "appraisal": Input(appraisal),
            "superior": Input(superior),
        },
    )
    grade = graded(inputs)
    everything = [*own.values(), *appraisal.values(), *superior.values()]
    assert min(everything) - Decimal("0.01") <= grade.total <= max(everything) + Decimal("0.01")
    assert grade.level in ("strong", "fairly_strong", "average", "weak")


def test_each_rule_that_changes_a_level_is_named_in_order_with_its_numbers() -> None:
    low = {**uniform(95), "mechanism": Decimal("58.6")}
    floored = graded(branch(low))
    assert [(r.rule, r.level, r.criterion, r.score, r.threshold) for r in floored.rules] == [
        ("floor", "average", "mechanism", Decimal("58.60"), Decimal(60))
    ]
    capped = graded(branch(uniform(95), initial="fairly_strong", completion="0.7"), final=True)
    assert [(r.rule, r.level, r.completion_rate, r.threshold) for r in capped.rules] == [
        ("upgrade_cap", "fairly_strong", Decimal("0.7"), Decimal("0.8"))
    ]
    vetoed = graded(branch(uniform(99), override=("strong", "表现突出"), veto="发生违纪事件"))
    assert [(r.rule, r.level, r.reason) for r in vetoed.rules] == [
        ("override", "strong", "表现突出"),
        ("veto", "weak", "发生违纪事件"),
    ]
    assert graded(branch(uniform(85))).rules == ()


def test_a_quota_demotion_is_named_with_the_share_allowed() -> None:
    rules = Rules(strong_quota=Decimal("0.5"))
    grades = grade_round(
        rules, [branch(uniform(95), branch_id="a"), branch(uniform(92), branch_id="b")], final=False
    ).graded
    demoted = next(g for g in grades if g.branch_id == "b")
    assert [(r.rule, r.level, r.threshold) for r in demoted.rules] == [
        ("quota", "fairly_strong", Decimal("0.5"))
    ]


def incomplete_branch(**sources: Input) -> BranchInputs:
    return BranchInputs(branch_id="b1", registered=True, by_source=sources)


def test_supplementary_grading_waits_until_inputs_are_complete_or_the_superior_decides() -> None:
    waiting = incomplete_branch(superior=Input(uniform(90)))
    assert grade_supplementary(DEFAULT, waiting, final=False, graded=5, strong=0) is None
    alone = incomplete_branch(
        superior=Input(uniform("71.005"), override_level="average", override_reason="无法补交")
    )
    grade = grade_supplementary(DEFAULT, alone, final=False, graded=5, strong=0)
    assert grade is not None and grade.supplementary
    assert (grade.level, grade.total, grade.basis) == ("average", Decimal("71.01"), "override")
    assert grade.rules[-1].missing == ("self", "appraisal")
    unregistered = BranchInputs(branch_id="b1", registered=False, by_source=branch().by_source)
    assert grade_supplementary(DEFAULT, unregistered, final=False, graded=5, strong=0) is None


def test_supplementary_grading_takes_a_strong_seat_only_while_one_is_free() -> None:
    rules = Rules(strong_quota=Decimal("0.3"))  # with this branch, 10 graded: 3 seats
    free = grade_supplementary(rules, branch(uniform(95)), final=False, graded=9, strong=2)
    full = grade_supplementary(rules, branch(uniform(95)), final=False, graded=9, strong=3)
    assert free is not None and full is not None
    assert (free.level, free.quota_limited) == ("strong", False)
    assert (full.level, full.quota_limited) == ("fairly_strong", True)
    assert [r.rule for r in full.rules] == ["quota", "supplementary"]
