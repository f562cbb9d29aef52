"""The handlers and jobs in memory: a fake store keeps the state in dicts, the handlers are
called directly with typed events, and what a user would check is asserted — state saved,
events emitted (with their deterministic ids) and refusals with their reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from grassroots.contract import AnyEvent
from grassroots.contract.calendar import at_county_hour
from grassroots.contract.events import (
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    CampaignPhaseOpenedEvent,
    GradingBranchGradedEvent,
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
from grassroots.contract.examples import DATA, envelope
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.store import OrganisationRow
from grassroots.plumbing.unit_of_work import UnitOfWork
from rectification import handlers, jobs
from rectification.domain import Commitment, PlannedTask, TaskProgress
from rectification.handlers import result_event_id
from rectification.store import (
    BranchKey,
    CampaignRow,
    CommitmentRow,
    EscalatedProblem,
    HistoryRow,
    LevelRow,
    MissingRow,
    OverdueTask,
    ProblemRow,
    ProgressReportRow,
    RectificationStore,
    SettlementRow,
    SettlingCampaign,
    TaskKey,
    TaskProgressRow,
    TaskToSettle,
    UncommittedBranch,
)

E = TypeVar("E", bound=AnyEvent)
CAMPAIGN, COUNTY, BRANCH = "pucheng-edu-2012", "610526", "610526-edu-0007"
NOW = dt.datetime(2012, 6, 10, tzinfo=dt.UTC)


class FakeStore(RectificationStore):
    """The store's effects kept in dicts (no PostgreSQL)."""

    def __init__(self) -> None:
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, OrganisationRow] = {}
        self.levels: dict[tuple[str, str, str], str] = {}
        self.problems: dict[tuple[str, str, str], ProblemRow] = {}
        self.escalated: dict[tuple[str, str, str], str] = {}
        self.commitments: dict[BranchKey, CommitmentRow] = {}
        self.history: list[HistoryRow] = []
        self.plans: dict[BranchKey, dict[str, PlannedTask]] = {}
        self.reports: list[ProgressReportRow] = []
        self.missing: list[MissingRow] = []
        self.settlements: list[SettlementRow] = []

    def _campaign(self, campaign_id: str, county_code: str) -> dict[str, Any]:
        return self.campaigns.setdefault(
            campaign_id, {"county_code": county_code, "settlement": "open"}
        )

    async def save_campaign(self, campaign: CampaignRow) -> None:
        self._campaign(campaign.campaign_id, campaign.county_code).update(campaign._asdict())

    async def open_rectification(
        self, campaign_id: str, county_code: str, opened_at: dt.datetime
    ) -> None:
        self._campaign(campaign_id, county_code)["rectification_opened_at"] = opened_at

    async def close_rectification(
        self, campaign_id: str, county_code: str, closed_at: dt.datetime
    ) -> str:
        campaign = self._campaign(campaign_id, county_code)
        previous: str = campaign["settlement"]
        if previous == "open":
            campaign.update(settlement="closing", closed_at=closed_at)
        return previous

    async def campaign_windows(
        self, campaign_ids: Sequence[str]
    ) -> dict[str, tuple[dt.date, dt.date]]:
        found = {c: self.campaigns.get(c, {}) for c in campaign_ids}
        return {c: (v["starts_on"], v["ends_on"]) for c, v in found.items() if "starts_on" in v}

    async def save_branches(self, branches: Sequence[OrganisationRow]) -> None:
        self.branches.update((b.branch_id, b) for b in branches)

    async def save_levels(self, levels: Sequence[LevelRow]) -> None:
        self.levels.update((level.key, level.level) for level in levels)

    async def save_problems(self, problems: Sequence[ProblemRow]) -> None:
        for p in problems:
            key = (p.campaign_id, p.branch_id, p.problem_id)
            old = self.problems.get(key)
            self.problems[key] = (
                old._replace(
                    description=p.description, source=p.source, needs_superior=p.needs_superior
                )
                if old
                else p
            )

    async def escalate_waiting_problems(self, branch_ids: Sequence[str]) -> list[EscalatedProblem]:
        found = []
        for key, p in self.problems.items():
            branch = self.branches.get(p.branch_id)
            parent = branch.parent_id if branch else None
            waiting = p.needs_superior and key not in self.escalated
            if p.branch_id in branch_ids and parent and waiting:
                self.escalated[key] = parent
                found.append(EscalatedProblem(*key[:2], p.county_code, key[2], parent))
        return found

    async def listed_problems(self, branches: Sequence[BranchKey]) -> dict[BranchKey, set[str]]:
        return {key: {k[2] for k in self.problems if k[:2] == key} for key in branches}

    async def lock_commitments(self, branches: Sequence[BranchKey]) -> dict[BranchKey, Commitment]:
        rows = {key: self.commitments.get(key) for key in branches}
        return {key: Commitment(*row[2:]) for key, row in rows.items() if row}

    async def lock_plans(
        self, branches: Sequence[BranchKey]
    ) -> dict[BranchKey, dict[str, PlannedTask]]:
        return {key: dict(self.plans.get(key, {})) for key in branches}

    async def save_commitments(
        self, commitments: Sequence[CommitmentRow], history: Sequence[HistoryRow]
    ) -> None:
        for row in commitments:
            old = self.commitments.get((row.campaign_id, row.branch_id))
            kept = old.commitment_id if old else row.commitment_id  # the id is never updated
            self.commitments[(row.campaign_id, row.branch_id)] = row._replace(commitment_id=kept)
        self.history.extend(history)

    async def save_plans(self, plans: Mapping[BranchKey, Mapping[str, PlannedTask]]) -> None:
        self.plans.update((key, dict(plan)) for key, plan in plans.items())

    async def lock_tasks(self, keys: Sequence[TaskKey]) -> dict[TaskKey, TaskProgress]:
        tasks = {key: self.plans.get(key[:2], {}).get(key[2]) for key in keys}
        return {
            key: TaskProgress(t.percent, t.completed_at, t.evidence)
            for key, t in tasks.items()
            if t is not None
        }

    async def save_task_progress(
        self, tasks: Sequence[TaskProgressRow], reports: Sequence[ProgressReportRow]
    ) -> None:
        for row in tasks:
            plan = self.plans[(row.campaign_id, row.branch_id)]
            plan[row.task_id] = replace(
                plan[row.task_id],
                percent=row.percent,
                completed_at=row.completed_at,
                evidence=row.evidence,
            )
        self.reports.extend(reports)

    # Jobs: the rows the SQL would select, computed from the same dicts.

    async def lock_sweep(self) -> bool:
        return True

    async def mark_overdue(
        self,
        *,
        deadline_before: dt.date,
        marked_at: dt.datetime,
        campaign_id: str | None = None,
    ) -> list[OverdueTask]:
        found = []
        for (campaign, branch), plan in sorted(self.plans.items()):
            if self.campaigns[campaign]["settlement"] == "settled":
                continue
            if campaign_id is not None and campaign != campaign_id:
                continue
            for task_id, t in sorted(plan.items()):
                if t.completed_at is None and t.overdue_at is None and t.deadline < deadline_before:
                    plan[task_id] = replace(t, overdue_at=marked_at)
                    found.append(
                        OverdueTask(
                            campaign, branch, t.county_code, task_id, t.deadline, t.responsible
                        )
                    )
        return found

    async def branches_without_commitment(self, now: dt.datetime) -> list[UncommittedBranch]:
        named = {(m.campaign_id, m.branch_id) for m in self.missing}
        found = []
        for campaign_id, c in self.campaigns.items():
            opened = c.get("rectification_opened_at")
            if c["settlement"] != "open" or opened is None:
                continue
            if opened + dt.timedelta(days=c["commitment_due_days"]) > now:
                continue
            for b in self.branches.values():
                key = (campaign_id, b.branch_id)
                if b.county_code != c["county_code"] or b.kind == "committee":
                    continue
                if key in self.commitments or key in named:
                    continue
                level = self.levels.get((campaign_id, b.branch_id, "initial"))
                found.append(
                    UncommittedBranch(
                        campaign_id,
                        c["county_code"],
                        opened,
                        c["commitment_due_days"],
                        b.branch_id,
                        level,
                    )
                )
        return found

    async def save_missing(self, missing: Sequence[MissingRow]) -> None:
        self.missing.extend(missing)

    async def lock_campaign_for_settling(self, campaign_id: str) -> SettlingCampaign | None:
        c = self.campaigns.get(campaign_id)
        if c is None or c["settlement"] != "closing":
            return None
        return SettlingCampaign(campaign_id, c["county_code"], c["closed_at"])

    async def tasks_to_settle(self, campaign_id: str, county_code: str) -> list[TaskToSettle]:
        registered = {
            b.branch_id
            for b in self.branches.values()
            if b.county_code == county_code and b.kind != "committee"
        }
        with_tasks = {
            branch for (c, branch), plan in self.plans.items() if c == campaign_id and plan
        }
        rows = []
        for branch in sorted(registered | with_tasks):
            plan = self.plans.get((campaign_id, branch), {})
            rows += [
                TaskToSettle(branch, task_id, t.deadline, t.completed_at is not None)
                for task_id, t in sorted(plan.items())
            ] or [TaskToSettle(branch, None, None, None)]
        return rows

    async def save_settlements(self, settlements: Sequence[SettlementRow]) -> None:
        self.settlements.extend(settlements)

    async def mark_settled(self, campaign_id: str, at: dt.datetime) -> None:
        self.campaigns[campaign_id].update(settlement="settled", settled_at=at)


def event(kind: type[E], *, time: dt.datetime = NOW, **data: Any) -> E:
    """The contract's example event of `kind`, with `data` changed."""
    payload = {**DATA[kind.event_type], **data}
    return kind.model_validate(envelope(kind.event_type, payload, time=time))


def unit(store: FakeStore, now: dt.datetime = NOW) -> UnitOfWork[RectificationStore]:
    return UnitOfWork(store, service="rectification", now=now)


def at(day: int, month: int, hour: int = 9) -> dt.datetime:
    return at_county_hour(dt.date(2012, month, day), hour)


def task(task_id: str, deadline: str, problem_id: str | None = "p-1") -> dict[str, Any]:
    example = DATA["rectification.commitment_published"]["tasks"][0]
    return {**example, "task_id": task_id, "deadline": deadline, "problem_id": problem_id}


async def launched() -> FakeStore:
    """A launched campaign in rectification (opened 16 April), the branch registered with
    problem p-1 listed."""
    store = FakeStore()
    uow = unit(store)
    await handlers.on_campaign_launched(uow, event(CampaignLaunchedEvent))
    await handlers.on_phase_opened(
        uow, event(CampaignPhaseOpenedEvent, phase="rectification", time=at(16, 4))
    )
    await handlers.on_branches_registered(uow, [event(OrgBranchRegisteredEvent)])
    await handlers.on_problems_listed(uow, [event(RectificationProblemListedEvent)])
    return store


async def refusal(handler: Any, store: FakeStore, *events: AnyEvent) -> str:
    with pytest.raises(Rejected) as refused:
        await handler(unit(store), list(events))
    return refused.value.reason


async def test_a_launch_saves_the_campaign_window_and_the_commitment_due_days() -> None:
    store = FakeStore()
    await handlers.on_campaign_launched(unit(store), event(CampaignLaunchedEvent))
    campaign = store.campaigns[CAMPAIGN]
    assert (campaign["starts_on"], campaign["ends_on"]) == (
        dt.date(2012, 3, 1),
        dt.date(2012, 9, 30),
    )
    assert campaign["commitment_due_days"] == 15  # the county calendar's default
    ruled = event(CampaignLaunchedEvent, rules={"commitment_due_days": 20})
    await handlers.on_campaign_launched(unit(store), ruled)
    assert store.campaigns[CAMPAIGN]["commitment_due_days"] == 20


async def test_rectification_opens_and_closes_once_and_other_phases_change_nothing() -> None:
    store = FakeStore()
    uow = unit(store)
    await handlers.on_phase_opened(uow, event(CampaignPhaseOpenedEvent, phase="survey_grading"))
    await handlers.on_phase_closed(uow, event(CampaignPhaseClosedEvent, phase="survey_grading"))
    assert store.campaigns == {}
    await handlers.on_phase_opened(
        uow, event(CampaignPhaseOpenedEvent, phase="rectification", time=at(16, 4))
    )
    for time in (at(30, 6, 18), at(1, 7)):  # closed again: already closing
        closed = event(CampaignPhaseClosedEvent, phase="rectification", time=time)
        await handlers.on_phase_closed(uow, closed)
    campaign = store.campaigns[CAMPAIGN]
    assert campaign["rectification_opened_at"] == at(16, 4)
    assert (campaign["settlement"], campaign["closed_at"]) == ("closing", at(30, 6, 18))
    assert uow.events == []


async def test_a_problem_needing_the_superior_is_escalated_once_its_parent_is_known() -> None:
    store = FakeStore()
    uow = unit(store)
    first = event(RectificationProblemListedEvent, time=at(1, 5))
    again = event(RectificationProblemListedEvent, description="活动室漏雨", time=at(2, 5))
    await handlers.on_problems_listed(uow, [first, again])
    assert uow.events == []  # the branch (and so its parent) is not known yet
    problem = store.problems[(CAMPAIGN, BRANCH, "p-1")]
    assert (problem.description, problem.listed_at) == ("活动室漏雨", at(1, 5))
    registered = event(OrgBranchRegisteredEvent)
    await handlers.on_branches_registered(uow, [registered, registered])
    [escalated] = uow.events
    assert isinstance(escalated, RectificationProblemEscalatedEvent)
    assert escalated.id == result_event_id(CAMPAIGN, "escalated", BRANCH, "p-1")
    assert (escalated.data.problem_id, escalated.data.to_org_id) == ("p-1", "610526-edu-committee")
    await handlers.on_problems_listed(uow, [again])
    assert len(uow.events) == 1  # escalated once


async def test_the_latest_level_of_a_round_is_kept() -> None:
    store = FakeStore()
    levels = [event(GradingBranchGradedEvent, level=level) for level in ("weak", "average")]
    await handlers.on_branches_graded(unit(store), levels)
    assert store.levels == {(CAMPAIGN, BRANCH, "initial"): "average"}


async def test_a_new_revision_replaces_the_plan_and_keeps_the_progress_of_kept_tasks() -> None:
    store = await launched()
    uow = unit(store)
    plan = [task("t-1", "2012-06-30"), task("t-2", "2012-06-30")]
    await handlers.on_commitment_events(
        uow, [event(RectificationCommitmentPublishedEvent, tasks=plan, time=at(1, 5))]
    )
    await handlers.on_task_events(uow, [event(RectificationTaskProgressedEvent, percent=50)])
    revised = [task("t-1", "2012-07-15"), task("t-3", "2012-06-30", None)]
    await handlers.on_commitment_events(
        uow,
        [event(RectificationCommitmentPublishedEvent, revision=2, tasks=revised, time=at(5, 5))],
    )
    tasks = store.plans[(CAMPAIGN, BRANCH)]
    assert sorted(tasks) == ["t-1", "t-3"]  # t-2 left the plan
    assert (tasks["t-1"].percent, tasks["t-1"].revision, tasks["t-1"].deadline) == (
        50,
        2,
        dt.date(2012, 7, 15),
    )
    assert store.commitments[(CAMPAIGN, BRANCH)] == CommitmentRow(
        CAMPAIGN, BRANCH, "c-0007", 2, at(5, 5), "pending"
    )
    assert [(h.action, h.revision) for h in store.history] == [("published", 1), ("published", 2)]


async def test_a_publication_is_refused_naming_what_is_wrong() -> None:
    store = await launched()
    published = event(RectificationCommitmentPublishedEvent)
    await handlers.on_commitment_events(unit(store), [published])
    assert await refusal(handlers.on_commitment_events, store, published) == (
        "revision 1 of c-0007 is not newer than the published revision 1"
    )
    other = event(
        RectificationCommitmentPublishedEvent,
        commitment_id="c-other",
        revision=2,
        tasks=[task("t-1", "2013-01-05", "p-9")],
    )
    assert await refusal(handlers.on_commitment_events, store, other) == (
        "the branch already committed as c-0007; publish a new revision of it instead of "
        "c-other; task t-1: problem p-9 was not listed; task t-1: deadline 2013-01-05 is "
        "outside the campaign (2012-03-01 – 2012-09-30)"
    )
    assert len(store.history) == 1


async def test_only_the_latest_revision_of_a_published_commitment_is_reviewed() -> None:
    store = await launched()
    await handlers.on_commitment_events(unit(store), [event(RectificationCommitmentPublishedEvent)])
    unknown = event(RectificationCommitmentReviewedEvent, commitment_id="c-unknown")
    assert await refusal(handlers.on_commitment_events, store, unknown) == (
        "commitment c-unknown was not published by this branch"
    )
    later = event(RectificationCommitmentReviewedEvent, revision=2)
    assert await refusal(handlers.on_commitment_events, store, later) == (
        "revision 2 of c-0007 is not the latest (revision 1); review the latest"
    )
    approved = event(RectificationCommitmentReviewedEvent, decision="approved", guidance=None)
    await handlers.on_commitment_events(unit(store), [approved])
    assert store.commitments[(CAMPAIGN, BRANCH)].review == "approved"
    assert (store.history[-1].action, store.history[-1].actor) == (
        "approved",
        "610526-edu-committee",
    )


async def test_progress_and_completion_of_tasks() -> None:
    store = await launched()
    uow = unit(store)
    await handlers.on_commitment_events(uow, [event(RectificationCommitmentPublishedEvent)])
    await handlers.on_task_events(uow, [event(RectificationTaskProgressedEvent, percent=50)])
    lower = event(RectificationTaskProgressedEvent, percent=20)
    assert await refusal(handlers.on_task_events, store, lower) == (
        "task t-1: percent 20 is below the reported 50; say why in note"
    )
    unknown = event(RectificationTaskProgressedEvent, task_id="t-9")
    assert await refusal(handlers.on_task_events, store, unknown) == (
        f"task t-9 is not in the latest commitment of {BRANCH}"
    )
    done = event(RectificationTaskCompletedEvent, time=at(1, 6))
    again = event(RectificationTaskCompletedEvent, evidence="另一份记录", time=at(2, 6))
    await handlers.on_task_events(uow, [done, again])  # completing again changes nothing
    t1 = store.plans[(CAMPAIGN, BRANCH)]["t-1"]
    assert (t1.percent, t1.completed_at, t1.evidence) == (100, at(1, 6), "验收记录")
    assert await refusal(handlers.on_task_events, store, lower) == (
        "task t-1: the task is already completed"
    )
    assert [(r.task_id, r.percent) for r in store.reports] == [("t-1", 50)]


async def test_the_sweep_flags_overdue_tasks_and_names_missing_commitments_weakest_first() -> None:
    store = await launched()
    uow = unit(store)
    published = event(RectificationCommitmentPublishedEvent, tasks=[task("t-1", "2012-05-31")])
    await handlers.on_commitment_events(uow, [published])
    await handlers.on_branches_registered(
        uow,
        [
            event(OrgBranchRegisteredEvent, branch_id=b)
            for b in ("610526-edu-0008", "610526-edu-0009")
        ],
    )
    await handlers.on_branches_graded(
        uow, [event(GradingBranchGradedEvent, branch_id="610526-edu-0009", level="weak")]
    )
    sweep = unit(store)
    assert await jobs.sweep_once(sweep) == 3
    overdue, *missing = sweep.events
    assert isinstance(overdue, RectificationTaskOverdueEvent)
    assert overdue.id == result_event_id(CAMPAIGN, "overdue", BRANCH, "t-1", "2012-05-31")
    assert all(isinstance(e, RectificationCommitmentMissingEvent) for e in missing)
    assert [(e.subject, e.id) for e in missing] == [
        (b, result_event_id(CAMPAIGN, "missing", b)) for b in ("610526-edu-0009", "610526-edu-0008")
    ]
    assert {m.due for m in store.missing} == {dt.date(2012, 5, 1)}  # 15 days after 16 April
    assert await jobs.sweep_once(unit(store)) == 0  # the same sweep again emits nothing


async def test_the_settlement_settles_every_branch_once() -> None:
    store = await launched()
    uow = unit(store)
    plan = [task("t-1", "2012-05-31"), task("t-2", "2012-06-30"), task("t-3", "2012-07-31")]
    await handlers.on_commitment_events(
        uow, [event(RectificationCommitmentPublishedEvent, tasks=plan)]
    )
    await handlers.on_task_events(uow, [event(RectificationTaskCompletedEvent)])
    await handlers.on_branches_registered(
        uow, [event(OrgBranchRegisteredEvent, branch_id="610526-edu-0008")]
    )
    closed = event(CampaignPhaseClosedEvent, phase="rectification", time=at(1, 7, 10))
    await handlers.on_phase_closed(uow, closed)
    settle = unit(store, at(2, 7))
    assert await jobs.settle_campaign(settle, CAMPAIGN)
    overdue, *settled = settle.events
    assert isinstance(overdue, RectificationTaskOverdueEvent) and overdue.data.task_id == "t-2"
    assert all(isinstance(e, RectificationBranchSettledEvent) for e in settled)
    assert [(e.subject, e.id) for e in settled] == [
        (b, result_event_id(CAMPAIGN, "settled", b)) for b in (BRANCH, "610526-edu-0008")
    ]
    ours = settled[0]
    assert isinstance(ours, RectificationBranchSettledEvent)
    data = ours.data
    assert (data.tasks_total, data.tasks_completed, data.tasks_overdue) == (3, 1, 1)
    assert data.completion_rate == pytest.approx(0.3333)
    assert store.campaigns[CAMPAIGN]["settlement"] == "settled"
    assert not await jobs.settle_campaign(unit(store), CAMPAIGN)  # done already
