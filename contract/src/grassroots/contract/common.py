"""Vocabulary shared by many event types: levels, rounds, phases, the five criteria."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


class Phase(StrEnum):
    SURVEY_GRADING = "survey_grading"
    RECTIFICATION = "rectification"
    EMULATION = "emulation"
    ASSESSMENT = "assessment"


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class Round(StrEnum):
    INITIAL = "initial"
    FINAL = "final"


class Level(StrEnum):
    STRONG = "strong"
    FAIRLY_STRONG = "fairly_strong"
    AVERAGE = "average"
    WEAK = "weak"


# Best first: a level's rank is its index here.
LEVEL_ORDER: tuple[Level, ...] = (Level.STRONG, Level.FAIRLY_STRONG, Level.AVERAGE, Level.WEAK)


class Criterion(StrEnum):
    LEADERSHIP = "leadership"
    MEMBERSHIP = "membership"
    MECHANISM = "mechanism"
    PERFORMANCE = "performance"
    REPUTATION = "reputation"


class InputSource(StrEnum):
    SELF = "self"
    APPRAISAL = "appraisal"
    SUPERIOR = "superior"


class ContractModel(BaseModel):
    """Base of every payload: unknown fields are refused, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
]
"""Ids of branches, problems, tasks, commitments: letters, digits and . _ : / -"""

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# An address with one @ and a dotted domain, checked by a pattern: the email-validator package
# took a sixth of a busy consumer's time on registrations.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def _email(value: str) -> str:
    if not EMAIL_PATTERN.fullmatch(value):
        raise ValueError("not an email address: it needs one @ and a domain like example.org")
    return value


Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]

Score = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class Scores(ContractModel):
    """The five goods (五个好), each scored 0–100."""

    leadership: Score = Field(description="领导班子好 — the leadership team, 0–100.")
    membership: Score = Field(description="党员队伍好 — the member team, 0–100.")
    mechanism: Score = Field(description="工作机制好 — the working mechanism, 0–100.")
    performance: Score = Field(description="工作业绩好 — the work performance, 0–100.")
    reputation: Score = Field(description="群众反映好 — public feedback, 0–100.")

    def by_criterion(self) -> dict[Criterion, float]:
        return {criterion: getattr(self, criterion.value) for criterion in Criterion}
