"""Writers of `supervision.inputs` (issue 16): the Party office's inspections (督查) and the
organisations' progress reports (工作进展情况), each kept once per event id. Who is lagging for
them is derived on read (`supervision_views`), so arrival order does not matter.

An input about an organisation not registered in the event's county, or sent for another
county's campaign, is refused by the same check as phases 3 and 4 (`reporting.organisations`),
which `handlers.on_organisation_inputs` makes for them all before these write."""

from __future__ import annotations

from collections.abc import Sequence

from grassroots.contract.events import (
    SupervisionInspectedEvent,
    SupervisionProgressReportedEvent,
)
from grassroots.plumbing.handling import batch
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.deferred import seen
from reporting.store.ingest import ReportingStore
from reporting.store.supervision import InspectionRow, ProgressReportRow

Uow = UnitOfWork[ReportingStore]


async def on_inspected(uow: Uow, events: Sequence[SupervisionInspectedEvent]) -> None:
    """Each inspection once, with its findings as sent."""
    await uow.store.add_inspections(
        [
            InspectionRow(
                seen(uow, e),
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
    await uow.store.add_progress_reports(
        [
            ProgressReportRow(
                seen(uow, e), d.org_id, e.id, d.reported_on, d.summary, d.document_ref
            )
            for e in events
            for d in (e.data,)
        ]
    )


SUPERVISION_WRITERS = (
    batch(SupervisionInspectedEvent, on_inspected),
    batch(SupervisionProgressReportedEvent, on_progress_reported),
)
"""Applied by `handlers.on_organisation_inputs`, with phases 3 and 4's inputs, after the check
of the organisations they name."""
