"""`emulation.inputs`: phase 3, learning from the advanced (学习先进、创先争优) — commendations,
publicity, the special organisational-life meetings (比学赶帮), activities (the "four ones" and
pairing, village visits, double help)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from grassroots.contract.common import ContractModel, Identifier, Level, LongText, ShortText


class Honour(StrEnum):
    ADVANCED_ORGANIZATION = "advanced_organization"  # 先进基层党组织
    EXCELLENT_MEMBER = "excellent_member"  # 优秀共产党员
    EXCELLENT_PARTY_WORKER = "excellent_party_worker"  # 优秀党务工作者


PERSONAL_HONOURS = frozenset({Honour.EXCELLENT_MEMBER, Honour.EXCELLENT_PARTY_WORKER})


class ActivityKind(StrEnum):
    THEMED_ACTIVITY = "themed_activity"
    INNOVATION_MEASURE = "innovation_measure"
    PAIRING = "pairing"
    VILLAGE_VISIT = "village_visit"
    DOUBLE_HELP = "double_help"


class Commended(ContractModel):
    branch_id: Identifier = Field(
        description="The organisation commended, or whose member was (registered)."
    )
    honour: Honour = Field(
        description="advanced_organization (先进基层党组织), excellent_member (优秀共产党员) or "
        "excellent_party_worker (优秀党务工作者)."
    )
    title: ShortText = Field(
        description="The commendation's title, e.g. 局党委“七一”创先争优专项表彰."
    )
    member_name: ShortText | None = Field(
        None,
        description="The person honoured; required for excellent_member and "
        "excellent_party_worker.",
    )
    awarded_by: Identifier | None = Field(
        None,
        description="The awarding organisation (registered), e.g. the bureau's Party committee "
        "for its 七一 special commendation, or a general branch for its own. Absent: not stated "
        "(listed as such).",
    )
    awarded_on: dt.date | None = Field(
        None, description="The day it was awarded (ISO 8601 date). Absent: the event's day."
    )

    @model_validator(mode="after")
    def _person_for_personal_honours(self) -> Self:
        if self.honour in PERSONAL_HONOURS and not self.member_name:
            raise ValueError(f"member_name is required when honour is {self.honour.value}")
        return self


class ActivityReported(ContractModel):
    branch_id: Identifier = Field(description="The organisation that held the activity.")
    kind: ActivityKind = Field(
        description="themed_activity (一项党建特色主题活动), innovation_measure (一项党建工作创新"
        "举措), pairing (结对共建), village_visit (在职党员进村入户), double_help (双帮双比)."
    )
    title: ShortText = Field(description="The activity's title.")
    held_on: dt.date = Field(description="When it was held (ISO 8601 date).")


class PublicityChannel(StrEnum):
    EDUCATION_WEBSITE = "education_website"  # 教育网
    EDUCATION_NEWSPAPER = "education_newspaper"  # 教育报
    OWN_CHANNEL = "own_channel"  # the organisation's own channel (本单位宣传栏、网站…)


class Publicized(ContractModel):
    """An advanced model published in a column (集中宣传)."""

    branch_id: Identifier = Field(
        description="The organisation the item is about, or whose member it is about."
    )
    member_name: ShortText | None = Field(
        None, description="The member it is about; absent: the organisation itself."
    )
    title: ShortText = Field(description="The item's title.")
    channel: PublicityChannel = Field(
        description="education_website (教育网), education_newspaper (教育报) or own_channel."
    )
    channel_name: ShortText | None = Field(
        None, description="The column or channel's own name, e.g. 蒲城教育网“创先争优”专栏."
    )
    published_on: dt.date = Field(description="When it was published (ISO 8601 date).")
    url: str | None = Field(
        None, max_length=500, pattern=r"^https?://\S+$", description="Where to read it."
    )


class LearningMeetingHeld(ContractModel):
    """The special organisational-life meeting (专题组织生活会) of 比学赶帮: the organisation
    compares itself with the advanced and sets the level it aims for (争先进位目标)."""

    branch_id: Identifier = Field(description="The organisation that held the meeting.")
    held_on: dt.date = Field(description="When it was held (ISO 8601 date).")
    target_level: Level = Field(description="The level it aims for (争先进位目标).")
    learned_from: list[ShortText] = Field(
        default_factory=list,
        max_length=20,
        description="The advanced organisations or members it compared itself with.",
    )
    summary: LongText | None = Field(None, description="What was found and resolved.")


class BranchReviewed(ContractModel):
    """Deprecated: send assessment.summary_reviewed and assessment.committee_assessed."""

    branch_id: Identifier = Field(description="The branch reviewed (评估小结).")
    score: float = Field(ge=0, le=100, allow_inf_nan=False, description="Assessment score, 0–100.")
    process_solid: bool = Field(description="Was the process solid.")
    problems_solved: bool = Field(description="Were prominent problems solved.")
    advance_visible: bool = Field(description="Is the advance visible.")
    summary: LongText | None = Field(None, description="The summary review's text.")
