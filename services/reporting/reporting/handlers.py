"""One handler per consumed event type, typed by the event it takes, and set-based versions of
the frequent ones: the read models follow every topic. All SQL is in `store`.

Reporting keeps what the other services decided (levels, overdue, settlements, where each
problem stands and the superior's answer) and the inputs people see on a card (problems,
commitments and every revision and review of them, progress). It never re-judges an input; it
only refuses to let state go backwards: an older revision, a review of a superseded revision,
or progress on a task it does not know leave the card as it is (rectification dead-letters
them). Problem status and answers come from `rectification.problem_updated`, never from the
raw inputs that ask for them. Counters and campaigns' `updated_at` are collected over a batch
and written once at its end.

Phases 3 and 4 (emulation.*, assessment.*) are kept as facts, derived on read: an input naming
an organisation not registered in its county is refused, and so is a graded organisation's own
input (summary review, committee assessment, learning meeting) for one outside the campaign —
the first refused event fails its batch, which the plumbing then applies one event at a time,
so only that event is dead-lettered. Inputs that replace earlier ones keep the latest by event
time (ties: the greater id), decided in SQL, so arrival order does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from grassroots.contract import CloudEvent
from grassroots.contract.calendar import county_today
from grassroots.contract.events import (
    AssessmentAnnualReviewedEvent,
    AssessmentBranchReviewedEvent,
    AssessmentCommitteeAssessedEvent,
    AssessmentDutyReportedEvent,
    AssessmentOrgAppraisedEvent,
    AssessmentRuleEstablishedEvent,
    AssessmentSummaryReviewedEvent,
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    CampaignPhaseOpenedEvent,
    EmulationActivityReportedEvent,
    EmulationCommendedEvent,
    EmulationLearningMeetingHeldEvent,
    EmulationPublicizedEvent,
    GradingBranchGradedEvent,
    GradingBranchIncompleteEvent,
    GradingResultsPublishedEvent,
    OrgBranchRegisteredEvent,
    RectificationBranchSettledEvent,
    RectificationCommitmentMissingEvent,
    RectificationCommitmentPublishedEvent,
    RectificationCommitmentReviewedEvent,
    RectificationEscalationOverdueEvent,
    RectificationProblemEscalatedEvent,
    RectificationProblemListedEvent,
    RectificationProblemUpdatedEvent,
    RectificationReviewOverdueEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskOverdueEvent,
    RectificationTaskProgressedEvent,
)
from grassroots.contract.rectification import CommitmentReviewed
from grassroots.plumbing.handling import HandlerTable, batch, each
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting import domain
from reporting.circulars.handlers import CIRCULAR_HANDLERS
from reporting.deferred import CounterDeltas, seen
from reporting.organisations import refuse_unknown_organisations
from reporting.store.ingest import (
    ActivityRow,
    AnnualReviewRow,
    AppraisalRow,
    BranchRow,
    CampaignSeenRow,
    CardKey,
    CommendationRow,
    CommitteeAssessmentRow,
    DutyReportRow,
    LearningMeetingRow,
    PlanReviewRow,
    PlanRevisionRow,
    ProblemKey,
    PublicityRow,
    PublishedRoundRow,
    ReportingStore,
    ReviewOverdueRow,
    StandingRuleRow,
    SummaryReviewRow,
    TaskKey,
)
from reporting.supervision import SUPERVISION_HANDLERS

Uow = UnitOfWork[ReportingStore]
TaskEvent = (
    RectificationTaskProgressedEvent
    | RectificationTaskCompletedEvent
    | RectificationTaskOverdueEvent
)
ProblemEvent = (
    RectificationProblemListedEvent
    | RectificationProblemEscalatedEvent
    | RectificationProblemUpdatedEvent
    | RectificationEscalationOverdueEvent
)
CardEvent = (
    GradingBranchGradedEvent
    | GradingBranchIncompleteEvent
    | RectificationCommitmentReviewedEvent
    | RectificationCommitmentMissingEvent
    | RectificationBranchSettledEvent
    | AssessmentBranchReviewedEvent
)


def _counters(uow: Uow) -> CounterDeltas:
    return uow.deferred(CounterDeltas)


async def _touch(uow: Uow, event: CloudEvent[BaseModel]) -> str:
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
    rules = data.rules.model_dump(mode="json", exclude_none=True) if data.rules else {}
    await uow.store.save_campaign_rules(data.campaign_id, rules)


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
    campaign_id = seen(uow, event)
    await uow.store.publish_rounds(
        [PublishedRoundRow(campaign_id, event.data.round.value, event.time)]
    )


def _problem_after(problem: domain.Problem | None, event: ProblemEvent) -> domain.Problem:
    if isinstance(event, RectificationProblemListedEvent):
        d = event.data
        return domain.listed(problem, d.description, d.source.value, d.needs_superior)
    if isinstance(event, RectificationProblemEscalatedEvent):
        return domain.escalated(problem, event.data.to_org_id)
    if isinstance(event, RectificationProblemUpdatedEvent):
        return domain.updated(problem, event.data, event.time)
    return domain.answer_overdue(problem, event.data.to_org_id, event.data.due)


async def on_problem_events(uow: Uow, events: Sequence[ProblemEvent]) -> None:
    """Listings (the latest wins), escalations, where each problem stands with the superior's
    answer (problem_updated), and answers overdue, applied in order to the problems they
    name; the counters move by what changed."""
    keys: list[ProblemKey] = [(seen(uow, e), e.data.branch_id, e.data.problem_id) for e in events]
    before = await uow.store.lock_problems(keys)
    problems = dict(before)
    for key, event in zip(keys, events, strict=True):
        problems[key] = _problem_after(problems.get(key), event)
    changed = {key: p for key, p in problems.items() if before.get(key) != p}
    await uow.store.save_problems(changed)
    counters = _counters(uow)
    for key, problem in changed.items():
        old = before.get(key)
        counters.add(key[0], domain.deltas(old.facts if old else None, problem.facts))


async def on_reviews_overdue(uow: Uow, events: Sequence[RectificationReviewOverdueEvent]) -> None:
    """A revision waited too long for its superior's review: the superior is lagging until a
    review of that revision or a newer one is kept (decided on read, whatever came first)."""
    latest: dict[tuple[str, str, int], ReviewOverdueRow] = {}
    for event in events:
        d = event.data
        row = ReviewOverdueRow(
            seen(uow, event), d.branch_id, d.revision, d.commitment_id, d.reviewer_org_id, d.due
        )
        latest[(row.campaign_id, row.branch_id, row.revision)] = row
    await uow.store.add_reviews_overdue(list(latest.values()))


async def on_commitments_published(
    uow: Uow, events: Sequence[RectificationCommitmentPublishedEvent]
) -> None:
    """A newer revision becomes the card's commitment (review pending again), its tasks the
    plan, and a revision in the plan's history; an older or repeated revision leaves the card
    and the history as they are."""
    keys = [(seen(uow, e), e.data.branch_id) for e in events]
    cards_before = await uow.store.lock_cards(keys)
    tasks_before = await uow.store.lock_tasks_of(keys)
    cards = dict(cards_before)
    plans: dict[CardKey, dict[str, domain.Task]] = {key: {} for key in keys}
    for (campaign_id, branch_id, task_id), task in tasks_before.items():
        plans[(campaign_id, branch_id)][task_id] = task
    changes: dict[CardKey, dict[str, object]] = {}
    revisions: list[PlanRevisionRow] = []
    for key, event in zip(keys, events, strict=True):
        data = event.data
        current = cards[key].commitment_revision
        if current is not None and data.revision <= current:
            continue
        revisions.append(
            PlanRevisionRow(
                *key,
                data.revision,
                data.commitment_id,
                event.time,
                [t.model_dump(mode="json") for t in data.tasks],
            )
        )
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
    await uow.store.add_plan_revisions(revisions)
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
    keys: list[TaskKey] = [(seen(uow, e), e.data.branch_id, e.data.task_id) for e in events]
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
    changed. A review of the current revision is kept in the plan's history too. A
    supplementary result moves its branch from incomplete to its level; once a round has a
    level only a correction changes it (a repeated supplementary result or incomplete notice
    leaves the card as it is)."""
    keys = [(seen(uow, e), e.data.branch_id) for e in events]
    before = await uow.store.lock_cards(keys)
    cards = dict(before)
    changes: dict[CardKey, dict[str, object]] = {}
    reviews: list[PlanReviewRow] = []
    for key, event in zip(keys, events, strict=True):
        columns = domain.card_columns(event.data, cards[key])
        if columns is None:
            continue
        changes.setdefault(key, {}).update(columns)
        cards[key] = cards[key].with_columns(columns)
        if isinstance(event.data, CommitmentReviewed):
            d = event.data
            reviews.append(
                PlanReviewRow(
                    *key,
                    event.id,
                    d.revision,
                    d.commitment_id,
                    d.decision.value,
                    d.reviewer_org_id,
                    event.time,
                    d.guidance,
                    d.uncovered_reason,
                )
            )
    await uow.store.update_cards(changes)
    await uow.store.add_plan_reviews(reviews)
    counters = _counters(uow)
    for key in changes:
        counters.add(key[0], domain.deltas(before[key].facts, cards[key].facts))


async def on_commended(uow: Uow, events: Sequence[EmulationCommendedEvent]) -> None:
    """Each commendation once on its card and in its campaign's summary, with who awarded it
    and when (absent: the event's day in county time)."""
    await refuse_unknown_organisations(uow, events)
    added = await uow.store.add_commendations(
        [
            CommendationRow(
                seen(uow, e),
                d.branch_id,
                e.id,
                d.honour.value,
                d.title,
                d.member_name,
                d.awarded_by,
                d.awarded_on or county_today(e.time),
            )
            for e in events
            for d in (e.data,)
        ]
    )
    before = await uow.store.lock_cards(added)
    changes = {key: {"commendations": before[key].commendations + n} for key, n in added.items()}
    await uow.store.update_cards(changes)
    counters = _counters(uow)
    for key, columns in changes.items():
        after = before[key].with_columns(columns)
        counters.add(key[0], domain.deltas(before[key].facts, after.facts))


async def on_activities_reported(
    uow: Uow, events: Sequence[EmulationActivityReportedEvent]
) -> None:
    """Each activity once on its card and in its campaign's summary."""
    await refuse_unknown_organisations(uow, events)
    added = await uow.store.add_activities(
        [
            ActivityRow(
                seen(uow, e),
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


async def on_publicized(uow: Uow, events: Sequence[EmulationPublicizedEvent]) -> None:
    """Each publicity item once (集中宣传)."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.add_publicity(
        [
            PublicityRow(
                seen(uow, e),
                d.branch_id,
                e.id,
                d.member_name,
                d.title,
                d.channel.value,
                d.channel_name,
                d.published_on,
                d.url,
            )
            for e in events
            for d in (e.data,)
        ]
    )


async def on_learning_meetings_held(
    uow: Uow, events: Sequence[EmulationLearningMeetingHeldEvent]
) -> None:
    """Each special organisational-life meeting (比学赶帮) once, with the level aimed for."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.add_learning_meetings(
        [
            LearningMeetingRow(
                seen(uow, e),
                d.branch_id,
                e.id,
                d.held_on,
                d.target_level.value,
                list(d.learned_from),
                d.summary,
            )
            for e in events
            for d in (e.data,)
        ]
    )


async def on_summaries_reviewed(uow: Uow, events: Sequence[AssessmentSummaryReviewedEvent]) -> None:
    """A branch's summary review (评估小结); the latest replaces the earlier."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.save_summary_reviews(
        [
            SummaryReviewRow(
                seen(uow, e),
                d.branch_id,
                e.id,
                e.time,
                d.process_solid.answer.value,
                d.process_solid.text,
                d.problems_solved.answer.value,
                d.problems_solved.text,
                d.advance_evident.answer.value,
                d.advance_evident.text,
            )
            for e in events
            for d in (e.data,)
        ]
    )


async def on_committee_assessed(
    uow: Uow, events: Sequence[AssessmentCommitteeAssessedEvent]
) -> None:
    """The committee's assessment of a branch (局党委评估); the latest replaces the earlier."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.save_committee_assessments(
        [
            CommitteeAssessmentRow(
                seen(uow, e),
                d.branch_id,
                e.id,
                e.time,
                d.score,
                d.level.value if d.level else None,
                d.comment,
            )
            for e in events
            for d in (e.data,)
        ]
    )


async def on_duty_reported(uow: Uow, events: Sequence[AssessmentDutyReportedEvent]) -> None:
    """Each report on duty (专项述职) once."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.add_duty_reports(
        [
            DutyReportRow(
                seen(uow, e),
                d.org_id,
                e.id,
                d.reporter_name,
                d.reported_to,
                d.reported_on,
                d.document_ref,
            )
            for e in events
            for d in (e.data,)
        ]
    )


async def on_org_appraised(uow: Uow, events: Sequence[AssessmentOrgAppraisedEvent]) -> None:
    """An appraisal (评议), one row per rater group; a later appraisal of a group replaces
    that group's counts only."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.save_appraisals(
        [
            AppraisalRow(
                seen(uow, e),
                e.data.org_id,
                counts.group.value,
                e.id,
                e.time,
                counts.satisfied,
                counts.basically_satisfied,
                counts.dissatisfied,
            )
            for e in events
            for counts in e.data.groups
        ]
    )


async def on_annual_reviewed(uow: Uow, events: Sequence[AssessmentAnnualReviewedEvent]) -> None:
    """The annual review (年度考核) of a leadership team; the latest per year replaces the
    earlier."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.save_annual_reviews(
        [
            AnnualReviewRow(seen(uow, e), d.org_id, d.year, e.id, e.time, d.grade.value, d.comment)
            for e in events
            for d in (e.data,)
        ]
    )


async def on_rules_established(uow: Uow, events: Sequence[AssessmentRuleEstablishedEvent]) -> None:
    """Each good practice made a standing rule (巩固深化) once."""
    await refuse_unknown_organisations(uow, events)
    await uow.store.add_standing_rules(
        [
            StandingRuleRow(
                seen(uow, e),
                d.org_id,
                e.id,
                d.title,
                d.adopted_on,
                d.document_ref,
                d.summary,
            )
            for e in events
            for d in (e.data,)
        ]
    )


HANDLERS: HandlerTable[ReportingStore] = HandlerTable(
    *CIRCULAR_HANDLERS,
    *SUPERVISION_HANDLERS,
    each(CampaignLaunchedEvent, on_campaign_launched),
    each(CampaignPhaseOpenedEvent, on_phase_opened),
    each(CampaignPhaseClosedEvent, on_phase_closed),
    batch(OrgBranchRegisteredEvent, on_branches_registered),
    each(GradingResultsPublishedEvent, on_results_published),
    batch(RectificationProblemListedEvent, on_problem_events),
    batch(RectificationProblemEscalatedEvent, on_problem_events),
    batch(RectificationProblemUpdatedEvent, on_problem_events),
    batch(RectificationEscalationOverdueEvent, on_problem_events),
    batch(RectificationReviewOverdueEvent, on_reviews_overdue),
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
    batch(EmulationCommendedEvent, on_commended),
    batch(EmulationPublicizedEvent, on_publicized),
    batch(EmulationLearningMeetingHeldEvent, on_learning_meetings_held),
    batch(AssessmentSummaryReviewedEvent, on_summaries_reviewed),
    batch(AssessmentCommitteeAssessedEvent, on_committee_assessed),
    batch(AssessmentDutyReportedEvent, on_duty_reported),
    batch(AssessmentOrgAppraisedEvent, on_org_appraised),
    batch(AssessmentAnnualReviewedEvent, on_annual_reviewed),
    batch(AssessmentRuleEstablishedEvent, on_rules_established),
)
