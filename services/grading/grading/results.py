"""A grade as the contract publishes it, and the ids results carry."""

from __future__ import annotations

import uuid
from typing import Any

from grading.domain import Grade, RuleLine
from grassroots.contract.common import Criterion, Level, Round, Scores
from grassroots.contract.grading import AppliedRule, Basis, BranchGraded, MissingInput, Rule

RESULT_NAMESPACE = uuid.UUID("0f6d2d0e-3c1b-4f3e-8a51-2b7f7c9d4e10")


def result_event_id(campaign_id: str, round_: str, branch_id: str, *, revision: str = "") -> str:
    """Deterministic: the same result always carries the same id, so downstream dedupes it."""
    return str(uuid.uuid5(RESULT_NAMESPACE, f"{campaign_id}:{round_}:{branch_id}{revision}"))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def applied_rule(line: RuleLine) -> AppliedRule:
    return AppliedRule(
        rule=Rule(line.rule),
        level=Level(line.level),
        reason=line.reason,
        criterion=Criterion(line.criterion) if line.criterion else None,
        score=_number(line.score),
        threshold=_number(line.threshold),
        completion_rate=_number(line.completion_rate),
        missing=[MissingInput(m) for m in line.missing] or None,
        weight=_number(line.weight),
        previous_total=_number(line.previous_total),
    )


def graded(grade: Grade, round_: str) -> BranchGraded:
    """The `grading.branch_graded` payload of a grade, with every rule that changed it."""
    final = round_ == "final"
    optional: dict[str, Any] = {}
    if final:
        optional = {
            "previous_level": Level(grade.previous_level) if grade.previous_level else None,
            "moved_up": grade.moved_up,
            "completion_rate": float(grade.completion_rate or 0),
            "settled": grade.settled,
            "upgrade_capped": grade.upgrade_capped,
        }
    return BranchGraded(
        branch_id=grade.branch_id,
        round=Round(round_),
        level=Level(grade.level),
        total=float(grade.total),
        scores=Scores(**{c: float(v) for c, v in grade.scores.items()}),
        basis=Basis(grade.basis),
        computed_level=Level(grade.computed_level),
        override_reason=grade.override_reason,
        veto_reason=grade.veto_reason,
        quota_limited=grade.quota_limited or None,
        supplementary=grade.supplementary or None,
        rules=[applied_rule(line) for line in grade.rules] or None,
        **optional,
    )
