"""`emulation.inputs` and `assessment.inputs`: commendations, activities, summary reviews."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from grassroots.contract.common import ContractModel, Identifier, LongText, ShortText


class Honour(StrEnum):
    ADVANCED_ORGANIZATION = "advanced_organization"
    EXCELLENT_MEMBER = "excellent_member"


class ActivityKind(StrEnum):
    THEMED_ACTIVITY = "themed_activity"
    INNOVATION_MEASURE = "innovation_measure"
    PAIRING = "pairing"
    VILLAGE_VISIT = "village_visit"
    DOUBLE_HELP = "double_help"


class Commended(ContractModel):
    branch_id: Identifier = Field(description="The branch commended, or whose member was.")
    honour: Honour = Field(
        description="advanced_organization (先进基层党组织) or excellent_member (优秀共产党员)."
    )
    title: ShortText = Field(description="The commendation's title.")
    member_name: ShortText | None = Field(None, description="The member, for excellent_member.")

    @model_validator(mode="after")
    def _member_for_excellent_member(self) -> Self:
        if self.honour is Honour.EXCELLENT_MEMBER and not self.member_name:
            raise ValueError("member_name is required when honour is excellent_member")
        return self


class ActivityReported(ContractModel):
    branch_id: Identifier = Field(description="The branch that held the activity.")
    kind: ActivityKind = Field(description="The kind of activity.")
    title: ShortText = Field(description="The activity's title.")
    held_on: dt.date = Field(description="When it was held (ISO 8601 date).")


class BranchReviewed(ContractModel):
    branch_id: Identifier = Field(description="The branch reviewed (评估小结).")
    score: float = Field(ge=0, le=100, allow_inf_nan=False, description="Assessment score, 0–100.")
    process_solid: bool = Field(description="Was the process solid.")
    problems_solved: bool = Field(description="Were prominent problems solved.")
    advance_visible: bool = Field(description="Is the advance visible.")
    summary: LongText | None = Field(None, description="The summary review's text.")
