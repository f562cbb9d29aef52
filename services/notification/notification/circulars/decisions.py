"""The office's decisions on a draft, checked — pure rules. The reporting API refuses at once
what it can see is wrong; these are the service's own checks of what it consumes, whose
refusals go to the DLQ (`rejected_by_rule`) with these texts, nothing changed, nothing sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from grassroots.contract.supervision import CircularEdited, EditAction


class Status(StrEnum):
    DRAFT = "draft"  # 待签发
    ISSUED = "issued"  # signed off, numbered and sent in one transaction (已印发)
    DISCARDED = "discarded"  # 已作废: never sent


@dataclass(frozen=True)
class ItemState:
    """An item of a draft as the checks need it."""

    removed: bool


def unknown(circular_id: str) -> str:
    return f"circular {circular_id} is unknown"


def closed(circular_id: str, status: str) -> str | None:
    """Why nothing more may be decided about the circular; None while it is a draft."""
    if status == Status.ISSUED:
        return f"circular {circular_id} is already signed"
    if status == Status.DISCARDED:
        return f"circular {circular_id} was discarded"
    return None


def edit_refusal(
    circular_id: str, items: Mapping[str, ItemState], edit: CircularEdited
) -> str | None:
    """Why the edit cannot apply to the draft's items; None when it can."""
    item = items.get(edit.item_id)
    if edit.action is EditAction.ADD:
        if item is not None:
            return f"circular {circular_id} already has an item {edit.item_id}"
        return None
    if item is None:
        return f"circular {circular_id} has no item {edit.item_id}"
    if item.removed:
        return f"item {edit.item_id} of circular {circular_id} was removed"
    return None


def nothing_left(circular_id: str) -> str:
    """A signed draft whose items were all removed: a blank document is not issued."""
    return f"circular {circular_id} has no items left: discard it instead"
