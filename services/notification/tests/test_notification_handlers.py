"""The handlers in memory: a fake store keeps what the service knows in dicts; each test feeds
events to the handlers and checks what was saved, who was told what (the deliveries planned
at the end of the unit of work) and the events emitted."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, TypeVar

import asyncpg
import pytest

from grassroots.contract import AnyEvent
from grassroots.contract.events import (
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    CampaignPhaseOpenedEvent,
    EmulationCommendedEvent,
    GradingBranchGradedEvent,
    GradingBranchIncompleteEvent,
    GradingResultsPublishedEvent,
    NotificationDeliveredEvent,
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
)
from grassroots.contract.examples import CAMPAIGN, COUNTY, DATA, OFFICE_SOURCE, envelope
from grassroots.contract.notification import NotificationOutcome
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.unit_of_work import UnitOfWork
from notification import handlers, planning
from notification.commendation_store import AnnouncementKey, CommendationRow, CommendationStore
from notification.commendations import on_commended
from notification.config import NotificationSettings
from notification.delivery_store import DeliveryStore, NewDelivery
from notification.planning import derived_id, outcome_event_id
from notification.store import (
    Escalation,
    NotificationStore,
    OrgRow,
    PhaseWindowRow,
    ProblemRow,
    Revision,
    TaskKey,
    TaskRow,
)

E = TypeVar("E", bound=AnyEvent)
NOW = dt.datetime(2012, 5, 20, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
BRANCH = "610526-edu-0007"
OTHER = "610526-edu-0008"
OFFICE = "610526-edu-committee"


class FakeDeliveries(DeliveryStore):
    """Deliveries and inbox messages in dicts, each (by its id) once."""

    def __init__(self) -> None:  # no connection
        self.planned: dict[str, NewDelivery] = {}
        self.inbox: dict[str, tuple[str, str, dt.datetime]] = {}  # id: (org, subject, created)

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> set[str]:
        new = {row.notification_id for row in rows if row.notification_id not in self.planned}
        for row in rows:
            self.planned.setdefault(row.notification_id, row)
        return new

    async def insert_inbox_messages(
        self, rows: Sequence[NewDelivery], created_at: dt.datetime
    ) -> None:
        for row in rows:
            self.inbox.setdefault(row.notification_id, (row.recipient, row.subject, created_at))

    def to(self, kind: str) -> set[tuple[str, str]]:
        """(channel, recipient) of every delivery of a kind."""
        return {(r.channel, r.recipient) for r in self.planned.values() if r.kind == kind}


class FakeCommendations(CommendationStore):
    """A committee's commendations and each group's announcement, as commendation_store.py
    keeps them."""

    def __init__(self) -> None:  # no connection
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}  # (source, id): row + announcement
        self.groups: dict[AnnouncementKey, dict[str, Any]] = {}

    async def save(self, row: CommendationRow, at: dt.datetime) -> bool:
        if (row.cause_source, row.cause_event_id) in self.rows:
            return False
        self.rows[(row.cause_source, row.cause_event_id)] = {**row._asdict(), "announcement": None}
        key = AnnouncementKey(row.campaign_id, row.awarded_by, row.awarded_on)
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = {"county_code": row.county_code, "number": 1, "status": "waiting"}
        elif group["status"] == "issued":
            group.update(number=group["number"] + 1, status="waiting")
        return True

    async def waiting(self) -> list[tuple[AnnouncementKey, dict[str, int] | None]]:
        return [(key, None) for key, group in self.groups.items() if group["status"] == "waiting"]

    async def lock_waiting(self, key: AnnouncementKey) -> asyncpg.Record | None:
        group = self.groups.get(key)
        return dict(group) if group and group["status"] == "waiting" else None

    async def name_in(self, key: AnnouncementKey, number: int) -> list[asyncpg.Record]:
        named = []
        for row in self.rows.values():
            in_group = (row["campaign_id"], row["awarded_by"], row["awarded_on"]) == key
            if in_group and row["announcement"] is None:
                row["announcement"] = number
                named.append(dict(row))
        return named

    async def mark_issued(self, key: AnnouncementKey, named: int, at: dt.datetime) -> None:
        self.groups[key].update(status="issued", named=named, issued_at=at)


class FakeStore(NotificationStore):
    """What the service knows, in dicts, written as the SQL of NotificationStore writes it."""

    deliveries: FakeDeliveries
    commendations: FakeCommendations

    def __init__(self) -> None:  # no connection
        self.deliveries = FakeDeliveries()
        self.commendations = FakeCommendations()
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.phases: dict[tuple[str, str], dict[str, Any]] = {}
        self.orgs_by_id: dict[str, OrgRow] = {}
        self.commitments: dict[tuple[str, str], int] = {}
        self.tasks: dict[TaskKey, dict[str, Any]] = {}
        self.facts: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.due_circulars: dict[tuple[str, str], dt.datetime] = {}
        self.rules: dict[str, dict[str, int | None]] = {}  # the superior's days, by campaign
        self.problems: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.reviewed: dict[tuple[str, str], int] = {}

    async def save_campaign(
        self,
        *,
        campaign_id: str,
        county_code: str,
        name: str,
        reminder_days: list[int] | None,
        commitment_due_days: int,
        windows: Sequence[PhaseWindowRow],
        escalation_answer_days: int | None = None,
        review_due_days: int | None = None,
        circular_sign_off_days: int | None = None,
        progress_report_every_days: int | None = None,
    ) -> None:
        self.rules[campaign_id] = {
            "escalation_answer_days": escalation_answer_days,
            "review_due_days": review_due_days,
            "circular_sign_off_days": circular_sign_off_days,
            "progress_report_every_days": progress_report_every_days,
        }
        self.campaigns[campaign_id] = {
            "county_code": county_code,
            "name": name,
            "reminder_days": reminder_days,
            "commitment_due_days": commitment_due_days,
        }
        for w in windows:
            phase = self.phases.setdefault((w.campaign_id, w.phase), {})
            phase.update(opens_on=w.opens_on, closes_on=w.closes_on)

    async def mark_phase(
        self,
        campaign_id: str,
        county_code: str,
        phase: str,
        *,
        opened_at: dt.datetime | None = None,
        closed_at: dt.datetime | None = None,
    ) -> asyncpg.Record:
        self.campaigns.setdefault(campaign_id, {"county_code": county_code, "name": None})
        row = self.phases.setdefault((campaign_id, phase), {})
        was = {"was_opened": bool(row.get("opened_at")), "was_closed": bool(row.get("closed_at"))}
        row["opened_at"] = row.get("opened_at") or opened_at
        row["closed_at"] = row.get("closed_at") or closed_at
        return {"closes_on": None, **row, **was}

    async def trigger_circular(self, campaign_id: str, circular_key: str, at: dt.datetime) -> bool:
        if (campaign_id, circular_key) in self.due_circulars:
            return False
        self.due_circulars[(campaign_id, circular_key)] = at
        return True

    async def save_orgs(self, orgs: Sequence[OrgRow]) -> None:
        self.orgs_by_id.update((org.org_id, org) for org in orgs)

    async def campaign(self, campaign_id: str | None) -> asyncpg.Record | None:
        if campaign_id not in self.campaigns:
            return None
        no_rules = dict.fromkeys(
            (
                "escalation_answer_days",
                "review_due_days",
                "circular_sign_off_days",
                "progress_report_every_days",
            )
        )
        return {**self.campaigns[campaign_id], **self.rules.get(campaign_id, no_rules)}

    async def campaign_names(self, campaign_ids: Sequence[str]) -> dict[str, str | None]:
        return {c: self.campaigns[c]["name"] for c in campaign_ids if c in self.campaigns}

    async def org(self, org_id: str) -> asyncpg.Record | None:
        found = self.orgs_by_id.get(org_id)
        return found._asdict() if found else None

    async def orgs(self, org_ids: Sequence[str]) -> list[asyncpg.Record]:
        return [o._asdict() for i in org_ids if (o := self.orgs_by_id.get(i))]

    async def counties_of(self, org_ids: Sequence[str]) -> dict[str, str]:
        return {i: o.county_code for i in org_ids if (o := self.orgs_by_id.get(i))}

    async def committees(self, county_code: str) -> list[asyncpg.Record]:
        return [o._asdict() for o in self._of(county_code) if o.kind == "committee"]

    async def branches_of_county(self, county_code: str) -> list[asyncpg.Record]:
        return [o._asdict() for o in self._of(county_code) if o.kind != "committee"]

    def _of(self, county_code: str) -> list[OrgRow]:
        return sorted(
            (o for o in self.orgs_by_id.values() if o.county_code == county_code),
            key=lambda o: o.org_id,
        )

    async def save_commitments(
        self, published: Sequence[Revision], tasks: Sequence[TaskRow], at: dt.datetime
    ) -> dict[tuple[str, str], int]:
        before = {}
        for campaign_id, branch_id, revision in published:
            key = (campaign_id, branch_id)
            if key in self.commitments:
                before[key] = self.commitments[key]
            self.commitments[key] = max(self.commitments.get(key, 0), revision)
            await self.resolve_fact(campaign_id, branch_id, "commitment_missing", "", at)
        for t in tasks:
            task = self.tasks.setdefault(TaskKey(*t[:3]), {"overdue": False})
            task["overdue"] = task["overdue"] and task.get("deadline") == t.deadline
            task.update(title=t.title, responsible=t.responsible, deadline=t.deadline)
        return before

    async def save_problems(self, problems: Sequence[ProblemRow]) -> list[asyncpg.Record]:
        escalated = []
        for p in problems:
            row = self.problems.setdefault(
                (p.campaign_id, p.branch_id, p.problem_id),
                {**p._asdict(), **dict.fromkeys(Escalation._fields[4:])},
            )
            row.update(description=p.description, source=p.source)
            if row["escalation_event_id"] is not None:
                escalated.append(dict(row))
        return escalated

    async def escalate_problem(self, escalation: Escalation) -> asyncpg.Record:
        key = (escalation.campaign_id, escalation.branch_id, escalation.problem_id)
        row = self.problems.setdefault(
            key, {**escalation._asdict(), "description": None, "source": None}
        )
        for field, value in escalation._asdict().items():
            if row.get(field) is None:  # the first escalation is kept
                row[field] = value
        return dict(row)

    async def problem(
        self, campaign_id: str, branch_id: str, problem_id: str
    ) -> asyncpg.Record | None:
        found = self.problems.get((campaign_id, branch_id, problem_id))
        return dict(found) if found else None

    async def mark_task_overdue(
        self,
        *,
        campaign_id: str,
        branch_id: str,
        task_id: str,
        county_code: str,
        responsible: str,
        deadline: dt.date,
    ) -> asyncpg.Record:
        task = self.tasks.setdefault(TaskKey(campaign_id, branch_id, task_id), {"title": None})
        task.update(overdue=True, responsible=responsible, deadline=deadline)
        return task

    async def complete_tasks(self, tasks: Sequence[TaskKey], at: dt.datetime) -> None:
        for key in tasks:
            if key in self.tasks:
                self.tasks[key].setdefault("completed_at", at)
            await self.resolve_fact(key.campaign_id, key.branch_id, "task_overdue", key.task_id, at)

    async def note_fact(
        self,
        *,
        campaign_id: str,
        branch_id: str,
        reason: str,
        fact_key: str,
        detail: dict[str, Any],
        at: dt.datetime,
    ) -> bool:
        key = (campaign_id, branch_id, str(reason), fact_key)
        if key in self.facts:
            return False
        self.facts[key] = {"detail": detail, "noted_at": at, "resolved_at": None}
        return True

    async def resolve_fact(
        self, campaign_id: str, branch_id: str, reason: str, fact_key: str, at: dt.datetime
    ) -> None:
        fact = self.facts.get((campaign_id, branch_id, reason, fact_key))
        if fact is not None and fact["resolved_at"] is None:
            fact["resolved_at"] = at

    async def resolve_facts_keyed(
        self, campaign_id: str, reason: str, fact_key: str, at: dt.datetime
    ) -> None:
        for (campaign, _, why, key), fact in self.facts.items():
            if (campaign, why, key) == (campaign_id, reason, fact_key):
                fact["resolved_at"] = fact["resolved_at"] or at

    async def note_reviews(self, reviewed: Sequence[Revision]) -> None:
        for campaign_id, branch_id, revision in reviewed:
            key = (campaign_id, branch_id)
            self.reviewed[key] = max(self.reviewed.get(key, 0), revision)

    async def reviewed_revision(self, campaign_id: str, branch_id: str) -> int | None:
        return self.reviewed.get((campaign_id, branch_id))

    async def resolve_reviews_overdue(self, reviewed: Sequence[Revision], at: dt.datetime) -> None:
        for campaign_id, branch_id, revision in reviewed:
            for (campaign, _, why, _), fact in self.facts.items():
                detail = fact["detail"]
                about = (campaign, why, detail["branch_id"])
                if (
                    about == (campaign_id, "review_overdue", branch_id)
                    and detail["revision"] <= revision
                ):
                    fact["resolved_at"] = fact["resolved_at"] or at


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


def registered(branch_id: str, kind: str = "branch", email: str | None = None) -> OrgRow:
    parent = None if kind == "committee" else OFFICE
    return OrgRow(branch_id, COUNTY, kind, f"{branch_id}名称", parent, "王建国", email)


def county_store() -> FakeStore:
    """A county with its committee (the Party office) and two branches, one without email."""
    store = FakeStore()
    store.orgs_by_id = {
        OFFICE: registered(OFFICE, "committee", "office@example.org"),
        BRANCH: registered(BRANCH, email="wang@example.org"),
        OTHER: registered(OTHER),
    }
    store.campaigns[CAMPAIGN] = {"county_code": COUNTY, "name": "建设年"}
    return store


async def apply(store: FakeStore, *events: AnyEvent) -> UnitOfWork[NotificationStore]:
    """The events in one unit of work, each by the table's handler for it, then the unit's
    deferred work (the notices planned)."""
    uow = UnitOfWork[NotificationStore](store, service="notification", now=NOW)
    for one in events:
        registration = handlers.HANDLERS.get(one.type)
        assert registration is not None, one.type
        await registration.one(uow, one)
    await uow.flush()
    return uow


def told(uow: UnitOfWork[NotificationStore]) -> list[str]:
    """The recipients of the notification.delivered events emitted (inbox messages)."""
    return [e.data.recipient for e in uow.events if isinstance(e, NotificationDeliveredEvent)]


@pytest.fixture(autouse=True)
def webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The county has one webhook endpoint, whatever the environment says."""
    settings = NotificationSettings(
        webhooks={COUNTY: [{"name": "county", "url": "http://127.0.0.1:9/"}]},
        WEBHOOK_SIGNING_SECRET="s",
    )
    monkeypatch.setattr(planning.PLANNER, "settings", settings)


async def test_a_launch_saves_the_campaign_with_its_plan_and_default_rules() -> None:
    store = FakeStore()
    uow = await apply(store, event(CampaignLaunchedEvent))
    assert store.campaigns[CAMPAIGN] == {
        "county_code": COUNTY,
        "name": "蒲城县教育系统基层组织建设年",
        "reminder_days": None,
        "commitment_due_days": 15,
    }
    assert store.phases[(CAMPAIGN, "rectification")] == {
        "opens_on": dt.date(2012, 4, 16),
        "closes_on": dt.date(2012, 6, 30),
    }
    assert uow.events == []


async def test_every_branch_hears_a_phase_opened_once() -> None:
    store = county_store()
    store.phases[(CAMPAIGN, "survey_grading")] = {"closes_on": dt.date(2012, 4, 15)}
    opened = event(CampaignPhaseOpenedEvent, time=dt.datetime(2012, 2, 29, 17, tzinfo=dt.UTC))
    uow = await apply(store, opened)
    assert store.deliveries.to("phase_opened") == {
        ("inbox", BRANCH),
        ("email", "wang@example.org"),
        ("inbox", OTHER),
        ("email", OTHER),  # no address: it fails when the worker takes it
        ("webhook", "county"),
    }
    (webhook,) = [r for r in store.deliveries.planned.values() if r.channel == "webhook"]
    assert '"opened_on": "2012-03-01"' in webhook.body  # the county's day
    assert '"closes_on": "2012-04-15"' in webhook.body
    # Inbox messages are delivered at once, each with its notification.delivered.
    assert sorted(told(uow)) == [BRANCH, OTHER] and len(uow.events) == 2
    again = await apply(store, event(CampaignPhaseOpenedEvent))  # re-sent, with a new id
    assert again.events == [] and len(store.deliveries.planned) == 5


async def test_closing_emulation_makes_its_circular_due_and_other_closes_wait_for_results() -> None:
    store = county_store()
    await apply(store, event(CampaignPhaseClosedEvent, phase="survey_grading"))
    assert store.due_circulars == {}
    assert store.phases[(CAMPAIGN, "survey_grading")]["closed_at"] is not None
    await apply(store, event(CampaignPhaseClosedEvent, phase="emulation"))
    await apply(store, event(GradingResultsPublishedEvent, round="final"))
    await apply(store, event(GradingResultsPublishedEvent, round="initial"))
    await apply(store, event(RectificationBranchSettledEvent))
    await apply(store, event(RectificationBranchSettledEvent, branch_id=OTHER))
    assert store.due_circulars == {
        (CAMPAIGN, "close:emulation"): NOW,
        (CAMPAIGN, "close:assessment"): NOW,
        (CAMPAIGN, "close:survey_grading"): NOW,
        (CAMPAIGN, "close:rectification"): NOW,  # at the first settlement, once
    }
    assert store.deliveries.planned == {}  # circulars are issued behind the barrier


async def test_the_latest_registration_of_an_organisation_wins() -> None:
    store = FakeStore()
    registration = handlers.HANDLERS.get(OrgBranchRegisteredEvent.event_type)
    assert registration is not None and registration.many is not None
    uow = UnitOfWork[NotificationStore](store, service="notification", now=NOW)
    secretary = {"name": "李明", "email": "li@example.org"}
    await registration.many(
        uow,
        [
            event(OrgBranchRegisteredEvent),
            event(OrgBranchRegisteredEvent, secretary=secretary),
            event(OrgBranchRegisteredEvent, branch_id=OTHER, kind="committee", parent_id=None),
        ],
    )
    assert store.orgs_by_id == {
        BRANCH: OrgRow(
            BRANCH, COUNTY, "branch", "蒲城县城关中学党支部", OFFICE, "李明", "li@example.org"
        ),
        OTHER: OrgRow(
            OTHER,
            COUNTY,
            "committee",
            "蒲城县城关中学党支部",
            None,
            "王建国",
            "wangjianguo@example.org",
        ),
    }


async def test_a_grade_goes_to_the_secretary_and_its_inbox_copy_is_reported_delivered() -> None:
    store = county_store()
    graded = event(GradingBranchGradedEvent, event_id="graded-1")
    uow = await apply(store, graded)
    assert store.deliveries.to("grading_result") == {
        ("inbox", BRANCH),
        ("email", "wang@example.org"),
        ("webhook", "county"),
    }
    inbox_id = derived_id(OFFICE_SOURCE, "graded-1", BRANCH, "inbox")
    org, subject, created = store.deliveries.inbox[inbox_id]
    assert (org, created) == (BRANCH, NOW) and "分类定级等次：较强" in subject
    (delivered,) = uow.events
    assert isinstance(delivered, NotificationDeliveredEvent)
    assert delivered.id == outcome_event_id(inbox_id, "notification.delivered")
    assert delivered.source == "/grassroots/notification" and delivered.campaignid == CAMPAIGN
    assert delivered.data == NotificationOutcome(
        notification_id=inbox_id,
        kind="grading_result",
        channel="inbox",
        recipient=BRANCH,
        cause_event_id="graded-1",
        attempts=1,
        branch_id=BRANCH,
    )
    again = await apply(store, graded)  # redelivered: nothing new
    assert again.events == [] and len(store.deliveries.planned) == 3


async def test_incomplete_grading_is_noted_and_told_to_the_secretary_and_the_office() -> None:
    store = county_store()
    await apply(store, event(GradingBranchIncompleteEvent, missing=["self", "superior"]))
    assert store.facts[(CAMPAIGN, BRANCH, "grading_incomplete", "initial")]["detail"] == {
        "round": "initial",
        "missing": ["self", "superior"],
    }
    assert store.deliveries.to("grading_incomplete") == {
        ("inbox", BRANCH),
        ("email", "wang@example.org"),
        ("inbox", OFFICE),
        ("email", "office@example.org"),
        ("webhook", "county"),
    }


def bodies(store: FakeStore, channel: str = "inbox") -> list[str]:
    return [r.body for r in store.deliveries.planned.values() if r.channel == channel]


async def test_a_supplementary_grade_goes_to_the_secretary_and_the_office_once() -> None:
    store = county_store()
    await apply(store, event(GradingBranchIncompleteEvent, event_id="incomplete-1"))
    incomplete = set(store.deliveries.planned)
    supplementary = event(
        GradingBranchGradedEvent,
        event_id="supplementary-1",
        supplementary=True,
        rules=[{"rule": "supplementary", "level": "fairly_strong"}],
    )
    uow = await apply(store, supplementary)
    # Its own keys: the cause is its own event, not the incomplete notice's.
    keys = set(store.deliveries.planned) - incomplete
    assert keys == {
        derived_id(OFFICE_SOURCE, "supplementary-1", recipient, channel)
        for channel, recipient in (
            ("inbox", BRANCH),
            ("email", "wang@example.org"),
            ("inbox", OFFICE),
            ("email", "office@example.org"),
            ("webhook", "county"),
        )
    }
    assert sorted(told(uow)) == [BRANCH, OFFICE]
    subjects = {store.deliveries.planned[k].subject for k in keys}
    assert subjects == {"【定级结果】610526-edu-0007名称分类定级（补充定级）等次：较强"}
    # The branch is no longer lagging for that round.
    assert store.facts[(CAMPAIGN, BRANCH, "grading_incomplete", "initial")]["resolved_at"] == NOW
    again = await apply(store, supplementary)  # redelivered: nothing new
    assert again.events == [] and set(store.deliveries.planned) == incomplete | keys


async def test_a_result_flagged_supplementary_without_the_rule_still_says_so() -> None:
    store = county_store()
    await apply(store, event(GradingBranchGradedEvent, supplementary=True))
    assert ("inbox", OFFICE) in store.deliveries.to("grading_result")
    assert all("2. 补充定级：" not in b and "1. 补充定级：" in b for b in bodies(store))


async def test_an_ordinary_grade_leaves_an_incomplete_fact_of_its_round_alone() -> None:
    store = county_store()
    await apply(store, event(GradingBranchIncompleteEvent))
    await apply(store, event(GradingBranchGradedEvent, corrected=True))
    assert store.facts[(CAMPAIGN, BRANCH, "grading_incomplete", "initial")]["resolved_at"] is None
    assert ("inbox", OFFICE) not in store.deliveries.to("grading_result")


async def test_each_rule_that_changed_a_grade_is_a_line_with_its_numbers_and_reasons() -> None:
    store = county_store()
    graded = event(
        GradingBranchGradedEvent,
        round="final",
        level="weak",
        basis="override",
        previous_level="fairly_strong",
        computed_level="strong",
        override_reason="班子调整",
        veto_reason="班子成员受党纪处分",
        completion_rate=0.7,
        upgrade_capped=True,
        rules=[
            {
                "rule": "upgrade_cap",
                "level": "fairly_strong",
                "completion_rate": 0.7,
                "threshold": 0.8,
            },
            {"rule": "override", "level": "average", "reason": "班子调整"},
            {"rule": "veto", "level": "weak", "reason": "班子成员受党纪处分"},
        ],
    )
    await apply(store, graded)
    assert store.deliveries.to("grading_result") == {
        ("inbox", BRANCH),
        ("email", "wang@example.org"),
        ("webhook", "county"),
    }
    (body,) = bodies(store)
    assert (
        "定级说明：\n"
        "1. 整改完成率70%，未达80%，不得晋位，保持分类定级等次“较强”。\n"
        "2. 上级党组织调整认定为“一般”，理由：班子调整。\n"
        "3. 一票否决：班子成员受党纪处分，定为“薄弱”。\n"
    ) in body
    (webhook,) = bodies(store, "webhook")  # county systems get the rules as facts
    facts = json.loads(webhook)["facts"]
    assert [r["rule"] for r in facts["rules"]] == ["upgrade_cap", "override", "veto"]
    assert facts["rules"][0]["threshold"] == 0.8 and facts["supplementary"] is False


async def test_a_quota_limited_grade_says_the_quota_and_its_share() -> None:
    store = county_store()
    quota = {"rule": "quota", "level": "fairly_strong", "threshold": 0.3}
    await apply(store, event(GradingBranchGradedEvent, quota_limited=True, rules=[quota]))
    (body,) = bodies(store)
    assert "1. 全县教育系统“强”等次名额（30%）已满，定为“较强”。" in body


async def test_a_result_without_rules_says_what_its_flags_say() -> None:
    """A result from before grading carried the rules (or replayed): no numbers it lacks."""
    store = county_store()
    graded = event(
        GradingBranchGradedEvent,
        round="final",
        level="fairly_strong",
        basis="override",
        override_reason="工作扎实",
        previous_level="fairly_strong",
        completion_rate=0.5,
        upgrade_capped=True,
        quota_limited=True,
    )
    await apply(store, graded)
    (body,) = bodies(store)
    assert (
        "1. 整改完成率50%，未达要求，不得晋位，保持分类定级等次“较强”。\n"
        "2. 上级党组织调整认定，理由：工作扎实。\n"
        "3. 全县教育系统“强”等次名额已满，定为“较强”。\n"
    ) in body


async def test_an_overdue_task_is_named_by_its_title_to_its_responsible_and_the_secretary() -> None:
    store = county_store()
    await apply(store, event(RectificationCommitmentPublishedEvent))
    await apply(store, event(RectificationTaskOverdueEvent))
    task = store.tasks[TaskKey(CAMPAIGN, BRANCH, "t-1")]
    assert task["overdue"] and task["title"] == "更新党员活动室"
    assert store.facts[(CAMPAIGN, BRANCH, "task_overdue", "t-1")]["detail"] == {
        "title": "更新党员活动室",
        "deadline": "2012-06-30",
    }
    # The responsible person has no address: the branch's inbox; the secretary by email too.
    assert store.deliveries.to("task_overdue") == {
        ("inbox", BRANCH),
        ("email", "wang@example.org"),
        ("webhook", "county"),
    }
    (inbox,) = [
        r
        for r in store.deliveries.planned.values()
        if r.channel == "inbox" and r.kind == "task_overdue"  # (the office heard of the plan)
    ]
    assert "“更新党员活动室”已逾期" in inbox.subject + inbox.body


async def test_a_task_overdue_before_its_commitment_is_seen_is_named_by_its_id() -> None:
    store = county_store()
    await apply(store, event(RectificationTaskOverdueEvent, task_id="t-9"))
    detail = store.facts[(CAMPAIGN, BRANCH, "task_overdue", "t-9")]["detail"]
    assert detail["title"] == "t-9"


async def test_completing_a_task_resolves_its_overdue_fact() -> None:
    store = county_store()
    await apply(store, event(RectificationTaskOverdueEvent))
    uow = await apply(store, event(RectificationTaskCompletedEvent))
    assert store.tasks[TaskKey(CAMPAIGN, BRANCH, "t-1")]["completed_at"] == NOW
    assert store.facts[(CAMPAIGN, BRANCH, "task_overdue", "t-1")]["resolved_at"] == NOW
    assert uow.events == [] and store.deliveries.to("task_completed") == set()


async def test_a_missing_commitment_is_noted_until_one_is_published() -> None:
    store = county_store()
    uow = await apply(store, event(RectificationCommitmentMissingEvent))
    fact = store.facts[(CAMPAIGN, BRANCH, "commitment_missing", "")]
    assert fact == {"detail": {"due": "2012-05-01"}, "noted_at": NOW, "resolved_at": None}
    assert uow.events == [] and store.deliveries.planned == {}  # named in the next circular
    await apply(store, event(RectificationCommitmentPublishedEvent, revision=2))
    assert fact["resolved_at"] == NOW and store.commitments[(CAMPAIGN, BRANCH)] == 2
    await apply(store, event(RectificationCommitmentPublishedEvent, revision=1))  # late
    assert store.commitments[(CAMPAIGN, BRANCH)] == 2


async def test_a_returned_commitment_goes_back_with_the_guidance_an_approved_one_is_silent() -> (
    None
):
    store = county_store()
    await apply(store, event(RectificationCommitmentReviewedEvent, decision="approved"))
    assert store.deliveries.planned == {}
    await apply(store, event(RectificationCommitmentReviewedEvent))
    assert store.deliveries.to("commitment_returned") == {
        ("inbox", BRANCH),
        ("email", "wang@example.org"),
        ("webhook", "county"),
    }
    assert all("请细化整改措施" in r.body for r in store.deliveries.planned.values())


async def test_notices_of_one_unit_are_planned_together_at_its_end() -> None:
    store = county_store()
    uow = UnitOfWork[NotificationStore](store, service="notification", now=NOW)
    await handlers.on_branch_graded(uow, event(GradingBranchGradedEvent))
    await on_commended(uow, event(EmulationCommendedEvent, awarded_by=None))
    assert store.deliveries.planned == {} and uow.events == []  # deferred
    await uow.flush()
    assert len(store.deliveries.planned) == 6 and len(uow.events) == 2


# ------------------------------------------------------------------ commendations (表彰)


TITLE = "局党委“七一”创先争优专项表彰"
JULY_1 = AnnouncementKey(CAMPAIGN, OFFICE, dt.date(2012, 7, 1))
# 1 July 01:00 in the county: the event's day when awarded_on is absent.
LATE_ON_30_JUNE_UTC = dt.datetime(2012, 6, 30, 17, tzinfo=dt.UTC)
THE_BRANCH = {("inbox", BRANCH), ("email", "wang@example.org"), ("webhook", "county")}


def seventh_of_july(event_id: str, branch_id: str = BRANCH, **changed: Any) -> Any:
    """The committee's 七一 commendation (the contract's example) of `branch_id`."""
    return event(EmulationCommendedEvent, event_id=event_id, branch_id=branch_id, **changed)


async def test_a_committees_commendations_wait_to_be_announced_by_committee_day_and_campaign() -> (
    None
):
    store = county_store()
    uow = await apply(
        store,
        seventh_of_july("c-1"),
        seventh_of_july(
            "c-2",
            OTHER,
            honour="excellent_member",
            member_name="赵老师",
            awarded_on=None,
            time=LATE_ON_30_JUNE_UTC,
        ),
        seventh_of_july("c-1"),  # redelivered
        seventh_of_july("c-3", awarded_on="2012-07-02"),
    )
    assert uow.events == [] and store.deliveries.planned == {}  # nothing told yet
    assert sorted(
        (r["cause_event_id"], r["awarded_on"].isoformat(), r["member_name"])
        for r in store.commendations.rows.values()
    ) == [("c-1", "2012-07-01", None), ("c-2", "2012-07-01", "赵老师"), ("c-3", "2012-07-02", None)]
    assert [key for key, _ in await store.commendations.waiting()] == [
        JULY_1,
        JULY_1._replace(awarded_on=dt.date(2012, 7, 2)),
    ]


async def test_a_general_branchs_own_commendation_is_told_to_the_commended_branch_only() -> None:
    store = county_store()
    store.orgs_by_id[GENERAL] = registered(GENERAL, "general_branch", "zong@example.org")
    commended = seventh_of_july(
        "g-1",
        awarded_by=GENERAL,
        honour="excellent_party_worker",
        member_name="钱老师",
        title="党总支优秀党务工作者",
        awarded_on="2012-06-28",
    )
    uow = await apply(store, commended)
    assert store.deliveries.to("commendation") == THE_BRANCH
    assert set(store.deliveries.planned) == keys_of("g-1", THE_BRANCH)  # keyed by the event
    assert told(uow) == [BRANCH] and store.commendations.rows == {}
    (inbox,) = of_kind(store, "commendation")
    assert inbox.subject == f"【表彰】{BRANCH}名称钱老师同志荣获“优秀党务工作者”称号"
    assert inbox.body == (
        f"{BRANCH}名称王建国同志：\n"
        f"2012年6月28日，经{GENERAL}名称研究，{BRANCH}名称党员钱老师同志被评为“优秀党务工作者”"
        "（党总支优秀党务工作者）。\n"
        "希望受到表彰的同志珍惜荣誉、再接再厉，在创先争优中发挥示范带动作用。\n\n"
        "中共蒲城县教育局委员会办公室\n2012年5月20日\n"
    )


async def test_a_commendation_without_an_awarding_body_is_told_to_the_branch_on_its_events_day() -> (
    None
):
    store = county_store()
    uow = await apply(
        store, seventh_of_july("n-1", awarded_by=None, awarded_on=None, time=LATE_ON_30_JUNE_UTC)
    )
    assert store.deliveries.to("commendation") == THE_BRANCH and told(uow) == [BRANCH]
    (inbox,) = of_kind(store, "commendation")
    assert (
        f"2012年7月1日，经研究，{BRANCH}名称被评为“先进基层党组织”（{TITLE}）。\n"
        "希望受到表彰的党组织珍惜荣誉" in inbox.body
    )
    (webhook,) = of_kind(store, "commendation", "webhook")
    facts = json.loads(webhook.body)["facts"]
    assert {k: facts[k] for k in ("scope", "awarded_by", "awarded_by_name", "awarded_on")} == {
        "scope": "organisation",
        "awarded_by": None,
        "awarded_by_name": None,
        "awarded_on": "2012-07-01",
    }


FOREIGN = "610527-edu-0001"  # registered, in another county


def not_registered(org_id: str) -> str:
    return (
        f"{org_id} is not a registered organisation of county 610526: register it "
        "(org.branch_registered) first"
    )


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"branch_id": "610526-edu-9999"}, not_registered("610526-edu-9999")),
        ({"awarded_by": "610526-edu-nobody"}, not_registered("610526-edu-nobody")),
        ({"branch_id": FOREIGN, "awarded_by": None}, not_registered(FOREIGN)),
        (
            {"branch_id": "610526-edu-9999", "awarded_by": FOREIGN},
            f"{not_registered('610526-edu-9999')}; {not_registered(FOREIGN)}",
        ),
    ],
)
async def test_a_commendation_naming_an_organisation_not_registered_in_its_county_is_refused(
    changed: dict[str, Any], reason: str
) -> None:
    store = county_store()
    store.orgs_by_id[FOREIGN] = OrgRow(FOREIGN, "610527", "committee", "外县", None, "李", None)
    with pytest.raises(Rejected) as refused:
        await apply(store, seventh_of_july("bad", **changed))
    assert refused.value.reason == reason
    assert store.commendations.rows == {} and store.commendations.groups == {}
    assert store.deliveries.planned == {}


# ------------------------------------------------------------------ the superior's duty


GENERAL = "610526-edu-general-01"  # a general branch (党总支) between a branch and the committee
OFFICE_HEARS = {("inbox", OFFICE), ("email", "office@example.org"), ("webhook", "county")}
ESCALATED_AT = dt.datetime(2012, 5, 18, 16, 30, tzinfo=dt.UTC)  # 19 May in the county


def keys_of(cause_id: str, heard: set[tuple[str, str]]) -> set[str]:
    return {derived_id(OFFICE_SOURCE, cause_id, recipient, ch) for ch, recipient in heard}


def of_kind(store: FakeStore, kind: str, channel: str = "inbox") -> list[NewDelivery]:
    return [r for r in store.deliveries.planned.values() if r.kind == kind and r.channel == channel]


async def test_an_escalated_problem_goes_to_the_superior_it_went_to_once() -> None:
    store = county_store()
    await apply(store, event(RectificationProblemListedEvent))
    assert store.deliveries.planned == {}  # listing alone tells no one
    escalated = event(RectificationProblemEscalatedEvent, event_id="esc-1", time=ESCALATED_AT)
    uow = await apply(store, escalated)
    assert store.deliveries.to("problem_escalated") == OFFICE_HEARS
    assert set(store.deliveries.planned) == keys_of("esc-1", OFFICE_HEARS)  # keyed by its cause
    assert told(uow) == [OFFICE]
    (inbox,) = of_kind(store, "problem_escalated")
    assert inbox.subject == "【问题上报】610526-edu-0007名称上报问题待答复"
    assert inbox.branch_id == BRANCH
    assert "问题：党员活动室设施陈旧（群众反映）" in inbox.body
    # No rule in the campaign: the default 10 days from the day it was escalated.
    assert "已于2012年5月19日上报你单位" in inbox.body
    assert "请于2012年5月29日前（10日内）答复" in inbox.body
    (webhook,) = of_kind(store, "problem_escalated", "webhook")
    facts = json.loads(webhook.body)["facts"]
    assert facts["to_org_id"] == OFFICE and facts["answer_due"] == "2012-05-29"
    # Redelivered, or the problem listed again: nothing new.
    again = await apply(store, escalated, event(RectificationProblemListedEvent))
    assert again.events == [] and len(store.deliveries.planned) == 3


async def test_an_escalation_that_comes_before_its_problem_is_told_when_the_problem_arrives() -> (
    None
):
    store = county_store()
    await apply(store, event(RectificationProblemEscalatedEvent, event_id="esc-1"))
    assert store.deliveries.planned == {}  # what to tell is not here yet
    await apply(store, event(RectificationProblemListedEvent, description="食堂管理混乱"))
    assert set(store.deliveries.planned) == keys_of("esc-1", OFFICE_HEARS)
    (inbox,) = of_kind(store, "problem_escalated")
    assert "问题：食堂管理混乱" in inbox.body


async def test_the_superior_hears_the_campaigns_own_days() -> None:
    store = county_store()
    rules = {"escalation_answer_days": 7, "review_due_days": 3}
    await apply(store, event(CampaignLaunchedEvent, rules=rules))
    await apply(
        store,
        event(RectificationProblemListedEvent),
        event(RectificationProblemEscalatedEvent, time=ESCALATED_AT),
        event(RectificationCommitmentPublishedEvent, time=ESCALATED_AT),
    )
    (escalation,) = of_kind(store, "problem_escalated")
    assert "请于2012年5月26日前（7日内）答复" in escalation.body
    (review,) = of_kind(store, "review_requested")
    assert "请于2012年5月22日前（3日内）完成审核" in review.body


async def test_a_plan_and_each_new_revision_wait_for_the_parents_review() -> None:
    store = county_store()
    published = event(RectificationCommitmentPublishedEvent, event_id="plan-1", time=ESCALATED_AT)
    uow = await apply(store, published)
    assert store.deliveries.to("review_requested") == OFFICE_HEARS  # BRANCH's parent
    assert set(store.deliveries.planned) == keys_of("plan-1", OFFICE_HEARS)
    assert told(uow) == [OFFICE]
    (inbox,) = of_kind(store, "review_requested")
    assert inbox.subject == "【方案待审】610526-edu-0007名称整改方案（第1版）待审核"
    assert "共1项整改任务（逐步整改1项）" in inbox.body
    assert "1. 更新党员活动室（责任人：王建国；时限：2012年6月30日；逐步整改）" in inbox.body
    assert "请于2012年5月24日前（5日内）完成审核" in inbox.body  # the default 5 days
    # The same revision again (redelivered, or re-sent with a new id): nothing new.
    await apply(store, published, event(RectificationCommitmentPublishedEvent, event_id="x"))
    assert len(store.deliveries.planned) == 3
    # Returned, then revision 2: the parent hears it waits again.
    await apply(store, event(RectificationCommitmentReviewedEvent))  # to the secretary
    await apply(store, event(RectificationCommitmentPublishedEvent, event_id="plan-2", revision=2))
    assert {r.subject for r in of_kind(store, "review_requested")} == {
        "【方案待审】610526-edu-0007名称整改方案（第1版）待审核",
        "【方案待审】610526-edu-0007名称整改方案（第2版）待审核",
    }
    assert keys_of("plan-2", OFFICE_HEARS) <= set(store.deliveries.planned)
    # A late revision 1 is not news.
    before = set(store.deliveries.planned)
    await apply(store, event(RectificationCommitmentPublishedEvent, event_id="late", revision=1))
    assert set(store.deliveries.planned) == before


async def test_the_parent_is_the_branchs_own_superior_not_always_the_office() -> None:
    store = county_store()
    store.orgs_by_id[GENERAL] = registered(GENERAL, "general_branch", "zong@example.org")
    store.orgs_by_id[BRANCH] = store.orgs_by_id[BRANCH]._replace(parent_id=GENERAL)
    await apply(store, event(RectificationCommitmentPublishedEvent))
    assert store.deliveries.to("review_requested") == {
        ("inbox", GENERAL),
        ("email", "zong@example.org"),
        ("webhook", "county"),
    }
    # An escalation goes where rectification sent it (to_org_id).
    await apply(
        store,
        event(RectificationProblemListedEvent),
        event(RectificationProblemEscalatedEvent, to_org_id=GENERAL),
    )
    assert ("inbox", GENERAL) in store.deliveries.to("problem_escalated")
    assert ("inbox", OFFICE) not in store.deliveries.to("problem_escalated")


async def test_an_unanswered_escalation_reminds_the_superior_and_makes_it_lagging_until_answered() -> (
    None
):
    store = county_store()
    await apply(store, event(RectificationProblemListedEvent))
    overdue = event(RectificationEscalationOverdueEvent, event_id="late-1")
    uow = await apply(store, overdue)
    fact = store.facts[(CAMPAIGN, OFFICE, "escalation_unanswered", f"{BRANCH}|p-1")]
    assert fact == {
        "detail": {
            "branch_id": BRANCH,
            "branch_name": "610526-edu-0007名称",
            "problem_id": "p-1",
            "description": "党员活动室设施陈旧",
            "due": "2012-05-10",
        },
        "noted_at": NOW,
        "resolved_at": None,
    }
    assert set(store.deliveries.planned) == keys_of("late-1", OFFICE_HEARS)
    assert told(uow) == [OFFICE]
    (inbox,) = of_kind(store, "escalation_overdue")
    assert inbox.subject == "【督办】610526-edu-0007名称上报问题逾期未答复"
    assert "应于2012年5月10日前答复，至今未答复" in inbox.body
    # Said once: the same escalation again (redelivered, or a new id) reminds no more.
    await apply(store, overdue, event(RectificationEscalationOverdueEvent, event_id="late-2"))
    assert len(store.deliveries.planned) == 3
    # Still waiting: the problem's other changes leave the fact alone.
    waiting = {"to_org_id": OFFICE}
    await apply(store, event(RectificationProblemUpdatedEvent, escalation=waiting))
    await apply(store, event(RectificationProblemUpdatedEvent, escalation=None))
    assert fact["resolved_at"] is None
    uow = await apply(store, event(RectificationProblemUpdatedEvent))  # accepted
    assert fact["resolved_at"] == NOW and uow.events == []


async def test_an_overdue_review_reminds_the_reviewer_and_makes_it_lagging_until_reviewed() -> None:
    store = county_store()
    first = event(RectificationReviewOverdueEvent, event_id="review-late-1")
    second = event(RectificationReviewOverdueEvent, event_id="review-late-2", revision=2)
    other = event(RectificationReviewOverdueEvent, event_id="review-late-3", branch_id=OTHER)
    uow = await apply(store, first)
    assert set(store.deliveries.planned) == keys_of("review-late-1", OFFICE_HEARS)
    assert told(uow) == [OFFICE]
    (inbox,) = of_kind(store, "review_overdue")
    assert inbox.subject == "【督办】610526-edu-0007名称整改方案（第1版）逾期未审核"
    assert "应于2012年5月8日前审核，至今未审核" in inbox.body
    fact_1 = store.facts[(CAMPAIGN, OFFICE, "review_overdue", f"{BRANCH}|1")]
    assert fact_1["detail"] == {
        "branch_id": BRANCH,
        "branch_name": "610526-edu-0007名称",
        "commitment_id": "c-0007",
        "revision": 1,
        "due": "2012-05-08",
    }
    # Reviewed: that revision's fact is resolved; the other branch's stays.
    await apply(store, other, event(RectificationCommitmentReviewedEvent, decision="approved"))
    assert fact_1["resolved_at"] == NOW
    assert store.facts[(CAMPAIGN, OFFICE, "review_overdue", f"{OTHER}|1")]["resolved_at"] is None
    # Revision 2 waits too long; a review of revision 1 arriving late does not end it, a
    # review of a newer revision does.
    await apply(store, second)
    fact_2 = store.facts[(CAMPAIGN, OFFICE, "review_overdue", f"{BRANCH}|2")]
    await apply(store, event(RectificationCommitmentReviewedEvent))
    assert fact_2["resolved_at"] is None
    await apply(store, event(RectificationCommitmentReviewedEvent, revision=3))
    assert fact_2["resolved_at"] == NOW
    # Each revision reminded once.
    assert len(of_kind(store, "review_overdue")) == 3
    # An overdue review that trails its review (a result after the input) is stale: nothing.
    before = set(store.deliveries.planned)
    await apply(store, event(RectificationReviewOverdueEvent, revision=3))
    assert (CAMPAIGN, OFFICE, "review_overdue", f"{BRANCH}|3") not in store.facts
    assert set(store.deliveries.planned) == before
