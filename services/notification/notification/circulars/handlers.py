"""The handlers of supervision.inputs (inspections, progress reports) and supervision.decisions
(the office's requests, edits, sign-offs and discards), merged into the service's table.

Inputs naming an organisation not registered in the event's county are refused. A decision
about an unknown circular, or about one already signed or discarded, is refused (DLQ,
`rejected_by_rule`) with nothing changed and nothing sent. A sign-off numbers the circular and
plans its sends in one transaction: the number is the county's and year's next, never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from grassroots.contract.calendar import county_today
from grassroots.contract.events import (
    NotificationCircularIssuedEvent,
    SupervisionCircularDiscardedEvent,
    SupervisionCircularEditedEvent,
    SupervisionCircularRequestedEvent,
    SupervisionCircularSignedEvent,
    SupervisionInspectedEvent,
    SupervisionProgressReportedEvent,
)
from grassroots.contract.supervision import (
    CircularIssued,
    CircularTrigger,
    EditAction,
    Section,
)
from grassroots.plumbing.handling import Registration, Rejected, batch, each
from notification import recipients
from notification.circulars import decisions
from notification.circulars.drafting import ADDED, requested_circular_id, supervision_title
from notification.circulars.drafts import draft, supervision_items
from notification.circulars.store import InspectionRow, Issue, ItemRow, ProgressReportRow
from notification.counties import no_issuer
from notification.domain import WHO_HEARS_WHAT, Kind, unregistered
from notification.planning import PLANNER, Notice, derived_id, time_driven_cause
from notification.store import NotificationStore, Uow


async def _refuse_unregistered(uow: Uow, named: Sequence[tuple[str, str]]) -> None:
    """Refuse unless every (organisation, county of the event naming it) is registered so. A
    run of events is refused whole (one query for all): the consumer then applies its events
    one at a time, and refuses only those that name an organisation not registered."""
    registered_in = await uow.store.counties_of(sorted({org_id for org_id, _ in named}))
    for org_id, county_code in named:
        refusals = unregistered([org_id], registered_in, county_code)
        if refusals:
            raise Rejected("; ".join(refusals))


async def on_inspected(uow: Uow, events: Sequence[SupervisionInspectedEvent]) -> None:
    """Kept once per event; its findings count when the next draft is made."""
    await _refuse_unregistered(uow, [(e.data.org_id, e.countycode) for e in events])
    await uow.store.circulars.save_inspections(
        [
            InspectionRow(
                e.source,
                e.id,
                e.campaign,
                e.countycode,
                d.org_id,
                d.inspection_id,
                d.mode.value,
                d.inspected_on,
                e.time,
                [f.model_dump(mode="json") for f in d.findings],
            )
            for e in events
            for d in (e.data,)
        ]
    )


async def on_progress_reported(
    uow: Uow, events: Sequence[SupervisionProgressReportedEvent]
) -> None:
    """Kept once per event: who reported, and when (a missing report is derived at drafting)."""
    await _refuse_unregistered(uow, [(e.data.org_id, e.countycode) for e in events])
    await uow.store.circulars.save_progress_reports(
        [
            ProgressReportRow(
                e.source, e.id, e.campaign, e.countycode, e.data.org_id, e.data.reported_on
            )
            for e in events
        ]
    )


async def on_circular_requested(uow: Uow, event: SupervisionCircularRequestedEvent) -> None:
    """The office asks for a draft now: made as the weekly one is, under the request's id."""
    data = event.data
    campaign = await uow.store.campaign(data.campaign_id)
    notice = await draft(
        uow,
        campaign_id=data.campaign_id,
        county_code=event.countycode,
        circular_id=requested_circular_id(data.campaign_id, data.request_id),
        trigger=CircularTrigger.ON_DEMAND,
        title=supervision_title(campaign["name"] if campaign else None),
        items=await supervision_items(uow, data.campaign_id, event.countycode),
    )
    if notice is not None:
        PLANNER.later(uow, notice)


async def _draft_to_decide(uow: Uow, circular_id: str, county_code: str) -> asyncpg.Record:
    """The draft, locked; a decision about any other circular is refused."""
    circular = await uow.store.circulars.lock(circular_id)
    if circular is None or circular["county_code"] != county_code:
        raise Rejected(decisions.unknown(circular_id))
    refusal = decisions.closed(circular_id, circular["status"])
    if refusal:
        raise Rejected(refusal)
    return circular


async def on_circular_edited(uow: Uow, event: SupervisionCircularEditedEvent) -> None:
    """An item's text edited, an item removed or added, in the notification's copy of the draft
    (the circular is sent as edited)."""
    data = event.data
    circulars = uow.store.circulars
    await _draft_to_decide(uow, data.circular_id, event.countycode)
    items = {
        r["item_id"]: decisions.ItemState(removed=r["removed_reason"] is not None)
        for r in await circulars.items(data.circular_id)
    }
    refusal = decisions.edit_refusal(data.circular_id, items, data)
    if refusal:
        raise Rejected(refusal)
    if data.action is EditAction.EDIT:
        assert data.text is not None  # the contract requires it
        await circulars.edit_item(
            data.circular_id, data.item_id, data.text, data.edited_by, event.time
        )
    elif data.action is EditAction.REMOVE:
        assert data.reason is not None
        await circulars.remove_item(
            data.circular_id, data.item_id, data.reason, data.edited_by, event.time
        )
    else:
        assert data.section and data.org_id and data.text and data.reason
        await _refuse_unregistered(uow, [(data.org_id, event.countycode)])
        row = ItemRow(
            data.circular_id, data.item_id, data.section.value, data.org_id, ADDED, data.text, []
        )
        await circulars.add_item(row, data.reason, data.edited_by, event.time)


async def on_circular_signed(uow: Uow, event: SupervisionCircularSignedEvent) -> None:
    """Signed off: numbered (the county's and year's next), sent as edited to every
    organisation of the county by every channel, and published as issued — in one
    transaction. A county without an issuing body cannot issue it: refused."""
    data = event.data
    circulars = uow.store.circulars
    circular = await _draft_to_decide(uow, data.circular_id, event.countycode)
    every_item = await circulars.items(data.circular_id)
    kept = [r for r in every_item if r["removed_reason"] is None]
    if not kept:
        raise Rejected(decisions.nothing_left(data.circular_id))
    county_code, campaign_id = circular["county_code"], circular["campaign_id"]
    issuer = PLANNER.settings.counties.issuer(county_code)
    if issuer is None:
        raise Rejected(no_issuer(county_code))
    signed_on = county_today(event.time)
    number = await circulars.take_number(county_code, signed_on.year)
    issue = Issue(
        signed_by=data.signed_by,
        signed_at=event.time,
        issuing_body=issuer.issuing_body,
        year=signed_on.year,
        number=number,
        document_number=issuer.document_number(signed_on.year, number),
        recipients=await _organisations_reached(uow, county_code),
        issued_at=uow.now,
    )
    await circulars.mark_issued(data.circular_id, issue)
    await circulars.mark_praised(data.circular_id, [s for r in every_item for s in r["sources"]])
    source, cause = time_driven_cause("circular", data.circular_id)
    facts = issued_facts(circular, kept, issue)
    PLANNER.later(uow, Notice(Kind.CIRCULAR, source, cause, county_code, campaign_id, None, facts))
    uow.emit(
        NotificationCircularIssuedEvent,
        CircularIssued(
            circular_id=data.circular_id,
            issuing_body=issue.issuing_body,
            year=issue.year,
            number=issue.number,
            document_number=issue.document_number,
            signed_by=issue.signed_by,
            recipients=issue.recipients,
        ),
        countycode=county_code,
        campaignid=campaign_id,
        event_id=derived_id("circular_issued", data.circular_id),
    )


async def _organisations_reached(uow: Uow, county_code: str) -> int:
    """How many organisations an issued circular goes to (every organisation of the county)."""
    addressees = await recipients.resolve(
        recipients.Directory(uow.store),
        WHO_HEARS_WHAT[Kind.CIRCULAR],
        county_code=county_code,
        branch_id=None,
    )
    return len({a.org_id for a in addressees})


def issued_facts(
    circular: asyncpg.Record, items: list[asyncpg.Record], issue: Issue
) -> dict[str, Any]:
    """The issued document's facts: its head, its sections (praise first) with their items as
    the office left them, and its foot."""
    sections = [
        {
            "section": section.value,
            "entries": [
                {
                    "item_id": r["item_id"],
                    "org_id": r["org_id"],
                    "basis": r["basis"],
                    "text": r["text"],
                }
                for r in items
                if r["section"] == section.value
            ],
        }
        for section in (Section.PRAISE, Section.CRITICISM)
    ]
    return {
        "circular_id": circular["circular_id"],
        "title": circular["title"],
        "as_of": circular["as_of"].isoformat(),
        "issuing_body": issue.issuing_body,
        "document_number": issue.document_number,
        "year": issue.year,
        "number": issue.number,
        "signed_by": issue.signed_by,
        "signed_on": county_today(issue.signed_at).isoformat(),
        "sections": [s for s in sections if s["entries"]],
    }


async def on_circular_discarded(uow: Uow, event: SupervisionCircularDiscardedEvent) -> None:
    """Discarded: never sent. Its praise may be named by a later draft."""
    data = event.data
    await _draft_to_decide(uow, data.circular_id, event.countycode)
    await uow.store.circulars.mark_discarded(
        data.circular_id, data.discarded_by, data.reason, event.time
    )


SUPERVISION_HANDLERS: tuple[Registration[NotificationStore], ...] = (
    batch(SupervisionInspectedEvent, on_inspected),
    batch(SupervisionProgressReportedEvent, on_progress_reported),
    each(SupervisionCircularRequestedEvent, on_circular_requested),
    each(SupervisionCircularEditedEvent, on_circular_edited),
    each(SupervisionCircularSignedEvent, on_circular_signed),
    each(SupervisionCircularDiscardedEvent, on_circular_discarded),
)
