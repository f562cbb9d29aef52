"""One handler per consumed event type: the read models follow every topic.

Reporting keeps what the other services decided (levels, overdue, settlements) and the inputs
people see on a card (problems, commitments, progress). It never re-judges an input; it only
refuses to let state go backwards: an older revision, a review of a superseded revision, or
progress on a task it does not know leave the card as it is (rectification dead-letters them).
"""

from __future__ import annotations

from typing import Any

from grassroots.plumbing.handling import Handler, HandlerContext
from reporting.store import ingest


async def _campaign_event(ctx: HandlerContext, event: Any) -> str:
    campaign_id: str = event.campaignid
    await ingest.touch_campaign(ctx.conn, campaign_id, event.countycode, event.time)
    return campaign_id


async def on_campaign_launched(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await _campaign_event(ctx, event)
    await ingest.launch_campaign(
        ctx.conn,
        campaign_id=data.campaign_id,
        county_code=event.countycode,
        name=data.name,
        year=data.year,
        plan=[w.model_dump(mode="json") for w in data.phases],
    )


async def on_phase_opened(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    await ingest.mark_phase(ctx.conn, campaign_id, event.data.phase.value, "opened_at", event.time)


async def on_phase_closed(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    await ingest.mark_phase(ctx.conn, campaign_id, event.data.phase.value, "closed_at", event.time)


async def on_branch_registered(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await ingest.save_branch(
        ctx.conn,
        {
            "branch_id": data.branch_id,
            "county_code": event.countycode,
            "kind": data.kind.value,
            "name": data.name,
            "unit": data.unit,
            "township": data.township,
            "parent_id": data.parent_id,
            "secretary_name": data.secretary.name,
            "member_count": data.member_count,
        },
    )


async def on_branch_graded(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    await ingest.set_grade(
        ctx.conn,
        campaign_id,
        data.branch_id,
        data.round.value,
        level=data.level.value,
        total=data.total,
        scores=data.scores.model_dump(),
        basis=data.basis.value,
        moved_up=data.moved_up,
    )


async def on_branch_incomplete(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    await ingest.set_incomplete(
        ctx.conn, campaign_id, data.branch_id, data.round.value, [m.value for m in data.missing]
    )


async def on_results_published(ctx: HandlerContext, event: Any) -> None:
    await _campaign_event(ctx, event)


async def on_problem_listed(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    await ingest.save_problem(ctx.conn, campaign_id, event.data.model_dump(mode="json"))


async def on_problem_escalated(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    await ingest.mark_escalated(
        ctx.conn, campaign_id, data.branch_id, data.problem_id, data.to_org_id
    )


async def on_commitment_published(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    current = await ingest.current_revision(ctx.conn, campaign_id, data.branch_id)
    if current is not None and data.revision <= current:
        return
    await ingest.set_commitment(
        ctx.conn, campaign_id, data.branch_id, data.commitment_id, data.revision
    )
    await ingest.replace_plan(
        ctx.conn, campaign_id, data.branch_id, [t.model_dump(mode="json") for t in data.tasks]
    )


async def on_commitment_reviewed(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    if await ingest.current_revision(ctx.conn, campaign_id, data.branch_id) != data.revision:
        return
    await ingest.set_review(
        ctx.conn, campaign_id, data.branch_id, data.decision.value, data.guidance
    )


async def on_task_progressed(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    task = await ingest.task_state(ctx.conn, campaign_id, data.branch_id, data.task_id)
    if task is None or not task["in_plan"] or task["completed"]:
        return
    if data.percent < task["percent"] and not data.note:
        return
    await ingest.change_task(
        ctx.conn, campaign_id, data.branch_id, data.task_id, percent=data.percent
    )


async def on_task_completed(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    task = await ingest.task_state(ctx.conn, campaign_id, data.branch_id, data.task_id)
    if task is None or not task["in_plan"]:
        return
    await ingest.change_task(
        ctx.conn, campaign_id, data.branch_id, data.task_id, percent=100, completed=True
    )


async def on_task_overdue(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    campaign_id = await _campaign_event(ctx, event)
    await ingest.change_task(
        ctx.conn,
        campaign_id,
        data.branch_id,
        data.task_id,
        overdue=True,
        deadline=data.deadline,
        responsible=data.responsible,
    )


async def on_commitment_missing(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    await ingest.set_commitment_missing(ctx.conn, campaign_id, event.data.branch_id)


async def on_branch_settled(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    await ingest.set_settled(
        ctx.conn, campaign_id, event.data.branch_id, event.data.completion_rate
    )


async def on_commended(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    if await ingest.add_commendation(
        ctx.conn, campaign_id, event.id, event.data.model_dump(mode="json")
    ):
        await ingest.count_commendation(ctx.conn, campaign_id, event.data.branch_id)


async def on_activity_reported(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    if await ingest.add_activity(
        ctx.conn, campaign_id, event.id, event.data.model_dump(mode="json")
    ):
        await ingest.count_activity(ctx.conn, campaign_id, event.data.branch_id)


async def on_branch_reviewed(ctx: HandlerContext, event: Any) -> None:
    campaign_id = await _campaign_event(ctx, event)
    await ingest.set_assessment(ctx.conn, campaign_id, event.data.branch_id, event.data.score)


HANDLERS: dict[str, Handler] = {
    "campaign.launched": on_campaign_launched,
    "campaign.phase_opened": on_phase_opened,
    "campaign.phase_closed": on_phase_closed,
    "org.branch_registered": on_branch_registered,
    "grading.branch_graded": on_branch_graded,
    "grading.branch_incomplete": on_branch_incomplete,
    "grading.results_published": on_results_published,
    "rectification.problem_listed": on_problem_listed,
    "rectification.problem_escalated": on_problem_escalated,
    "rectification.commitment_published": on_commitment_published,
    "rectification.commitment_reviewed": on_commitment_reviewed,
    "rectification.task_progressed": on_task_progressed,
    "rectification.task_completed": on_task_completed,
    "rectification.task_overdue": on_task_overdue,
    "rectification.commitment_missing": on_commitment_missing,
    "rectification.branch_settled": on_branch_settled,
    "emulation.commended": on_commended,
    "emulation.activity_reported": on_activity_reported,
    "assessment.branch_reviewed": on_branch_reviewed,
}
