"""Classification and grading (分类定级) as pure rules: no I/O, no clock, no ids.

Arithmetic is decimal: each weighted criterion score and the total are rounded half-up to
0.01, and levels are decided on those rounded numbers — what people see is what decides.
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


def level_for(rules: Rules, total: Decimal, scores: Scores) -> str:
    """Thresholds on the total; any criterion below the floor caps the level at average."""
    if total >= rules.thresholds["strong"]:
        level = "strong"
    elif total >= rules.thresholds["fairly_strong"]:
        level = "fairly_strong"
    elif total >= rules.thresholds["average"]:
        level = "average"
    else:
        level = "weak"
    if any(score < rules.criterion_floor for score in scores.values()):
        level = no_better_than(level, "average")
    return level


def grade_branch(rules: Rules, branch: BranchInputs, *, final: bool) -> Grade | Incomplete:
    """One branch's grade before the quota, or what it is missing.

    Order: computed level → upgrade cap (final round) → the superior's override → veto.
    The veto (一票否决) is absolute: it makes the level weak even over an override.
    """
    missing = tuple(source for source in SOURCES if source not in branch.by_source)
    if not branch.registered:
        return Incomplete(branch.branch_id, ("registration", *missing))
    if missing:
        return Incomplete(branch.branch_id, missing)
    scores = weighted_scores(rules, branch.by_source)
    total = total_of(scores)
    computed = level_for(rules, total, scores)
    level, basis, capped = computed, "computed", False
    completion = None
    if final:
        completion = branch.completion_rate if branch.completion_rate is not None else Decimal(0)
        if (
            branch.initial_level is not None
            and completion < rules.upgrade_min_completion
            and rank(level) < rank(branch.initial_level)
        ):
            level, capped = branch.initial_level, True
    superior = branch.by_source["superior"]
    if superior.override_level is not None:
        level, basis = superior.override_level, "override"
    veto = next(
        (branch.by_source[s].veto_reason for s in SOURCES if branch.by_source[s].veto_reason), None
    )
    if veto is not None:
        level = "weak"
    grade = Grade(
        branch_id=branch.branch_id,
        level=level,
        total=total,
        scores=scores,
        basis=basis,
        computed_level=computed,
        override_reason=superior.override_reason if basis == "override" else None,
        veto_reason=veto,
        upgrade_capped=capped,
    )
    if final:
        grade = replace(
            grade,
            previous_level=branch.initial_level,
            moved_up=branch.initial_level is not None and rank(level) < rank(branch.initial_level),
            completion_rate=completion,
            settled=branch.completion_rate is not None,
        )
    return grade


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
    result = []
    for grade in grades:
        if grade.branch_id in demoted:
            demoted_grade = replace(grade, level="fairly_strong", quota_limited=True)
            if grade.previous_level is not None:
                demoted_grade = replace(
                    demoted_grade, moved_up=rank("fairly_strong") < rank(grade.previous_level)
                )
            grade = demoted_grade
        result.append(grade)
    return result


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
