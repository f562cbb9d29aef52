"""The one check of inputs that name organisations (phases 3 and 4, supervision): every
organisation an input names is registered in the event's county; a graded organisation's own
input (summary review, committee assessment, learning meeting) is for an organisation graded in
the campaign; the campaign is the event's county's. The first refused event of a run fails it
before anything is written; the plumbing then applies the run again in slices, the failing
slice one event at a time, so only that event is dead-lettered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grassroots.contract.events import (
    AssessmentAnnualReviewedEvent,
    AssessmentCommitteeAssessedEvent,
    AssessmentDutyReportedEvent,
    AssessmentOrgAppraisedEvent,
    AssessmentRuleEstablishedEvent,
    AssessmentSummaryReviewedEvent,
    EmulationActivityReportedEvent,
    EmulationCommendedEvent,
    EmulationLearningMeetingHeldEvent,
    EmulationPublicizedEvent,
    SupervisionInspectedEvent,
    SupervisionProgressReportedEvent,
)
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.store.ingest import Registration, ReportingStore

GRADED_INPUTS = (
    AssessmentSummaryReviewedEvent,
    AssessmentCommitteeAssessedEvent,
    EmulationLearningMeetingHeldEvent,
)
"""A graded organisation's own input: only for the organisations graded in the campaign."""
OrganisationEvent = (
    EmulationCommendedEvent
    | EmulationActivityReportedEvent
    | EmulationPublicizedEvent
    | AssessmentSummaryReviewedEvent
    | AssessmentCommitteeAssessedEvent
    | EmulationLearningMeetingHeldEvent
    | AssessmentDutyReportedEvent
    | AssessmentOrgAppraisedEvent
    | AssessmentAnnualReviewedEvent
    | AssessmentRuleEstablishedEvent
    | SupervisionInspectedEvent
    | SupervisionProgressReportedEvent
)
"""An input that names organisations that must be registered in its county."""


def named(event: OrganisationEvent) -> list[str]:
    """The organisations an input names: its subject, and who awarded a commendation."""
    names = [event.subject]
    if isinstance(event, EmulationCommendedEvent) and event.data.awarded_by is not None:
        names.append(event.data.awarded_by)
    return list(dict.fromkeys(names))


def refusal(
    event: OrganisationEvent,
    registered: Mapping[str, Registration],
    campaign_county: str | None,
) -> str | None:
    """Why an input is refused (docs/contract.md), or None: an organisation it names is not
    registered in the event's county; a graded organisation's own input is for a committee or
    another county's organisation; or the campaign is another county's (unknown campaign: the
    event's county, as the campaign row will say)."""
    county = event.countycode
    unregistered = [
        f"{org} is not a registered organisation of county {county}: register it"
        " (org.branch_registered) first"
        for org in named(event)
        if org not in registered or registered[org].county_code != county
    ]
    if unregistered:
        return "; ".join(unregistered)
    if isinstance(event, GRADED_INPUTS):
        found = registered[event.subject]
        if found.kind == "committee" or found.county_code != (campaign_county or county):
            return (
                f"{event.subject} is not one of the organisations graded in campaign"
                f" {event.campaign}"
            )
    if campaign_county is not None and campaign_county != county:
        return f"campaign {event.campaign} is a campaign of county {campaign_county}, not {county}"
    return None


async def refuse_unknown_organisations(
    uow: UnitOfWork[ReportingStore], events: Sequence[OrganisationEvent]
) -> None:
    """Raise Rejected, before anything is written, for the first refused input of `events`."""
    registered = await uow.store.registered_organisations(org for e in events for org in named(e))
    counties = await uow.store.campaign_counties([e.campaign for e in events])
    for event in events:
        reason = refusal(event, registered, counties.get(event.campaign))
        if reason is not None:
            raise Rejected(reason)
