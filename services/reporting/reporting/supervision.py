"""Handlers of `supervision.inputs` (issue 16): the Party office's inspections (督查) and the
organisations' progress reports (工作进展情况), each kept once per event id. Who is lagging for
them is derived on read (`supervision_views`), so arrival order does not matter.

An input about an organisation not registered in the event's county is refused, as phases 3
and 4 refuse theirs, and so is one sent for another county's campaign: the first refused event
fails its batch, which the plumbing then applies one event at a time, so only that event is
dead-lettered."""

from __future__ import annotations

from collections.abc import Sequence

from grassroots.contract.events import (
    SupervisionInspectedEvent,
    SupervisionProgressReportedEvent,
)
from grassroots.plumbing.handling import Registration, Rejected, batch
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.deferred import CampaignTouches
from reporting.store.ingest import ReportingStore
from reporting.store.supervision import InspectionRow, ProgressReportRow

SupervisionEvent = SupervisionInspectedEvent | SupervisionProgressReportedEvent
Uow = UnitOfWork[ReportingStore]


def refusal(
    event: SupervisionEvent, registered_in: str | None, campaign_county: str | None
) -> str | None:
    """Why an input is refused, or None: its organisation is not registered in the event's
    county (`registered_in`: where it is, None when nowhere), or the campaign is another
    county's (unknown campaign: the event's county, as the campaign row will say)."""
    county = event.countycode
    if registered_in != county:
        return (
            f"{event.subject} is not a registered organisation of county {county}: register it"
            " (org.branch_registered) first"
        )
    if campaign_county is not None and campaign_county != county:
        return f"campaign {event.campaign} is a campaign of county {campaign_county}, not {county}"
    return None


async def _refuse_unknown_organisations(uow: Uow, events: Sequence[SupervisionEvent]) -> None:
    """Raise Rejected, before anything is written, for the first refused input of `events`."""
    registered = await uow.store.registered_organisations(e.subject for e in events)
    counties = await uow.store.campaign_counties([e.campaign for e in events])
    for event in events:
        found = registered.get(event.subject)
        reason = refusal(event, found.county_code if found else None, counties.get(event.campaign))
        if reason is not None:
            raise Rejected(reason)


def _seen(uow: Uow, event: SupervisionEvent) -> str:
    """Note the event's campaign (its `updated_at` is the latest event time seen)."""
    uow.deferred(CampaignTouches).add(event.campaign, event.countycode, event.time)
    return event.campaign


async def on_inspected(uow: Uow, events: Sequence[SupervisionInspectedEvent]) -> None:
    """Each inspection once, with its findings as sent."""
    await _refuse_unknown_organisations(uow, events)
    await uow.store.add_inspections(
        [
            InspectionRow(
                _seen(uow, e),
                d.org_id,
                e.id,
                e.time,
                d.inspection_id,
                d.mode.value,
                d.inspected_on,
                list(d.inspectors),
                d.checked,
                [{"kind": f.kind.value, "text": f.text} for f in d.findings],
            )
            for e in events
            for d in (e.data,)
        ]
    )


async def on_progress_reported(
    uow: Uow, events: Sequence[SupervisionProgressReportedEvent]
) -> None:
    """Each progress report once."""
    await _refuse_unknown_organisations(uow, events)
    await uow.store.add_progress_reports(
        [
            ProgressReportRow(
                _seen(uow, e), d.org_id, e.id, d.reported_on, d.summary, d.document_ref
            )
            for e in events
            for d in (e.data,)
        ]
    )


SUPERVISION_HANDLERS: tuple[Registration[ReportingStore], ...] = (
    batch(SupervisionInspectedEvent, on_inspected),
    batch(SupervisionProgressReportedEvent, on_progress_reported),
)
