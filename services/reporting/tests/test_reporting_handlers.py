"""The handlers in memory: a fake store keeps the read models in dicts; each test feeds events
to the handlers of the table and checks what a reader of the API would see."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

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
from grassroots.contract.examples import CAMPAIGN, DATA, envelope
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.domain import Card, Task
from reporting.handlers import HANDLERS
from reporting.store.ingest import (
    ActivityRow,
    BranchRow,
    CampaignSeenRow,
    CardKey,
    CommendationRow,
    CounterRow,
    ProblemRow,
    PublishedRoundRow,
    ReportingStore,
    TaskKey,
)

E = TypeVar("E", bound=AnyEvent)
NOW = dt.datetime(2012, 7, 1, tzinfo=dt.UTC)
BRANCH = "610526-edu-0007"
CARD = (CAMPAIGN, BRANCH)


class FakeStore(ReportingStore):
    """The read models in dicts, written as the SQL of ReportingStore writes them."""

    def __init__(self) -> None:  # no connection
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, BranchRow] = {}
        self.cards: dict[CardKey, dict[str, object]] = {}
        self.problems: dict[tuple[str, str, str], dict[str, object]] = {}
        self.tasks: dict[TaskKey, Task] = {}
        self.commendations: dict[tuple[str, str, str], CommendationRow] = {}
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

    async def save_problems(self, problems: Sequence[ProblemRow]) -> None:
        for p in problems:
            self.problems.setdefault((p.campaign_id, p.branch_id, p.problem_id), {}).update(
                p._asdict()
            )

    async def mark_escalated(
        self, campaign_id: str, branch_id: str, problem_id: str, to_org_id: str
    ) -> None:
        key = (campaign_id, branch_id, problem_id)
        self.problems.setdefault(key, {"description": "", "source": "self"})
        self.problems[key]["escalated_to"] = to_org_id

    async def lock_tasks_by_key(self, keys: Iterable[TaskKey]) -> dict[TaskKey, Task]:
        return {key: self.tasks[key] for key in keys if key in self.tasks}

    async def lock_tasks_of(self, branches: Iterable[CardKey]) -> dict[TaskKey, Task]:
        wanted = set(branches)
        return {key: task for key, task in self.tasks.items() if key[:2] in wanted}

    async def save_tasks(self, tasks: Mapping[TaskKey, Task]) -> None:
        self.tasks.update(tasks)

    async def add_commendation(self, commendation: CommendationRow) -> bool:
        key = (commendation.campaign_id, commendation.branch_id, commendation.event_id)
        if key in self.commendations:
            return False
        self.commendations[key] = commendation
        return True

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
    **data: object,
) -> E:
    """An event of `kind` from the contract's example, with `data` changed."""
    fields = {**DATA[kind.event_type], **data}
    return kind.model_validate(envelope(kind.event_type, fields, event_id=event_id, time=time))


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
    assert store.problems[(CAMPAIGN, BRANCH, "p-1")] == {
        "campaign_id": CAMPAIGN,
        "branch_id": BRANCH,
        "problem_id": "p-1",
        "description": "新的描述",
        "source": "public",
        "needs_superior": False,
        "escalated_to": "610526-edu-committee",
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
    store = FakeStore()
    commended = event(EmulationCommendedEvent, event_id="e-commended")
    await apply(store, commended)
    await apply(store, commended)
    assert list(store.commendations.values()) == [
        CommendationRow(
            CAMPAIGN, BRANCH, "e-commended", "advanced_organization", "先进基层党组织", None
        )
    ]
    assert store.cards[CARD]["commendations"] == 1
    assert store.counter("commendations") == 1


async def test_activities_count_once_per_event_on_the_card_and_the_summary() -> None:
    store = FakeStore()
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
