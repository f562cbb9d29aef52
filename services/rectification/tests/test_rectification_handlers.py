"""The handlers and jobs in memory: a fake store keeps the state in dicts, the handlers are
called directly with typed events, and what a user would check is asserted — state saved,
events emitted (with their deterministic ids) and refusals with their reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from types import SimpleNamespace
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
    RectificationEscalationAnsweredEvent,
    RectificationEscalationOverdueEvent,
    RectificationProblemDeferredEvent,
    RectificationProblemEscalatedEvent,
    RectificationProblemListedEvent,
    RectificationProblemResolvedEvent,
    RectificationProblemUpdatedEvent,
    RectificationReviewOverdueEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskOverdueEvent,
    RectificationTaskProgressedEvent,
)
from grassroots.contract.examples import DATA, envelope
from grassroots.contract.rectification import (
    Escalation,
    EscalationAnswer,
    ProblemUpdated,
)
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.store import OrganisationRow
from grassroots.plumbing.unit_of_work import UnitOfWork
from rectification import handlers, jobs
from rectification.domain import (
    CampaignWindow,
    Commitment,
    EscalationState,
    PlannedTask,
    Problem,
    TaskProgress,
)
from rectification.handlers import result_event_id
from rectification.store import (
    BranchKey,
    CampaignRow,
    CommitmentRow,
    EscalatedProblem,
    EscalationCause,
    HistoryRow,
    LevelRow,
    MissingRow,
    OverdueTask,
    PendingReview,
    ProblemKey,
    ProblemRow,
    ProblemStateRow,
    ProgressReportRow,
    RectificationStore,
    SettlementRow,
    SettlingCampaign,
    TaskKey,
    TaskProgressRow,
    TaskToSettle,
    UncommittedBranch,
    WaitingEscalation,
)

E = TypeVar("E", bound=AnyEvent)
CAMPAIGN, COUNTY, BRANCH = "pucheng-edu-2012", "610526", "610526-edu-0007"
COMMITTEE = "610526-edu-committee"
NOW = dt.datetime(2012, 6, 10, tzinfo=dt.UTC)


class FakeStore(RectificationStore):
    """The store's effects kept in dicts (no PostgreSQL)."""

    def __init__(self) -> None:
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, OrganisationRow] = {}
        self.levels: dict[tuple[str, str, str], str] = {}
        self.problems: dict[ProblemKey, ProblemRow] = {}  # as listed
        self.states: dict[ProblemKey, Problem] = {}  # where they stand
        self.escalations_overdue: dict[ProblemKey, dt.datetime] = {}
        self.commitments: dict[BranchKey, CommitmentRow] = {}
        self.reviews_overdue: dict[BranchKey, int] = {}  # the revision named
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

    async def campaign_windows(self, campaign_ids: Sequence[str]) -> dict[str, CampaignWindow]:
        found = {c: self.campaigns.get(c, {}) for c in campaign_ids}
        return {
            c: CampaignWindow(v["starts_on"], v["ends_on"], v["gradual_horizon"] or v["ends_on"])
            for c, v in found.items()
            if "starts_on" in v
        }

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
            state = self.states.get(key)
            self.states[key] = (
                replace(state, source=p.source) if state else Problem(p.county_code, p.source)
            )

    async def escalate_waiting_problems(
        self, causes: Sequence[EscalationCause]
    ) -> list[EscalatedProblem]:
        found = []
        for cause in causes:
            for key, p in self.problems.items():
                if cause.branch_id != p.branch_id or cause.campaign_id not in (None, key[0]):
                    continue
                if cause.problem_id not in (None, key[2]):
                    continue
                branch = self.branches.get(p.branch_id)
                parent = branch.parent_id if branch else None
                state = self.states[key]
                if parent and p.needs_superior and state.escalation is None:
                    escalation = EscalationState(parent, max(p.listed_at, cause.at))
                    self.states[key] = replace(state, escalation=escalation)
                    found.append(EscalatedProblem(*key[:2], p.county_code, key[2], parent))
        return found

    async def lock_problems(
        self, branches: Sequence[BranchKey]
    ) -> dict[BranchKey, dict[str, Problem]]:
        return {
            branch: {k[2]: p for k, p in self.states.items() if k[:2] == branch}
            for branch in branches
        }

    async def save_problem_states(self, problems: Sequence[ProblemStateRow]) -> None:
        for row in problems:
            key = (row.campaign_id, row.branch_id, row.problem_id)
            state = self.states[key]
            escalation = state.escalation and replace(
                state.escalation,
                answer=row.answer,
                action=row.answer_action,
                due=row.answer_due,
                evidence=row.answer_evidence,
                reason=row.answer_reason,
                answered_at=row.answered_at,
            )
            self.states[key] = replace(
                state,
                status=row.status,
                task_id=row.task_id,
                evidence=row.evidence,
                reason=row.reason,
                escalation=escalation,
            )

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

    async def campaigns_to_sweep(
        self, now: dt.datetime, today: dt.date, day_start: dt.datetime
    ) -> list[str]:
        found = {campaign for campaign, _, _ in self._tasks_past(today, None)}
        for campaign_id in {*self.campaigns, *(k[0] for k in [*self.commitments, *self.states])}:
            if (
                await self.branches_without_commitment(now, campaign_id)
                or await self.pending_reviews(day_start, campaign_id)
                or await self.waiting_escalations(day_start, campaign_id)
            ):
                found.add(campaign_id)
        return sorted(found)

    def _tasks_past(
        self, deadline_before: dt.date, campaign_id: str | None
    ) -> list[tuple[str, str, str]]:
        found = []
        for (campaign, branch), plan in sorted(self.plans.items()):
            settled = self.campaigns[campaign]["settlement"] == "settled"
            if campaign_id is not None and campaign != campaign_id:
                continue
            for task_id, t in sorted(plan.items()):
                if settled and t.kind != "gradual":  # only gradual tasks after the settlement
                    continue
                if t.completed_at is None and t.overdue_at is None and t.deadline < deadline_before:
                    found.append((campaign, branch, task_id))
        return found

    async def mark_overdue(
        self,
        *,
        deadline_before: dt.date,
        marked_at: dt.datetime,
        campaign_id: str | None = None,
    ) -> list[OverdueTask]:
        found = []
        for campaign, branch, task_id in self._tasks_past(deadline_before, campaign_id):
            plan = self.plans[(campaign, branch)]
            t = plan[task_id] = replace(plan[task_id], overdue_at=marked_at)
            found.append(
                OverdueTask(campaign, branch, t.county_code, task_id, t.deadline, t.responsible)
            )
        return found

    async def branches_without_commitment(
        self, now: dt.datetime, campaign_id: str
    ) -> list[UncommittedBranch]:
        named = {(m.campaign_id, m.branch_id) for m in self.missing}
        found = []
        for c in [self.campaigns[campaign_id]] if campaign_id in self.campaigns else []:
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

    async def waiting_escalations(
        self, day_start: dt.datetime, campaign_id: str
    ) -> list[WaitingEscalation]:
        found = []
        for key, p in sorted(self.states.items()):
            if key[0] != campaign_id:
                continue
            e = p.escalation
            waiting = e is not None and e.answer is None and p.status != "resolved"
            if not waiting or key in self.escalations_overdue:
                continue
            assert e is not None
            days = self.campaigns.get(key[0], {}).get("escalation_answer_days", 10)
            if e.escalated_at + dt.timedelta(days=days) < day_start:
                found.append(
                    WaitingEscalation(
                        *key[:2], p.county_code, key[2], e.to_org_id, e.escalated_at, days
                    )
                )
        return found

    async def mark_escalations_overdue(
        self, problems: Sequence[ProblemKey], marked_at: dt.datetime
    ) -> None:
        self.escalations_overdue.update((key, marked_at) for key in problems)

    async def pending_reviews(
        self, day_start: dt.datetime, campaign_id: str
    ) -> list[PendingReview]:
        found = []
        for key, c in sorted(self.commitments.items()):
            if key[0] != campaign_id:
                continue
            branch = self.branches.get(key[1])
            campaign = self.campaigns.get(key[0], {})
            if c.review != "pending" or self.reviews_overdue.get(key) == c.revision:
                continue
            if branch is None or branch.parent_id is None:
                continue
            if campaign.get("settlement") == "settled":
                continue
            days = campaign.get("review_due_days", 5)
            if c.published_at + dt.timedelta(days=days) < day_start:
                found.append(
                    PendingReview(
                        *key,
                        branch.county_code,
                        c.commitment_id,
                        c.revision,
                        c.published_at,
                        days,
                        branch.parent_id,
                    )
                )
        return found

    async def mark_reviews_overdue(self, reviews: Sequence[PendingReview]) -> None:
        self.reviews_overdue.update(((r.campaign_id, r.branch_id), r.revision) for r in reviews)

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
                TaskToSettle(branch, task_id, t.deadline, t.completed_at is not None, t.kind)
                for task_id, t in sorted(plan.items())
            ] or [TaskToSettle(branch, None, None, None, None)]
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


def task(
    task_id: str, deadline: str, problem_id: str | None = "p-1", kind: str = "immediate"
) -> dict[str, Any]:
    example = DATA["rectification.commitment_published"]["tasks"][0]
    return {
        **example,
        "task_id": task_id,
        "deadline": deadline,
        "problem_id": problem_id,
        "kind": kind,
    }


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
    assert (campaign["escalation_answer_days"], campaign["review_due_days"]) == (10, 5)
    assert campaign["gradual_horizon"] is None  # the campaign's last day
    rules = {
        "commitment_due_days": 20,
        "escalation_answer_days": 7,
        "review_due_days": 3,
        "gradual_horizon": "2012-12-31",
    }
    await handlers.on_campaign_launched(unit(store), event(CampaignLaunchedEvent, rules=rules))
    campaign = store.campaigns[CAMPAIGN]
    assert campaign["commitment_due_days"] == 20
    assert (campaign["escalation_answer_days"], campaign["review_due_days"]) == (7, 3)
    assert campaign["gradual_horizon"] == dt.date(2012, 12, 31)


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
    state = store.states[(CAMPAIGN, BRANCH, "p-1")].escalation
    assert state is not None and state.escalated_at == NOW  # when the registration came
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


class Units:
    """Stands in for the service's runtime in a job's pass: each unit of work on the fake
    store, and the events of each as it committed."""

    definition = SimpleNamespace(name="rectification")

    def __init__(self, store: FakeStore, now: dt.datetime = NOW) -> None:
        self.store, self.now = store, now
        self.committed: list[list[AnyEvent]] = []

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork[RectificationStore]]:
        uow = unit(self.store, self.now)
        yield uow
        self.committed.append(list(uow.events))


async def test_the_sweep_names_each_campaigns_findings_in_a_unit_of_work_of_its_own() -> None:
    """Two counties' campaigns past their commitments' due day: the sweep commits one
    campaign's missing commitments per unit of work (in campaign order), then a unit that
    finds nothing ends the pass; the same sweep again emits nothing."""
    store = await launched()
    fuping, county = "fuping-edu-2012", "610528"

    def in_fuping(kind: type[E], *, time: dt.datetime = NOW, **data: Any) -> E:
        payload = {**DATA[kind.event_type], **data}
        return kind.model_validate(
            envelope(kind.event_type, payload, campaign_id=fuping, county=county, time=time)
        )

    uow = unit(store)
    await handlers.on_campaign_launched(uow, in_fuping(CampaignLaunchedEvent))
    await handlers.on_phase_opened(
        uow, in_fuping(CampaignPhaseOpenedEvent, phase="rectification", time=at(16, 4))
    )
    branches = [f"{county}-edu-0001", f"{county}-edu-0002"]
    await handlers.on_branches_registered(
        uow, [in_fuping(OrgBranchRegisteredEvent, branch_id=b) for b in branches]
    )
    units = Units(store)
    await jobs.SWEEP.run_once(units)  # type: ignore[arg-type]
    assert [[(e.campaignid, e.subject) for e in events] for events in units.committed] == [
        [(fuping, b) for b in branches],
        [(CAMPAIGN, BRANCH)],
        [],
    ]
    missing = [e for events in units.committed for e in events]
    assert all(isinstance(e, RectificationCommitmentMissingEvent) for e in missing)
    again = Units(store)
    await jobs.SWEEP.run_once(again)  # type: ignore[arg-type]
    assert again.committed == [[]]


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


# Problems followed through.


def listed(
    problem_id: str,
    source: str = "public",
    *,
    needs_superior: bool = False,
    time: dt.datetime = NOW,
) -> RectificationProblemListedEvent:
    return event(
        RectificationProblemListedEvent,
        problem_id=problem_id,
        source=source,
        needs_superior=needs_superior,
        time=time,
    )


def approval(**data: Any) -> RectificationCommitmentReviewedEvent:
    return event(RectificationCommitmentReviewedEvent, decision="approved", guidance=None, **data)


def updates(uow: UnitOfWork[RectificationStore]) -> list[RectificationProblemUpdatedEvent]:
    return [e for e in uow.events if isinstance(e, RectificationProblemUpdatedEvent)]


def snapshot(problem_id: str, status: str, **data: Any) -> ProblemUpdated:
    return ProblemUpdated(branch_id=BRANCH, problem_id=problem_id, status=status, **data)


WAITING = Escalation(to_org_id=COMMITTEE)  # p-1 of `launched` went to the committee


async def test_an_approved_plan_puts_the_problems_it_names_in_rectification() -> None:
    store = await launched()  # p-1: public, escalated
    uow = unit(store)
    await handlers.on_problems_listed(uow, [listed("p-2"), listed("p-3", "survey")])
    plan = [
        task("t-1", "2012-06-30", "p-1"),
        task("t-2", "2012-06-30", "p-2"),
        task("t-0", "2012-06-30", "p-2"),
    ]
    published = event(RectificationCommitmentPublishedEvent, tasks=plan, time=at(1, 5))
    await handlers.on_commitment_events(uow, [published])
    assert updates(uow) == []  # published only: nothing changes yet
    approved = approval(time=at(3, 5))
    await handlers.on_commitment_events(uow, [approved])
    changed = sorted(updates(uow), key=lambda e: e.data.problem_id)
    assert [e.data for e in changed] == [
        snapshot("p-1", "in_rectification", task_id="t-1", escalation=WAITING),
        snapshot("p-2", "in_rectification", task_id="t-0"),  # the first task naming it
    ]
    assert [e.id for e in changed] == [
        result_event_id(CAMPAIGN, "problem_updated", BRANCH, p, approved.id) for p in ("p-1", "p-2")
    ]
    assert store.states[(CAMPAIGN, BRANCH, "p-3")].status == "open"  # no task names it
    # A later revision no longer naming p-2, approved: p-2 is open again.
    revised = event(
        RectificationCommitmentPublishedEvent,
        revision=2,
        tasks=[task("t-1", "2012-06-30", "p-1"), task("t-5", "2012-06-30", "p-3")],
        time=at(5, 5),
    )
    again = unit(store)
    await handlers.on_commitment_events(
        again, [revised, approval(revision=2, uncovered_reason="另行安排", time=at(6, 5))]
    )
    assert sorted((e.data.problem_id, e.data.status, e.data.task_id) for e in updates(again)) == [
        ("p-2", "open", None),
        ("p-3", "in_rectification", "t-5"),
    ]


async def test_a_problem_is_resolved_with_evidence_or_deferred_with_a_reason() -> None:
    store = await launched()
    uow = unit(store)
    await handlers.on_problems_listed(uow, [listed("p-2"), listed("p-3")])
    deferred = event(RectificationProblemDeferredEvent, problem_id="p-2", time=at(10, 5))
    resolved = event(RectificationProblemResolvedEvent, problem_id="p-2", time=at(20, 5))
    again = event(RectificationProblemDeferredEvent, problem_id="p-3", time=at(21, 5))
    await handlers.on_problem_events(uow, [deferred, resolved, again, again])
    reason = DATA["rectification.problem_deferred"]["reason"]
    evidence = DATA["rectification.problem_resolved"]["evidence"]
    assert [(e.id, e.data) for e in updates(uow)] == [
        (
            result_event_id(CAMPAIGN, "problem_updated", BRANCH, "p-2", deferred.id),
            snapshot("p-2", "deferred", reason=reason),
        ),
        (
            result_event_id(CAMPAIGN, "problem_updated", BRANCH, "p-2", resolved.id),
            snapshot("p-2", "resolved", evidence=evidence),  # deferred, then solved after all
        ),
        (
            result_event_id(CAMPAIGN, "problem_updated", BRANCH, "p-3", again.id),
            snapshot("p-3", "deferred", reason=reason),  # deferred again: nothing new
        ),
    ]
    p2 = store.states[(CAMPAIGN, BRANCH, "p-2")]
    assert (p2.status, p2.evidence, p2.reason) == ("resolved", evidence, None)


async def test_resolving_or_deferring_an_unknown_or_resolved_problem_is_refused() -> None:
    store = await launched()
    await handlers.on_problem_events(unit(store), [event(RectificationProblemResolvedEvent)])
    before = dict(store.states)
    for kind in (RectificationProblemResolvedEvent, RectificationProblemDeferredEvent):
        unknown = event(kind, problem_id="p-9")
        assert await refusal(handlers.on_problem_events, store, unknown) == (
            f"problem p-9 was never listed by {BRANCH}"
        )
        done = event(kind, problem_id="p-1")
        assert await refusal(handlers.on_problem_events, store, done) == (
            f"problem p-1 of {BRANCH} is already resolved"
        )
    assert store.states == before


async def test_approving_a_plan_that_leaves_prominent_problems_uncovered_needs_a_reason() -> None:
    store = await launched()  # p-1: public
    uow = unit(store)
    await handlers.on_problems_listed(
        uow, [listed("p-2", "members"), listed("p-3", "public"), listed("p-4", "survey")]
    )
    plan = [task("t-1", "2012-06-30", "p-1")]
    await handlers.on_commitment_events(
        uow, [event(RectificationCommitmentPublishedEvent, tasks=plan)]
    )  # publishing is never refused for coverage
    assert store.history[-1].uncovered == ["p-2", "p-3"]
    assert await refusal(handlers.on_commitment_events, store, approval()) == (
        "approving leaves problems raised by members or the public uncovered: p-2, p-3 — "
        "name them in a task, defer them, or give uncovered_reason"
    )
    assert store.commitments[(CAMPAIGN, BRANCH)].review == "pending"
    assert len(store.history) == 1
    assert store.states[(CAMPAIGN, BRANCH, "p-1")].status == "open"
    # Returning it needs no reason; the next revision covers p-2 by deferring it.
    returned = event(RectificationCommitmentReviewedEvent, decision="returned")
    revised = event(RectificationCommitmentPublishedEvent, revision=2, tasks=plan)
    await handlers.on_commitment_events(uow, [returned, revised])
    await handlers.on_problem_events(
        uow, [event(RectificationProblemDeferredEvent, problem_id="p-2")]
    )
    assert await refusal(handlers.on_commitment_events, store, approval(revision=2)) == (
        "approving leaves problems raised by members or the public uncovered: p-3 — "
        "name them in a task, defer them, or give uncovered_reason"
    )
    why = "该问题由县教育局统一规划解决"
    await handlers.on_commitment_events(uow, [approval(revision=2, uncovered_reason=why)])
    approved = store.history[-1]
    assert (approved.action, approved.uncovered, approved.uncovered_reason) == (
        "approved",
        ["p-3"],
        why,
    )
    assert [(h.action, h.revision, h.uncovered) for h in store.history] == [
        ("published", 1, ["p-2", "p-3"]),
        ("returned", 1, ["p-2", "p-3"]),
        ("published", 2, ["p-2", "p-3"]),  # p-2 was deferred after it
        ("approved", 2, ["p-3"]),
    ]


async def test_the_superior_answers_an_escalation_and_resolved_resolves_the_problem() -> None:
    store = await launched()  # p-1 escalated to the committee
    uow = unit(store)
    accepted = event(RectificationEscalationAnsweredEvent, time=at(12, 6))
    await handlers.on_problem_events(uow, [accepted])
    answer = DATA["rectification.escalation_answered"]
    [updated] = updates(uow)
    assert updated.id == result_event_id(CAMPAIGN, "problem_updated", BRANCH, "p-1", accepted.id)
    assert updated.data == snapshot(
        "p-1",
        "open",
        escalation=Escalation(
            to_org_id=COMMITTEE,
            answer=EscalationAnswer.ACCEPTED,
            action=answer["action"],
            due=dt.date(2012, 6, 20),
        ),
    )
    state = store.states[(CAMPAIGN, BRANCH, "p-1")].escalation
    assert state is not None and state.answered_at == at(12, 6)
    solved = event(
        RectificationEscalationAnsweredEvent,
        answer="resolved",
        action=None,
        due=None,
        evidence="局党委已拨付专项经费，设施已更新",
        time=at(20, 6),
    )
    later = unit(store)
    await handlers.on_problem_events(later, [solved])
    [resolved] = updates(later)
    assert resolved.data == snapshot(
        "p-1",
        "resolved",
        evidence="局党委已拨付专项经费，设施已更新",
        escalation=Escalation(
            to_org_id=COMMITTEE,
            answer=EscalationAnswer.RESOLVED,
            evidence="局党委已拨付专项经费，设施已更新",
        ),
    )


async def test_an_answer_to_an_escalation_never_sent_or_from_another_organisation_is_refused() -> (
    None
):
    store = await launched()
    await handlers.on_problems_listed(unit(store), [listed("p-2")])
    before = dict(store.states)
    never = event(RectificationEscalationAnsweredEvent, problem_id="p-2")
    assert await refusal(handlers.on_problem_events, store, never) == (
        f"problem p-2 of {BRANCH} was never escalated"
    )
    unknown = event(RectificationEscalationAnsweredEvent, problem_id="p-9")
    assert await refusal(handlers.on_problem_events, store, unknown) == (
        f"problem p-9 was never listed by {BRANCH}"
    )
    other = event(RectificationEscalationAnsweredEvent, answered_by_org_id="610526-edu-0001")
    assert await refusal(handlers.on_problem_events, store, other) == (
        f"problem p-1 of {BRANCH} was escalated to {COMMITTEE}, not 610526-edu-0001"
    )
    assert store.states == before


async def test_the_sweep_names_unanswered_escalations_and_reviews_waiting_too_long_once() -> None:
    store = await launched()  # p-1 escalated at NOW (10 June, county time): due 20 June
    uow = unit(store)
    await handlers.on_problems_listed(uow, [listed("p-2", needs_superior=True)])
    await handlers.on_problem_events(
        uow, [event(RectificationEscalationAnsweredEvent, problem_id="p-2")]
    )  # answered: never overdue
    published = event(RectificationCommitmentPublishedEvent, time=at(1, 6))  # review due 6 June
    await handlers.on_commitment_events(uow, [published])
    early = unit(store, at(6, 6, 23))
    assert await jobs.sweep_once(early) == 0
    last_day = unit(store, at(20, 6, 23))
    assert await jobs.sweep_once(last_day) == 1
    [review] = last_day.events
    assert isinstance(review, RectificationReviewOverdueEvent)
    assert review.id == result_event_id(CAMPAIGN, "review_overdue", BRANCH, "c-0007", "1")
    assert (review.data.revision, review.data.reviewer_org_id, review.data.due) == (
        1,
        COMMITTEE,
        dt.date(2012, 6, 6),
    )
    next_day = unit(store, at(21, 6, 0))
    assert await jobs.sweep_once(next_day) == 1
    [overdue] = next_day.events
    assert isinstance(overdue, RectificationEscalationOverdueEvent)
    assert overdue.id == result_event_id(CAMPAIGN, "escalation_overdue", BRANCH, "p-1", COMMITTEE)
    assert (overdue.data.problem_id, overdue.data.to_org_id, overdue.data.due) == (
        "p-1",
        COMMITTEE,
        dt.date(2012, 6, 20),
    )
    assert await jobs.sweep_once(unit(store, at(25, 6))) == 0  # each once
    # A new revision waits for its own review.
    revised = event(RectificationCommitmentPublishedEvent, revision=2, time=at(22, 6))
    await handlers.on_commitment_events(unit(store), [revised])
    later = unit(store, at(28, 6))
    assert await jobs.sweep_once(later) == 1
    [again] = later.events
    assert isinstance(again, RectificationReviewOverdueEvent)
    assert (again.data.revision, again.data.due) == (2, dt.date(2012, 6, 27))


async def test_a_reviewed_revision_and_a_resolved_problem_are_not_overdue() -> None:
    store = await launched()
    uow = unit(store)
    await handlers.on_commitment_events(
        uow, [event(RectificationCommitmentPublishedEvent, time=at(1, 6)), approval()]
    )
    await handlers.on_problem_events(uow, [event(RectificationProblemResolvedEvent)])
    assert await jobs.sweep_once(unit(store, at(25, 6))) == 0


async def test_a_gradual_task_may_run_to_the_horizon_and_counts_on_track_at_settlement() -> None:
    store = FakeStore()
    uow = unit(store)
    rules = {"gradual_horizon": "2012-12-31"}
    await handlers.on_campaign_launched(uow, event(CampaignLaunchedEvent, rules=rules))
    await handlers.on_branches_registered(
        uow, [event(OrgBranchRegisteredEvent, branch_id=b) for b in (BRANCH, "610526-edu-0008")]
    )
    await handlers.on_problems_listed(uow, [event(RectificationProblemListedEvent)])
    past = event(
        RectificationCommitmentPublishedEvent,
        tasks=[task("t-1", "2012-05-31"), task("t-3", "2013-03-01", kind="gradual")],
    )
    assert await refusal(handlers.on_commitment_events, store, past) == (
        "task t-3 (gradual): deadline 2013-03-01 is after the horizon 2012-12-31"
    )
    assert store.commitments == {}
    plan = [
        task("t-1", "2012-05-31"),
        task("t-2", "2012-06-15"),
        task("t-3", "2012-11-30", kind="gradual"),  # after the campaign, before the horizon
    ]
    other = event(
        RectificationCommitmentPublishedEvent,
        branch_id="610526-edu-0008",
        commitment_id="c-0008",
        tasks=[task("t-8", "2012-09-30", None)],  # immediate, due after the phase
    )
    await handlers.on_commitment_events(
        uow, [event(RectificationCommitmentPublishedEvent, tasks=plan), other]
    )
    await handlers.on_task_events(
        uow,
        [event(RectificationTaskCompletedEvent, task_id=t, time=at(1, 6)) for t in ("t-1", "t-2")],
    )
    closed = event(CampaignPhaseClosedEvent, phase="rectification", time=at(30, 6, 18))
    await handlers.on_phase_closed(uow, closed)
    settle = unit(store, at(1, 7))
    assert await jobs.settle_campaign(settle, CAMPAIGN)
    settled = {
        e.subject: e for e in settle.events if isinstance(e, RectificationBranchSettledEvent)
    }
    ours = settled[BRANCH].data
    # 2 immediate completed + 1 gradual not yet due: 100 %.
    assert (ours.tasks_total, ours.tasks_completed, ours.tasks_overdue, ours.tasks_on_track) == (
        3,
        2,
        0,
        1,
    )
    assert ours.completion_rate == 1.0
    assert [(s.branch_id, s.tasks_on_track) for s in store.settlements] == [
        (BRANCH, 1),
        ("610526-edu-0008", 0),
    ]
    # After the settlement the gradual task is still followed until done; immediate ones not.
    november = unit(store, at(30, 11, 23))
    await jobs.sweep_once(november)
    # (p-1's escalation, never answered, is followed after the phase too.)
    assert [type(e) for e in november.events] == [RectificationEscalationOverdueEvent]
    december = unit(store, at(1, 12))
    assert await jobs.sweep_once(december) == 1
    [overdue] = december.events
    assert isinstance(overdue, RectificationTaskOverdueEvent)
    assert (overdue.subject, overdue.data.task_id) == (BRANCH, "t-3")
