"""`campaign.lifecycle`: a campaign launched with its plan, its phases opened and closed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Self

from pydantic import Field, model_validator

from grassroots.contract.common import PHASE_ORDER, ContractModel, Identifier, Phase, ShortText


class PhaseWindow(ContractModel):
    phase: Phase = Field(description="Phase code.")
    opens_on: dt.date = Field(description="Planned first day (ISO 8601 date).")
    closes_on: dt.date = Field(
        description="Planned last day (ISO 8601 date), on or after opens_on."
    )

    @model_validator(mode="after")
    def _closes_after_opening(self) -> Self:
        if self.closes_on < self.opens_on:
            raise ValueError(f"phase {self.phase.value}: closes_on is before opens_on")
        return self


class SourceWeights(ContractModel):
    self_: float = Field(alias="self", ge=0, le=1, description="Weight of the self-evaluation.")
    appraisal: float = Field(ge=0, le=1, description="Weight of the members' and public appraisal.")
    superior: float = Field(ge=0, le=1, description="Weight of the superior's determination.")

    model_config = ContractModel.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _sum_to_one(self) -> Self:
        total = self.self_ + self.appraisal + self.superior
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, they sum to {total:g}")
        return self


class LevelThresholds(ContractModel):
    strong: float = Field(ge=0, le=100, description="Lowest total graded strong (强).")
    fairly_strong: float = Field(
        ge=0, le=100, description="Lowest total graded fairly_strong (较强)."
    )
    average: float = Field(ge=0, le=100, description="Lowest total graded average (一般).")

    @model_validator(mode="after")
    def _descending(self) -> Self:
        if not self.strong > self.fairly_strong > self.average:
            raise ValueError(
                "thresholds must descend: strong > fairly_strong > average "
                f"(got {self.strong:g}, {self.fairly_strong:g}, {self.average:g})"
            )
        return self


DayCount = Annotated[int, Field(ge=0, le=366)]


class CampaignRules(ContractModel):
    """Every number of the grading and rectification rules; absent ones take DOMAIN.md defaults."""

    weights: SourceWeights | None = Field(
        None, description="Per-source weights (default self 0.2, appraisal 0.3, superior 0.5)."
    )
    thresholds: LevelThresholds | None = Field(
        None, description="Level thresholds on the total (default 90 / 80 / 60)."
    )
    criterion_floor: float | None = Field(
        None,
        ge=0,
        le=100,
        description="A criterion below this caps the level at average (default 60).",
    )
    commitment_due_days: DayCount | None = Field(
        None,
        description="Days after rectification opens by which a commitment is due (default 15).",
    )
    upgrade_min_completion: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "Rectification completion rate (0–1) below which the final level may not exceed "
            "the initial one (default 0.8)."
        ),
    )
    reminder_days_before_close: list[DayCount] | None = Field(
        None,
        max_length=10,
        description="Days before a phase closes or a commitment is due to remind (default [7, 1]).",
    )
    strong_quota: float | None = Field(
        None,
        gt=0,
        le=1,
        description=(
            "Optional quota: at most this share of graded branches may be strong in a round; "
            "those beyond it by total (ties broken by branch_id) are graded fairly_strong."
        ),
    )
    escalation_answer_days: DayCount | None = Field(
        None,
        description="Days the superior has to answer an escalated problem before it is lagging "
        "(default 10).",
    )
    review_due_days: DayCount | None = Field(
        None,
        description="Days the superior has to review a published plan (or revision) before it "
        "is reminded and lagging (default 5).",
    )
    assessment_weight: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Weight (0–1) of the committee's assessment (assessment.committee_assessed) "
        "in the final round: total = (1 − weight) × the five criteria's mean + weight × the "
        "assessment's score, and the level follows from that total. Absent (default): the "
        "assessment does not count in grading.",
    )
    circular_sign_off_days: DayCount | None = Field(
        None,
        description="Days a drafted circular may wait for the office's sign-off before the "
        "office is reminded (default 3). An unsigned draft is never sent.",
    )
    progress_report_every_days: DayCount | None = Field(
        None,
        description="Organisations report progress to the office every this many days from the "
        "campaign's first day (default 14); who has not reported for a period whose due date "
        "has passed is lagging (progress_report_missing) until it reports.",
    )
    gradual_horizon: dt.date | None = Field(
        None,
        description="The latest deadline a gradual task (逐步整改) may have (default: the last "
        "day of the campaign's planned window).",
    )


class CampaignLaunched(ContractModel):
    campaign_id: Identifier = Field(description="The campaign, e.g. pucheng-edu-2012.")
    name: ShortText = Field(description="The campaign's name, in Chinese.")
    year: int = Field(ge=2000, le=2100, description="The campaign year.")
    phases: list[PhaseWindow] = Field(
        min_length=1, max_length=4, description="The planned windows, in phase order."
    )
    rules: CampaignRules | None = Field(
        None, description="Rules; defaults apply to what is absent."
    )

    @model_validator(mode="after")
    def _phases_in_order(self) -> Self:
        seen = [window.phase for window in self.phases]
        if len(set(seen)) != len(seen):
            raise ValueError("phases: a phase is listed twice")
        if seen != sorted(seen, key=PHASE_ORDER.index):
            raise ValueError("phases: must be listed in plan order")
        for earlier, later in zip(self.phases, self.phases[1:], strict=False):
            if later.opens_on <= earlier.closes_on:
                raise ValueError(
                    f"phases: {later.phase.value} opens before {earlier.phase.value} closes"
                )
        return self


class PhaseOpened(ContractModel):
    campaign_id: Identifier = Field(description="The campaign.")
    phase: Phase = Field(description="The phase that opened.")


class PhaseClosed(ContractModel):
    campaign_id: Identifier = Field(description="The campaign.")
    phase: Phase = Field(description="The phase that closed; its results are computed now.")
