"""`notification.results`: what was delivered to whom, and what failed."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from grassroots.contract.common import ContractModel, Identifier, ShortText


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    INBOX = "inbox"


class NotificationOutcome(ContractModel):
    notification_id: Identifier = Field(description="The notification.")
    kind: ShortText = Field(description="What it was about, e.g. grading_result, task_overdue.")
    channel: Channel = Field(description="email, webhook or inbox.")
    recipient: ShortText = Field(description="Email address, webhook endpoint name, or branch_id.")
    cause_event_id: ShortText = Field(description="The id of the event that caused it.")
    attempts: int = Field(ge=1, description="Delivery attempts made.")
    branch_id: Identifier | None = Field(None, description="The branch it concerned, if one.")
    error: str | None = Field(
        None, max_length=2000, description="Why it failed (notification.failed)."
    )
