"""Classification and grading (分类定级) as pure rules: no I/O, no clock, no ids.

Arithmetic is decimal: each weighted criterion score and the total are rounded half-up to
0.01, and levels are decided on those rounded numbers — what people see is what decides. In the
final round a campaign may weigh the committee's assessment (局党委评估) into the total
(`assessment_weight`); the criterion floor still looks at the five criteria alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")
SOURCES = ("self", "appraisal", "superior")
LEVELS = ("strong", "fairly_strong", "average", "weak")  # best first
CENT = Decimal("0.01")

Scores = Mapping[str, Decimal]


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def rank(level: str) -> int:
    """0 for strong … 3 for weak: lower is better."""
    return LEVELS.index(level)


def no_better_than(level: str, ceiling: str) -> str:
    return level if rank(level) >= rank(ceiling) else ceiling


@dataclass(frozen=True)
class Rules:
    """A campaign's grading rules; defaults are DOMAIN.md's."""

    weights: Mapping[str, Decimal] = field(
        default_factory=lambda: {
            "self": Decimal("0.2"),
            "appraisal": Decimal("0.3"),
            "superior": Decimal("0.5"),
        }
    )
    thresholds: Mapping[str, Decimal] = field(
        default_factory=lambda: {
            "strong": Decimal(90),
            "fairly_strong": Decimal(80),
            "average": Decimal(60),
        }
    )
    criterion_floor: Decimal = Decimal(60)
    upgrade_min_completion: Decimal = Decimal("0.8")
    strong_quota: Decimal | None = None
    assessment_weight: Decimal | None = None  # final round; None: the assessment does not count

    @classmethod
    def from_campaign(cls, rules: Mapping[str, Any] | None) -> Rules:
        """From `campaign.launched.rules` as sent (already validated by the contract)."""
        defaults = cls()
        rules = rules or {}
        weights = rules.get("weights")
        thresholds = rules.get("thresholds")
        return cls(
            weights={k: to_decimal(v) for k, v in weights.items()} if weights else defaults.weights,
            thresholds=(
                {k: to_decimal(v) for k, v in thresholds.items()}
                if thresholds
                else defaults.thresholds
            ),
            criterion_floor=to_decimal(rules.get("criterion_floor", defaults.criterion_floor)),
            upgrade_min_completion=to_decimal(
                rules.get("upgrade_min_completion", defaults.upgrade_min_completion)
            ),
            strong_quota=(
                to_decimal(rules["strong_quota"]) if rules.get("strong_quota") is not None else None
            ),
            assessment_weight=(
                to_decimal(rules["assessment_weight"])
                if rules.get("assessment_weight") is not None
                else None
            ),
        )


@dataclass(frozen=True)
class Input:
    """One source's input for a branch and round."""

    scores: Scores
    override_level: str | None = None
    override_reason: str | None = None
    veto_reason: str | None = None


@dataclass(frozen=True)
class BranchInputs:
    branch_id: str
    registered: bool
    by_source: Mapping[str, Input]
    initial_level: str | None = None  # final round: the published initial level
    completion_rate: Decimal | None = None  # final round: None when never settled
    assessment_score: Decimal | None = None  # final round: the committee's latest, if any


@dataclass(frozen=True)
class RuleLine:
    """A rule that set or changed a level, with its numbers (contract: AppliedRule)."""

    rule: str  # assessment | floor | upgrade_cap | override | veto | quota | supplementary
    level: str  # the level after it
    reason: str | None = None
    criterion: str | None = None
    score: Decimal | None = None
    threshold: Decimal | None = None
    completion_rate: Decimal | None = None
    missing: tuple[str, ...] = ()
    weight: Decimal | None = None
    previous_total: Decimal | None = None


@dataclass(frozen=True)
class Grade:
    branch_id: str
    level: str
    total: Decimal
    scores: Scores
    basis: str  # computed | override
    computed_level: str
    override_reason: str | None = None
    veto_reason: str | None = None
    quota_limited: bool = False
    previous_level: str | None = None
    moved_up: bool | None = None
    completion_rate: Decimal | None = None
    settled: bool | None = None
    upgrade_capped: bool = False
    rules: tuple[RuleLine, ...] = ()
    supplementary: bool = False

    def then(self, line: RuleLine, **changes: Any) -> Grade:
        """This grade after one more rule."""
        return replace(self, level=line.level, rules=(*self.rules, line), **changes)


@dataclass(frozen=True)
class Incomplete:
    branch_id: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class RoundResult:
    graded: list[Grade]
    incomplete: list[Incomplete]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(LEVELS, 0)
        for grade in self.graded:
            counts[grade.level] += 1
        return counts

    def moved_up(self) -> int:
        return sum(1 for grade in self.graded if grade.moved_up)


def weighted_scores(rules: Rules, by_source: Mapping[str, Input]) -> dict[str, Decimal]:
    """Per criterion: Σ weight·score over the three sources, rounded to 0.01."""
    return {
        criterion: sum(
            (rules.weights[source] * by_source[source].scores[criterion] for source in SOURCES),
            Decimal(0),
        ).quantize(CENT, ROUND_HALF_UP)
        for criterion in CRITERIA
    }


def total_of(scores: Scores) -> Decimal:
    return (sum(scores.values(), Decimal(0)) / len(CRITERIA)).quantize(CENT, ROUND_HALF_UP)


def level_by_total(rules: Rules, total: Decimal) -> str:
    if total >= rules.thresholds["strong"]:
        return "strong"
    if total >= rules.thresholds["fairly_strong"]:
        return "fairly_strong"
    if total >= rules.thresholds["average"]:
        return "average"
    return "weak"


def floor_line(rules: Rules, level: str, scores: Scores) -> RuleLine | None:
    """A criterion below the floor caps the level at average: the line when it did (naming the
    lowest such criterion)."""
    below = [c for c in CRITERIA if scores[c] < rules.criterion_floor]
    capped = no_better_than(level, "average")
    if not below or capped == level:
        return None
    lowest = min(below, key=lambda c: scores[c])
    return RuleLine(
        "floor", capped, criterion=lowest, score=scores[lowest], threshold=rules.criterion_floor
    )


def blended_total(weight: Decimal, mean: Decimal, score: Decimal) -> Decimal:
    """(1 − w) × the five criteria's mean + w × the committee's score, rounded half-up."""
    return ((1 - weight) * mean + weight * score).quantize(CENT, ROUND_HALF_UP)


def weigh_assessment(
    rules: Rules, branch: BranchInputs, mean: Decimal
) -> tuple[Decimal, RuleLine | None]:
    """The final round's total and its `assessment` line: with the campaign's
    `assessment_weight` and the branch's committee assessment, the blended total and the level
    the thresholds give on it; otherwise the mean and no line — nothing changes."""
    weight, score = rules.assessment_weight, branch.assessment_score
    if weight is None or score is None:
        return mean, None
    total = blended_total(weight, mean, score)
    line = RuleLine(
        "assessment",
        level_by_total(rules, total),
        score=score,
        weight=weight,
        previous_total=mean,
    )
    return total, line


def level_for(rules: Rules, total: Decimal, scores: Scores) -> str:
    """Thresholds on the total; any criterion below the floor caps the level at average."""
    level = level_by_total(rules, total)
    line = floor_line(rules, level, scores)
    return line.level if line else level


def grade_branch(rules: Rules, branch: BranchInputs, *, final: bool) -> Grade | Incomplete:
    """One branch's grade before the quota, or what it is missing.

    Order: computed level (the committee's assessment weighed into the total when the final
    round's rules say so, thresholds, floor) → upgrade cap (final round) → the superior's
    override → veto. Only the superior overrides or vetoes; the veto (一票否决) is absolute: it
    makes the level weak even over an override.
    """
    missing = tuple(source for source in SOURCES if source not in branch.by_source)
    if not branch.registered:
        return Incomplete(branch.branch_id, ("registration", *missing))
    if missing:
        return Incomplete(branch.branch_id, missing)
    return _decide(rules, branch, weighted_scores(rules, branch.by_source), final=final)


def _decide(
    rules: Rules,
    branch: BranchInputs,
    scores: Scores,
    *,
    final: bool,
) -> Grade:
    mean = total_of(scores)
    total, assessed = weigh_assessment(rules, branch, mean) if final else (mean, None)
    grade = Grade(
        branch_id=branch.branch_id,
        level=level_by_total(rules, total),
        total=total,
        scores=scores,
        basis="computed",
        computed_level=level_for(rules, total, scores),
        rules=(assessed,) if assessed is not None else (),
    )
    floor = floor_line(rules, grade.level, scores)
    if floor is not None:
        grade = grade.then(floor)
    completion = None
    if final:
        completion = branch.completion_rate if branch.completion_rate is not None else Decimal(0)
        if (
            branch.initial_level is not None
            and completion < rules.upgrade_min_completion
            and rank(grade.level) < rank(branch.initial_level)
        ):
            cap = RuleLine(
                "upgrade_cap",
                branch.initial_level,
                threshold=rules.upgrade_min_completion,
                completion_rate=completion,
            )
            grade = grade.then(cap, upgrade_capped=True)
    superior = branch.by_source["superior"]
    if superior.override_level is not None:
        override = RuleLine("override", superior.override_level, reason=superior.override_reason)
        grade = grade.then(override, basis="override", override_reason=superior.override_reason)
    if superior.veto_reason is not None:
        veto = RuleLine("veto", "weak", reason=superior.veto_reason)
        grade = grade.then(veto, veto_reason=superior.veto_reason)
    if final:
        grade = replace(
            grade,
            previous_level=branch.initial_level,
            moved_up=branch.initial_level is not None
            and rank(grade.level) < rank(branch.initial_level),
            completion_rate=completion,
            settled=branch.completion_rate is not None,
        )
    return grade


def grade_supplementary(
    rules: Rules, branch: BranchInputs, *, final: bool, graded: int, strong: int
) -> Grade | None:
    """补充定级: the level of a branch that was incomplete when its round was computed, once it
    can be had — by the rules when its inputs are complete, or by the superior alone when its
    determination overrides the level (its own scores stand for the branch's then). None while
    neither. `graded` and `strong` count the round's graded branches and its strong ones: the
    quota counts this branch like the others."""
    if not branch.registered:
        return None
    missing = tuple(source for source in SOURCES if source not in branch.by_source)
    if not missing:
        grade = _decide(rules, branch, weighted_scores(rules, branch.by_source), final=final)
    else:
        superior = branch.by_source.get("superior")
        if superior is None or superior.override_level is None:
            return None
        alone = {c: superior.scores[c].quantize(CENT, ROUND_HALF_UP) for c in CRITERIA}
        grade = _decide(rules, branch, alone, final=final)
    if (
        rules.strong_quota is not None
        and grade.level == "strong"
        and grade.basis == "computed"
        and strong >= math.floor(rules.strong_quota * (graded + 1))
    ):
        grade = _over_quota(rules, grade)
    line = RuleLine("supplementary", grade.level, missing=missing)
    return grade.then(line, supplementary=True)


def _over_quota(rules: Rules, grade: Grade) -> Grade:
    assert rules.strong_quota is not None
    line = RuleLine("quota", "fairly_strong", threshold=rules.strong_quota)
    demoted = grade.then(line, quota_limited=True)
    if grade.previous_level is not None:
        demoted = replace(demoted, moved_up=rank("fairly_strong") < rank(grade.previous_level))
    return demoted


def apply_strong_quota(rules: Rules, grades: Sequence[Grade]) -> list[Grade]:
    """At most `strong_quota` of the graded branches stay strong (rounded down).

    Overrides and their count are the superior's decision and are never demoted; of the
    computed strong ones, the lowest totals fall to fairly_strong, ties broken by branch_id.
    """
    if rules.strong_quota is None:
        return list(grades)
    seats = math.floor(rules.strong_quota * len(grades))
    decided = sum(1 for g in grades if g.level == "strong" and g.basis == "override")
    candidates = sorted(
        (g for g in grades if g.level == "strong" and g.basis == "computed"),
        key=lambda g: (-g.total, g.branch_id),
    )
    keep = max(0, seats - decided)
    demoted = {g.branch_id for g in candidates[keep:]}
    return [_over_quota(rules, g) if g.branch_id in demoted else g for g in grades]


def grade_round(rules: Rules, branches: Iterable[BranchInputs], *, final: bool) -> RoundResult:
    """Every branch of a round: graded (quota applied across the round) or incomplete."""
    graded: list[Grade] = []
    incomplete: list[Incomplete] = []
    for branch in branches:
        outcome = grade_branch(rules, branch, final=final)
        if isinstance(outcome, Grade):
            graded.append(outcome)
        else:
            incomplete.append(outcome)
    return RoundResult(apply_strong_quota(rules, graded), incomplete)


ROUND_OF_PHASE = {"survey_grading": "initial", "assessment": "final"}
