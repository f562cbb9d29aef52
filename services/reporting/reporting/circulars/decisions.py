"""One way to apply an office decision to the read model, used both by the API (in the
transaction that publishes the decision) and by the handlers that read it back from
`supervision.decisions` (after a rebuild, or a draft read after its decisions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from grassroots.contract.supervision import (
    CircularDiscarded,
    CircularEdited,
    CircularRequested,
    CircularSigned,
    EditAction,
)
from reporting.circulars.store import CircularStore, DecisionRow, Seen

Decision = CircularEdited | CircularSigned | CircularDiscarded
ACTIONS: dict[type[Decision], str] = {
    CircularEdited: "edited",
    CircularSigned: "signed",
    CircularDiscarded: "discarded",
}
MODELS: dict[str, type[Decision]] = {action: model for model, action in ACTIONS.items()}


def on_demand_circular_id(request: CircularRequested) -> str:
    """The circular a request is answered with (rule 3)."""
    return f"circular-{request.campaign_id}-{request.request_id}"


def decided_by(decision: Decision) -> str:
    match decision:
        case CircularEdited():
            return decision.edited_by
        case CircularSigned():
            return decision.signed_by
        case CircularDiscarded():
            return decision.discarded_by


def row(
    event_id: str,
    campaign_id: str,
    decision: Decision,
    at: dt.datetime,
    *,
    applied: Seen | None,
) -> DecisionRow:
    """The decision to keep: its event's data, and once applied what it found (`seen`)."""
    data = decision.model_dump(mode="json", exclude_none=True)
    return DecisionRow(
        event_id,
        campaign_id,
        decision.circular_id,
        ACTIONS[type(decision)],
        decided_by(decision),
        at,
        {**data, "seen": applied} if applied else data,
        applied is not None,
    )


def request_row(event_id: str, request: CircularRequested, at: dt.datetime) -> DecisionRow:
    return DecisionRow(
        event_id,
        request.campaign_id,
        on_demand_circular_id(request),
        "requested",
        request.requested_by,
        at,
        request.model_dump(mode="json"),
        True,  # nothing to apply: the draft answers it
    )


def stored(action: str, data: Mapping[str, Any]) -> Decision:
    """A kept decision as its contract model again."""
    return MODELS[action].model_validate({k: v for k, v in data.items() if k != "seen"})


async def apply(store: CircularStore, decision: Decision, at: dt.datetime) -> Seen | None:
    """Change the circular as decided if it is still a draft (and the item is there, or for an
    addition not yet there): what an edit or removal found (the item's organisation and former
    text), else {}; None when nothing changed."""
    circular_id = decision.circular_id
    match decision:
        case CircularSigned():
            return _done(await store.sign(circular_id, decision.signed_by, at))
        case CircularDiscarded():
            reason = decision.reason
            return _done(await store.discard(circular_id, decision.discarded_by, at, reason))
        case CircularEdited(action=EditAction.EDIT, text=str(text)):
            return await store.edit_item(circular_id, decision.item_id, text)
        case CircularEdited(action=EditAction.REMOVE):
            return await store.remove_item(circular_id, decision.item_id)
        case CircularEdited(
            action=EditAction.ADD, section=section, org_id=str(org), text=str(text)
        ):
            assert section is not None  # the contract's rule: an addition names its section
            added = await store.add_item(circular_id, decision.item_id, section.value, org, text)
            return _done(added)
    raise AssertionError(f"not a decision the contract allows: {decision!r}")


def _done(changed: bool) -> Seen | None:
    return {} if changed else None
