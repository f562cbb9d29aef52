"""Handlers of the circular events (drafts, the office's decisions, issues), merged into the
service's handler table.

The office's decisions come back from `supervision.decisions` after the API applied them in the
transaction that published them: kept once per event id, a decision already kept changes
nothing. One not kept yet (a rebuild) is applied like the API applied it; one read before its
draft (a rebuild replays the decisions' topic before notification's) waits for the draft."""

from __future__ import annotations

from grassroots.contract.events import (
    NotificationCircularDraftedEvent,
    NotificationCircularIssuedEvent,
    SupervisionCircularDiscardedEvent,
    SupervisionCircularEditedEvent,
    SupervisionCircularRequestedEvent,
    SupervisionCircularSignedEvent,
)
from grassroots.plumbing.handling import Registration, each
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.circulars import decisions
from reporting.circulars.store import CircularRow, IssueRow, ItemRow
from reporting.store.ingest import ReportingStore

Uow = UnitOfWork[ReportingStore]
DecisionEvent = (
    SupervisionCircularEditedEvent
    | SupervisionCircularSignedEvent
    | SupervisionCircularDiscardedEvent
)


async def on_circular_drafted(uow: Uow, event: NotificationCircularDraftedEvent) -> None:
    """A draft with its items, waiting for the office; decisions read before it apply now."""
    draft = event.data
    circular = CircularRow(
        draft.circular_id,
        event.campaign,
        event.countycode,
        draft.title,
        draft.trigger.value,
        event.time,
        len(draft.items),
    )
    items = [
        ItemRow(draft.circular_id, i.item_id, n, i.section.value, i.org_id, i.basis, i.text)
        for n, i in enumerate(draft.items, start=1)
    ]
    if not await uow.store.add_draft(circular, items):
        return
    for waiting in await uow.store.waiting_decisions(draft.circular_id):
        decision = decisions.stored(waiting["action"], waiting["data"])
        seen = await decisions.apply(uow.store, decision, waiting["decided_at"])
        if seen is not None:
            await uow.store.mark_applied(waiting["event_id"], seen)


async def on_decision(uow: Uow, event: DecisionEvent) -> None:
    """An office decision read back: nothing when the API kept it already."""
    decision = event.data
    kept = decisions.row(event.id, event.campaign, decision, event.time, applied=None)
    if not await uow.store.record_decision(kept):
        return
    if not await uow.store.circular_known(decision.circular_id):
        return  # waits for its draft
    seen = await decisions.apply(uow.store, decision, event.time)
    if seen is not None:
        await uow.store.mark_applied(event.id, seen)


async def on_circular_edited(uow: Uow, event: SupervisionCircularEditedEvent) -> None:
    await on_decision(uow, event)


async def on_circular_signed(uow: Uow, event: SupervisionCircularSignedEvent) -> None:
    await on_decision(uow, event)


async def on_circular_discarded(uow: Uow, event: SupervisionCircularDiscardedEvent) -> None:
    await on_decision(uow, event)


async def on_circular_requested(uow: Uow, event: SupervisionCircularRequestedEvent) -> None:
    """The office's request for a draft, kept once (shown until its draft comes)."""
    await uow.store.record_decision(decisions.request_row(event.id, event.data, event.time))


async def on_circular_issued(uow: Uow, event: NotificationCircularIssuedEvent) -> None:
    """Issued with its number: the document number, issuing body and recipients."""
    issued = event.data
    await uow.store.issue(
        IssueRow(
            issued.circular_id,
            event.time,
            issued.issuing_body,
            issued.year,
            issued.number,
            issued.document_number,
            issued.recipients,
            issued.signed_by,
        )
    )


CIRCULAR_HANDLERS: tuple[Registration[ReportingStore], ...] = (
    each(NotificationCircularDraftedEvent, on_circular_drafted),
    each(SupervisionCircularRequestedEvent, on_circular_requested),
    each(SupervisionCircularEditedEvent, on_circular_edited),
    each(SupervisionCircularSignedEvent, on_circular_signed),
    each(SupervisionCircularDiscardedEvent, on_circular_discarded),
    each(NotificationCircularIssuedEvent, on_circular_issued),
)
