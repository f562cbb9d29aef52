"""One handler per consumed event type, typed by the event it takes, and set-based versions of
the frequent ones: the read models follow every topic. All SQL is in `store`.

Reporting keeps what the other services decided (levels, overdue, settlements) and the inputs
people see on a card (problems, commitments, progress). It never re-judges an input; it only
refuses to let state go backwards: an older revision, a review of a superseded revision, or
progress on a task it does not know leave the card as it is (rectification dead-letters them).
Counters and campaigns' `updated_at` are collected over a batch and written once at its end.
"""

from __future__ import annotations

from collections.abc import Sequence

from grassroots.contract import AnyEvent
from grassroots.contract.events import (
    AssessmentBranchReviewedEvent,
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    CampaignPhaseOpenedEvent,
    EmulationActivityReportedEvent,
    EmulationCommendedEvent,
    GradingBranchGradedEvent,
    GradingBranchIncompleteEvent,
    GradingResultsPublishedEvent,
    OrgBranchRegisteredEvent,
    RectificationBranchSettledEvent,
    RectificationCommitmentMissingEvent,
    RectificationCommitmentPublishedEvent,
    RectificationCommitmentReviewedEvent,
    RectificationProblemEscalatedEvent,
    RectificationProblemListedEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskOverdueEvent,
    RectificationTaskProgressedEvent,
)
from grassroots.plumbing.handling import HandlerTable, batch, each
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting import domain
from reporting.deferred import CampaignTouches, CounterDeltas
from reporting.store.ingest import (
    ActivityRow,
    BranchRow,
    CampaignSeenRow,
    CardKey,
    CommendationRow,
    ProblemRow,
    PublishedRoundRow,
    ReportingStore,
    TaskKey,
)

Uow = UnitOfWork[ReportingStore]
TaskEvent = (
    RectificationTaskProgressedEvent
    | RectificationTaskCompletedEvent
    | RectificationTaskOverdueEvent
)
CardEvent = (
    GradingBranchGradedEvent
    | GradingBranchIncompleteEvent
    | RectificationCommitmentReviewedEvent
    | RectificationCommitmentMissingEvent
    | RectificationBranchSettledEvent
    | AssessmentBranchReviewedEvent
)


def _seen(uow: Uow, event: AnyEvent) -> str:
    """Note the event's campaign (its `updated_at` is the latest event time seen)."""
    campaign_id = event.campaign
    uow.deferred(CampaignTouches).add(campaign_id, event.countycode, event.time)
    return campaign_id


def _counters(uow: Uow) -> CounterDeltas:
    return uow.deferred(CounterDeltas)


async def _touch(uow: Uow, event: AnyEvent) -> str:
    """Known now (the campaign row must exist before it is updated)."""
    campaign_id = event.campaign
    await uow.store.touch_campaigns([CampaignSeenRow(campaign_id, event.countycode, event.time)])
    return campaign_id


async def on_campaign_launched(uow: Uow, event: CampaignLaunchedEvent) -> None:
    data = event.data
    await _touch(uow, event)
    await uow.store.launch_campaign(
        campaign_id=data.campaign_id,
        county_code=event.countycode,
        name=data.name,
        year=data.year,
        plan=[w.model_dump(mode="json") for w in data.phases],
    )


async def on_phase_opened(uow: Uow, event: CampaignPhaseOpenedEvent) -> None:
    campaign_id = await _touch(uow, event)
    await uow.store.mark_phase(campaign_id, event.data.phase.value, "opened_at", event.time)


async def on_phase_closed(uow: Uow, event: CampaignPhaseClosedEvent) -> None:
    campaign_id = await _touch(uow, event)
    await uow.store.mark_phase(campaign_id, event.data.phase.value, "closed_at", event.time)


async def on_branches_registered(uow: Uow, events: Sequence[OrgBranchRegisteredEvent]) -> None:
    latest = {event.data.branch_id: event for event in events}  # a later registration wins
    await uow.store.save_branches(
        [
            BranchRow(
                branch_id=d.branch_id,
                county_code=e.countycode,
                kind=d.kind.value,
                name=d.name,
                unit=d.unit,
                township=d.township,
                parent_id=d.parent_id,
                secretary_name=d.secretary.name,
                member_count=d.member_count,
            )
            for e in latest.values()
            for d in (e.data,)
        ]
    )


async def on_results_published(uow: Uow, event: GradingResultsPublishedEvent) -> None:
    """From now on the round's levels are announced to the county (公示)."""
    campaign_id = _seen(uow, event)
    await uow.store.publish_rounds(
        [PublishedRoundRow(campaign_id, event.data.round.value, event.time)]
    )


async def on_problems_listed(uow: Uow, events: Sequence[RectificationProblemListedEvent]) -> None:
    latest: dict[tuple[str, str, str], ProblemRow] = {}
    for event in events:
        d = event.data
        problem = ProblemRow(
            _seen(uow, event),
            d.branch_id,
            d.problem_id,
            d.description,
            d.source.value,
            d.needs_superior,
        )
        latest[(problem.campaign_id, problem.branch_id, problem.problem_id)] = problem
    await uow.store.save_problems(list(latest.values()))


async def on_problem_escalated(uow: Uow, event: RectificationProblemEscalatedEvent) -> None:
    data = event.data
    await uow.store.mark_escalated(
        _seen(uow, event), data.branch_id, data.problem_id, data.to_org_id
    )


async def on_commitments_published(
    uow: Uow, events: Sequence[RectificationCommitmentPublishedEvent]
) -> None:
    """A newer revision becomes the card's commitment (review pending again) and its tasks the
    plan; an older or repeated revision leaves the card as it is."""
    keys = [(_seen(uow, e), e.data.branch_id) for e in events]
    cards_before = await uow.store.lock_cards(keys)
    tasks_before = await uow.store.lock_tasks_of(keys)
    cards = dict(cards_before)
    plans: dict[CardKey, dict[str, domain.Task]] = {key: {} for key in keys}
    for (campaign_id, branch_id, task_id), task in tasks_before.items():
        plans[(campaign_id, branch_id)][task_id] = task
    changes: dict[CardKey, dict[str, object]] = {}
    for key, event in zip(keys, events, strict=True):
        data = event.data
        current = cards[key].commitment_revision
        if current is not None and data.revision <= current:
            continue
        columns: dict[str, object] = {
            "commitment_id": data.commitment_id,
            "commitment_revision": data.revision,
            "review": "pending",
            "guidance": None,
        }
        changes.setdefault(key, {}).update(columns)
        cards[key] = cards[key].with_columns(columns)
        plans[key] = domain.replan(plans[key], data.tasks)
    tasks = {(*key, task_id): task for key, plan in plans.items() for task_id, task in plan.items()}
    await uow.store.update_cards(changes)
    changed_tasks = {k: t for k, t in tasks.items() if tasks_before.get(k) != t}
    await uow.store.save_tasks(changed_tasks)
    counters = _counters(uow)
    for key in changes:
        counters.add(key[0], domain.deltas(cards_before[key].facts, cards[key].facts))
    for task_key, task in changed_tasks.items():
        old = tasks_before.get(task_key)
        counters.add(task_key[0], domain.deltas(old.facts if old else None, task.facts))


def _task_after(task: domain.Task | None, event: TaskEvent) -> domain.Task | None:
    if isinstance(event, RectificationTaskProgressedEvent):
        return domain.progressed(task, event.data.percent, event.data.note)
    if isinstance(event, RectificationTaskCompletedEvent):
        return domain.completed(task)
    return domain.overdue(task, event.data.deadline, event.data.responsible)


async def on_task_events(uow: Uow, events: Sequence[TaskEvent]) -> None:
    """Progress, completions and overdue notices, applied in order to the tasks they name."""
    keys: list[TaskKey] = [(_seen(uow, e), e.data.branch_id, e.data.task_id) for e in events]
    before = await uow.store.lock_tasks_by_key(keys)
    tasks = dict(before)
    for key, event in zip(keys, events, strict=True):
        after = _task_after(tasks.get(key), event)
        if after is not None:
            tasks[key] = after
    changed = {key: task for key, task in tasks.items() if before.get(key) != task}
    await uow.store.save_tasks(changed)
    counters = _counters(uow)
    for key, task in changed.items():
        old = before.get(key)
        counters.add(key[0], domain.deltas(old.facts if old else None, task.facts))


async def on_card_events(uow: Uow, events: Sequence[CardEvent]) -> None:
    """Levels (with why), incomplete rounds, reviews, missing commitments, settlements and
    assessment scores: each sets columns of its branch's card; the counters move by what
    changed. A supplementary result moves its branch from incomplete to its level; once a
    round has a level only a correction changes it (a repeated supplementary result or
    incomplete notice leaves the card as it is)."""
    keys = [(_seen(uow, e), e.data.branch_id) for e in events]
    before = await uow.store.lock_cards(keys)
    cards = dict(before)
    changes: dict[CardKey, dict[str, object]] = {}
    for key, event in zip(keys, events, strict=True):
        columns = domain.card_columns(event.data, cards[key])
        if columns is not None:
            changes.setdefault(key, {}).update(columns)
            cards[key] = cards[key].with_columns(columns)
    await uow.store.update_cards(changes)
    counters = _counters(uow)
    for key in changes:
        counters.add(key[0], domain.deltas(before[key].facts, cards[key].facts))


async def on_commended(uow: Uow, event: EmulationCommendedEvent) -> None:
    """Each commendation once on its card (a repeated event id counts nothing)."""
    data = event.data
    campaign_id = _seen(uow, event)
    commendation = CommendationRow(
        campaign_id, data.branch_id, event.id, data.honour.value, data.title, data.member_name
    )
    if not await uow.store.add_commendation(commendation):
        return
    key = (campaign_id, data.branch_id)
    card = (await uow.store.lock_cards([key]))[key]
    columns = {"commendations": card.commendations + 1}
    await uow.store.update_cards({key: columns})
    _counters(uow).add(campaign_id, domain.deltas(card.facts, card.with_columns(columns).facts))


async def on_activities_reported(
    uow: Uow, events: Sequence[EmulationActivityReportedEvent]
) -> None:
    """Each activity once on its card and in its campaign's summary."""
    added = await uow.store.add_activities(
        [
            ActivityRow(
                _seen(uow, e),
                e.data.branch_id,
                e.id,
                e.data.kind.value,
                e.data.title,
                e.data.held_on,
            )
            for e in events
        ]
    )
    counters = _counters(uow)
    for (campaign_id, _), count in added.items():
        counters.add(campaign_id, {"activities": count})


HANDLERS: HandlerTable[ReportingStore] = HandlerTable(
    each(CampaignLaunchedEvent, on_campaign_launched),
    each(CampaignPhaseOpenedEvent, on_phase_opened),
    each(CampaignPhaseClosedEvent, on_phase_closed),
    batch(OrgBranchRegisteredEvent, on_branches_registered),
    each(GradingResultsPublishedEvent, on_results_published),
    batch(RectificationProblemListedEvent, on_problems_listed),
    each(RectificationProblemEscalatedEvent, on_problem_escalated),
    batch(EmulationActivityReportedEvent, on_activities_reported),
    batch(RectificationCommitmentPublishedEvent, on_commitments_published),
    batch(RectificationTaskProgressedEvent, on_task_events),
    batch(RectificationTaskCompletedEvent, on_task_events),
    batch(RectificationTaskOverdueEvent, on_task_events),
    batch(GradingBranchGradedEvent, on_card_events),
    batch(GradingBranchIncompleteEvent, on_card_events),
    batch(RectificationCommitmentReviewedEvent, on_card_events),
    batch(RectificationCommitmentMissingEvent, on_card_events),
    batch(RectificationBranchSettledEvent, on_card_events),
    batch(AssessmentBranchReviewedEvent, on_card_events),
    each(EmulationCommendedEvent, on_commended),
)
