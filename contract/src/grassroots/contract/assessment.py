"""`assessment.inputs`: phase 4, analysis and assessment (分析评估、巩固成果) — each branch's
summary review and the committee's assessment of it, the three-level report, appraisal and
review (三级联述联评联考), and good practices made standing rules (巩固深化)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from grassroots.contract.common import ContractModel, Identifier, Level, LongText, ShortText

AnswerText = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class Answer(StrEnum):
    YES = "yes"  # 是
    PARTLY = "partly"  # 基本
    NO = "no"  # 否


class ReviewAnswer(ContractModel):
    answer: Answer = Field(description="yes, partly or no.")
    text: AnswerText = Field(description="The short text that supports the answer.")


class SummaryReviewed(ContractModel):
    """A branch's summary review (评估小结): three questions, each answered with a short text."""

    branch_id: Identifier = Field(description="The organisation reviewing itself.")
    process_solid: ReviewAnswer = Field(description="过程是否扎实 — was the process solid.")
    problems_solved: ReviewAnswer = Field(
        description="突出问题是否解决 — were the prominent problems solved."
    )
    advance_evident: ReviewAnswer = Field(
        description="争先进位的成效是否明显 — is the advance evident."
    )


class CommitteeAssessed(ContractModel):
    """The committee's assessment of a branch (局党委评估)."""

    branch_id: Identifier = Field(description="The organisation assessed.")
    score: float = Field(ge=0, le=100, allow_inf_nan=False, description="Score, 0–100.")
    level: Level | None = Field(None, description="The level the committee judges it at.")
    comment: LongText | None = Field(None, description="The committee's comment.")


class DutyReported(ContractModel):
    """A secretary's special report on duty (专项述职) to the level above."""

    org_id: Identifier = Field(description="The organisation whose secretary reports.")
    reporter_name: ShortText = Field(description="Who reports (the secretary).")
    reported_to: ShortText = Field(description="To whom, e.g. 中共蒲城县委组织部.")
    reported_on: dt.date = Field(description="When (ISO 8601 date).")
    document_ref: ShortText = Field(description="The report's document reference.")


class RaterGroup(StrEnum):
    BRANCHES = "branches"  # 基层党组织
    MEMBERS = "members"  # 党员
    PUBLIC_REPRESENTATIVES = "public_representatives"  # 群众代表


Count = Annotated[int, Field(ge=0, le=1_000_000)]


class RaterCounts(ContractModel):
    group: RaterGroup = Field(description="Who rated: branches, members, public_representatives.")
    satisfied: Count = Field(description="满意.")
    basically_satisfied: Count = Field(description="基本满意.")
    dissatisfied: Count = Field(description="不满意.")

    @model_validator(mode="after")
    def _someone_rated(self) -> Self:
        if self.satisfied + self.basically_satisfied + self.dissatisfied == 0:
            raise ValueError(f"{self.group.value}: no ratings counted")
        return self


class OrgAppraised(ContractModel):
    """The appraisal (评议) of a Party organisation by branches, members and public
    representatives. A later appraisal of a group replaces that group's earlier counts."""

    org_id: Identifier = Field(
        description="The organisation appraised (the committee or a school's Party organisation)."
    )
    groups: list[RaterCounts] = Field(
        min_length=1, max_length=3, description="Counts per rater group, each group once."
    )

    @model_validator(mode="after")
    def _each_group_once(self) -> Self:
        seen = [counts.group for counts in self.groups]
        if len(set(seen)) != len(seen):
            raise ValueError("groups: a rater group is listed twice")
        return self


class AnnualGrade(StrEnum):
    EXCELLENT = "excellent"  # 优秀
    GOOD = "good"  # 良好
    FAIR = "fair"  # 一般
    POOR = "poor"  # 较差


class AnnualReviewed(ContractModel):
    """The annual review (年度考核) of an organisation's leadership team: the county's grade."""

    org_id: Identifier = Field(description="The organisation whose leadership team is reviewed.")
    year: int = Field(ge=2000, le=2100, description="The year reviewed.")
    grade: AnnualGrade = Field(description="excellent, good, fair or poor.")
    comment: LongText | None = Field(None, description="The reviewers' comment.")


class RuleEstablished(ContractModel):
    """A good practice made a standing rule (巩固深化, 建章立制)."""

    org_id: Identifier = Field(description="The organisation that made the rule.")
    title: ShortText = Field(description="The rule's title.")
    adopted_on: dt.date = Field(description="When it was adopted (ISO 8601 date).")
    document_ref: ShortText | None = Field(None, description="Its document reference.")
    summary: LongText | None = Field(None, description="What it settles.")
