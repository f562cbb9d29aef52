"""One handler per consumed event type: parse → load → decide → save + outbox."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

from prometheus_client import Counter

from grading import store
from grading.domain import CRITERIA, ROUND_OF_PHASE
from grassroots.contract.common import Round, Scores
from grassroots.contract.grading import Basis, BranchGraded
from grassroots.plumbing.handling import (
    BatchHandler,
    Handler,
    HandlerContext,
    Rejected,
    one_at_a_time,
)

log = logging.getLogger(__name__)

LATE_INPUTS = Counter(
    "grassroots_grading_late_inputs_total",
    "Grading inputs that arrived after their round was computed (kept, not applied).",
    ["type"],
)
RESULT_NAMESPACE = uuid.UUID("0f6d2d0e-3c1b-4f3e-8a51-2b7f7c9d4e10")


def result_event_id(campaign_id: str, round_: str, branch_id: str, *, revision: str = "") -> str:
    """Deterministic: the same result always carries the same id, so downstream dedupes it."""
    return str(uuid.uuid5(RESULT_NAMESPACE, f"{campaign_id}:{round_}:{branch_id}{revision}"))


async def on_campaign_launched(ctx: HandlerContext, event: Any) -> None:
    await store.save_campaign(
        ctx.conn,
        campaign_id=event.data.campaign_id,
        county_code=event.countycode,
        name=event.data.name,
        rules=event.data.rules.model_dump(mode="json", by_alias=True, exclude_none=True)
        if event.data.rules
        else None,
        launched_at=event.time,
    )


async def on_branches_registered(ctx: HandlerContext, events: list[Any]) -> None:
    latest = {event.data.branch_id: event for event in events}  # a later registration wins
    await store.save_branches(
        ctx.conn,
        [
            (d.branch_id, e.countycode, d.kind.value, d.name, d.parent_id)
            for e in latest.values()
            for d in (e.data,)
        ],
    )


async def on_phase_closed(ctx: HandlerContext, event: Any) -> None:
    """Closing survey_grading or assessment starts computing its round, behind the barrier."""
    round_ = ROUND_OF_PHASE.get(event.data.phase.value)
    if round_ is None:
        return
    previous = await store.close_round(
        ctx.conn,
        campaign_id=event.data.campaign_id,
        round_=round_,
        county_code=event.countycode,
        close_event_id=event.id,
        closed_at=event.time,
    )
    if previous != "open":
        log.info(
            "%s %s round already %s; close %s changes nothing",
            event.data.campaign_id,
            round_,
            previous,
            event.id,
        )


INPUT_SOURCES = {
    "grading.self_evaluated": "self",
    "grading.appraised": "appraisal",
    "grading.superior_rated": "superior",
}


def _input_row(event: Any) -> store.InputRow:
    data = event.data
    superior = event.type == "grading.superior_rated"
    return (
        event.campaignid,
        data.round.value,
        data.branch_id,
        INPUT_SOURCES[event.type],
        *(Decimal(str(getattr(data.scores, c))) for c in CRITERIA),
        data.raters if event.type == "grading.appraised" else None,
        data.rater_org_id if superior else None,
        data.override_level.value if superior and data.override_level else None,
        data.override_reason if superior else None,
        data.veto_reason,
        event.id,
        event.time,
    )


async def on_inputs(ctx: HandlerContext, events: list[Any]) -> None:
    """Self-evaluations, appraisals and superior ratings: each the current input of its kind
    until its round is computed; after that kept as late, never applied."""
    statuses = await store.lock_rounds_for_inputs(
        ctx.conn, [(e.campaignid, e.data.round.value) for e in events]
    )
    current: dict[tuple[str, str, str, str], store.InputRow] = {}
    late: list[store.LateInputRow] = []
    for event in events:
        data = event.data
        if statuses[(event.campaignid, data.round.value)] != "computed":
            row = _input_row(event)
            current[row[:4]] = row  # a later input of the same kind replaces an earlier one
            continue
        LATE_INPUTS.labels(event.type).inc()
        log.warning(
            "late %s for %s %s %s: recorded, not applied",
            event.type,
            event.campaignid,
            data.round.value,
            data.branch_id,
        )
        late.append(
            (
                event.campaignid,
                data.round.value,
                data.branch_id,
                event.type,
                event.id,
                data.model_dump(mode="json"),
            )
        )
    if current:
        await store.save_inputs(ctx.conn, list(current.values()))
    if late:
        await store.save_late_inputs(ctx.conn, late)


async def on_result_corrected(ctx: HandlerContext, event: Any) -> None:
    """A published level corrected by the superior: a new branch_graded, basis override."""
    data = event.data
    campaign_id: str = event.campaignid
    if await store.lock_round_for_input(ctx.conn, campaign_id, data.round.value) != "computed":
        raise Rejected(
            f"the {data.round.value} round of {campaign_id} is not published yet: "
            "send grading.superior_rated with override_level instead"
        )
    published = await store.get_result(ctx.conn, campaign_id, data.round.value, data.branch_id)
    if published is None or published["level"] is None:
        raise Rejected(f"{data.branch_id} has no published {data.round.value} level to correct")
    event_id = result_event_id(
        campaign_id, data.round.value, data.branch_id, revision=f":correction:{event.id}"
    )
    await store.correct_result(
        ctx.conn,
        campaign_id,
        data.round.value,
        data.branch_id,
        level=data.level.value,
        event_id=event_id,
    )
    ctx.emit(
        "grading.branch_graded",
        BranchGraded(
            branch_id=data.branch_id,
            round=Round(data.round.value),
            level=data.level,
            total=float(published["total"]),
            scores=Scores(**published["scores"]),
            basis=Basis.OVERRIDE,
            override_reason=data.reason,
            corrected=True,
            computed_level=published["level"],
        ),
        countycode=event.countycode,
        campaignid=campaign_id,
        event_id=event_id,
    )


async def on_branches_settled(ctx: HandlerContext, events: list[Any]) -> None:
    await store.save_settlements(
        ctx.conn,
        [(e.campaignid, e.data.branch_id, Decimal(str(e.data.completion_rate))) for e in events],
    )


HANDLERS: dict[str, Handler] = {
    "campaign.launched": on_campaign_launched,
    "campaign.phase_closed": on_phase_closed,
    "org.branch_registered": one_at_a_time(on_branches_registered),
    **{event_type: one_at_a_time(on_inputs) for event_type in INPUT_SOURCES},
    "grading.result_corrected": on_result_corrected,
    "rectification.branch_settled": one_at_a_time(on_branches_settled),
}

BATCH_HANDLERS: dict[str, BatchHandler] = {
    "org.branch_registered": on_branches_registered,
    "rectification.branch_settled": on_branches_settled,
    **{event_type: on_inputs for event_type in INPUT_SOURCES},
}
