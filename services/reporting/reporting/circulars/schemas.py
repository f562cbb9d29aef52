"""The circulars API's request and response shapes (times ISO 8601 in county time)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["draft", "signed", "issued", "discarded"]
Trigger = Literal["weekly", "phase_close", "on_demand", "commendation"]
Section = Literal["praise", "criticism"]


class CircularSummary(BaseModel):
    circular_id: str
    title: str
    trigger: Trigger
    status: Status = Field(
        description="draft (待签发), signed (已签发), issued (已印发) or discarded (已作废)."
    )
    status_label: str
    drafted_at: str
    items: int = Field(description="Items as edited so far.")
    document_number: str | None = Field(description="Once issued, e.g. 蒲教党办〔2012〕1号.")
    signed_by: str | None
    signed_at: str | None
    issued_at: str | None


class CircularList(BaseModel):
    items: list[CircularSummary] = Field(description="Newest draft first.")


class Item(BaseModel):
    item_id: str
    section: Section
    section_label: str = Field(description="通报表扬 or 通报批评.")
    org_id: str
    org_name: str | None = Field(description="None when the organisation is not registered.")
    basis: str = Field(
        description="A lagging reason or finding kind code, commended, or added (by the office)."
    )
    text: str


class HistoryEntry(BaseModel):
    at: str
    action: Literal["drafted", "edited", "signed", "discarded", "issued"]
    by: str | None = Field(
        description="The person of the office (edited, signed, discarded), the issuing body "
        "(issued); none for the draft."
    )
    detail: str = Field(description="What was done, in Chinese.")


class Circular(BaseModel):
    circular_id: str
    title: str
    trigger: Trigger
    status: Status
    status_label: str
    items: list[Item] = Field(description="As edited so far, in order.")
    history: list[HistoryEntry] = Field(description="Drafted, each decision, issued; in order.")
    issuing_body: str | None
    document_number: str | None
    number: int | None = Field(description="N, counted per county and year.")
    recipients: int | None = Field(description="Organisations it was sent to.")


class Requested(BaseModel):
    request_id: str = Field(
        description="The request; its draft will be circular-<campaign_id>-<request_id>."
    )


class Decided(BaseModel):
    circular_id: str
    status: Literal["signed", "discarded"]


class NoFields(BaseModel):
    """`{}`: who decides is the token's person."""

    model_config = ConfigDict(extra="forbid")


class Edit(BaseModel):
    """One change of a draft; what each action needs is the contract's rule (CircularEdited):
    edit — text; remove — reason; add — section, org_id, text, reason."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="edit, remove or add.")
    item_id: str = Field(description="The item changed (for add: its new id).")
    section: str | None = Field(None, description="add: praise or criticism.")
    org_id: str | None = Field(None, description="add: the organisation (registered).")
    text: str | None = Field(None, description="edit, add: the item's text.")
    reason: str | None = Field(None, description="remove, add: why.")


class Discard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, description="Why the draft is discarded (required).")
