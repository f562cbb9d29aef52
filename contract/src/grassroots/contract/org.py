"""`org.branches`: the organisations being graded, and the committees above them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from grassroots.contract.common import ContractModel, Email, Identifier, ShortText


class OrgKind(StrEnum):
    COMMITTEE = "committee"
    GENERAL_BRANCH = "general_branch"
    BRANCH = "branch"


class Secretary(ContractModel):
    name: ShortText = Field(
        description="The secretary's name (支部书记), the first responsible person."
    )
    email: Email | None = Field(None, description="Where notifications by email go.")
    phone: str | None = Field(None, pattern=r"^\+?[0-9 -]{5,20}$", description="Phone number.")


class BranchRegistered(ContractModel):
    branch_id: Identifier = Field(description="The organisation's id; re-registering updates it.")
    name: ShortText = Field(description="The organisation's name, in Chinese.")
    kind: OrgKind = Field(description="committee (not graded), general_branch or branch.")
    parent_id: Identifier | None = Field(None, description="The superior organisation.")
    unit: ShortText = Field(description="The school or unit the organisation is in.")
    township: ShortText | None = Field(None, description="The township (乡镇) of the unit.")
    secretary: Secretary = Field(description="The secretary.")
    member_count: int = Field(ge=0, le=100000, description="Number of Party members.")
