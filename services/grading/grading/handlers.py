"""One handler per consumed event type: parse → load → decide → save + outbox."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from prometheus_client import Counter

from grading import store
from grading.domain import ROUND_OF_PHASE
from grassroots.contract.common import Round, Scores
from grassroots.contract.grading import Basis, BranchGraded
from grassroots.plumbing.handling import Handler, HandlerContext, Rejected

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


async def on_branch_registered(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await store.save_branch(
        ctx.conn,
        branch_id=data.branch_id,
        county_code=event.countycode,
        kind=data.kind.value,
        name=data.name,
        parent_id=data.parent_id,
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


async def _record_input(ctx: HandlerContext, event: Any, source: str, **fields: Any) -> None:
    data = event.data
    campaign_id: str = event.campaignid
    status = await store.lock_round_for_input(ctx.conn, campaign_id, data.round.value)
    if status == "computed":
        LATE_INPUTS.labels(event.type).inc()
        log.warning(
            "late %s for %s %s %s: recorded, not applied",
            event.type,
            campaign_id,
            data.round.value,
            data.branch_id,
        )
        await store.save_late_input(
            ctx.conn,
            campaign_id=campaign_id,
            round_=data.round.value,
            branch_id=data.branch_id,
            event_type=event.type,
            event_id=event.id,
            payload=data.model_dump(mode="json"),
        )
        return
    await store.save_input(
        ctx.conn,
        campaign_id=campaign_id,
        round_=data.round.value,
        branch_id=data.branch_id,
        source=source,
        scores=data.scores.model_dump(),
        veto_reason=data.veto_reason,
        event_id=event.id,
        event_time=event.time,
        **fields,
    )


async def on_self_evaluated(ctx: HandlerContext, event: Any) -> None:
    await _record_input(ctx, event, "self")


async def on_appraised(ctx: HandlerContext, event: Any) -> None:
    await _record_input(ctx, event, "appraisal", raters=event.data.raters)


async def on_superior_rated(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await _record_input(
        ctx,
        event,
        "superior",
        rater_org_id=data.rater_org_id,
        override_level=data.override_level.value if data.override_level else None,
        override_reason=data.override_reason,
    )


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


async def on_branch_settled(ctx: HandlerContext, event: Any) -> None:
    await store.save_settlement(
        ctx.conn,
        campaign_id=event.campaignid,
        branch_id=event.data.branch_id,
        completion_rate=event.data.completion_rate,
    )


HANDLERS: dict[str, Handler] = {
    "campaign.launched": on_campaign_launched,
    "campaign.phase_closed": on_phase_closed,
    "org.branch_registered": on_branch_registered,
    "grading.self_evaluated": on_self_evaluated,
    "grading.appraised": on_appraised,
    "grading.superior_rated": on_superior_rated,
    "grading.result_corrected": on_result_corrected,
    "rectification.branch_settled": on_branch_settled,
}
