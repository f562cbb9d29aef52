"""The handlers in memory: a fake store keeps the read models in dicts; each test feeds events
to the handlers of the table and checks what a reader of the API would see."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import pytest

from grassroots.contract import AnyEvent
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
from grassroots.contract.examples import CAMPAIGN, COUNTY, DATA, envelope
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting import views
from reporting.domain import Card, Problem, Task
from reporting.handlers import HANDLERS
from reporting.store.ingest import (
    ActivityRow,
    AnnualReviewRow,
    AppraisalRow,
    BranchRow,
    CampaignSeenRow,
    CardKey,
    CommendationRow,
    CommitteeAssessmentRow,
    CounterRow,
    DutyReportRow,
    LearningMeetingRow,
    PlanReviewRow,
    PlanRevisionRow,
    ProblemKey,
    PublicityRow,
    PublishedRoundRow,
    Registration,
    ReportingStore,
    ReviewOverdueRow,
    StandingRuleRow,
    SummaryReviewRow,
    TaskKey,
    latest_per_key,
)

E = TypeVar("E", bound=AnyEvent)
NOW = dt.datetime(2012, 7, 1, tzinfo=dt.UTC)
BRANCH = "610526-edu-0007"
COMMITTEE = "610526-edu-committee"
CARD = (CAMPAIGN, BRANCH)


class FakeStore(ReportingStore):
    """The read models in dicts, written as the SQL of ReportingStore writes them."""

    def __init__(self) -> None:  # no connection
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, BranchRow] = {}
        self.cards: dict[CardKey, dict[str, object]] = {}
        self.problems: dict[ProblemKey, Problem] = {}
        self.revisions: dict[tuple[str, str, int], PlanRevisionRow] = {}
        self.reviews: dict[tuple[str, str, str], PlanReviewRow] = {}
        self.reviews_overdue: dict[tuple[str, str, int], ReviewOverdueRow] = {}
        self.tasks: dict[TaskKey, Task] = {}
        self.commendations: dict[tuple[str, str, str], CommendationRow] = {}
        self.publicity: dict[tuple[str, str, str], PublicityRow] = {}
        self.learning_meetings: dict[tuple[str, str, str], LearningMeetingRow] = {}
        self.summary_reviews: dict[CardKey, SummaryReviewRow] = {}
        self.committee_assessments: dict[CardKey, CommitteeAssessmentRow] = {}
        self.duty_reports: dict[tuple[str, str, str], DutyReportRow] = {}
        self.appraisals: dict[tuple[str, str, str], AppraisalRow] = {}
        self.annual_reviews: dict[tuple[str, str, int], AnnualReviewRow] = {}
        self.standing_rules: dict[tuple[str, str, str], StandingRuleRow] = {}
        self.activities: dict[tuple[str, str, str], ActivityRow] = {}
        self.card_activities: Counter[CardKey] = Counter()  # cards.activities
        self.counters: Counter[tuple[str, str]] = Counter()
        self.published: dict[tuple[str, str], dt.datetime] = {}

    async def touch_campaigns(self, campaigns: Sequence[CampaignSeenRow]) -> None:
        for row in campaigns:
            known = self.campaigns.setdefault(row.campaign_id, row._asdict() | {"phases": {}})
            known["updated_at"] = max(known["updated_at"], row.updated_at)

    async def launch_campaign(
        self,
        *,
        campaign_id: str,
        county_code: str,
        name: str,
        year: int,
        plan: list[dict[str, Any]],
    ) -> None:
        self.campaigns[campaign_id].update(county_code=county_code, name=name, year=year, plan=plan)

    async def save_campaign_rules(self, campaign_id: str, rules: dict[str, Any]) -> None:
        self.campaigns[campaign_id]["rules"] = rules

    async def mark_phase(self, campaign_id: str, phase: str, moment: str, at: dt.datetime) -> None:
        self.campaigns[campaign_id]["phases"].setdefault(phase, {})[moment] = at.isoformat()

    async def save_branches(self, branches: Sequence[BranchRow]) -> None:
        self.branches.update((branch.branch_id, branch) for branch in branches)

    async def lock_cards(self, keys: Iterable[CardKey]) -> dict[CardKey, Card]:
        return {key: Card().with_columns(self.cards.setdefault(key, {})) for key in set(keys)}

    async def update_cards(self, changes: Mapping[CardKey, Mapping[str, object]]) -> None:
        for key, columns in changes.items():
            self.cards[key].update(columns)

    async def publish_rounds(self, rounds: Sequence[PublishedRoundRow]) -> None:
        for row in rounds:
            key = (row.campaign_id, row.round)
            self.published[key] = min(self.published.get(key, row.published_at), row.published_at)

    async def lock_problems(self, keys: Iterable[ProblemKey]) -> dict[ProblemKey, Problem]:
        return {key: self.problems[key] for key in keys if key in self.problems}

    async def save_problems(self, problems: Mapping[ProblemKey, Problem]) -> None:
        self.problems.update(problems)

    async def add_plan_revisions(self, revisions: Sequence[PlanRevisionRow]) -> None:
        for row in revisions:
            self.revisions.setdefault((row.campaign_id, row.branch_id, row.revision), row)

    async def add_plan_reviews(self, reviews: Sequence[PlanReviewRow]) -> None:
        for row in reviews:
            self.reviews.setdefault((row.campaign_id, row.branch_id, row.event_id), row)

    async def add_reviews_overdue(self, overdue: Sequence[ReviewOverdueRow]) -> None:
        for row in overdue:
            self.reviews_overdue[(row.campaign_id, row.branch_id, row.revision)] = row

    def lagging_parents(self) -> list[dict[str, Any]]:
        """What queries.lagging_parents answers, from the dicts: per superior, escalations
        past their days unanswered, and revisions past their review days with no review of
        them or a newer revision."""
        escalations: Counter[str] = Counter(
            p.overdue_to
            for p in self.problems.values()
            if p.overdue_to is not None and p.answer_waits_past_due
        )
        reviews: Counter[str] = Counter(
            waiting.reviewer_org_id
            for waiting in self.reviews_overdue.values()
            if not any(
                r.branch_id == waiting.branch_id and r.revision >= waiting.revision
                for r in self.reviews.values()
            )
        )
        return [
            {
                "org_id": org_id,
                "escalations_unanswered": escalations[org_id],
                "reviews_overdue": reviews[org_id],
                "name": None,
                "township": None,
                "initial_level": None,
                "final_level": None,
            }
            for org_id in sorted(escalations.keys() | reviews.keys())
        ]

    async def lock_tasks(
        self, branches: Iterable[CardKey], keys: Iterable[TaskKey]
    ) -> dict[TaskKey, Task]:
        wanted, named = set(branches), set(keys)
        return {k: task for k, task in self.tasks.items() if k[:2] in wanted or k in named}

    async def save_tasks(self, tasks: Mapping[TaskKey, Task]) -> None:
        self.tasks.update(tasks)

    async def registered_organisations(self, org_ids: Iterable[str]) -> dict[str, Registration]:
        return {
            org: Registration(self.branches[org].county_code, self.branches[org].kind)
            for org in org_ids
            if org in self.branches
        }

    async def campaign_counties(self, campaign_ids: Iterable[str]) -> dict[str, str]:
        return {c: self.campaigns[c]["county_code"] for c in campaign_ids if c in self.campaigns}

    async def add_commendations(
        self, commendations: Sequence[CommendationRow]
    ) -> dict[CardKey, int]:
        added: Counter[CardKey] = Counter()
        for row in commendations:
            key = (row.campaign_id, row.branch_id, row.event_id)
            if key not in self.commendations:
                self.commendations[key] = row
                added[(row.campaign_id, row.branch_id)] += 1
        return dict(added)

    async def add_publicity(self, items: Sequence[PublicityRow]) -> None:
        for row in items:
            self.publicity.setdefault((row.campaign_id, row.branch_id, row.event_id), row)

    async def add_learning_meetings(self, meetings: Sequence[LearningMeetingRow]) -> None:
        for row in meetings:
            self.learning_meetings.setdefault((row.campaign_id, row.branch_id, row.event_id), row)

    async def add_duty_reports(self, reports: Sequence[DutyReportRow]) -> None:
        for row in reports:
            self.duty_reports.setdefault((row.campaign_id, row.org_id, row.event_id), row)

    async def add_standing_rules(self, rules: Sequence[StandingRuleRow]) -> None:
        for row in rules:
            self.standing_rules.setdefault((row.campaign_id, row.org_id, row.event_id), row)

    async def save_summary_reviews(self, reviews: Sequence[SummaryReviewRow]) -> None:
        rows = [*self.summary_reviews.values(), *reviews]
        latest = latest_per_key(rows, ("campaign_id", "branch_id"), "reviewed_at")
        self.summary_reviews = {(r.campaign_id, r.branch_id): r for r in latest}

    async def save_committee_assessments(
        self, assessments: Sequence[CommitteeAssessmentRow]
    ) -> None:
        rows = [*self.committee_assessments.values(), *assessments]
        latest = latest_per_key(rows, ("campaign_id", "branch_id"), "assessed_at")
        self.committee_assessments = {(r.campaign_id, r.branch_id): r for r in latest}

    async def save_appraisals(self, appraisals: Sequence[AppraisalRow]) -> None:
        rows = [*self.appraisals.values(), *appraisals]
        latest = latest_per_key(rows, ("campaign_id", "org_id", "rater_group"), "appraised_at")
        self.appraisals = {(r.campaign_id, r.org_id, r.rater_group): r for r in latest}

    async def save_annual_reviews(self, reviews: Sequence[AnnualReviewRow]) -> None:
        rows = [*self.annual_reviews.values(), *reviews]
        latest = latest_per_key(rows, ("campaign_id", "org_id", "year"), "reviewed_at")
        self.annual_reviews = {(r.campaign_id, r.org_id, r.year): r for r in latest}

    async def add_activities(self, activities: Sequence[ActivityRow]) -> dict[CardKey, int]:
        added: Counter[CardKey] = Counter()
        for a in activities:
            if (a.campaign_id, a.branch_id, a.event_id) not in self.activities:
                self.activities[(a.campaign_id, a.branch_id, a.event_id)] = a
                added[(a.campaign_id, a.branch_id)] += 1
        self.card_activities.update(added)
        return dict(added)

    async def add_to_counters(self, changes: Sequence[CounterRow]) -> None:
        for row in changes:
            self.counters[(row.campaign_id, row.name)] += row.value

    def counter(self, name: str) -> int:
        return self.counters[(CAMPAIGN, name)]


def event(
    kind: type[E],
    /,
    *,
    event_id: str | None = None,
    time: dt.datetime | None = None,
    county: str = COUNTY,
    **data: object,
) -> E:
    """An event of `kind` from the contract's example, with `data` changed."""
    fields = {**DATA[kind.event_type], **data}
    return kind.model_validate(
        envelope(kind.event_type, fields, event_id=event_id, time=time, county=county)
    )


async def apply(store: FakeStore, *events: AnyEvent) -> UnitOfWork[ReportingStore]:
    """The events in one unit of work, each by the table's handler for it (one at a time,
    as after a refusal), then the unit's deferred writes."""
    uow = UnitOfWork[ReportingStore](store, service="reporting", now=NOW)
    for one in events:
        registration = HANDLERS.get(one.type)
        assert registration is not None, one.type
        await registration.one(uow, one)
    await uow.flush()
    return uow


async def apply_batch(store: FakeStore, events: Sequence[AnyEvent]) -> None:
    """The events together, by the table's batch handler, as the consumer's fast path does."""
    uow = UnitOfWork[ReportingStore](store, service="reporting", now=NOW)
    registration = HANDLERS.get(events[0].type)
    assert registration is not None and registration.many is not None
    await registration.many(uow, events)
    await uow.flush()


async def county() -> FakeStore:
    """The campaign launched, its committee and two branches registered (county 610526)."""
    store = FakeStore()
    await apply(
        store,
        event(CampaignLaunchedEvent),
        event(OrgBranchRegisteredEvent, branch_id=COMMITTEE, kind="committee", parent_id=None),
        event(OrgBranchRegisteredEvent),
        event(OrgBranchRegisteredEvent, branch_id="610526-edu-0008", name="尧山中学党支部"),
    )
    return store


def counters(store: FakeStore, *prefixes: str) -> dict[str, int]:
    """The campaign's counters whose names start with one of `prefixes` (zeros left out)."""
    return {
        name: value
        for (campaign_id, name), value in store.counters.items()
        if campaign_id == CAMPAIGN and name.startswith(prefixes) and value
    }


def task(title: str = "更新党员活动室", **changes: object) -> dict[str, object]:
    planned = dict(DATA["rectification.commitment_published"]["tasks"][0])
    return planned | {"title": title} | changes


async def test_a_campaign_is_launched_and_its_phases_open_and_close() -> None:
    store = FakeStore()
    opened = dt.datetime(2012, 3, 1, tzinfo=dt.UTC)
    closed = dt.datetime(2012, 4, 15, tzinfo=dt.UTC)
    uow = await apply(
        store,
        event(CampaignLaunchedEvent, time=dt.datetime(2012, 2, 20, tzinfo=dt.UTC)),
        event(CampaignPhaseOpenedEvent, time=opened),
        event(CampaignPhaseClosedEvent, time=closed),
    )
    campaign = store.campaigns[CAMPAIGN]
    assert campaign["name"] == "蒲城县教育系统基层组织建设年" and campaign["year"] == 2012
    assert campaign["county_code"] == "610526"
    assert [w["phase"] for w in campaign["plan"]] == [
        "survey_grading",
        "rectification",
        "emulation",
        "assessment",
    ]
    assert campaign["plan"][0]["opens_on"] == "2012-03-01"  # stored as JSON
    assert campaign["phases"] == {
        "survey_grading": {"opened_at": opened.isoformat(), "closed_at": closed.isoformat()}
    }
    assert campaign["updated_at"] == closed
    assert uow.events == [] and uow.outgoing == []  # reporting emits nothing


async def test_any_event_of_a_campaign_moves_its_updated_at_forward_only() -> None:
    store = FakeStore()
    late, early = dt.datetime(2012, 5, 2, tzinfo=dt.UTC), dt.datetime(2012, 5, 1, tzinfo=dt.UTC)
    await apply(
        store,
        event(GradingResultsPublishedEvent, time=late),
        event(RectificationCommitmentMissingEvent, time=early),
    )
    assert store.campaigns[CAMPAIGN]["updated_at"] == late
    assert store.counter("commitments:missing") == 1


async def test_the_latest_registration_of_a_branch_wins() -> None:
    store = FakeStore()
    await apply_batch(
        store,
        [
            event(OrgBranchRegisteredEvent, member_count=20),
            event(OrgBranchRegisteredEvent, member_count=25, township=None),
            event(OrgBranchRegisteredEvent, branch_id="610526-edu-0008", kind="committee"),
        ],
    )
    assert store.branches[BRANCH] == BranchRow(
        branch_id=BRANCH,
        county_code="610526",
        kind="branch",
        name="蒲城县城关中学党支部",
        unit="蒲城县城关中学",
        township=None,
        parent_id="610526-edu-committee",
        secretary_name="王建国",
        member_count=25,
    )
    assert store.branches["610526-edu-0008"].kind == "committee"


async def test_problems_are_listed_the_latest_wins_and_escalation_is_noted() -> None:
    store = FakeStore()
    await apply_batch(
        store,
        [
            event(RectificationProblemListedEvent, description="旧的描述"),
            event(RectificationProblemListedEvent, description="新的描述", needs_superior=False),
        ],
    )
    await apply(store, event(RectificationProblemEscalatedEvent))
    assert store.problems[(CAMPAIGN, BRANCH, "p-1")] == Problem(
        description="新的描述",
        source="public",
        needs_superior=False,
        listed=True,
        escalated_to="610526-edu-committee",
    )
    assert counters(store, "problems:", "prominent:", "escalations:") == {
        "problems:total": 1,
        "problems:open": 1,
        "prominent:total": 1,
        "escalations:total": 1,
        "escalations:waiting": 1,
    }


async def test_an_escalation_before_its_listing_makes_an_unlisted_problem() -> None:
    store = FakeStore()
    await apply(store, event(RectificationProblemEscalatedEvent))
    assert store.problems[(CAMPAIGN, BRANCH, "p-1")] == Problem(escalated_to="610526-edu-committee")
    assert counters(store, "problems:") == {}  # counted once listed
    await apply(store, event(RectificationProblemListedEvent))
    assert store.problems[(CAMPAIGN, BRANCH, "p-1")].listed
    assert counters(store, "problems:", "prominent:") == {
        "problems:total": 1,
        "problems:open": 1,
        "prominent:total": 1,
    }


async def test_a_published_commitment_becomes_the_card_and_its_tasks_the_plan() -> None:
    store = FakeStore()
    await apply(
        store,
        event(
            RectificationCommitmentPublishedEvent,
            tasks=[task(), task("公开承诺上墙", task_id="t-2", kind="immediate")],
        ),
    )
    card = store.cards[CARD]
    assert card["commitment_id"] == "c-0007" and card["commitment_revision"] == 1
    assert card["review"] == "pending" and card["guidance"] is None
    assert store.tasks[(CAMPAIGN, BRANCH, "t-2")] == Task(
        in_plan=True,
        deadline=dt.date(2012, 6, 30),
        responsible="王建国",
        title="公开承诺上墙",
        kind="immediate",
    )
    assert store.counter("commitments:published") == 1
    assert store.counter("tasks:total") == 2


async def test_a_newer_revision_replans_and_an_older_one_changes_nothing() -> None:
    store = FakeStore()
    two_tasks = [task(), task("公开承诺上墙", task_id="t-2")]
    await apply(store, event(RectificationCommitmentPublishedEvent, revision=2, tasks=two_tasks))
    await apply(store, event(RectificationCommitmentPublishedEvent, revision=1, tasks=[task("旧")]))
    assert store.cards[CARD]["commitment_revision"] == 2
    assert store.tasks[(CAMPAIGN, BRANCH, "t-1")].title == "更新党员活动室"

    await apply(store, event(RectificationTaskProgressedEvent, percent=40))
    await apply(store, event(RectificationCommitmentPublishedEvent, revision=3, tasks=[task("新")]))
    assert store.tasks[(CAMPAIGN, BRANCH, "t-1")] == Task(
        percent=40,  # progress kept
        in_plan=True,
        deadline=dt.date(2012, 6, 30),
        responsible="王建国",
        title="新",
        kind="gradual",
    )
    assert not store.tasks[(CAMPAIGN, BRANCH, "t-2")].in_plan  # dropped, history kept
    assert store.counter("tasks:total") == 1
    assert store.counter("commitments:published") == 1


async def test_tasks_progress_complete_and_fall_overdue_in_order() -> None:
    store = FakeStore()
    await apply(store, event(RectificationCommitmentPublishedEvent))
    await apply_batch(
        store,
        [
            event(RectificationTaskProgressedEvent, percent=60),
            event(RectificationTaskProgressedEvent, percent=30),  # backwards without a note
            event(RectificationTaskOverdueEvent),
        ],
    )
    assert store.tasks[(CAMPAIGN, BRANCH, "t-1")].percent == 60
    assert store.counter("tasks:overdue") == 1

    await apply(store, event(RectificationTaskProgressedEvent, percent=30, note="返工"))
    assert store.tasks[(CAMPAIGN, BRANCH, "t-1")].percent == 30

    await apply(store, event(RectificationTaskCompletedEvent))
    done = store.tasks[(CAMPAIGN, BRANCH, "t-1")]
    assert done.completed and done.percent == 100
    assert store.counter("tasks:completed") == 1
    assert store.counter("tasks:overdue") == 0  # completed wins over overdue


async def test_progress_on_an_unknown_task_is_ignored_and_overdue_comes_before_the_plan() -> None:
    store = FakeStore()
    await apply(
        store,
        event(RectificationTaskProgressedEvent, task_id="t-9"),
        event(RectificationTaskCompletedEvent, task_id="t-9"),
        event(RectificationTaskOverdueEvent, deadline="2012-06-01", responsible="李四"),
    )
    assert (CAMPAIGN, BRANCH, "t-9") not in store.tasks
    assert store.tasks[(CAMPAIGN, BRANCH, "t-1")] == Task(
        overdue=True, deadline=dt.date(2012, 6, 1), responsible="李四"
    )
    assert store.counters == Counter()  # outside the plan: counts nothing yet

    await apply(store, event(RectificationCommitmentPublishedEvent))
    planned = store.tasks[(CAMPAIGN, BRANCH, "t-1")]
    assert planned.in_plan and planned.overdue and planned.deadline == dt.date(2012, 6, 30)
    assert store.counter("tasks:overdue") == 1


async def test_a_plans_events_interleaved_in_one_batch_change_it_as_one_at_a_time() -> None:
    """Commitments, reviews, task events and card columns of a branch in one run: each event
    sees what the events before it left (a review of the revision current then, progress on
    the plan of then), as applied one at a time."""
    two_tasks = [task(), task("公开承诺上墙", task_id="t-2", kind="immediate", problem_id=None)]
    three_tasks = [*two_tasks, task("建立台账", task_id="t-3", problem_id=None)]
    stream: list[AnyEvent] = [
        event(RectificationTaskOverdueEvent, task_id="t-3", deadline="2012-06-01"),
        event(RectificationCommitmentPublishedEvent, tasks=two_tasks),
        event(RectificationTaskProgressedEvent, percent=40),
        event(RectificationTaskProgressedEvent, task_id="t-3", percent=10),  # not planned yet
        event(RectificationCommitmentReviewedEvent, guidance="请明确时限"),
        event(RectificationCommitmentPublishedEvent, revision=2, tasks=three_tasks),
        event(RectificationCommitmentReviewedEvent, revision=1, guidance="过时"),  # superseded
        event(RectificationTaskCompletedEvent, task_id="t-2"),
        event(RectificationTaskProgressedEvent, task_id="t-3", percent=20),
        event(RectificationCommitmentReviewedEvent, revision=2, decision="approved", guidance=None),
        event(GradingBranchGradedEvent),
        event(RectificationCommitmentMissingEvent),
        event(RectificationBranchSettledEvent),
    ]
    one_at_a_time, together = FakeStore(), FakeStore()
    await apply(one_at_a_time, *stream)
    await apply_batch(together, stream)
    for store in (one_at_a_time, together):
        assert store.cards[CARD]["review"] == "approved"
        assert store.tasks[(CAMPAIGN, BRANCH, "t-3")].percent == 20
        assert store.tasks[(CAMPAIGN, BRANCH, "t-2")].completed
    assert together.cards == one_at_a_time.cards
    assert together.tasks == one_at_a_time.tasks
    assert together.revisions == one_at_a_time.revisions
    assert together.reviews == one_at_a_time.reviews
    assert +together.counters == +one_at_a_time.counters


def test_the_batched_types_of_a_topic_share_one_handler() -> None:
    """A partition's types interleave (a branch's plan, progress and reviews; a county's
    activities, meetings and reports): one handler per topic keeps its run whole."""
    by_topic: dict[str, set[object]] = {}
    for registration in HANDLERS:
        if registration.many is not None:
            topic = registration.event_class.topic
            by_topic.setdefault(topic, set()).add(registration.many)
    assert all(len(handlers) == 1 for handlers in by_topic.values()), by_topic


async def test_grades_and_incomplete_rounds_set_the_card_and_move_the_level_counters() -> None:
    store = FakeStore()
    await apply(store, event(GradingBranchIncompleteEvent))
    assert store.cards[CARD]["initial_missing"] == ["appraisal"]
    assert store.counter("incomplete:initial") == 1

    await apply_batch(
        store,
        [
            event(GradingBranchGradedEvent),
            event(GradingBranchGradedEvent, round="final", level="strong", moved_up=True),
        ],
    )
    card = store.cards[CARD]
    assert card["initial_level"] == "fairly_strong" and card["initial_missing"] == []
    assert card["initial_total"] == 83.8 and card["initial_basis"] == "computed"
    assert card["final_level"] == "strong" and card["moved_up"] is True
    assert store.counter("incomplete:initial") == 0
    assert store.counter("level:initial:fairly_strong") == 1
    assert store.counter("level:final:strong") == 1
    assert store.counter("moved_up") == 1


SUPPLEMENTARY_RULE = {"rule": "supplementary", "level": "average", "missing": ["appraisal"]}


def level_counters(store: FakeStore, round_: str = "initial") -> dict[str, int]:
    names = [f"level:{round_}:{lv}" for lv in ("strong", "fairly_strong", "average", "weak")]
    return {name: store.counter(name) for name in [*names, f"incomplete:{round_}"]}


async def test_a_supplementary_result_moves_an_incomplete_branch_to_its_level() -> None:
    store = FakeStore()
    other = "610526-edu-0008"
    await apply(
        store,
        event(GradingBranchIncompleteEvent),
        event(GradingBranchIncompleteEvent, branch_id=other),
        event(GradingBranchGradedEvent, branch_id="610526-edu-0009", level="strong"),
    )
    before = level_counters(store)
    assert before["incomplete:initial"] == 2 and before["level:initial:strong"] == 1

    supplementary = event(
        GradingBranchGradedEvent,
        event_id="e-supplementary",
        level="average",
        total=71.2,
        basis="override",
        computed_level="fairly_strong",
        override_reason="党员群众评议无法组织，由上级党组织单独评定",
        supplementary=True,
        rules=[
            {"rule": "override", "level": "average", "reason": "党员群众评议无法组织"},
            SUPPLEMENTARY_RULE,
        ],
    )
    await apply(store, supplementary)
    after = level_counters(store)
    assert after["incomplete:initial"] == before["incomplete:initial"] - 1
    assert after["level:initial:average"] == before["level:initial:average"] + 1
    assert {k: v - before[k] for k, v in after.items() if v != before[k]} == {
        "incomplete:initial": -1,
        "level:initial:average": 1,
    }
    card = store.cards[CARD]
    assert card["initial_level"] == "average" and card["initial_missing"] == []
    assert card["initial_supplementary"] is True and card["initial_corrected"] is False
    assert card["initial_basis"] == "override"
    assert card["initial_computed_level"] == "fairly_strong"
    assert card["initial_override_reason"] == "党员群众评议无法组织，由上级党组织单独评定"
    assert card["initial_rules"] == [
        {"rule": "override", "level": "average", "reason": "党员群众评议无法组织"},
        SUPPLEMENTARY_RULE,
    ]

    # Delivered again, repeated with another id and level, or the old notice again: no change.
    cards_before, counters_before = {k: dict(v) for k, v in store.cards.items()}, +store.counters
    await apply(
        store,
        supplementary,
        event(GradingBranchGradedEvent, level="strong", supplementary=True),
        event(GradingBranchIncompleteEvent),
    )
    await apply_batch(store, [supplementary, event(GradingBranchIncompleteEvent)])
    assert store.cards == cards_before
    assert +store.counters == counters_before

    # Only a correction changes a level once set.
    await apply(
        store,
        event(
            GradingBranchGradedEvent,
            level="fairly_strong",
            basis="override",
            corrected=True,
            override_reason="评议材料补齐后更正",
            rules=[{"rule": "override", "level": "fairly_strong", "reason": "评议材料补齐后更正"}],
        ),
    )
    assert store.cards[CARD]["initial_level"] == "fairly_strong"
    assert store.cards[CARD]["initial_corrected"] is True
    assert store.counter("level:initial:average") == before["level:initial:average"]
    assert store.counter("level:initial:fairly_strong") == before["level:initial:fairly_strong"] + 1
    assert store.counter("incomplete:initial") == 1  # the other branch is still incomplete


async def test_a_supplementary_result_in_the_same_batch_as_the_notice_moves_it_too() -> None:
    store = FakeStore()
    await apply_batch(
        store,
        [
            event(GradingBranchIncompleteEvent),
            event(GradingBranchGradedEvent, supplementary=True, rules=[SUPPLEMENTARY_RULE]),
            event(GradingBranchIncompleteEvent),  # the notice repeated later: no change
        ],
    )
    assert store.cards[CARD]["initial_level"] == "fairly_strong"
    assert level_counters(store) == {
        "level:initial:strong": 0,
        "level:initial:fairly_strong": 1,
        "level:initial:average": 0,
        "level:initial:weak": 0,
        "incomplete:initial": 0,
    }


async def test_the_why_of_both_rounds_is_kept_on_the_card() -> None:
    store = FakeStore()
    quota = {"rule": "quota", "level": "fairly_strong", "threshold": 0.3}
    cap = {
        "rule": "upgrade_cap",
        "level": "fairly_strong",
        "threshold": 0.8,
        "completion_rate": 0.7,
    }
    await apply_batch(
        store,
        [
            event(
                GradingBranchGradedEvent,
                level="fairly_strong",
                total=91.2,
                computed_level="strong",
                quota_limited=True,
                rules=[quota],
            ),
            event(
                GradingBranchGradedEvent,
                round="final",
                level="fairly_strong",
                total=92.4,
                computed_level="strong",
                previous_level="fairly_strong",
                moved_up=False,
                completion_rate=0.7,
                settled=True,
                upgrade_capped=True,
                rules=[cap],
            ),
        ],
    )
    card = store.cards[CARD]
    assert card["initial_quota_limited"] is True and card["initial_rules"] == [quota]
    assert card["initial_computed_level"] == "strong" and card["initial_total"] == 91.2
    assert card["final_upgrade_capped"] is True and card["final_rules"] == [cap]
    assert card["final_completion_rate"] == 0.7 and card["final_settled"] is True
    assert card["final_quota_limited"] is False and card["final_supplementary"] is False
    assert card["initial_scores"] == card["final_scores"] == DATA["grading.branch_graded"]["scores"]
    assert card["moved_up"] is False
    assert store.counter("level:initial:fairly_strong") == 1
    assert store.counter("level:final:fairly_strong") == 1


async def test_a_published_round_is_noted_once_with_its_first_time() -> None:
    store = FakeStore()
    first = dt.datetime(2012, 4, 16, tzinfo=dt.UTC)
    await apply(
        store,
        event(GradingResultsPublishedEvent, time=first + dt.timedelta(hours=1)),
        event(GradingResultsPublishedEvent, time=first),
    )
    assert store.published == {(CAMPAIGN, "initial"): first}
    await apply(store, event(GradingResultsPublishedEvent, round="final", time=first))
    assert set(store.published) == {(CAMPAIGN, "initial"), (CAMPAIGN, "final")}


async def test_a_review_counts_only_for_the_current_revision() -> None:
    store = FakeStore()
    await apply(store, event(RectificationCommitmentPublishedEvent, revision=2))
    await apply(store, event(RectificationCommitmentReviewedEvent, revision=1))  # superseded
    assert store.cards[CARD]["review"] == "pending"
    assert store.counter("commitments:returned") == 0

    await apply(
        store,
        event(RectificationCommitmentReviewedEvent, revision=2),
        event(RectificationCommitmentReviewedEvent, revision=2, decision="approved", guidance=None),
    )
    assert store.cards[CARD]["review"] == "approved" and store.cards[CARD]["guidance"] is None
    assert store.counter("commitments:approved") == 1
    assert store.counter("commitments:returned") == 0


async def test_a_missing_commitment_counts_until_one_is_published() -> None:
    store = FakeStore()
    await apply(store, event(RectificationCommitmentMissingEvent))
    assert store.cards[CARD]["commitment_missing"] is True
    assert store.counter("commitments:missing") == 1
    await apply(store, event(RectificationCommitmentPublishedEvent))
    assert store.counter("commitments:missing") == 0


async def test_settlement_and_assessment_set_their_columns() -> None:
    store = FakeStore()
    await apply(store, event(RectificationBranchSettledEvent), event(AssessmentBranchReviewedEvent))
    assert store.cards[CARD]["settled_rate"] == 0.8
    assert store.cards[CARD]["assessment_score"] == 86
    assert store.counters == Counter()


async def test_a_commendation_counts_once_per_event() -> None:
    store = await county()
    commended = event(EmulationCommendedEvent, event_id="e-commended")
    await apply(store, commended)
    await apply(store, commended)
    assert list(store.commendations.values()) == [
        CommendationRow(
            CAMPAIGN,
            BRANCH,
            "e-commended",
            "advanced_organization",
            "局党委“七一”创先争优专项表彰",
            None,
            COMMITTEE,
            dt.date(2012, 7, 1),
        )
    ]
    assert store.cards[CARD]["commendations"] == 1
    assert store.counter("commendations") == 1


async def test_activities_count_once_per_event_on_the_card_and_the_summary() -> None:
    store = await county()
    first, second = (
        event(EmulationActivityReportedEvent, event_id=str(uuid.uuid4())) for _ in range(2)
    )
    await apply_batch(store, [first, second, first])
    await apply(store, second)
    assert store.activities[(CAMPAIGN, BRANCH, first.id)] == ActivityRow(
        CAMPAIGN, BRANCH, first.id, "village_visit", "在职党员进村入户", dt.date(2012, 7, 12)
    )
    assert store.card_activities[CARD] == 2
    assert store.counter("activities") == 2


async def test_counters_of_a_unit_are_summed_and_written_once() -> None:
    store = FakeStore()
    written: list[Sequence[CounterRow]] = []
    original = store.add_to_counters

    async def spy(changes: Sequence[CounterRow]) -> None:
        written.append(changes)
        await original(changes)

    store.add_to_counters = spy  # type: ignore[method-assign]
    await apply(
        store,
        event(RectificationCommitmentMissingEvent),
        event(RectificationCommitmentMissingEvent, branch_id="610526-edu-0008"),
        event(RectificationBranchSettledEvent),  # changes no counter
    )
    assert written == [[CounterRow(CAMPAIGN, "commitments:missing", 2)]]


# Problems followed through (issue 14): where each problem stands and the superior's answer, as
# rectification.problem_updated says them; the plan's every revision and review; superiors
# lagging for an escalation unanswered or a plan unreviewed past their days.

P1 = (CAMPAIGN, BRANCH, "p-1")
T = dt.datetime(2012, 5, 3, 9, tzinfo=dt.UTC)


def listed(problem_id: str, source: str, needs_superior: bool = False) -> AnyEvent:
    return event(
        RectificationProblemListedEvent,
        problem_id=problem_id,
        description=f"问题{problem_id}",
        source=source,
        needs_superior=needs_superior,
    )


def updated(
    problem_id: str = "p-1", *, time: dt.datetime | None = None, **data: object
) -> RectificationProblemUpdatedEvent:
    """A problem_updated as rectification publishes it (no escalation unless given)."""
    fields: dict[str, object] = {"problem_id": problem_id, "task_id": None, "escalation": None}
    made = RectificationProblemUpdatedEvent.model_validate(
        envelope(
            "rectification.problem_updated",
            DATA["rectification.problem_updated"] | fields | data,
            time=time,
        )
    )
    return made


def escalation(**answer: object) -> dict[str, object]:
    return {"to_org_id": COMMITTEE, **answer}


ACCEPTED = {"answer": "accepted", "action": "局党委统筹专项经费", "due": "2012-06-20"}


def card_problem(store: FakeStore, key: ProblemKey = P1) -> dict[str, Any]:
    """The problem as the card's API shows it (the store's row, as queries.card_lists reads
    it: no task title or organisation name joined here)."""
    problem = store.problems[key]
    row = {"problem_id": key[2], **vars(problem), "task_title": None, "escalated_to_name": None}
    return views.problem(row)


async def test_a_problem_moves_through_its_statuses_as_rectification_says() -> None:
    store = FakeStore()
    await apply_batch(
        store,
        [listed("p-1", "public"), listed("p-2", "members"), listed("p-3", "survey")],
    )
    assert counters(store, "problems:", "prominent:") == {
        "problems:total": 3,
        "problems:open": 3,
        "prominent:total": 2,
    }
    assert card_problem(store)["status"] == "open"
    assert card_problem(store)["status_label"] == "未整改"

    await apply_batch(
        store,
        [
            updated(status="in_rectification", task_id="t-1", time=T),
            updated("p-2", status="deferred", reason="需随校舍改造一并解决"),
        ],
    )
    assert store.problems[P1].status == "in_rectification"
    assert store.problems[P1].task_id == "t-1"
    shown = card_problem(store, (CAMPAIGN, BRANCH, "p-2"))
    assert (shown["status"], shown["status_label"]) == ("deferred", "暂缓整改")
    assert shown["reason"] == "需随校舍改造一并解决" and shown["evidence"] is None

    await apply(store, updated(status="resolved", evidence="验收记录", time=T))
    resolved = card_problem(store)
    assert (resolved["status"], resolved["status_label"]) == ("resolved", "已解决")
    assert resolved["task_id"] == "t-1"  # the task naming it is kept
    assert resolved["evidence"] == "验收记录" and resolved["escalation"] is None
    assert resolved["updated_at"] == "2012-05-03T17:00:00+08:00"
    expected = {
        "problems:total": 3,
        "problems:open": 1,
        "problems:resolved": 1,
        "problems:deferred": 1,
        "prominent:total": 2,
        "prominent:resolved": 1,
    }
    assert counters(store, "problems:", "prominent:") == expected

    # Delivered again, or the same state under another id: nothing changes.
    problems, before = dict(store.problems), +store.counters
    await apply(store, updated(status="resolved", evidence="验收记录", time=T))
    await apply_batch(
        store,
        [listed("p-3", "survey"), updated("p-2", status="deferred", reason="需随校舍改造一并解决")],
    )
    assert store.problems == problems and +store.counters == before

    # Listed again as found by the branch itself: no longer a prominent problem.
    await apply(store, listed("p-1", "self"))
    assert counters(store, "prominent:") == {"prominent:total": 1}


async def test_the_superiors_answer_is_kept_with_when_it_came() -> None:
    store = FakeStore()
    await apply(store, listed("p-1", "public", needs_superior=True))
    await apply(store, event(RectificationProblemEscalatedEvent))
    waiting = card_problem(store)["escalation"]
    assert waiting["to_org_id"] == COMMITTEE and waiting["answer"] is None
    assert (waiting["answer_label"], waiting["text"]) == ("待答复", "待答复")
    assert counters(store, "escalations:") == {"escalations:total": 1, "escalations:waiting": 1}

    await apply(store, updated(status="open", escalation=escalation(**ACCEPTED), time=T))
    later = T + dt.timedelta(days=10)
    await apply(  # a later change of status with the same answer: still answered at T
        store,
        updated(
            status="in_rectification", task_id="t-1", escalation=escalation(**ACCEPTED), time=later
        ),
    )
    accepted = card_problem(store)["escalation"]
    assert accepted | {"text": ""} == {
        "to_org_id": COMMITTEE,
        "to_org_name": None,
        "answer": "accepted",
        "answer_label": "已受理",
        "action": "局党委统筹专项经费",
        "due": "2012-06-20",
        "evidence": None,
        "reason": None,
        "answered_at": "2012-05-03T17:00:00+08:00",
        "overdue": False,
        "answer_due": None,
        "text": "",
    }
    assert accepted["text"] == "已受理：局党委统筹专项经费，2012年6月20日前完成（2012年5月3日答复）"
    assert counters(store, "escalations:") == {"escalations:total": 1, "escalations:answered": 1}

    # An update without an answer never takes it back; a new answer is kept with its time.
    await apply(store, updated(status="in_rectification", task_id="t-1", escalation=escalation()))
    assert store.problems[P1].answer == "accepted"
    resolved = escalation(answer="resolved", evidence="经费已拨付，设施已更新")
    await apply(
        store, updated(status="resolved", evidence="验收记录", escalation=resolved, time=later)
    )
    answer = card_problem(store)["escalation"]
    assert (answer["answer"], answer["action"], answer["evidence"]) == (
        "resolved",
        None,
        "经费已拨付，设施已更新",
    )
    assert answer["text"] == "已解决：经费已拨付，设施已更新（2012年5月13日答复）"
    assert counters(store, "escalations:") == {"escalations:total": 1, "escalations:answered": 1}


async def test_an_unanswered_escalation_makes_the_superior_lagging_until_it_answers() -> None:
    store = FakeStore()
    await apply(
        store,
        listed("p-1", "public", needs_superior=True),
        event(RectificationProblemEscalatedEvent),
        event(RectificationEscalationOverdueEvent),
    )
    assert store.problems[P1].overdue_to == COMMITTEE
    assert store.problems[P1].overdue_due == dt.date(2012, 5, 10)
    assert views.lagging([], store.lagging_parents())["items"] == [
        {
            "branch_id": COMMITTEE,
            "name": COMMITTEE,  # not registered here: its id
            "township": None,
            "reasons": ["escalation_unanswered"],
            "overdue_tasks": 0,
            "level": None,
            "escalations_unanswered": 1,
            "reviews_overdue": 0,
        }
    ]
    shown = card_problem(store)["escalation"]
    assert shown["overdue"] is True and shown["answer_due"] == "2012-05-10"
    assert shown["text"] == "待答复（应于2012年5月10日前答复，已逾期）"
    assert counters(store, "escalations:") == {
        "escalations:total": 1,
        "escalations:waiting": 1,
        "escalations:overdue": 1,
    }

    await apply(store, updated(status="open", escalation=escalation(**ACCEPTED)))
    assert views.lagging([], store.lagging_parents())["items"] == []
    assert card_problem(store)["escalation"]["overdue"] is False
    assert counters(store, "escalations:") == {"escalations:total": 1, "escalations:answered": 1}

    # Overdue named after the answer (another order): the superior answered, it is not lagging.
    await apply(store, event(RectificationEscalationOverdueEvent))
    assert store.lagging_parents() == []


async def test_an_overdue_review_makes_the_superior_lagging_until_a_review_comes() -> None:
    """…a review of that revision or of a newer one."""
    store = FakeStore()
    await apply(store, event(RectificationCommitmentPublishedEvent))
    await apply(store, event(RectificationReviewOverdueEvent))
    items = views.lagging([], store.lagging_parents())["items"]
    assert [(i["branch_id"], i["reasons"], i["reviews_overdue"]) for i in items] == [
        (COMMITTEE, ["review_overdue"], 1)
    ]
    await apply(store, event(RectificationCommitmentPublishedEvent, revision=2))
    assert store.lagging_parents() != []  # a newer revision is not a review
    await apply(store, event(RectificationReviewOverdueEvent, revision=2, due="2012-05-20"))
    assert [p["reviews_overdue"] for p in store.lagging_parents()] == [2]

    await apply(store, event(RectificationCommitmentReviewedEvent, revision=2))
    assert store.lagging_parents() == []  # a review of revision 2 answers both

    # The review came first (the two topics are read apart): never lagging for it.
    other = FakeStore()
    await apply(other, event(RectificationCommitmentPublishedEvent))
    await apply(other, event(RectificationCommitmentReviewedEvent))
    await apply(other, event(RectificationReviewOverdueEvent))
    assert other.lagging_parents() == []


async def test_a_superior_that_is_a_lagging_branch_too_shows_once_with_every_reason() -> None:
    store = FakeStore()
    await apply(
        store,
        event(RectificationEscalationOverdueEvent),
        event(RectificationReviewOverdueEvent, branch_id="610526-edu-0008"),
    )
    branch_row: dict[str, Any] = {
        "branch_id": COMMITTEE,
        "name": "局党委",
        "township": None,
        "tasks_overdue": 1,
        "commitment_missing": False,
        "commitment_id": "c",
        "initial_missing": [],
        "final_missing": [],
        "initial_level": "average",
        "final_level": None,
    }
    other = branch_row | {"branch_id": BRANCH, "name": "城关中学党支部", "tasks_overdue": 3}
    items = views.lagging([branch_row, other], store.lagging_parents())["items"]
    assert [(i["branch_id"], i["reasons"]) for i in items] == [
        (COMMITTEE, ["task_overdue", "escalation_unanswered", "review_overdue"]),
        (BRANCH, ["task_overdue"]),
    ]
    assert (items[0]["name"], items[0]["level"], items[0]["overdue_tasks"]) == (
        "局党委",
        "average",
        1,
    )
    assert (items[0]["escalations_unanswered"], items[0]["reviews_overdue"]) == (1, 1)


async def test_the_plan_history_keeps_every_revision_and_review_in_order() -> None:
    store = FakeStore()
    first = dt.datetime(2012, 4, 20, 1, tzinfo=dt.UTC)
    two_tasks = [task(), task("公开承诺上墙", task_id="t-2", kind="immediate", problem_id=None)]
    await apply(
        store,
        event(RectificationCommitmentPublishedEvent, tasks=two_tasks, time=first),
        event(
            RectificationCommitmentReviewedEvent,
            guidance="请明确时限",
            time=first + dt.timedelta(days=2),
        ),
    )
    three_tasks = [*two_tasks, task("建立台账", task_id="t-3", problem_id=None)]
    await apply_batch(
        store,
        [
            event(
                RectificationCommitmentPublishedEvent,
                revision=2,
                tasks=three_tasks,
                time=first + dt.timedelta(days=5),
            ),
            event(RectificationCommitmentPublishedEvent, revision=1, tasks=[task("旧")]),  # older
        ],
    )
    await apply_batch(
        store,
        [
            event(RectificationCommitmentReviewedEvent, revision=1, guidance="过时"),  # superseded
            event(
                RectificationCommitmentReviewedEvent,
                revision=2,
                decision="approved",
                guidance=None,
                uncovered_reason="该问题已由县局统一解决",
                time=first + dt.timedelta(days=7),
            ),
        ],
    )
    assert sorted(store.revisions) == [(CAMPAIGN, BRANCH, 1), (CAMPAIGN, BRANCH, 2)]
    assert [t["title"] for t in store.revisions[(CAMPAIGN, BRANCH, 1)].tasks] == [
        "更新党员活动室",
        "公开承诺上墙",
    ]
    assert [(r.revision, r.decision) for r in store.reviews.values()] == [
        (1, "returned"),
        (2, "approved"),
    ]
    history = views.plan_history(
        [row._asdict() for row in store.revisions.values()],
        [row._asdict() | {"reviewer_name": "局党委"} for row in store.reviews.values()],
        [],
    )
    assert [(h["revision"], h["task_count"], h["published_at"]) for h in history] == [
        (1, 2, "2012-04-20T09:00:00+08:00"),
        (2, 3, "2012-04-25T09:00:00+08:00"),
    ]
    assert history[0]["tasks"][0] == {
        "task_id": "t-1",
        "problem_id": "p-1",
        "title": "更新党员活动室",
        "responsible": "王建国",
        "requirement": "六月底前完成",
        "measures": "申请经费、统一采购",
        "deadline": "2012-06-30",
        "kind": "gradual",
        "kind_label": "逐步整改",
    }
    returned, approved = history[0]["reviews"], history[1]["reviews"]
    assert returned == [
        {
            "decision": "returned",
            "decision_label": "已退回",
            "reviewer_org_id": COMMITTEE,
            "reviewer_name": "局党委",
            "reviewed_at": "2012-04-22T09:00:00+08:00",
            "guidance": "请明确时限",
            "uncovered_reason": None,
            "text": "已退回（局党委，2012年4月22日），指导意见：请明确时限",
        }
    ]
    assert approved[0]["uncovered_reason"] == "该问题已由县局统一解决"
    assert approved[0]["text"] == (
        "已通过（局党委，2012年4月27日），突出问题未纳入整改的说明：该问题已由县局统一解决"
    )
    assert store.cards[CARD]["review"] == "approved"
    assert store.counter("commitments:approved") == 1


async def test_a_settlement_keeps_the_gradual_tasks_on_track() -> None:
    store = FakeStore()
    await apply(
        store,
        event(
            RectificationBranchSettledEvent,
            tasks_total=3,
            tasks_completed=2,
            tasks_overdue=0,
            tasks_on_track=1,
            completion_rate=1.0,
        ),
    )
    card = store.cards[CARD]
    assert views.settlement(card) == {
        "tasks_total": 3,
        "tasks_completed": 2,
        "tasks_overdue": 0,
        "tasks_on_track": 1,
        "completion_rate": 1.0,
    }
    assert views.settlement({}) is None


# Phases 3 and 4 (issue 15): commendations with who awarded them and when, publicity, learning
# meetings, summary reviews and the committee's assessments, reports on duty, appraisals,
# annual reviews, standing rules — kept as facts; inputs naming an organisation the county has
# not registered, or a graded organisation's own input for one outside the campaign, refused.

OTHER = "610526-edu-0008"
FOREIGN = "610527-edu-0001"  # registered in another county
T0 = dt.datetime(2012, 9, 1, 9, tzinfo=dt.UTC)


def later(days: int) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def answer(value: str, text: str) -> dict[str, str]:
    return {"answer": value, "text": text}


async def test_commendations_of_a_batch_keep_who_awarded_them_and_when() -> None:
    store = await county()
    own = event(
        EmulationCommendedEvent,
        branch_id=OTHER,
        honour="excellent_member",
        title="优秀共产党员",
        member_name="张丽",
        awarded_by=None,
        awarded_on=None,
        time=dt.datetime(2012, 7, 1, 16, 30, tzinfo=dt.UTC),  # 2 July 00:30 in the county
    )
    committee = event(EmulationCommendedEvent, awarded_on="2012-06-30")
    worker = event(
        EmulationCommendedEvent,
        honour="excellent_party_worker",
        title="优秀党务工作者",
        member_name="王建国",
        awarded_by=OTHER,
    )
    await apply_batch(store, [own, committee, worker, own])
    assert store.commendations[(CAMPAIGN, OTHER, own.id)] == CommendationRow(
        CAMPAIGN,
        OTHER,
        own.id,
        "excellent_member",
        "优秀共产党员",
        "张丽",
        None,
        dt.date(2012, 7, 2),
    )
    assert store.commendations[(CAMPAIGN, BRANCH, committee.id)].awarded_on == dt.date(2012, 6, 30)
    assert store.commendations[(CAMPAIGN, BRANCH, committee.id)].awarded_by == COMMITTEE
    assert store.commendations[(CAMPAIGN, BRANCH, worker.id)].awarded_by == OTHER
    assert store.cards[CARD]["commendations"] == 2
    assert store.cards[(CAMPAIGN, OTHER)]["commendations"] == 1
    assert store.counter("commendations") == 3
    await apply(store, worker)  # delivered again
    assert store.counter("commendations") == 3 and len(store.commendations) == 3


async def test_a_publicity_item_and_a_learning_meeting_are_kept_once_per_event() -> None:
    store = await county()
    item = event(EmulationPublicizedEvent, member_name="张丽", url="https://edu.example.org/1")
    meeting = event(EmulationLearningMeetingHeldEvent, time=later(1))
    await apply_batch(store, [item, item])
    await apply(store, meeting, meeting)
    assert list(store.publicity.values()) == [
        PublicityRow(
            CAMPAIGN,
            BRANCH,
            item.id,
            "张丽",
            "城关中学党支部：党员先锋岗进课堂",
            "education_website",
            "蒲城教育网“创先争优”专栏",
            dt.date(2012, 7, 20),
            "https://edu.example.org/1",
        )
    ]
    assert list(store.learning_meetings.values()) == [
        LearningMeetingRow(
            CAMPAIGN,
            BRANCH,
            meeting.id,
            dt.date(2012, 7, 25),
            "strong",
            ["蒲城县尧山中学党支部"],
            "对照先进找差距，确定争先进位目标为“强”。",
        )
    ]
    assert store.campaigns[CAMPAIGN]["updated_at"] == later(1)


async def test_the_latest_summary_review_is_kept_whatever_the_arrival_order() -> None:
    first = event(AssessmentSummaryReviewedEvent, time=T0)
    second = event(
        AssessmentSummaryReviewedEvent,
        time=later(2),
        problems_solved=answer("yes", "三个突出问题全部解决。"),
    )
    kept = SummaryReviewRow(
        CAMPAIGN,
        BRANCH,
        second.id,
        later(2),
        "yes",
        "四个阶段按时推进，资料齐全。",
        "yes",
        "三个突出问题全部解决。",
        "yes",
        "由“一般”晋位为“较强”。",
    )
    for order in ([first, second], [second, first]):
        store = await county()
        await apply(store, *order)
        assert store.summary_reviews == {CARD: kept}
        together = await county()
        await apply_batch(together, [*order, first])
        assert together.summary_reviews == {CARD: kept}


async def test_a_tie_in_time_is_broken_by_the_greater_event_id() -> None:
    a = event(AssessmentCommitteeAssessedEvent, event_id="id-a", time=T0, score=70)
    b = event(AssessmentCommitteeAssessedEvent, event_id="id-b", time=T0, score=91.5)
    for order in ([a, b], [b, a]):
        store = await county()
        await apply(store, *order)
        assert store.committee_assessments == {
            CARD: CommitteeAssessmentRow(
                CAMPAIGN,
                BRANCH,
                "id-b",
                T0,
                91.5,
                "fairly_strong",
                "整改扎实，群众满意度明显提高。",
            )
        }


async def test_a_committee_assessment_without_a_level_keeps_its_score() -> None:
    store = await county()
    await apply(store, event(AssessmentCommitteeAssessedEvent, level=None, comment=None))
    assessment = store.committee_assessments[CARD]
    assert (assessment.score, assessment.level, assessment.comment) == (88, None, None)
    assert "assessment_score" not in store.cards.get(CARD, {})  # the deprecated type's column


async def test_every_report_on_duty_and_standing_rule_is_kept() -> None:
    store = await county()
    reported = event(AssessmentDutyReportedEvent)
    again = event(AssessmentDutyReportedEvent, reported_on="2012-09-20", document_ref="补充述职")
    rule = event(AssessmentRuleEstablishedEvent)
    await apply_batch(store, [reported, again, reported])
    await apply_batch(store, [rule, rule])
    assert sorted(store.duty_reports.values()) == sorted(
        [
            DutyReportRow(
                CAMPAIGN,
                COMMITTEE,
                reported.id,
                "李明",
                "中共蒲城县委",
                dt.date(2012, 9, 10),
                "蒲教党发〔2012〕21号",
            ),
            DutyReportRow(
                CAMPAIGN,
                COMMITTEE,
                again.id,
                "李明",
                "中共蒲城县委",
                dt.date(2012, 9, 20),
                "补充述职",
            ),
        ]
    )
    assert list(store.standing_rules.values()) == [
        StandingRuleRow(
            CAMPAIGN,
            BRANCH,
            rule.id,
            "党员承诺践诺制度",
            dt.date(2012, 9, 20),
            "城中党发〔2012〕5号",
            None,
        )
    ]


async def test_an_appraisal_keeps_one_row_per_group_and_a_later_one_replaces_its_groups() -> None:
    store = await county()
    first = event(AssessmentOrgAppraisedEvent, time=T0)
    members = {"group": "members", "satisfied": 30, "basically_satisfied": 5, "dissatisfied": 2}
    branches = {"group": "branches", "satisfied": 47, "basically_satisfied": 3, "dissatisfied": 0}
    second = event(AssessmentOrgAppraisedEvent, time=later(3), groups=[members, branches])
    stale = event(
        AssessmentOrgAppraisedEvent,
        time=later(1),
        groups=[{"group": "branches", "satisfied": 1, "basically_satisfied": 1, "dissatisfied": 9}],
    )
    await apply(store, first)
    await apply_batch(store, [second, stale])
    counts = {
        group: (row.satisfied, row.basically_satisfied, row.dissatisfied, row.event_id)
        for (_, _, group), row in store.appraisals.items()
    }
    assert counts == {
        "branches": (47, 3, 0, second.id),
        "members": (30, 5, 2, second.id),
        "public_representatives": (18, 2, 0, first.id),
    }
    assert store.appraisals[(CAMPAIGN, COMMITTEE, "members")] == AppraisalRow(
        CAMPAIGN, COMMITTEE, "members", second.id, later(3), 30, 5, 2
    )


async def test_the_latest_annual_review_of_each_year_is_kept() -> None:
    store = await county()
    good = event(AssessmentAnnualReviewedEvent, time=T0, grade="good", comment="初评")
    excellent = event(AssessmentAnnualReviewedEvent, time=later(5))
    previous_year = event(AssessmentAnnualReviewedEvent, time=later(9), year=2011, grade="fair")
    await apply(store, excellent, good, previous_year)
    assert store.annual_reviews == {
        (CAMPAIGN, COMMITTEE, 2012): AnnualReviewRow(
            CAMPAIGN, COMMITTEE, 2012, excellent.id, later(5), "excellent", None
        ),
        (CAMPAIGN, COMMITTEE, 2011): AnnualReviewRow(
            CAMPAIGN, COMMITTEE, 2011, previous_year.id, later(9), "fair", None
        ),
    }


def unregistered(org_id: str, county_code: str = COUNTY) -> str:
    return (
        f"{org_id} is not a registered organisation of county {county_code}: register it"
        " (org.branch_registered) first"
    )


def not_graded(org_id: str) -> str:
    return f"{org_id} is not one of the organisations graded in campaign {CAMPAIGN}"


async def refused(store: FakeStore, refused_event: AnyEvent) -> str:
    """The reason the event is refused with — by itself, and in a batch after a good event of
    its type (the plumbing then applies the batch one event at a time) — and that nothing was
    written for it."""
    before = repr(vars(store))
    with pytest.raises(Rejected) as alone:
        await apply(store, refused_event)
    registration = HANDLERS.get(refused_event.type)
    assert registration is not None and registration.many is not None
    good = type(refused_event).model_validate(envelope(refused_event.type))
    uow = UnitOfWork[ReportingStore](store, service="reporting", now=NOW)
    with pytest.raises(Rejected) as in_batch:
        await registration.many(uow, [good, refused_event])
    assert in_batch.value.reason == alone.value.reason
    assert repr(vars(store)) == before
    return alone.value.reason


EVERY_INPUT = [
    EmulationCommendedEvent,
    EmulationActivityReportedEvent,
    EmulationPublicizedEvent,
    EmulationLearningMeetingHeldEvent,
    AssessmentSummaryReviewedEvent,
    AssessmentCommitteeAssessedEvent,
    AssessmentDutyReportedEvent,
    AssessmentOrgAppraisedEvent,
    AssessmentAnnualReviewedEvent,
    AssessmentRuleEstablishedEvent,
]
GRADED_INPUTS = [
    AssessmentSummaryReviewedEvent,
    AssessmentCommitteeAssessedEvent,
    EmulationLearningMeetingHeldEvent,
]


def naming(kind: type[E], org_id: str, *, county: str = COUNTY) -> E:
    """The example of `kind` about `org_id` (its subject)."""
    data = DATA[kind.event_type] | {kind.subject_field: org_id}
    return kind.model_validate(envelope(kind.event_type, data, county=county))


@pytest.mark.parametrize("kind", EVERY_INPUT, ids=lambda k: k.event_type)
async def test_an_input_naming_an_unregistered_organisation_is_refused(
    kind: type[AnyEvent],
) -> None:
    store = await county()
    assert await refused(store, naming(kind, "610526-edu-0404")) == unregistered("610526-edu-0404")


@pytest.mark.parametrize("kind", EVERY_INPUT, ids=lambda k: k.event_type)
async def test_an_input_naming_an_organisation_of_another_county_is_refused(
    kind: type[AnyEvent],
) -> None:
    store = await county()
    await apply(store, event(OrgBranchRegisteredEvent, branch_id=FOREIGN, county="610527"))
    assert await refused(store, naming(kind, FOREIGN)) == unregistered(FOREIGN)


async def test_a_commendation_by_an_unregistered_body_is_refused() -> None:
    store = await county()
    by_unknown = event(EmulationCommendedEvent, awarded_by="610526-edu-9999")
    assert await refused(store, by_unknown) == unregistered("610526-edu-9999")
    both = event(EmulationCommendedEvent, branch_id="610526-edu-0404", awarded_by=FOREIGN)
    assert await refused(store, both) == "; ".join(
        [unregistered("610526-edu-0404"), unregistered(FOREIGN)]
    )


@pytest.mark.parametrize("kind", GRADED_INPUTS, ids=lambda k: k.event_type)
async def test_a_graded_input_for_the_committee_is_refused(kind: type[AnyEvent]) -> None:
    store = await county()
    assert await refused(store, naming(kind, COMMITTEE)) == not_graded(COMMITTEE)


@pytest.mark.parametrize("kind", GRADED_INPUTS, ids=lambda k: k.event_type)
async def test_a_graded_input_for_a_branch_of_another_county_than_the_campaigns_is_refused(
    kind: type[AnyEvent],
) -> None:
    """Sent by the branch's own county, about the campaign of county 610526."""
    store = await county()
    await apply(store, event(OrgBranchRegisteredEvent, branch_id=FOREIGN, county="610527"))
    assert await refused(store, naming(kind, FOREIGN, county="610527")) == not_graded(FOREIGN)


async def test_an_organisation_s_input_into_another_county_s_campaign_is_refused() -> None:
    """A duty report of a registered organisation of county 610527 filed into the campaign of
    county 610526 would show in that county's 三级联述联评联考 table."""
    store = await county()
    await apply(store, event(OrgBranchRegisteredEvent, branch_id=FOREIGN, county="610527"))
    assert await refused(store, naming(AssessmentDutyReportedEvent, FOREIGN, county="610527")) == (
        f"campaign {CAMPAIGN} is a campaign of county 610526, not 610527"
    )


async def test_inputs_about_the_committee_and_general_branches_are_accepted() -> None:
    store = await county()
    general = "610526-edu-0100"
    await apply(
        store,
        event(OrgBranchRegisteredEvent, branch_id=general, kind="general_branch"),
        naming(AssessmentSummaryReviewedEvent, general),
        naming(EmulationActivityReportedEvent, COMMITTEE),  # only registered: any kind
        naming(AssessmentDutyReportedEvent, general),
        naming(EmulationCommendedEvent, general),
    )
    assert set(store.summary_reviews) == {(CAMPAIGN, general)}
    assert store.card_activities[(CAMPAIGN, COMMITTEE)] == 1
    assert len(store.duty_reports) == len(store.commendations) == 1


async def test_a_graded_input_before_the_launch_is_judged_by_the_events_county() -> None:
    store = FakeStore()
    await apply(store, event(OrgBranchRegisteredEvent))
    await apply(store, naming(AssessmentCommitteeAssessedEvent, BRANCH))
    assert set(store.committee_assessments) == {CARD}


async def test_the_deprecated_branch_review_is_kept_as_before_without_checks() -> None:
    store = FakeStore()  # nothing registered
    await apply(store, event(AssessmentBranchReviewedEvent, score=77))
    assert store.cards[CARD]["assessment_score"] == 77
    assert store.summary_reviews == {} and store.committee_assessments == {}
