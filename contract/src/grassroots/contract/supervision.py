"""`supervision.inputs` and the circulars of `notification.results`: the Party office's
inspections (督查), the organisations' progress reports (工作进展情况), and circulars (通报)
that the platform drafts, the office edits and a person signs off before anything is sent."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from grassroots.contract.common import ContractModel, Identifier, LongText, ShortText


class InspectionMode(StrEnum):
    SCHEDULED = "scheduled"  # 定期督查
    UNANNOUNCED = "unannounced"  # 不定期督查


class FindingKind(StrEnum):
    LEADERSHIP_ATTENTION = "leadership_attention"  # 领导重视不够
    INEFFECTIVE_MEASURES = "ineffective_measures"  # 措施不力
    LAGGING = "lagging"  # 工作滞后
    COMMENDABLE = "commendable"  # 值得肯定


CRITICAL_FINDINGS = frozenset(
    {FindingKind.LEADERSHIP_ATTENTION, FindingKind.INEFFECTIVE_MEASURES, FindingKind.LAGGING}
)


class Finding(ContractModel):
    kind: FindingKind = Field(
        description="leadership_attention (领导重视不够), ineffective_measures (措施不力), "
        "lagging (工作滞后) or commendable (值得肯定)."
    )
    text: LongText = Field(description="What was found.")


class Inspected(ContractModel):
    """An inspection of an organisation by the Party office (督查)."""

    inspection_id: Identifier = Field(description="The inspection; unique in the campaign.")
    org_id: Identifier = Field(description="The organisation inspected (registered).")
    mode: InspectionMode = Field(description="scheduled (定期) or unannounced (不定期).")
    inspected_on: dt.date = Field(description="When (ISO 8601 date).")
    inspectors: list[ShortText] = Field(min_length=1, max_length=20, description="Who inspected.")
    checked: LongText = Field(description="What was checked.")
    findings: list[Finding] = Field(min_length=1, max_length=20, description="What was found.")


class ProgressReported(ContractModel):
    """An organisation's progress report to the office (工作进展情况报局党委办)."""

    org_id: Identifier = Field(description="The organisation reporting (registered).")
    reported_on: dt.date = Field(description="When it was reported (ISO 8601 date).")
    summary: LongText = Field(description="The progress reported.")
    document_ref: ShortText | None = Field(None, description="Its document reference.")


class Section(StrEnum):
    PRAISE = "praise"  # 通报表扬
    CRITICISM = "criticism"  # 通报批评


class CircularItem(ContractModel):
    item_id: Identifier = Field(description="The item, unique in its circular.")
    section: Section = Field(description="praise (通报表扬) or criticism (通报批评).")
    org_id: Identifier = Field(description="The organisation the item is about.")
    basis: ShortText = Field(
        description="Why it is there: a lagging reason or finding kind code, commended, or "
        "added (by the office)."
    )
    text: LongText = Field(description="The item's text as it will be read.")


class CircularTrigger(StrEnum):
    WEEKLY = "weekly"  # the weekly circular
    PHASE_CLOSE = "phase_close"  # a phase closed: who is lagging at its end
    ON_DEMAND = "on_demand"  # the office asked for it
    COMMENDATION = "commendation"  # the committee's commendations (通报表扬)


class CircularDrafted(ContractModel):
    """The platform's draft of a circular: nothing is sent until a person signs it off."""

    circular_id: Identifier = Field(description="The circular.")
    trigger: CircularTrigger = Field(
        description="weekly, phase_close (a phase closed), on_demand (the office asked) or "
        "commendation (the committee's commendations)."
    )
    title: ShortText = Field(description="The draft's title.")
    items: list[CircularItem] = Field(max_length=5000, description="Praise and criticism items.")


class CircularRequested(ContractModel):
    """The office asks for a draft now (on demand)."""

    campaign_id: Identifier = Field(description="The campaign.")
    request_id: Identifier = Field(description="The request; the draft's circular_id follows it.")
    requested_by: ShortText = Field(description="Who asked (a person of the office).")


class EditAction(StrEnum):
    EDIT = "edit"
    REMOVE = "remove"
    ADD = "add"


class CircularEdited(ContractModel):
    """One change of a draft by the office: an item's text edited, an item removed or added
    (removing or adding needs a reason)."""

    circular_id: Identifier = Field(description="The circular (a draft).")
    action: EditAction = Field(description="edit, remove or add.")
    item_id: Identifier = Field(description="The item changed (for add: its new id).")
    section: Section | None = Field(None, description="add: the section.")
    org_id: Identifier | None = Field(None, description="add: the organisation.")
    text: LongText | None = Field(None, description="edit, add: the item's text.")
    reason: ShortText | None = Field(None, description="remove, add: why.")
    edited_by: ShortText = Field(description="Who changed it (a person of the office).")

    @model_validator(mode="after")
    def _what_each_action_needs(self) -> Self:
        needs = {
            EditAction.EDIT: ("text",),
            EditAction.REMOVE: ("reason",),
            EditAction.ADD: ("section", "org_id", "text", "reason"),
        }[self.action]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.action.value} needs {', '.join(missing)}")
        return self


class CircularSigned(ContractModel):
    """A person of the office signs the draft off: it is issued and sent."""

    circular_id: Identifier = Field(description="The circular (a draft).")
    signed_by: ShortText = Field(description="Who signed it off.")


class CircularDiscarded(ContractModel):
    """The draft is discarded: never sent."""

    circular_id: Identifier = Field(description="The circular (a draft).")
    discarded_by: ShortText = Field(description="Who discarded it.")
    reason: ShortText = Field(description="Why.")


class CircularIssued(ContractModel):
    """A signed circular issued with its document number and sent to every organisation."""

    circular_id: Identifier = Field(description="The circular.")
    issuing_body: ShortText = Field(description="e.g. 中共蒲城县教育局委员会办公室.")
    year: int = Field(ge=2000, le=2100, description="The year of its number.")
    number: int = Field(ge=1, description="N, counted per county and year, never reused.")
    document_number: ShortText = Field(description="e.g. 蒲教党办〔2012〕1号.")
    signed_by: ShortText = Field(description="Who signed it off.")
    recipients: int = Field(ge=0, description="Organisations it was sent to.")
