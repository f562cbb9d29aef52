"""`grading.inputs` and `grading.results`: classification and grading (分类定级)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import Field, model_validator

from grassroots.contract.common import (
    ContractModel,
    Criterion,
    Identifier,
    Level,
    LongText,
    Round,
    Scores,
    ShortText,
)

VETO_DESCRIPTION = "一票否决: a reason that makes the branch's level weak whatever its scores."
SUPERIOR_ONLY = ("override_level", "override_reason", "veto_reason")


class _NotTheSuperior(ContractModel):
    """Inputs of the branch itself or of members and the public: only the superior's
    determination (上级党组织评定) may override a level or veto it."""

    @model_validator(mode="before")
    @classmethod
    def _no_override_or_veto(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in SUPERIOR_ONLY:
                if name in data:
                    raise ValueError(
                        f"{name}: only the superior's determination (grading.superior_rated) "
                        "may override or veto a level"
                    )
        return data


class SelfEvaluated(_NotTheSuperior):
    branch_id: Identifier = Field(description="The branch that evaluated itself (党组织自评).")
    round: Round = Field(description="initial or final.")
    scores: Scores = Field(description="The branch's own scores.")
    summary: LongText | None = Field(None, description="The self-evaluation's text.")


class Appraised(_NotTheSuperior):
    branch_id: Identifier = Field(
        description="The branch appraised by members and the public (党员群众评议)."
    )
    round: Round = Field(description="initial or final.")
    raters: int = Field(ge=1, le=1_000_000, description="How many people rated; at least 1.")
    scores: Scores = Field(description="The raters' average scores.")


class SuperiorRated(ContractModel):
    branch_id: Identifier = Field(description="The branch rated by its superior (上级党组织评定).")
    round: Round = Field(description="initial or final.")
    rater_org_id: Identifier = Field(description="The superior organisation that rated.")
    scores: Scores = Field(description="The superior's scores.")
    override_level: Level | None = Field(
        None, description="The superior decides: a level that replaces the computed one."
    )
    override_reason: ShortText | None = Field(
        None, description="Written reason for the override; required with override_level."
    )
    veto_reason: ShortText | None = Field(None, description=VETO_DESCRIPTION)

    @model_validator(mode="after")
    def _reason_with_override(self) -> Self:
        if self.override_level is not None and not self.override_reason:
            raise ValueError("override_reason is required when override_level is given")
        return self


class Basis(StrEnum):
    COMPUTED = "computed"
    OVERRIDE = "override"


class MissingInput(StrEnum):
    SELF = "self"
    APPRAISAL = "appraisal"
    SUPERIOR = "superior"
    REGISTRATION = "registration"


class Rule(StrEnum):
    """A rule that set or changed a level, in the order they are applied."""

    FLOOR = "floor"  # a criterion below the floor held the level at average
    UPGRADE_CAP = "upgrade_cap"  # final round: completion below the minimum kept the initial level
    OVERRIDE = "override"  # the superior determined the level
    VETO = "veto"  # 一票否决: weak
    QUOTA = "quota"  # the strong quota was full: fairly_strong
    SUPPLEMENTARY = "supplementary"  # 补充定级: graded after its round was computed
    ASSESSMENT = "assessment"  # final round: the committee's assessment weighed into the total


class AppliedRule(ContractModel):
    rule: Rule = Field(description="Which rule.")
    level: Level = Field(description="The level after this rule.")
    reason: ShortText | None = Field(
        None, description="override, veto: the superior's written reason."
    )
    criterion: Criterion | None = Field(None, description="floor: the lowest criterion below it.")
    score: float | None = Field(
        None,
        ge=0,
        le=100,
        description="floor: that criterion's score; assessment: the committee's score.",
    )
    threshold: float | None = Field(
        None,
        ge=0,
        le=100,
        description="floor: the floor score; upgrade_cap: the minimum completion rate (0–1); "
        "quota: the share of strong allowed (0–1).",
    )
    completion_rate: float | None = Field(
        None, ge=0, le=1, description="upgrade_cap: the branch's completion rate."
    )
    missing: list[MissingInput] | None = Field(
        None,
        description="supplementary: the inputs that never came (graded by the superior alone).",
    )
    weight: float | None = Field(
        None, ge=0, le=1, description="assessment: the campaign's assessment_weight."
    )
    previous_total: float | None = Field(
        None,
        ge=0,
        le=100,
        description="assessment: the five criteria's mean before the assessment was weighed in.",
    )


class BranchGraded(ContractModel):
    branch_id: Identifier = Field(description="The graded branch.")
    round: Round = Field(description="initial or final.")
    level: Level = Field(description="The level determined.")
    total: float = Field(
        ge=0,
        le=100,
        description="Weighted total, mean of the five criteria (final round with the campaign "
        "rule assessment_weight: blended with the committee's assessment, see rules).",
    )
    scores: Scores = Field(description="Weighted score per criterion.")
    basis: Basis = Field(description="computed by the rules, or override by the superior.")
    previous_level: Level | None = Field(None, description="Final round: the initial level.")
    moved_up: bool | None = Field(
        None, description="Final round: final level above initial (晋位升级)."
    )
    computed_level: Level | None = Field(
        None, description="The level the rules gave before an override, veto, quota or upgrade cap."
    )
    override_reason: ShortText | None = Field(
        None, description="The superior's reason, with basis override."
    )
    veto_reason: ShortText | None = Field(None, description="Set when a veto made the level weak.")
    quota_limited: bool | None = Field(
        None, description="True when the strong quota moved this branch down to fairly_strong."
    )
    completion_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Final round: the rectification completion rate used by the upgrade rule.",
    )
    settled: bool | None = Field(
        None, description="Final round: false when no settlement arrived (completion taken as 0)."
    )
    upgrade_capped: bool | None = Field(
        None,
        description="Final round: true when the upgrade rule held the level at the initial one.",
    )
    corrected: bool | None = Field(
        None,
        description="True when this result corrects an earlier one (grading.result_corrected).",
    )
    supplementary: bool | None = Field(
        None,
        description="True for a supplementary determination (补充定级): the branch was "
        "incomplete when its round was computed and was graded when its inputs arrived.",
    )
    rules: list[AppliedRule] | None = Field(
        None,
        description="Each rule that set or changed the level, in order, with its numbers and "
        "reasons (none: the level is the computed one).",
    )


class BranchIncomplete(ContractModel):
    branch_id: Identifier = Field(description="The branch that could not be graded.")
    round: Round = Field(description="initial or final.")
    missing: list[MissingInput] = Field(
        min_length=1,
        description="What was missing at phase close: self, appraisal, superior — or "
        "registration, for inputs about a branch that was never registered.",
    )


class ResultCorrected(ContractModel):
    """The superior corrects a published level; the platform publishes a new branch_graded."""

    branch_id: Identifier = Field(description="The branch whose published level is corrected.")
    round: Round = Field(description="The round corrected; its results must be published.")
    level: Level = Field(description="The corrected level.")
    reason: ShortText = Field(description="Why the published level was wrong (kept).")
    corrected_by_org_id: Identifier = Field(description="The superior organisation correcting.")


class LevelCounts(ContractModel):
    strong: int = Field(ge=0)
    fairly_strong: int = Field(ge=0)
    average: int = Field(ge=0)
    weak: int = Field(ge=0)


class ResultsPublished(ContractModel):
    campaign_id: Identifier = Field(description="The campaign.")
    round: Round = Field(description="The round whose results are now published.")
    counts: LevelCounts = Field(description="Branches per level.")
    incomplete: int = Field(ge=0, description="Branches that could not be graded.")
    moved_up: int | None = Field(None, ge=0, description="Final round: branches that moved up.")
