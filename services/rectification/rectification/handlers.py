"""One handler per consumed event type, typed by the event it takes: load → decide → save +
emit. The table at the end is what the service consumes; all SQL is in `store`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from grassroots.contract.calendar import DEFAULT_COMMITMENT_DUE_DAYS
from grassroots.contract.campaign import CampaignRules
from grassroots.contract.events import (
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    CampaignPhaseOpenedEvent,
    GradingBranchGradedEvent,
    OrgBranchRegisteredEvent,
    RectificationCommitmentPublishedEvent,
    RectificationCommitmentReviewedEvent,
    RectificationEscalationAnsweredEvent,
    RectificationProblemDeferredEvent,
    RectificationProblemEscalatedEvent,
    RectificationProblemListedEvent,
    RectificationProblemResolvedEvent,
    RectificationProblemUpdatedEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskProgressedEvent,
)
from grassroots.contract.rectification import (
    Escalation,
    EscalationAnswer,
    ProblemEscalated,
    ProblemStatus,
    ProblemUpdated,
    ReviewDecision,
)
from grassroots.plumbing.handling import HandlerTable, Rejected, batch, each
from grassroots.plumbing.store import OrganisationRow
from grassroots.plumbing.unit_of_work import UnitOfWork
from rectification.domain import (
    DEFAULT_ESCALATION_ANSWER_DAYS,
    DEFAULT_REVIEW_DUE_DAYS,
    Answer,
    Commitment,
    PlannedTask,
    Problem,
    TaskPlan,
    answer_refusal,
    commitment_refusals,
    coverage_refusal,
    defer,
    follow_approved_plan,
    problem_refusal,
    progress_refusal,
    record_answer,
    replan,
    resolve,
    review_refusal,
    revision_refusal,
    uncovered_problems,
)
from rectification.store import (
    BranchKey,
    CampaignRow,
    CommitmentRow,
    EscalationCause,
    HistoryRow,
    LevelRow,
    ProblemKey,
    ProblemRow,
    ProblemStateRow,
    ProgressReportRow,
    RectificationStore,
    TaskKey,
    TaskProgressRow,
)

Uow = UnitOfWork[RectificationStore]
CommitmentEvent = RectificationCommitmentPublishedEvent | RectificationCommitmentReviewedEvent
TaskEvent = RectificationTaskProgressedEvent | RectificationTaskCompletedEvent
ProblemEvent = (
    RectificationProblemResolvedEvent
    | RectificationProblemDeferredEvent
    | RectificationEscalationAnsweredEvent
)

RESULT_NAMESPACE = uuid.UUID("7a3c1e52-2f4b-4b8e-9d7c-5e2f1a0b3c44")


def result_event_id(*parts: str) -> str:
    """Deterministic ids: the same fact always carries the same id downstream."""
    return str(uuid.uuid5(RESULT_NAMESPACE, ":".join(parts)))


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


async def on_campaign_launched(uow: Uow, event: CampaignLaunchedEvent) -> None:
    data = event.data
    rules = data.rules or CampaignRules()
    await uow.store.save_campaign(
        CampaignRow(
            campaign_id=data.campaign_id,
            county_code=event.countycode,
            starts_on=min(w.opens_on for w in data.phases),
            ends_on=max(w.closes_on for w in data.phases),
            commitment_due_days=_or(rules.commitment_due_days, DEFAULT_COMMITMENT_DUE_DAYS),
            escalation_answer_days=_or(
                rules.escalation_answer_days, DEFAULT_ESCALATION_ANSWER_DAYS
            ),
            review_due_days=_or(rules.review_due_days, DEFAULT_REVIEW_DUE_DAYS),
            gradual_horizon=rules.gradual_horizon,
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
    # Problems listed before the registration waited for the parent: escalated by the first
    # registration that named it.
    causes: dict[str, EscalationCause] = {}
    for event in events:
        if event.data.parent_id and event.data.branch_id not in causes:
            causes[event.data.branch_id] = EscalationCause(
                None, event.data.branch_id, None, event.time
            )
    with_parent = {o.branch_id for o in organisations if o.parent_id}
    await _escalate(uow, [c for b, c in causes.items() if b in with_parent])


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
    # Escalated by the first listing that said it needs the superior.
    causes: dict[ProblemKey, EscalationCause] = {}
    for event in events:
        key = (event.campaign, event.data.branch_id, event.data.problem_id)
        if event.data.needs_superior and key not in causes:
            causes[key] = EscalationCause(*key[:2], key[2], event.time)
    await _escalate(uow, list(causes.values()))


async def _escalate(uow: Uow, causes: list[EscalationCause]) -> None:
    for row in await uow.store.escalate_waiting_problems(causes):
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
    reviews (of the latest revision only), in order; every one recorded in the history with
    the prominent problems the revision leaves uncovered. Approving such a revision needs
    `uncovered_reason`; an approval puts the problems its tasks name in rectification."""
    store = uow.store
    keys: list[BranchKey] = [(e.campaign, e.data.branch_id) for e in events]
    published = {
        key
        for key, e in zip(keys, events, strict=True)
        if isinstance(e, RectificationCommitmentPublishedEvent)
    }
    commitments = await store.lock_commitments(keys)
    plans = await store.lock_plans(keys)  # a review looks at the plan it reviews
    problems = await store.lock_problems(keys)
    windows = await store.campaign_windows([k[0] for k in published])
    before = dict(commitments)
    history: list[HistoryRow] = []
    updated: dict[ProblemKey, Problem] = {}
    for key, event in zip(keys, events, strict=True):
        stored = commitments.get(key)
        current = stored.current if stored else None
        branch_problems = problems[key]
        if isinstance(event, RectificationCommitmentPublishedEvent):
            data = event.data
            refusals = [revision_refusal(current, data.commitment_id, data.revision)]
            refusals += commitment_refusals(
                [TaskPlan(t.task_id, t.problem_id, t.deadline, t.kind.value) for t in data.tasks],
                listed_problems=branch_problems.keys(),
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
                    uncovered=uncovered_problems(branch_problems, plans[key].values()),
                    uncovered_reason=None,
                )
            )
            continue
        review = event.data
        refusal = review_refusal(current, review.commitment_id, review.revision)
        if refusal:
            raise Rejected(refusal)
        assert stored is not None
        uncovered = uncovered_problems(branch_problems, plans[key].values())
        if review.decision is ReviewDecision.APPROVED:
            refusal = coverage_refusal(uncovered, review.uncovered_reason)
            if refusal:
                raise Rejected(refusal)
            for problem_id, problem in follow_approved_plan(branch_problems, plans[key]).items():
                branch_problems[problem_id] = updated[(*key, problem_id)] = problem
                _emit_problem(uow, (*key, problem_id), problem, caused_by=event.id)
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
                uncovered=uncovered,
                uncovered_reason=review.uncovered_reason,
            )
        )
    changed = [
        CommitmentRow(*key, c.commitment_id, c.revision, c.published_at, c.review)
        for key, c in commitments.items()
        if before.get(key) != c
    ]
    await store.save_commitments(changed, history)
    await store.save_plans({key: plans[key] for key in published})
    await store.save_problem_states([ProblemStateRow.of(k, p) for k, p in updated.items()])


def _emit_problem(uow: Uow, key: ProblemKey, problem: Problem, *, caused_by: str) -> None:
    """problem_updated: where the problem now stands, with its escalation and answer."""
    campaign_id, branch_id, problem_id = key
    escalation = problem.escalation
    uow.emit(
        RectificationProblemUpdatedEvent,
        ProblemUpdated(
            branch_id=branch_id,
            problem_id=problem_id,
            status=ProblemStatus(problem.status),
            task_id=problem.task_id,
            evidence=problem.evidence,
            reason=problem.reason,
            escalation=None
            if escalation is None
            else Escalation(
                to_org_id=escalation.to_org_id,
                answer=None if escalation.answer is None else EscalationAnswer(escalation.answer),
                action=escalation.action,
                due=escalation.due,
                evidence=escalation.evidence,
                reason=escalation.reason,
            ),
        ),
        countycode=problem.county_code,
        campaignid=campaign_id,
        event_id=result_event_id(campaign_id, "problem_updated", branch_id, problem_id, caused_by),
    )


async def on_problem_events(uow: Uow, events: Sequence[ProblemEvent]) -> None:
    """Problems resolved (with evidence), deferred (with a reason), and the superior's answers
    to escalated ones, in order; each change published as problem_updated."""
    keys: list[BranchKey] = [(e.campaign, e.data.branch_id) for e in events]
    problems = await uow.store.lock_problems(keys)
    updated: dict[ProblemKey, Problem] = {}
    for key, event in zip(keys, events, strict=True):
        data = event.data
        problem = problems[key].get(data.problem_id)
        if isinstance(event, RectificationEscalationAnsweredEvent):
            answer = event.data
            refusal = answer_refusal(
                problem, answer.branch_id, answer.problem_id, answer.answered_by_org_id
            )
            if refusal:
                raise Rejected(refusal)
            assert problem is not None
            given = Answer(
                answer.answer.value, answer.action, answer.due, answer.evidence, answer.reason
            )
            new = record_answer(problem, given, event.time)
        else:
            refusal = problem_refusal(problem, data.branch_id, data.problem_id)
            if refusal:
                raise Rejected(refusal)
            assert problem is not None
            if isinstance(event, RectificationProblemResolvedEvent):
                new = resolve(problem, event.data.evidence)
            else:
                new = defer(problem, event.data.reason)
        if new == problem:  # said again: nothing changes
            continue
        problems[key][data.problem_id] = updated[(*key, data.problem_id)] = new
        _emit_problem(uow, (*key, data.problem_id), new, caused_by=event.id)
    await uow.store.save_problem_states([ProblemStateRow.of(k, p) for k, p in updated.items()])


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
    batch(RectificationProblemResolvedEvent, on_problem_events),
    batch(RectificationProblemDeferredEvent, on_problem_events),
    batch(RectificationEscalationAnsweredEvent, on_problem_events),
)
