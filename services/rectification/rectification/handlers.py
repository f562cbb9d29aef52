"""One handler per consumed event type, typed by the event it takes: load → decide → save +
emit. The table at the end is what the service consumes; all SQL is in `store`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from grassroots.contract.calendar import DEFAULT_COMMITMENT_DUE_DAYS
from grassroots.contract.events import (
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    CampaignPhaseOpenedEvent,
    GradingBranchGradedEvent,
    OrgBranchRegisteredEvent,
    RectificationCommitmentPublishedEvent,
    RectificationCommitmentReviewedEvent,
    RectificationProblemEscalatedEvent,
    RectificationProblemListedEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskProgressedEvent,
)
from grassroots.contract.rectification import ProblemEscalated
from grassroots.plumbing.handling import HandlerTable, Rejected, batch, each
from grassroots.plumbing.store import OrganisationRow
from grassroots.plumbing.unit_of_work import UnitOfWork
from rectification.domain import (
    Commitment,
    PlannedTask,
    TaskPlan,
    commitment_refusals,
    progress_refusal,
    replan,
    review_refusal,
    revision_refusal,
)
from rectification.store import (
    BranchKey,
    CampaignRow,
    CommitmentRow,
    HistoryRow,
    LevelRow,
    ProblemRow,
    ProgressReportRow,
    RectificationStore,
    TaskKey,
    TaskProgressRow,
)

Uow = UnitOfWork[RectificationStore]
CommitmentEvent = RectificationCommitmentPublishedEvent | RectificationCommitmentReviewedEvent
TaskEvent = RectificationTaskProgressedEvent | RectificationTaskCompletedEvent

RESULT_NAMESPACE = uuid.UUID("7a3c1e52-2f4b-4b8e-9d7c-5e2f1a0b3c44")


def result_event_id(*parts: str) -> str:
    """Deterministic ids: the same fact always carries the same id downstream."""
    return str(uuid.uuid5(RESULT_NAMESPACE, ":".join(parts)))


async def on_campaign_launched(uow: Uow, event: CampaignLaunchedEvent) -> None:
    data = event.data
    rules = data.rules
    await uow.store.save_campaign(
        CampaignRow(
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
    )


async def on_phase_opened(uow: Uow, event: CampaignPhaseOpenedEvent) -> None:
    if event.data.phase.value == "rectification":
        await uow.store.open_rectification(event.data.campaign_id, event.countycode, event.time)


async def on_phase_closed(uow: Uow, event: CampaignPhaseClosedEvent) -> None:
    """Closing rectification starts the settlement, behind the barrier (see jobs)."""
    if event.data.phase.value == "rectification":
        await uow.store.close_rectification(event.data.campaign_id, event.countycode, event.time)


async def on_branches_registered(uow: Uow, events: Sequence[OrgBranchRegisteredEvent]) -> None:
    organisations = OrganisationRow.latest(events)
    await uow.store.save_branches(organisations)
    # Problems listed before the registration waited for the parent.
    await _escalate(uow, [o.branch_id for o in organisations if o.parent_id])


async def on_branches_graded(uow: Uow, events: Sequence[GradingBranchGradedEvent]) -> None:
    levels = [
        LevelRow(e.campaign, e.data.branch_id, e.data.round.value, e.data.level.value)
        for e in events
    ]
    latest = {level.key: level for level in levels}  # a later level of the round wins
    await uow.store.save_levels(list(latest.values()))


async def on_problems_listed(uow: Uow, events: Sequence[RectificationProblemListedEvent]) -> None:
    problems: dict[tuple[str, str, str], ProblemRow] = {}
    for event in events:
        data = event.data
        key = (event.campaign, data.branch_id, data.problem_id)
        first = problems.get(key)
        problems[key] = ProblemRow(
            campaign_id=key[0],
            branch_id=key[1],
            county_code=first.county_code if first else event.countycode,
            problem_id=data.problem_id,
            description=data.description,
            source=data.source.value,
            needs_superior=data.needs_superior,
            listed_at=first.listed_at if first else event.time,  # listed when first listed
        )
    await uow.store.save_problems(list(problems.values()))
    await _escalate(uow, sorted({e.data.branch_id for e in events if e.data.needs_superior}))


async def _escalate(uow: Uow, branch_ids: list[str]) -> None:
    if not branch_ids:
        return
    for row in await uow.store.escalate_waiting_problems(branch_ids):
        uow.emit(
            RectificationProblemEscalatedEvent,
            ProblemEscalated(
                branch_id=row.branch_id, problem_id=row.problem_id, to_org_id=row.escalated_to
            ),
            countycode=row.county_code,
            campaignid=row.campaign_id,
            event_id=result_event_id(row.campaign_id, "escalated", row.branch_id, row.problem_id),
        )


def _revision_plan(event: RectificationCommitmentPublishedEvent) -> dict[str, PlannedTask]:
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


async def on_commitment_events(uow: Uow, events: Sequence[CommitmentEvent]) -> None:
    """Publications (a revision replaces the plan, progress kept for the tasks it keeps) and
    reviews (of the latest revision only), in order; every one recorded in the history."""
    store = uow.store
    keys: list[BranchKey] = [(e.campaign, e.data.branch_id) for e in events]
    published = [
        key
        for key, e in zip(keys, events, strict=True)
        if isinstance(e, RectificationCommitmentPublishedEvent)
    ]
    commitments = await store.lock_commitments(keys)
    plans = await store.lock_plans(published) if published else {}
    listed = await store.listed_problems(published) if published else {}
    windows = await store.campaign_windows([k[0] for k in published])
    before = dict(commitments)
    history: list[HistoryRow] = []
    for key, event in zip(keys, events, strict=True):
        stored = commitments.get(key)
        current = stored.current if stored else None
        if isinstance(event, RectificationCommitmentPublishedEvent):
            data = event.data
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
            history.append(
                HistoryRow(
                    *key,
                    commitment_id=data.commitment_id,
                    revision=data.revision,
                    action="published",
                    actor=None,
                    guidance=None,
                    tasks=[t.model_dump(mode="json") for t in data.tasks],
                    event_id=event.id,
                    happened_at=event.time,
                )
            )
            continue
        review = event.data
        refusal = review_refusal(current, review.commitment_id, review.revision)
        if refusal:
            raise Rejected(refusal)
        assert stored is not None
        commitments[key] = replace(stored, review=review.decision.value)
        history.append(
            HistoryRow(
                *key,
                commitment_id=review.commitment_id,
                revision=review.revision,
                action=review.decision.value,
                actor=review.reviewer_org_id,
                guidance=review.guidance,
                tasks=None,
                event_id=event.id,
                happened_at=event.time,
            )
        )
    changed = [
        CommitmentRow(*key, c.commitment_id, c.revision, c.published_at, c.review)
        for key, c in commitments.items()
        if before.get(key) != c
    ]
    await store.save_commitments(changed, history)
    await store.save_plans(plans)


async def on_task_events(uow: Uow, events: Sequence[TaskEvent]) -> None:
    """Progress and completions, in order, on tasks of the latest commitments."""
    keys: list[TaskKey] = [(e.campaign, e.data.branch_id, e.data.task_id) for e in events]
    tasks = await uow.store.lock_tasks(keys)
    before = dict(tasks)
    reports: list[ProgressReportRow] = []
    for key, event in zip(keys, events, strict=True):
        task = tasks.get(key)
        if task is None:
            raise Rejected(
                f"task {event.data.task_id} is not in the latest commitment of "
                f"{event.data.branch_id}"
            )
        if isinstance(event, RectificationTaskCompletedEvent):
            if task.completed_at is None:  # completing it again changes nothing
                tasks[key] = replace(
                    task, percent=100, completed_at=event.time, evidence=event.data.evidence
                )
            continue
        data = event.data
        refusal = progress_refusal(
            completed=task.completed_at is not None,
            current_percent=task.percent,
            percent=data.percent,
            note=data.note,
        )
        if refusal:
            raise Rejected(f"task {data.task_id}: {refusal}")
        tasks[key] = replace(task, percent=data.percent)
        reports.append(ProgressReportRow(*key, data.percent, data.note, event.id, event.time))
    changed = [
        TaskProgressRow(*key, task.percent, task.completed_at, task.evidence)
        for key, task in tasks.items()
        if before[key] != task
    ]
    await uow.store.save_task_progress(changed, reports)


HANDLERS: HandlerTable[RectificationStore] = HandlerTable(
    each(CampaignLaunchedEvent, on_campaign_launched),
    each(CampaignPhaseOpenedEvent, on_phase_opened),
    each(CampaignPhaseClosedEvent, on_phase_closed),
    batch(OrgBranchRegisteredEvent, on_branches_registered),
    batch(GradingBranchGradedEvent, on_branches_graded),
    batch(RectificationProblemListedEvent, on_problems_listed),
    batch(RectificationTaskProgressedEvent, on_task_events),
    batch(RectificationTaskCompletedEvent, on_task_events),
    batch(RectificationCommitmentPublishedEvent, on_commitment_events),
    batch(RectificationCommitmentReviewedEvent, on_commitment_events),
)
