"""Time-driven work and the settlement: overdue tasks and missing commitments on the injectable
clock (periodic, idempotent: the same sweep twice emits nothing new), and one settlement per
branch when rectification closes, behind the phase-close barrier. Each run is one unit of work;
the jobs are declared in `app.py`."""

from __future__ import annotations

import logging
from collections import defaultdict

from prometheus_client import Counter, Histogram

from grassroots.contract import Topic
from grassroots.contract.calendar import commitment_due_on, county_today
from grassroots.contract.events import (
    RectificationBranchSettledEvent,
    RectificationCommitmentMissingEvent,
    RectificationTaskOverdueEvent,
)
from grassroots.contract.rectification import BranchSettled, CommitmentMissing, TaskOverdue
from grassroots.plumbing.jobs import BarrierJob, PeriodicJob
from grassroots.plumbing.unit_of_work import UnitOfWork
from rectification.domain import TaskState, naming_order, settle_branch
from rectification.handlers import result_event_id
from rectification.store import (
    MissingRow,
    OverdueTask,
    RectificationStore,
    SettlementRow,
    UncommittedBranch,
)

log = logging.getLogger(__name__)

Uow = UnitOfWork[RectificationStore]

SWEEP_FINDINGS = Counter(
    "grassroots_rectification_sweep_findings_total",
    "Overdue tasks and missing commitments found by the time-driven sweep.",
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
    """The periodic job: one sweep at the unit's now, unless another replica is sweeping;
    returns how many events it emitted."""
    if not await uow.store.lock_sweep():
        return 0
    return await sweep(uow)


async def sweep(uow: Uow) -> int:
    """Within the unit of work: flag overdue tasks and name missing commitments, once; returns
    how many events it emitted."""
    store, now = uow.store, uow.now
    emitted_before = len(uow.events)
    overdue = await store.mark_overdue(deadline_before=county_today(now), marked_at=now)
    _emit_overdue(uow, overdue)
    per_campaign: dict[str, list[UncommittedBranch]] = defaultdict(list)
    for row in await store.branches_without_commitment(now):
        per_campaign[row.campaign_id].append(row)
    missing: list[MissingRow] = []
    for campaign_id, rows in sorted(per_campaign.items()):
        rows_by_branch = {row.branch_id: row for row in rows}
        levels = {row.branch_id: row.level for row in rows}
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
            assert row.deadline is not None and row.completed is not None
            branch_tasks.append(TaskState(row.task_id, row.deadline, row.completed))
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
            )
            for branch_id, s in settlements
        ]
    )
    await store.mark_settled(campaign_id, uow.now)
    return len(settlements)


SWEEP: PeriodicJob[RectificationStore] = PeriodicJob("sweep", run=sweep_once)

SETTLE_CLOSED_CAMPAIGNS: BarrierJob[RectificationStore, str] = BarrierJob(
    "settle closed campaigns",
    topics=BARRIER_TOPICS,
    waiting=RectificationStore.closing_campaigns,
    save_snapshot=RectificationStore.save_end_offsets,
    run=settle_campaign,
)
