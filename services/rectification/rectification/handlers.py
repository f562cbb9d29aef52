"""One handler per consumed event type: parse → load → decide → save + outbox."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from grassroots.contract.rectification import ProblemEscalated
from grassroots.plumbing.handling import (
    BatchHandler,
    Handler,
    HandlerContext,
    Rejected,
    one_at_a_time,
)
from rectification import store
from rectification.domain import (
    DEFAULT_COMMITMENT_DUE_DAYS,
    Commitment,
    PlannedTask,
    TaskPlan,
    commitment_refusals,
    progress_refusal,
    replan,
    review_refusal,
    revision_refusal,
)

PUBLISHED = "rectification.commitment_published"
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


async def on_branches_registered(ctx: HandlerContext, events: list[Any]) -> None:
    latest = {event.data.branch_id: event for event in events}  # a later registration wins
    await store.save_branches(
        ctx.conn,
        [
            (e.data.branch_id, e.countycode, e.data.kind.value, e.data.name, e.data.parent_id)
            for e in latest.values()
        ],
    )
    # Problems listed before the registration waited for the parent.
    await _escalate(ctx, [e.data.branch_id for e in latest.values() if e.data.parent_id])


async def on_branches_graded(ctx: HandlerContext, events: list[Any]) -> None:
    await store.save_levels(
        ctx.conn,
        [(e.campaignid, e.data.branch_id, e.data.round.value, e.data.level.value) for e in events],
    )


async def on_problems_listed(ctx: HandlerContext, events: list[Any]) -> None:
    problems: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for event in events:
        data = event.data
        key = (event.campaignid, data.branch_id, data.problem_id)
        first = problems.get(key)
        problems[key] = (
            *key[:2],
            first[2] if first else event.countycode,
            data.problem_id,
            data.description,
            data.source.value,
            data.needs_superior,
            first[7] if first else event.time,  # listed when first listed
        )
    await store.save_problems(ctx.conn, list(problems.values()))
    await _escalate(ctx, sorted({e.data.branch_id for e in events if e.data.needs_superior}))


async def _escalate(ctx: HandlerContext, branch_ids: list[str]) -> None:
    if not branch_ids:
        return
    for row in await store.escalate_waiting_problems(ctx.conn, branch_ids):
        ctx.emit(
            "rectification.problem_escalated",
            ProblemEscalated(
                branch_id=row["branch_id"],
                problem_id=row["problem_id"],
                to_org_id=row["escalated_to"],
            ),
            countycode=row["county_code"],
            campaignid=row["campaign_id"],
            event_id=result_event_id(
                row["campaign_id"], "escalated", row["branch_id"], row["problem_id"]
            ),
        )


def _revision_plan(event: Any) -> dict[str, PlannedTask]:
    data = event.data
    return {
        t.task_id: PlannedTask(
            county_code=event.countycode,
            commitment_id=data.commitment_id,
            revision=data.revision,
            problem_id=t.problem_id,
            title=t.title,
            responsible=t.responsible,
            requirement=t.requirement,
            measures=t.measures,
            deadline=t.deadline,
            kind=t.kind.value,
        )
        for t in data.tasks
    }


async def on_commitment_events(ctx: HandlerContext, events: list[Any]) -> None:
    """Publications (a revision replaces the plan, progress kept for the tasks it keeps) and
    reviews (of the latest revision only), in order; every one recorded in the history."""
    keys = [(e.campaignid, e.data.branch_id) for e in events]
    published = [key for key, e in zip(keys, events, strict=True) if e.type == PUBLISHED]
    commitments = await store.lock_commitments(ctx.conn, keys)
    plans = await store.lock_plans(ctx.conn, published) if published else {}
    listed = await store.listed_problems(ctx.conn, published) if published else {}
    windows = await store.campaign_windows(ctx.conn, [k[0] for k in published])
    before = dict(commitments)
    history: list[tuple[Any, ...]] = []
    for key, event in zip(keys, events, strict=True):
        data = event.data
        stored = commitments.get(key)
        current = stored.current if stored else None
        if event.type == PUBLISHED:
            refusals = [revision_refusal(current, data.commitment_id, data.revision)]
            refusals += commitment_refusals(
                [TaskPlan(t.task_id, t.problem_id, t.deadline) for t in data.tasks],
                listed_problems=listed.get(key, set()),
                campaign_window=windows.get(key[0]),
            )
            if any(refusals):
                raise Rejected("; ".join(r for r in refusals if r))
            commitments[key] = Commitment(data.commitment_id, data.revision, event.time)
            plans[key] = replan(plans[key], _revision_plan(event))
            tasks = [t.model_dump(mode="json") for t in data.tasks]
            history.append(
                (
                    *key,
                    data.commitment_id,
                    data.revision,
                    "published",
                    None,
                    None,
                    tasks,
                    event.id,
                    event.time,
                )
            )
            continue
        refusal = review_refusal(current, data.commitment_id, data.revision)
        if refusal:
            raise Rejected(refusal)
        assert stored is not None
        commitments[key] = replace(stored, review=data.decision.value)
        history.append(
            (
                *key,
                data.commitment_id,
                data.revision,
                data.decision.value,
                data.reviewer_org_id,
                data.guidance,
                None,
                event.id,
                event.time,
            )
        )
    changed = {key: c for key, c in commitments.items() if before.get(key) != c}
    await store.save_commitments(ctx.conn, changed, history)
    await store.save_plans(ctx.conn, plans)


async def on_task_events(ctx: HandlerContext, events: list[Any]) -> None:
    """Progress and completions, in order, on tasks of the latest commitments."""
    keys = [(e.campaignid, e.data.branch_id, e.data.task_id) for e in events]
    tasks = await store.lock_tasks(ctx.conn, keys)
    before = dict(tasks)
    reports = []
    for key, event in zip(keys, events, strict=True):
        data = event.data
        task = tasks.get(key)
        if task is None:
            raise Rejected(
                f"task {data.task_id} is not in the latest commitment of {data.branch_id}"
            )
        if event.type == "rectification.task_completed":
            if task.completed_at is None:  # completing it again changes nothing
                tasks[key] = replace(
                    task, percent=100, completed_at=event.time, evidence=data.evidence
                )
            continue
        refusal = progress_refusal(
            completed=task.completed_at is not None,
            current_percent=task.percent,
            percent=data.percent,
            note=data.note,
        )
        if refusal:
            raise Rejected(f"task {data.task_id}: {refusal}")
        tasks[key] = replace(task, percent=data.percent)
        reports.append((*key, data.percent, data.note, event.id, event.time))
    changed = {key: task for key, task in tasks.items() if before[key] != task}
    await store.save_task_progress(ctx.conn, changed, reports)


BATCH_HANDLERS: dict[str, BatchHandler] = {
    "org.branch_registered": on_branches_registered,
    "grading.branch_graded": on_branches_graded,
    "rectification.problem_listed": on_problems_listed,
    "rectification.task_progressed": on_task_events,
    "rectification.task_completed": on_task_events,
    PUBLISHED: on_commitment_events,
    "rectification.commitment_reviewed": on_commitment_events,
}

HANDLERS: dict[str, Handler] = {
    "campaign.launched": on_campaign_launched,
    "campaign.phase_opened": on_phase_opened,
    "campaign.phase_closed": on_phase_closed,
    **{event_type: one_at_a_time(handler) for event_type, handler in BATCH_HANDLERS.items()},
}
