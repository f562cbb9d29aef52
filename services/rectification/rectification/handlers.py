"""One handler per consumed event type: parse → load → decide → save + outbox."""

from __future__ import annotations

import uuid
from typing import Any

from grassroots.contract.rectification import ProblemEscalated
from grassroots.plumbing.handling import Handler, HandlerContext, Rejected
from rectification import store
from rectification.domain import (
    DEFAULT_COMMITMENT_DUE_DAYS,
    TaskPlan,
    commitment_refusals,
    progress_refusal,
    review_refusal,
    revision_refusal,
)

RESULT_NAMESPACE = uuid.UUID("7a3c1e52-2f4b-4b8e-9d7c-5e2f1a0b3c44")


def result_event_id(*parts: str) -> str:
    """Deterministic ids: the same fact always carries the same id downstream."""
    return str(uuid.uuid5(RESULT_NAMESPACE, ":".join(parts)))


async def on_campaign_launched(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    rules = data.rules
    await store.save_campaign(
        ctx.conn,
        campaign_id=data.campaign_id,
        county_code=event.countycode,
        starts_on=min(w.opens_on for w in data.phases),
        ends_on=max(w.closes_on for w in data.phases),
        commitment_due_days=(
            rules.commitment_due_days
            if rules and rules.commitment_due_days is not None
            else DEFAULT_COMMITMENT_DUE_DAYS
        ),
    )


async def on_phase_opened(ctx: HandlerContext, event: Any) -> None:
    if event.data.phase.value == "rectification":
        await store.open_rectification(
            ctx.conn, event.data.campaign_id, event.countycode, event.time
        )


async def on_phase_closed(ctx: HandlerContext, event: Any) -> None:
    """Closing rectification starts the settlement, behind the barrier (see jobs)."""
    if event.data.phase.value == "rectification":
        await store.close_rectification(
            ctx.conn, event.data.campaign_id, event.countycode, event.time
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
    if data.parent_id:  # problems listed before the registration wait for the parent
        await _escalate(ctx, data.branch_id, data.parent_id)


async def on_branch_graded(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await store.save_level(
        ctx.conn, event.campaignid, data.branch_id, data.round.value, data.level.value
    )


async def on_problem_listed(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await store.save_problem(
        ctx.conn,
        campaign_id=event.campaignid,
        branch_id=data.branch_id,
        county_code=event.countycode,
        problem_id=data.problem_id,
        description=data.description,
        source=data.source.value,
        needs_superior=data.needs_superior,
        listed_at=event.time,
    )
    if data.needs_superior:
        parent = await store.parent_of(ctx.conn, data.branch_id)
        if parent is not None:
            await _escalate(ctx, data.branch_id, parent)


async def _escalate(ctx: HandlerContext, branch_id: str, parent_id: str) -> None:
    for row in await store.escalate_waiting_problems(ctx.conn, branch_id, parent_id):
        ctx.emit(
            "rectification.problem_escalated",
            ProblemEscalated(
                branch_id=branch_id, problem_id=row["problem_id"], to_org_id=parent_id
            ),
            countycode=row["county_code"],
            campaignid=row["campaign_id"],
            event_id=result_event_id(row["campaign_id"], "escalated", branch_id, row["problem_id"]),
        )


async def on_commitment_published(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id: str = event.campaignid
    current = await store.current_commitment(ctx.conn, campaign_id, data.branch_id)
    refusals = [r for r in [revision_refusal(current, data.commitment_id, data.revision)] if r]
    refusals += commitment_refusals(
        [TaskPlan(t.task_id, t.problem_id, t.deadline) for t in data.tasks],
        listed_problems=await store.listed_problems(ctx.conn, campaign_id, data.branch_id),
        campaign_window=await store.campaign_window(ctx.conn, campaign_id),
    )
    if refusals:
        raise Rejected("; ".join(refusals))
    await store.publish_commitment(
        ctx.conn,
        campaign_id=campaign_id,
        branch_id=data.branch_id,
        county_code=event.countycode,
        commitment_id=data.commitment_id,
        revision=data.revision,
        tasks=[t.model_dump(mode="json") for t in data.tasks],
        event_id=event.id,
        published_at=event.time,
    )


async def on_commitment_reviewed(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    current = await store.current_commitment(ctx.conn, event.campaignid, data.branch_id)
    refusal = review_refusal(current, data.commitment_id, data.revision)
    if refusal:
        raise Rejected(refusal)
    await store.record_review(
        ctx.conn,
        campaign_id=event.campaignid,
        branch_id=data.branch_id,
        commitment_id=data.commitment_id,
        revision=data.revision,
        decision=data.decision.value,
        guidance=data.guidance,
        reviewer_org_id=data.reviewer_org_id,
        event_id=event.id,
        reviewed_at=event.time,
    )


async def _task(ctx: HandlerContext, event: Any) -> Any:
    task = await store.task_for_update(
        ctx.conn, event.campaignid, event.data.branch_id, event.data.task_id
    )
    if task is None:
        raise Rejected(
            f"task {event.data.task_id} is not in the latest commitment of {event.data.branch_id}"
        )
    return task


async def on_task_progressed(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    task = await _task(ctx, event)
    refusal = progress_refusal(
        completed=task["completed_at"] is not None,
        current_percent=task["percent"],
        percent=data.percent,
        note=data.note,
    )
    if refusal:
        raise Rejected(f"task {data.task_id}: {refusal}")
    await store.record_progress(
        ctx.conn,
        campaign_id=event.campaignid,
        branch_id=data.branch_id,
        task_id=data.task_id,
        percent=data.percent,
        note=data.note,
        event_id=event.id,
        reported_at=event.time,
    )


async def on_task_completed(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await _task(ctx, event)  # completing it again changes nothing
    await store.complete_task(
        ctx.conn,
        campaign_id=event.campaignid,
        branch_id=data.branch_id,
        task_id=data.task_id,
        evidence=data.evidence,
        completed_at=event.time,
    )


HANDLERS: dict[str, Handler] = {
    "campaign.launched": on_campaign_launched,
    "campaign.phase_opened": on_phase_opened,
    "campaign.phase_closed": on_phase_closed,
    "org.branch_registered": on_branch_registered,
    "grading.branch_graded": on_branch_graded,
    "rectification.problem_listed": on_problem_listed,
    "rectification.commitment_published": on_commitment_published,
    "rectification.commitment_reviewed": on_commitment_reviewed,
    "rectification.task_progressed": on_task_progressed,
    "rectification.task_completed": on_task_completed,
}
