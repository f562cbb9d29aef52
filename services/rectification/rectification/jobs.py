"""Time-driven work and the settlement: reviews and escalations waiting too long, overdue tasks
(gradual ones followed after the phase until done) and missing commitments on the injectable
clock (periodic, idempotent: the same sweep twice emits nothing new), and one settlement per
branch when rectification closes, behind the phase-close barrier. The sweep is piecewise: one
unit of work per campaign with findings (a province's hundred counties are a hundred small
transactions, not one holding every county's events); the settlement is one unit per campaign.
The jobs are declared in `app.py`."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from prometheus_client import Counter, Histogram

from grassroots.contract import Topic
from grassroots.contract.calendar import at_county_hour, commitment_due_on, county_today
from grassroots.contract.events import (
    RectificationBranchSettledEvent,
    RectificationCommitmentMissingEvent,
    RectificationEscalationOverdueEvent,
    RectificationReviewOverdueEvent,
    RectificationTaskOverdueEvent,
)
from grassroots.contract.rectification import (
    BranchSettled,
    CommitmentMissing,
    EscalationOverdue,
    ReviewOverdue,
    TaskOverdue,
)
from grassroots.plumbing.jobs import BarrierJob, PeriodicJob
from grassroots.plumbing.unit_of_work import UnitOfWork
from rectification.domain import TaskState, naming_order, overdue_since, settle_branch
from rectification.handlers import result_event_id
from rectification.store import (
    MissingRow,
    OverdueTask,
    PendingReview,
    ProblemKey,
    RectificationStore,
    SettlementRow,
)

log = logging.getLogger(__name__)

Uow = UnitOfWork[RectificationStore]

SWEEP_FINDINGS = Counter(
    "grassroots_rectification_sweep_findings_total",
    "Overdue tasks, missing commitments, reviews and escalations waiting too long, found by the"
    " time-driven sweep.",
    ["kind"],
)
SETTLEMENT_SECONDS = Histogram(
    "grassroots_rectification_settlement_seconds",
    "Time to settle one campaign.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
BARRIER_TOPICS = (Topic.CAMPAIGN_LIFECYCLE, Topic.ORG_BRANCHES, Topic.RECTIFICATION_INPUTS)


def _emit_overdue(uow: Uow, tasks: list[OverdueTask]) -> None:
    for task in tasks:
        uow.emit(
            RectificationTaskOverdueEvent,
            TaskOverdue(
                branch_id=task.branch_id,
                task_id=task.task_id,
                deadline=task.deadline,
                responsible=task.responsible,
            ),
            countycode=task.county_code,
            campaignid=task.campaign_id,
            event_id=result_event_id(
                task.campaign_id, "overdue", task.branch_id, task.task_id, task.deadline.isoformat()
            ),
        )


async def sweep_once(uow: Uow) -> int:
    """One piece of the periodic job, at the unit's now, unless another replica is sweeping:
    the first campaign (by id) with anything to name is swept; returns how many events it
    emitted, 0 when no campaign had any (which ends the pass). Each event emitted is a row
    marked in the same unit (flagged overdue, named missing), so the next piece does not find
    it again: a pass ends after at most one piece per campaign with findings."""
    store, now = uow.store, uow.now
    if not await store.lock_sweep():
        return 0
    today = county_today(now)
    for campaign_id in await store.campaigns_to_sweep(now, today, _day_start(now)):
        # A campaign listed finds nothing only when what it had was taken meanwhile (rows a
        # handler holds are skipped, not locked), so no lock of it precedes the next one's.
        if emitted := await sweep(uow, campaign_id):
            return emitted
    return 0


def _day_start(now: dt.datetime) -> dt.datetime:
    """00:00 of the county's day at `now`: what was due before it is overdue."""
    return at_county_hour(county_today(now), 0)


async def _reviews_overdue(uow: Uow, campaign_id: str) -> int:
    """review_overdue, once per revision still waiting for its review `review_due_days` after
    it was published (campaigns not settled yet): the reviewer is the branch's parent."""
    late: list[PendingReview] = []
    for row in await uow.store.pending_reviews(_day_start(uow.now), campaign_id):
        due = overdue_since(row.published_at, row.review_days, uow.now)
        if due is None:
            continue
        late.append(row)
        uow.emit(
            RectificationReviewOverdueEvent,
            ReviewOverdue(
                branch_id=row.branch_id,
                commitment_id=row.commitment_id,
                revision=row.revision,
                reviewer_org_id=row.reviewer_org_id,
                due=due,
            ),
            countycode=row.county_code,
            campaignid=row.campaign_id,
            event_id=result_event_id(
                row.campaign_id,
                "review_overdue",
                row.branch_id,
                row.commitment_id,
                str(row.revision),
            ),
        )
    await uow.store.mark_reviews_overdue(late)
    return len(late)


async def _escalations_overdue(uow: Uow, campaign_id: str) -> int:
    """escalation_overdue, once per escalation the parent did not answer within
    `escalation_answer_days` (of problems not resolved; followed after the phase too)."""
    late: list[ProblemKey] = []
    for row in await uow.store.waiting_escalations(_day_start(uow.now), campaign_id):
        due = overdue_since(row.escalated_at, row.answer_days, uow.now)
        if due is None:
            continue
        late.append((row.campaign_id, row.branch_id, row.problem_id))
        uow.emit(
            RectificationEscalationOverdueEvent,
            EscalationOverdue(
                branch_id=row.branch_id,
                problem_id=row.problem_id,
                to_org_id=row.to_org_id,
                due=due,
            ),
            countycode=row.county_code,
            campaignid=row.campaign_id,
            event_id=result_event_id(
                row.campaign_id,
                "escalation_overdue",
                row.branch_id,
                row.problem_id,
                row.to_org_id,
            ),
        )
    await uow.store.mark_escalations_overdue(late, uow.now)
    return len(late)


async def sweep(uow: Uow, campaign_id: str) -> int:
    """Within the unit of work, in one campaign: name reviews waiting too long, flag overdue
    tasks and escalations, name missing commitments, each once; returns how many events it
    emitted. (Locks are taken in the handlers' order: commitments, tasks, problems.)"""
    store, now = uow.store, uow.now
    emitted_before = len(uow.events)
    reviews = await _reviews_overdue(uow, campaign_id)
    overdue = await store.mark_overdue(
        deadline_before=county_today(now), marked_at=now, campaign_id=campaign_id
    )
    _emit_overdue(uow, overdue)
    escalations = await _escalations_overdue(uow, campaign_id)
    rows = await store.branches_without_commitment(now, campaign_id)
    rows_by_branch = {row.branch_id: row for row in rows}
    levels = {row.branch_id: row.level for row in rows}
    missing: list[MissingRow] = []
    for branch_id in naming_order(levels, rows_by_branch):
        row = rows_by_branch[branch_id]
        due = commitment_due_on(row.rectification_opened_at, row.commitment_due_days)
        missing.append(MissingRow(campaign_id, branch_id, due, now))
        uow.emit(
            RectificationCommitmentMissingEvent,
            CommitmentMissing(branch_id=branch_id, due=due),
            countycode=row.county_code,
            campaignid=campaign_id,
            event_id=result_event_id(campaign_id, "missing", branch_id),
        )
    await store.save_missing(missing)
    SWEEP_FINDINGS.labels("task_overdue").inc(len(overdue))
    SWEEP_FINDINGS.labels("commitment_missing").inc(len(missing))
    SWEEP_FINDINGS.labels("review_overdue").inc(reviews)
    SWEEP_FINDINGS.labels("escalation_overdue").inc(escalations)
    return len(uow.events) - emitted_before


async def settle_campaign(uow: Uow, campaign_id: str) -> bool:
    """The barrier job's work for one closed campaign: overdue first, then one branch_settled
    per branch, in the unit's transaction (nothing when it was settled already)."""
    with SETTLEMENT_SECONDS.time():
        settled = await settle(uow, campaign_id)
    if settled is None:
        return False
    log.info("%s settled: %d branches", campaign_id, settled)
    return True


async def settle(uow: Uow, campaign_id: str) -> int | None:
    """Within the unit of work; the number of branches settled, None if not closing."""
    store = uow.store
    campaign = await store.lock_campaign_for_settling(campaign_id)
    if campaign is None:
        return None
    closed_at = campaign.closed_at
    county = campaign.county_code
    overdue = await store.mark_overdue(
        deadline_before=county_today(closed_at), marked_at=closed_at, campaign_id=campaign_id
    )
    _emit_overdue(uow, overdue)
    tasks: dict[str, list[TaskState]] = defaultdict(list)
    for row in await store.tasks_to_settle(campaign_id, county):
        branch_tasks = tasks[row.branch_id]
        if row.task_id is not None:
            assert row.deadline is not None and row.completed is not None and row.kind
            branch_tasks.append(TaskState(row.task_id, row.deadline, row.completed, row.kind))
    settlements = [
        (branch_id, settle_branch(branch_tasks, closed_at))
        for branch_id, branch_tasks in tasks.items()
    ]
    for branch_id, settlement in settlements:
        uow.emit(
            RectificationBranchSettledEvent,
            BranchSettled(
                branch_id=branch_id,
                tasks_total=settlement.tasks_total,
                tasks_completed=settlement.tasks_completed,
                tasks_overdue=settlement.tasks_overdue,
                completion_rate=float(settlement.completion_rate),
                tasks_on_track=settlement.tasks_on_track,
            ),
            countycode=county,
            campaignid=campaign_id,
            event_id=result_event_id(campaign_id, "settled", branch_id),
        )
    await store.save_settlements(
        [
            SettlementRow(
                campaign_id,
                branch_id,
                s.tasks_total,
                s.tasks_completed,
                s.tasks_overdue,
                s.completion_rate,
                s.tasks_on_track,
            )
            for branch_id, s in settlements
        ]
    )
    await store.mark_settled(campaign_id, uow.now)
    return len(settlements)


SWEEP: PeriodicJob[RectificationStore] = PeriodicJob("sweep", run=sweep_once, piecewise=True)

SETTLE_CLOSED_CAMPAIGNS: BarrierJob[RectificationStore, str] = BarrierJob(
    "settle closed campaigns",
    topics=BARRIER_TOPICS,
    waiting=RectificationStore.closing_campaigns,
    save_snapshot=RectificationStore.save_end_offsets,
    run=settle_campaign,
)
