"""The handlers of every consumed event type: the read models follow every topic. All SQL is in
`store`. The frequent types are applied set-based, by two handlers that take whole runs however
their types interleave in a partition (each run costs its own look-ups and writes, so a batch
cut into dozens of short runs by type cost ten times the statements): `on_branch_events` for
what grading and rectification say about branches, plans and problems — the cards and tasks
locked once and changed in memory in the events' order —, and `on_organisation_inputs` for the
inputs of phases 3 and 4 and of supervision, checked together, then written once per table.

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

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from grassroots.contract import AnyEvent, CloudEvent
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
    SupervisionInspectedEvent,
    SupervisionProgressReportedEvent,
)
from grassroots.contract.rectification import CommitmentReviewed
from grassroots.plumbing.handling import BatchHandler, HandlerTable, batch, each
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting import domain
from reporting.circulars.handlers import CIRCULAR_HANDLERS
from reporting.deferred import CounterDeltas, seen
from reporting.organisations import OrganisationEvent, refuse_unknown_organisations
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
from reporting.supervision import SUPERVISION_WRITERS

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
TASK_EVENTS = (
    RectificationTaskProgressedEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskOverdueEvent,
)
PlanEvent = CardEvent | RectificationCommitmentPublishedEvent | TaskEvent
BranchEvent = PlanEvent | ProblemEvent | RectificationReviewOverdueEvent


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
        facts = problem.facts
        if old is None or old.facts != facts:
            counters.add(key[0], domain.deltas(old.facts if old else None, facts))


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


def _task_after(task: domain.Task | None, event: TaskEvent) -> domain.Task | None:
    if isinstance(event, RectificationTaskProgressedEvent):
        return domain.progressed(task, event.data.percent, event.data.note)
    if isinstance(event, RectificationTaskCompletedEvent):
        return domain.completed(task)
    return domain.overdue(task, event.data.deadline, event.data.responsible)


class _Plans:
    """The cards and tasks a batch's plan events name, locked, changed in memory in the events'
    order, then written once per table: what each event sees is what the events before it
    left, as one at a time."""

    def __init__(self, cards: dict[CardKey, domain.Card], tasks: dict[TaskKey, domain.Task]):
        self.cards_before = cards
        self.tasks_before = tasks
        self.cards = dict(cards)
        self.plans: defaultdict[CardKey, dict[str, domain.Task]] = defaultdict(dict)
        for (campaign_id, branch_id, task_id), task in tasks.items():
            self.plans[(campaign_id, branch_id)][task_id] = task
        self.changes: dict[CardKey, dict[str, object]] = {}
        self.revisions: list[PlanRevisionRow] = []
        self.reviews: list[PlanReviewRow] = []

    def set_columns(self, key: CardKey, columns: dict[str, object]) -> None:
        self.changes.setdefault(key, {}).update(columns)
        self.cards[key] = self.cards[key].with_columns(columns)

    def publish(self, key: CardKey, event: RectificationCommitmentPublishedEvent) -> None:
        """A newer revision becomes the card's commitment (review pending again), its tasks
        the plan, and a revision in the plan's history; an older or repeated revision leaves
        the card and the history as they are."""
        data = event.data
        current = self.cards[key].commitment_revision
        if current is not None and data.revision <= current:
            return
        self.revisions.append(
            PlanRevisionRow(
                *key,
                data.revision,
                data.commitment_id,
                event.time,
                [t.model_dump(mode="json") for t in data.tasks],
            )
        )
        self.set_columns(
            key,
            {
                "commitment_id": data.commitment_id,
                "commitment_revision": data.revision,
                "review": "pending",
                "guidance": None,
            },
        )
        self.plans[key] = domain.replan(self.plans[key], data.tasks)

    def task(self, key: CardKey, event: TaskEvent) -> None:
        plan = self.plans[key]
        after = _task_after(plan.get(event.data.task_id), event)
        if after is not None:
            plan[event.data.task_id] = after

    def card(self, key: CardKey, event: CardEvent) -> None:
        columns = domain.card_columns(event.data, self.cards[key])
        if columns is None:
            return
        self.set_columns(key, columns)
        if isinstance(event.data, CommitmentReviewed):
            d = event.data
            self.reviews.append(
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

    def changed_tasks(self) -> dict[TaskKey, domain.Task]:
        return {
            (*key, task_id): task
            for key, plan in self.plans.items()
            for task_id, task in plan.items()
            if self.tasks_before.get((*key, task_id)) != task
        }


async def on_plan_events(uow: Uow, events: Sequence[PlanEvent]) -> None:
    """Commitments (a newer revision is the card's commitment and its tasks the plan),
    progress, completions and overdue notices of tasks, and the events that set a card's
    columns — levels (with why), incomplete rounds, reviews, missing commitments, settlements
    and assessment scores — applied in order to the cards and tasks they name; the counters
    move by what changed. A review of the current revision is kept in the plan's history too;
    a supplementary result moves its branch from incomplete to its level; once a round has a
    level only a correction changes it (a repeated supplementary result or incomplete notice
    leaves the card as it is)."""
    keyed = [((seen(uow, e), e.data.branch_id), e) for e in events]
    cards_wanted = [key for key, e in keyed if not isinstance(e, TASK_EVENTS)]
    replanned = [key for key, e in keyed if isinstance(e, RectificationCommitmentPublishedEvent)]
    tasks_named = [(*key, e.data.task_id) for key, e in keyed if isinstance(e, TASK_EVENTS)]
    state = _Plans(
        await uow.store.lock_cards(cards_wanted) if cards_wanted else {},
        # a new revision replans every task of its branch; progress names one task
        await uow.store.lock_tasks(replanned, tasks_named) if replanned or tasks_named else {},
    )
    for key, event in keyed:
        if isinstance(event, RectificationCommitmentPublishedEvent):
            state.publish(key, event)
        elif isinstance(event, TASK_EVENTS):
            state.task(key, event)
        else:
            state.card(key, event)
    changed_tasks = state.changed_tasks()
    await uow.store.update_cards(state.changes)
    await uow.store.add_plan_revisions(state.revisions)
    await uow.store.add_plan_reviews(state.reviews)
    await uow.store.save_tasks(changed_tasks)
    # Counted where the facts changed (most progress changes only a percentage).
    counters = _counters(uow)
    for key in state.changes:
        before, after = state.cards_before[key].facts, state.cards[key].facts
        if before != after:
            counters.add(key[0], domain.deltas(before, after))
    for task_key, task in changed_tasks.items():
        old = state.tasks_before.get(task_key)
        facts = task.facts
        if old is None or old.facts != facts:
            counters.add(task_key[0], domain.deltas(old.facts if old else None, facts))


async def on_commended(uow: Uow, events: Sequence[EmulationCommendedEvent]) -> None:
    """Each commendation once on its card and in its campaign's summary, with who awarded it
    and when (absent: the event's day in county time)."""
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
    await uow.store.save_annual_reviews(
        [
            AnnualReviewRow(seen(uow, e), d.org_id, d.year, e.id, e.time, d.grade.value, d.comment)
            for e in events
            for d in (e.data,)
        ]
    )


async def on_rules_established(uow: Uow, events: Sequence[AssessmentRuleEstablishedEvent]) -> None:
    """Each good practice made a standing rule (巩固深化) once."""
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


async def _by_writer(
    uow: Uow, events: Sequence[AnyEvent], writers: HandlerTable[ReportingStore]
) -> None:
    """Each writer once, with its events in their order. Writers change different tables, or
    different columns of a card each reads locked afresh, and counters add up: the order
    between them changes nothing."""
    groups: dict[BatchHandler[ReportingStore, Any], list[AnyEvent]] = {}
    for event in events:
        registration = writers.get(event.type)
        assert registration is not None and registration.many is not None, event.type
        groups.setdefault(registration.many, []).append(event)
    for writer, group in groups.items():
        await writer(uow, group)


# Each type's writer, typed by the events it takes (batch checks it), dispatched within a run.
BRANCH_WRITERS: HandlerTable[ReportingStore] = HandlerTable(
    batch(RectificationProblemListedEvent, on_problem_events),
    batch(RectificationProblemEscalatedEvent, on_problem_events),
    batch(RectificationProblemUpdatedEvent, on_problem_events),
    batch(RectificationEscalationOverdueEvent, on_problem_events),
    batch(RectificationReviewOverdueEvent, on_reviews_overdue),
    batch(RectificationCommitmentPublishedEvent, on_plan_events),
    batch(RectificationTaskProgressedEvent, on_plan_events),
    batch(RectificationTaskCompletedEvent, on_plan_events),
    batch(RectificationTaskOverdueEvent, on_plan_events),
    batch(GradingBranchGradedEvent, on_plan_events),
    batch(GradingBranchIncompleteEvent, on_plan_events),
    batch(RectificationCommitmentReviewedEvent, on_plan_events),
    batch(RectificationCommitmentMissingEvent, on_plan_events),
    batch(RectificationBranchSettledEvent, on_plan_events),
)


async def on_branch_events(uow: Uow, events: Sequence[BranchEvent]) -> None:
    """What grading and rectification say about branches, their plans and their problems, in
    one run however their types interleave (a run costs statements of its own)."""
    await _by_writer(uow, events, BRANCH_WRITERS)


ORGANISATION_WRITERS: HandlerTable[ReportingStore] = HandlerTable(
    batch(EmulationCommendedEvent, on_commended),
    batch(EmulationActivityReportedEvent, on_activities_reported),
    batch(EmulationPublicizedEvent, on_publicized),
    batch(EmulationLearningMeetingHeldEvent, on_learning_meetings_held),
    batch(AssessmentSummaryReviewedEvent, on_summaries_reviewed),
    batch(AssessmentCommitteeAssessedEvent, on_committee_assessed),
    batch(AssessmentDutyReportedEvent, on_duty_reported),
    batch(AssessmentOrgAppraisedEvent, on_org_appraised),
    batch(AssessmentAnnualReviewedEvent, on_annual_reviewed),
    batch(AssessmentRuleEstablishedEvent, on_rules_established),
    *SUPERVISION_WRITERS,
    batch(AssessmentBranchReviewedEvent, on_plan_events),  # a score on the card; names no one else
)


async def on_organisation_inputs(
    uow: Uow, events: Sequence[OrganisationEvent | AssessmentBranchReviewedEvent]
) -> None:
    """Phases 3 and 4's inputs and supervision's, and the assessment scores among them, in one
    run: the inputs that name organisations checked together before anything is written (a
    refused one fails the run, which the plumbing then applies one event at a time)."""
    named = [e for e in events if not isinstance(e, AssessmentBranchReviewedEvent)]
    if named:
        await refuse_unknown_organisations(uow, named)
    await _by_writer(uow, events, ORGANISATION_WRITERS)


HANDLERS: HandlerTable[ReportingStore] = HandlerTable(
    *CIRCULAR_HANDLERS,
    each(CampaignLaunchedEvent, on_campaign_launched),
    each(CampaignPhaseOpenedEvent, on_phase_opened),
    each(CampaignPhaseClosedEvent, on_phase_closed),
    batch(OrgBranchRegisteredEvent, on_branches_registered),
    each(GradingResultsPublishedEvent, on_results_published),
    # One handler per topic family: a batch's runs are as long as its partitions allow.
    batch(RectificationProblemListedEvent, on_branch_events),
    batch(RectificationProblemEscalatedEvent, on_branch_events),
    batch(RectificationProblemUpdatedEvent, on_branch_events),
    batch(RectificationEscalationOverdueEvent, on_branch_events),
    batch(RectificationReviewOverdueEvent, on_branch_events),
    batch(RectificationCommitmentPublishedEvent, on_branch_events),
    batch(RectificationTaskProgressedEvent, on_branch_events),
    batch(RectificationTaskCompletedEvent, on_branch_events),
    batch(RectificationTaskOverdueEvent, on_branch_events),
    batch(GradingBranchGradedEvent, on_branch_events),
    batch(GradingBranchIncompleteEvent, on_branch_events),
    batch(RectificationCommitmentReviewedEvent, on_branch_events),
    batch(RectificationCommitmentMissingEvent, on_branch_events),
    batch(RectificationBranchSettledEvent, on_branch_events),
    batch(EmulationActivityReportedEvent, on_organisation_inputs),
    batch(EmulationCommendedEvent, on_organisation_inputs),
    batch(EmulationPublicizedEvent, on_organisation_inputs),
    batch(EmulationLearningMeetingHeldEvent, on_organisation_inputs),
    batch(AssessmentBranchReviewedEvent, on_organisation_inputs),
    batch(AssessmentSummaryReviewedEvent, on_organisation_inputs),
    batch(AssessmentCommitteeAssessedEvent, on_organisation_inputs),
    batch(AssessmentDutyReportedEvent, on_organisation_inputs),
    batch(AssessmentOrgAppraisedEvent, on_organisation_inputs),
    batch(AssessmentAnnualReviewedEvent, on_organisation_inputs),
    batch(AssessmentRuleEstablishedEvent, on_organisation_inputs),
    batch(SupervisionInspectedEvent, on_organisation_inputs),
    batch(SupervisionProgressReportedEvent, on_organisation_inputs),
)
