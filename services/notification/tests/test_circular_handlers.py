"""Supervision and signed circulars in memory: a fake store keeps what the service knows in
dicts, as the SQL of NotificationStore and CircularStore keeps it. Inspections and progress
reports are kept (or refused); drafts name the lagging and the praised and reach no one but the
office's inbox; the office's edits change the notification's copy; a sign-off numbers the
circular and sends it as edited to every organisation; refusals carry their exact reasons."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from grassroots.contract import AnyEvent
from grassroots.contract.events import (
    EmulationCommendedEvent,
    NotificationCircularDraftedEvent,
    NotificationCircularIssuedEvent,
    NotificationDeliveredEvent,
    SupervisionCircularDiscardedEvent,
    SupervisionCircularEditedEvent,
    SupervisionCircularRequestedEvent,
    SupervisionCircularSignedEvent,
    SupervisionInspectedEvent,
    SupervisionProgressReportedEvent,
)
from grassroots.contract.examples import CAMPAIGN, COUNTY, DATA, OFFICE_SOURCE, envelope
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.unit_of_work import UnitOfWork
from notification import handlers, jobs, planning
from notification.circulars.drafts import remind_sign_off, tell_refused_sign_offs
from notification.circulars.store import CircularRow, CircularStore, Issue, ItemRow
from notification.commendation_store import AnnouncementKey, CommendationRow, CommendationStore
from notification.commendations import announce_commendations
from notification.config import NotificationSettings
from notification.delivery_store import DeliveryStore, NewDelivery
from notification.store import NotificationStore, OrgRow

E = TypeVar("E", bound=AnyEvent)
CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2012, 5, 20, 9, tzinfo=CST)
OFFICE, BRANCH, OTHER = "610526-edu-committee", "610526-edu-0007", "610526-edu-0008"
WEEKLY = f"circular-{CAMPAIGN}-2012-05-20"
SEVENTH_OF_JULY = "局党委“七一”创先争优专项表彰"
FIRST_DAY, LAST_DAY = dt.date(2012, 3, 1), dt.date(2012, 9, 30)  # the example's plan


class FakeDeliveries(DeliveryStore):
    def __init__(self) -> None:  # no connection
        self.planned: dict[str, NewDelivery] = {}

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> set[str]:
        new = {row.notification_id for row in rows if row.notification_id not in self.planned}
        for row in rows:
            self.planned.setdefault(row.notification_id, row)
        return new

    async def insert_inbox_messages(
        self, rows: Sequence[NewDelivery], created_at: dt.datetime
    ) -> None:
        pass

    def of(self, kind: str) -> list[NewDelivery]:
        return sorted(
            (r for r in self.planned.values() if r.kind == kind),
            key=lambda r: (r.channel, r.recipient),
        )


class FakeCommendations(CommendationStore):
    """The committee's commendations and their groups, as commendation_store.py keeps them."""

    def __init__(self) -> None:  # no connection
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.groups: dict[AnnouncementKey, dict[str, Any]] = {}

    async def save(self, row: CommendationRow, at: dt.datetime) -> bool:
        if (row.cause_source, row.cause_event_id) in self.rows:
            return False
        self.rows[(row.cause_source, row.cause_event_id)] = {
            **row._asdict(),
            "announcement": None,
            "praised_in": None,
        }
        key = AnnouncementKey(row.campaign_id, row.awarded_by, row.awarded_on)
        group = self.groups.setdefault(
            key, {"county_code": row.county_code, "number": 0, "status": "issued"}
        )
        if group["status"] == "issued":
            group.update(number=group["number"] + 1, status="waiting")
        return True

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
        self.groups[key].update(status="issued", named=named)


class FakeCirculars(CircularStore):
    """Inspections, progress reports, drafts, items and numbers in dicts."""

    def __init__(self, outer: FakeStore) -> None:  # no connection
        self.outer = outer
        self.inspections: dict[tuple[str, str], dict[str, Any]] = {}
        self.reports: dict[tuple[str, str], dict[str, Any]] = {}
        self.documents: dict[str, dict[str, Any]] = {}
        self.items_of: dict[str, list[dict[str, Any]]] = {}
        self.numbers: dict[tuple[str, int], int] = {}
        self.windows: dict[str, tuple[dt.date, dt.date]] = {CAMPAIGN: (FIRST_DAY, LAST_DAY)}
        self.refused: list[dict[str, Any]] = []  # what the consumer's inbox says was refused

    def _name(self, org_id: str) -> str:
        org = self.outer.orgs_by_id.get(org_id)
        return org.name if org else org_id

    async def save_inspections(self, rows: Sequence[Any]) -> None:
        for row in rows:
            key = (row.cause_source, row.cause_event_id)
            self.inspections.setdefault(key, {**row._asdict(), "praised_in": None})

    async def save_progress_reports(self, rows: Sequence[Any]) -> None:
        for row in rows:
            self.reports.setdefault((row.cause_source, row.cause_event_id), row._asdict())

    async def latest_inspections(self, campaign_id: str) -> list[asyncpg.Record]:
        latest: dict[str, dict[str, Any]] = {}
        for row in self.inspections.values():
            order = (row["inspected_on"], row["event_time"], row["cause_event_id"])
            seen = latest.get(row["org_id"])
            if row["campaign_id"] == campaign_id and (
                seen is None
                or order > (seen["inspected_on"], seen["event_time"], seen["cause_event_id"])
            ):
                latest[row["org_id"]] = row
        return [{**r, "org_name": self._name(o)} for o, r in sorted(latest.items())]

    async def commendable_inspections(self, campaign_id: str) -> list[asyncpg.Record]:
        return [
            {**r, "org_name": self._name(r["org_id"])}
            for r in self.inspections.values()
            if r["campaign_id"] == campaign_id
            and r["praised_in"] is None
            and any(f["kind"] == "commendable" for f in r["findings"])
        ]

    async def commendations_to_praise(
        self, campaign_id: str, *, announcement: tuple[str, dt.date, int] | None = None
    ) -> list[asyncpg.Record]:
        return [
            {
                **r,
                "org_name": self._name(r["branch_id"]),
                "awarded_by_name": self._name(r["awarded_by"]),
            }
            for r in self.outer.commendations.rows.values()
            if r["campaign_id"] == campaign_id
            and r["praised_in"] is None
            and (
                announcement is None
                or (r["awarded_by"], r["awarded_on"], r["announcement"]) == announcement
            )
        ]

    async def last_reports(self, campaign_id: str, county_code: str) -> list[asyncpg.Record]:
        return [
            {
                "org_id": o.org_id,
                "name": o.name,
                "last_reported_on": max(
                    (
                        r["reported_on"]
                        for r in self.reports.values()
                        if (r["campaign_id"], r["org_id"]) == (campaign_id, o.org_id)
                    ),
                    default=None,
                ),
            }
            for o in sorted(self.outer.orgs_by_id.values())
            if o.county_code == county_code and o.kind in ("branch", "general_branch")
        ]

    async def campaign_window(self, campaign_id: str) -> tuple[dt.date, dt.date] | None:
        return self.windows.get(campaign_id)

    async def save_draft(self, circular: CircularRow, items: Sequence[ItemRow]) -> bool:
        if circular.circular_id in self.documents:
            return False
        self.documents[circular.circular_id] = {
            **circular._asdict(),
            "status": "draft",
            "reminded_at": None,
        }
        self.items_of[circular.circular_id] = [
            {**i._asdict(), "drafted_text": i.text, "removed_reason": None} for i in items
        ]
        return True

    async def lock(self, circular_id: str) -> asyncpg.Record | None:
        found = self.documents.get(circular_id)
        return dict(found) if found else None

    async def items(self, circular_id: str) -> list[asyncpg.Record]:
        return [dict(i) for i in self.items_of.get(circular_id, [])]

    def _item(self, circular_id: str, item_id: str) -> dict[str, Any]:
        (item,) = [i for i in self.items_of[circular_id] if i["item_id"] == item_id]
        return item

    async def edit_item(
        self, circular_id: str, item_id: str, text: str, by: str, at: dt.datetime
    ) -> None:
        self._item(circular_id, item_id).update(text=text, changed_by=by)

    async def remove_item(
        self, circular_id: str, item_id: str, reason: str, by: str, at: dt.datetime
    ) -> None:
        self._item(circular_id, item_id).update(removed_reason=reason, changed_by=by)

    async def add_item(self, item: ItemRow, reason: str, by: str, at: dt.datetime) -> None:
        self.items_of[item.circular_id].append(
            {**item._asdict(), "drafted_text": None, "removed_reason": None, "added_by": by}
        )

    async def take_number(self, county_code: str, year: int) -> int:
        self.numbers[(county_code, year)] = self.numbers.get((county_code, year), 0) + 1
        return self.numbers[(county_code, year)]

    async def mark_issued(self, circular_id: str, issue: Issue) -> None:
        self.documents[circular_id].update(status="issued", **issue._asdict())

    async def mark_praised(self, circular_id: str, sources: Sequence[dict[str, Any]]) -> None:
        for s in sources:
            rows = (
                self.inspections if s["table"] == "inspections" else self.outer.commendations.rows
            )
            row = rows[(s["source"], s["id"])]
            row["praised_in"] = row["praised_in"] or circular_id

    async def mark_discarded(self, circular_id: str, by: str, reason: str, at: dt.datetime) -> None:
        self.documents[circular_id].update(status="discarded", discarded_by=by)

    async def drafts_to_remind(self, now: dt.datetime, default_days: int) -> list[asyncpg.Record]:
        due = []
        for d in self.documents.values():
            days = self.outer.sign_off_days.get(d["campaign_id"], default_days)
            late = d["drafted_at"] + dt.timedelta(days=days) <= now
            if d["status"] == "draft" and d["reminded_at"] is None and late:
                d["reminded_at"] = now
                due.append({**d, "days": days})
        return due

    async def refused_sign_offs(self) -> list[asyncpg.Record]:
        told = {(r.cause_source, r.cause_event_id) for r in self.outer.deliveries.planned.values()}
        return [r for r in self.refused if (r["source"], r["event_id"]) not in told]


class FakeStore(NotificationStore):
    deliveries: FakeDeliveries
    commendations: FakeCommendations
    circulars: FakeCirculars

    def __init__(self) -> None:  # no connection
        self.deliveries = FakeDeliveries()
        self.commendations = FakeCommendations()
        self.circulars = FakeCirculars(self)
        self.orgs_by_id = {
            OFFICE: OrgRow(
                OFFICE, COUNTY, "committee", "教育局党委", None, "李书记", "office@example.org"
            ),
            BRANCH: OrgRow(
                BRANCH, COUNTY, "branch", "城关中学党支部", OFFICE, "王建国", "wang@example.org"
            ),
            OTHER: OrgRow(OTHER, COUNTY, "branch", "东关小学党支部", OFFICE, "赵明", None),
        }
        self.facts: list[dict[str, Any]] = []
        self.sign_off_days: dict[str, int] = {}
        self.every_days: int | None = None  # the campaign's progress_report_every_days
        self.done: dict[tuple[str, str], int] = {}  # circulars: (campaign, key): named

    async def campaign(self, campaign_id: str | None) -> asyncpg.Record | None:
        if campaign_id != CAMPAIGN:
            return None
        return {
            "campaign_id": CAMPAIGN,
            "county_code": COUNTY,
            "name": "蒲城县教育系统基层组织建设年",
            "progress_report_every_days": self.every_days,
            "circular_sign_off_days": self.sign_off_days.get(CAMPAIGN),
        }

    async def campaign_names(self, campaign_ids: Sequence[str]) -> dict[str, str | None]:
        return {c: "蒲城县教育系统基层组织建设年" for c in campaign_ids if c == CAMPAIGN}

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
        return sorted(o for o in self.orgs_by_id.values() if o.county_code == county_code)

    async def open_facts(self, campaign_id: str) -> list[asyncpg.Record]:
        return [
            {**f, "branch_name": self.orgs_by_id[f["branch_id"]].name}
            for f in self.facts
            if f["campaign_id"] == campaign_id
        ]

    async def mark_circular_issued(
        self, campaign_id: str, circular_key: str, named: int, at: dt.datetime
    ) -> None:
        self.done[(campaign_id, circular_key)] = named


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


async def apply(store: FakeStore, *events: AnyEvent, now: dt.datetime = NOW) -> UnitOfWork[Any]:
    uow = UnitOfWork[NotificationStore](store, service="notification", now=now)
    for one in events:
        registration = handlers.HANDLERS.get(one.type)
        assert registration is not None, one.type
        await registration.one(uow, one)
    await uow.flush()
    return uow


async def refused(store: FakeStore, one: AnyEvent) -> str:
    """The reason the event is refused with; nothing of it was planned or emitted."""
    before = dict(store.deliveries.planned)
    with pytest.raises(Rejected) as refusal:
        await apply(store, one)
    assert store.deliveries.planned == before
    return refusal.value.reason


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> NotificationSettings:
    """The county has one webhook endpoint; its issuing body is the deployed configuration's."""
    configured = NotificationSettings(
        webhooks={COUNTY: [{"name": "county", "url": "http://127.0.0.1:9/"}]},
        WEBHOOK_SIGNING_SECRET="s",
    )
    monkeypatch.setattr(planning.PLANNER, "settings", configured)
    return configured


def inspected(
    event_id: str, org_id: str, on: str, *findings: tuple[str, str], **changed: Any
) -> SupervisionInspectedEvent:
    found = [{"kind": kind, "text": text} for kind, text in findings]
    return event(
        SupervisionInspectedEvent,
        event_id=event_id,
        org_id=org_id,
        inspected_on=on,
        findings=found,
        **changed,
    )


LEADERSHIP = ("leadership_attention", "支部书记未按期主持专题研究，整改台账缺失。")
COMMENDABLE = ("commendable", "整改台账规范齐全。")


async def lagging_county() -> FakeStore:
    """BRANCH inspected with a leadership finding, commended by the committee, reporting on
    time; OTHER with a commendable finding, an overdue task and no progress report."""
    store = FakeStore()
    store.facts.append(
        {
            "campaign_id": CAMPAIGN,
            "branch_id": OTHER,
            "reason": "task_overdue",
            "fact_key": "t-1",
            "detail": {"title": "更新党员活动室", "deadline": "2012-05-10"},
        }
    )
    await apply(
        store,
        inspected("i-1", BRANCH, "2012-05-18", LEADERSHIP),
        inspected("i-2", OTHER, "2012-05-16", COMMENDABLE),
        event(SupervisionProgressReportedEvent, event_id="r-1", org_id=BRANCH),  # 14 May
        event(EmulationCommendedEvent, event_id="c-1"),  # the committee's, of BRANCH
    )
    return store


DRAFTED_ITEMS = [
    (
        f"praise-{BRANCH}-commended",
        f"教育局党委于2012年7月1日授予城关中学党支部“先进基层党组织”称号（{SEVENTH_OF_JULY}）。",
    ),
    (
        f"praise-{OTHER}-commendable",
        "东关小学党支部在2012年5月16日督查中工作值得肯定：整改台账规范齐全。",
    ),
    (
        f"criticism-{BRANCH}-leadership_attention",
        "城关中学党支部在2012年5月18日督查中被发现领导重视不够：支部书记未按期主持专题研究，"
        "整改台账缺失。",
    ),
    (
        f"criticism-{OTHER}-task_overdue",
        "东关小学党支部整改任务逾期1项（更新党员活动室，2012年5月10日到期）。",
    ),
    (
        f"criticism-{OTHER}-progress_report_missing",
        "东关小学党支部未按时报送工作进展情况（应于2012年5月10日前报送）。",
    ),
]
CAMPAIGN_ROW = {
    "campaign_id": CAMPAIGN,
    "county_code": COUNTY,
    "name": "蒲城县教育系统基层组织建设年",
    "started_at": dt.datetime(2012, 5, 13, 9, tzinfo=CST),
    "last_period": None,
}


async def weekly(store: FakeStore, now: dt.datetime = NOW) -> UnitOfWork[Any]:
    uow = UnitOfWork[NotificationStore](store, service="notification", now=now)
    await jobs.draft_weekly_circular(uow, planning.PLANNER, CAMPAIGN_ROW)
    await uow.flush()
    return uow


# ------------------------------------------------------------------ inspections and reports


async def test_an_inspection_and_a_progress_report_are_kept_once_per_event() -> None:
    store = FakeStore()
    uow = await apply(
        store,
        inspected("i-1", BRANCH, "2012-05-18", LEADERSHIP),
        inspected("i-1", BRANCH, "2012-05-18", LEADERSHIP),  # redelivered
        event(SupervisionProgressReportedEvent, event_id="r-1"),
        event(SupervisionProgressReportedEvent, event_id="r-1"),
    )
    assert list(store.circulars.inspections) == [(OFFICE_SOURCE, "i-1")]
    kept = store.circulars.inspections[(OFFICE_SOURCE, "i-1")]
    assert (kept["org_id"], kept["mode"], kept["inspection_id"]) == (
        BRANCH,
        "unannounced",
        "insp-2012-05-0007",
    )
    assert kept["findings"] == [{"kind": "leadership_attention", "text": LEADERSHIP[1]}]
    assert [r["reported_on"] for r in store.circulars.reports.values()] == [dt.date(2012, 5, 14)]
    assert uow.events == [] and store.deliveries.planned == {}  # nothing told: drafts do


@pytest.mark.parametrize(
    "kind",
    [SupervisionInspectedEvent, SupervisionProgressReportedEvent],
    ids=["inspected", "report"],
)
async def test_an_input_about_an_organisation_not_registered_in_its_county_is_refused(
    kind: type[SupervisionInspectedEvent] | type[SupervisionProgressReportedEvent],
) -> None:
    store = FakeStore()
    store.orgs_by_id["610527-edu-0001"] = OrgRow(
        "610527-edu-0001", "610527", "branch", "外县党支部", None, "李", None
    )
    for org_id in ("610526-edu-9999", "610527-edu-0001"):
        assert await refused(store, event(kind, org_id=org_id)) == (
            f"{org_id} is not a registered organisation of county 610526: register it "
            "(org.branch_registered) first"
        )
    assert store.circulars.inspections == {} and store.circulars.reports == {}


# ------------------------------------------------------------------ drafts


async def test_the_weekly_draft_names_the_lagging_and_the_praised_and_reaches_only_the_office() -> (
    None
):
    store = await lagging_county()
    uow = await weekly(store)
    document = store.circulars.documents[WEEKLY]
    assert (document["status"], document["trigger"], document["title"]) == (
        "draft",
        "weekly",
        "关于蒲城县教育系统基层组织建设年督查情况的通报",
    )
    items = store.circulars.items_of[WEEKLY]
    assert [(i["item_id"], i["text"]) for i in items] == DRAFTED_ITEMS
    assert [i["basis"] for i in items] == [
        "commended",
        "commendable",
        "leadership_attention",
        "task_overdue",
        "progress_report_missing",
    ]
    (drafted,) = [e for e in uow.events if isinstance(e, NotificationCircularDraftedEvent)]
    assert drafted.subject == WEEKLY and drafted.countycode == COUNTY
    assert [(i.item_id, i.text) for i in drafted.data.items] == DRAFTED_ITEMS
    # The office's inbox (and the county's system) hear a draft waits; no organisation is told,
    # and nothing goes by mail.
    assert {(r.channel, r.recipient) for r in store.deliveries.planned.values()} == {
        ("inbox", OFFICE),
        ("webhook", "county"),
    }
    (inbox,) = store.deliveries.of("circular_drafted")[:1]
    assert inbox.subject == "【通报待签发】关于蒲城县教育系统基层组织建设年督查情况的通报"
    assert "共5项：通报表扬2项，通报批评3项" in inbox.body
    assert "城关中学" not in inbox.body and "东关小学" not in inbox.body
    assert store.done == {(CAMPAIGN, "period:1"): 5}
    # The same week again (a second sweep): nothing new.
    again = await weekly(store, NOW + dt.timedelta(hours=1))
    assert again.events == [] and len(store.circulars.documents) == 1


async def test_a_later_inspection_without_critical_findings_clears_them_and_a_report_the_missing_one() -> (
    None
):
    store = await lagging_county()
    await apply(
        store,
        inspected("i-3", BRANCH, "2012-05-19", COMMENDABLE),
        event(
            SupervisionProgressReportedEvent, event_id="r-2", org_id=OTHER, reported_on="2012-05-19"
        ),
    )
    await weekly(store)
    assert [i["item_id"] for i in store.circulars.items_of[WEEKLY]] == [
        f"praise-{BRANCH}-commended",
        f"praise-{BRANCH}-commendable",
        f"praise-{OTHER}-commendable",
        f"criticism-{OTHER}-task_overdue",
    ]


async def test_nothing_to_name_is_not_drafted() -> None:
    store = FakeStore()
    uow = await weekly(store, dt.datetime(2012, 3, 10, 9, tzinfo=CST))  # no report due yet
    assert store.circulars.documents == {} and uow.events == [] and store.deliveries.planned == {}
    store.every_days = 0  # a campaign that asks for no progress reports
    await weekly(store)
    assert store.circulars.documents == {}


async def test_the_office_asks_for_a_draft_under_its_request_id_once() -> None:
    store = await lagging_county()
    requested = event(SupervisionCircularRequestedEvent, event_id="q-1")
    uow = await apply(store, requested, requested)
    circular_id = f"circular-{CAMPAIGN}-req-2012-05-20-1"
    assert list(store.circulars.documents) == [circular_id]
    assert store.circulars.documents[circular_id]["trigger"] == "on_demand"
    assert [(i["item_id"], i["text"]) for i in store.circulars.items_of[circular_id]] == (
        DRAFTED_ITEMS
    )
    assert len([e for e in uow.events if isinstance(e, NotificationCircularDraftedEvent)]) == 1
    (inbox,) = [r for r in store.deliveries.planned.values() if r.channel == "inbox"]
    assert "（按需起草），共5项" in inbox.body


JULY_1 = AnnouncementKey(CAMPAIGN, OFFICE, dt.date(2012, 7, 1))


async def announce(store: FakeStore) -> tuple[bool, UnitOfWork[Any]]:
    uow = UnitOfWork[NotificationStore](store, service="notification", now=NOW)
    done = await announce_commendations(uow, JULY_1)
    await uow.flush()
    return done, uow


async def test_a_committees_commendations_of_a_day_are_one_praise_draft_sent_to_no_one() -> None:
    store = FakeStore()
    await apply(
        store,
        event(EmulationCommendedEvent, event_id="c-1"),
        event(
            EmulationCommendedEvent,
            event_id="c-2",
            branch_id=OTHER,
            honour="excellent_member",
            member_name="赵老师",
        ),
        event(
            EmulationCommendedEvent,
            event_id="c-3",
            honour="excellent_party_worker",
            member_name="钱老师",
        ),
    )
    assert store.deliveries.planned == {}  # waiting for the barrier
    done, uow = await announce(store)
    circular_id = f"circular-{CAMPAIGN}-commendation-{OFFICE}-2012-07-01-1"
    assert done and list(store.circulars.documents) == [circular_id]
    document = store.circulars.documents[circular_id]
    assert (document["trigger"], document["title"]) == (
        "commendation",
        f"关于{SEVENTH_OF_JULY}的通报",
    )
    assert [(i["item_id"], i["text"]) for i in store.circulars.items_of[circular_id]] == [
        (
            f"praise-{BRANCH}-commended",
            f"教育局党委于2012年7月1日授予城关中学党支部“先进基层党组织”称号（{SEVENTH_OF_JULY}）；"
            f"教育局党委于2012年7月1日授予城关中学党支部钱老师同志“优秀党务工作者”称号（{SEVENTH_OF_JULY}）。",
        ),
        (
            f"praise-{OTHER}-commended",
            f"教育局党委于2012年7月1日授予东关小学党支部赵老师同志“优秀共产党员”称号（{SEVENTH_OF_JULY}）。",
        ),
    ]
    assert {(r.channel, r.recipient) for r in store.deliveries.planned.values()} == {
        ("inbox", OFFICE),
        ("webhook", "county"),
    }
    assert [e.type for e in uow.events] == [
        "notification.circular_drafted",
        "notification.delivered",  # the office's inbox
    ]
    # Run again (another replica, a restart): nothing more; a later one is the next draft's.
    assert (await announce(store))[0] is False
    await apply(store, event(EmulationCommendedEvent, event_id="c-9", branch_id=OTHER))
    await announce(store)
    second = f"circular-{CAMPAIGN}-commendation-{OFFICE}-2012-07-01-2"
    assert [i["item_id"] for i in store.circulars.items_of[second]] == [f"praise-{OTHER}-commended"]


# ------------------------------------------------------------------ the office's decisions


def edited(**changed: Any) -> SupervisionCircularEditedEvent:
    return event(SupervisionCircularEditedEvent, **{"circular_id": WEEKLY, **changed})


def signed(
    event_id: str, circular_id: str = WEEKLY, **changed: Any
) -> SupervisionCircularSignedEvent:
    return event(
        SupervisionCircularSignedEvent,
        event_id=event_id,
        circular_id=circular_id,
        time=dt.datetime(2012, 5, 21, 10, tzinfo=CST),
        **changed,
    )


async def test_the_office_edits_removes_and_adds_items_of_the_notifications_copy() -> None:
    store = await lagging_county()
    await weekly(store)
    uow = await apply(
        store,
        edited(
            action="edit",
            item_id=f"criticism-{BRANCH}-leadership_attention",
            text="城关中学党支部领导重视不够，限期一周内整改。",
        ),
        edited(
            action="remove",
            item_id=f"criticism-{OTHER}-task_overdue",
            text=None,
            reason="任务已于当日完成",
        ),
        edited(
            action="add",
            item_id="criticism-extra",
            section="criticism",
            org_id=OTHER,
            text="东关小学党支部三会一课记录不全。",
            reason="现场督查补充",
        ),
    )
    items = {i["item_id"]: i for i in store.circulars.items_of[WEEKLY]}
    edit = items[f"criticism-{BRANCH}-leadership_attention"]
    assert edit["text"] == "城关中学党支部领导重视不够，限期一周内整改。"
    assert edit["drafted_text"] == DRAFTED_ITEMS[2][1] and edit["changed_by"] == "刘芳"
    assert items[f"criticism-{OTHER}-task_overdue"]["removed_reason"] == "任务已于当日完成"
    added = items["criticism-extra"]
    assert (added["section"], added["org_id"], added["basis"], added["drafted_text"]) == (
        "criticism",
        OTHER,
        "added",
        None,
    )
    assert uow.events == []  # the draft is the office's business until signed


async def test_an_edit_the_draft_cannot_take_is_refused_with_the_reason() -> None:
    store = await lagging_county()
    await weekly(store)
    kept = f"criticism-{OTHER}-task_overdue"
    await apply(store, edited(action="remove", item_id=kept, text=None, reason="已完成"))
    refusals = {
        "unknown circular": (
            edited(circular_id="circular-nope"),
            "circular circular-nope is unknown",
        ),
        "unknown item": (edited(item_id="praise-x"), f"circular {WEEKLY} has no item praise-x"),
        "removed item": (edited(item_id=kept), f"item {kept} of circular {WEEKLY} was removed"),
        "added twice": (
            edited(action="add", item_id=kept, section="criticism", org_id=OTHER, reason="补充"),
            f"circular {WEEKLY} already has an item {kept}",
        ),
        "unregistered": (
            edited(
                action="add",
                item_id="x-1",
                section="praise",
                org_id="610526-edu-9999",
                reason="补充",
            ),
            "610526-edu-9999 is not a registered organisation of county 610526: register it "
            "(org.branch_registered) first",
        ),
    }
    for name, (decision, reason) in refusals.items():
        assert await refused(store, decision) == reason, name
    assert len(store.circulars.items_of[WEEKLY]) == 5


EVERY_ORGANISATION = {
    ("inbox", OFFICE),
    ("email", "office@example.org"),
    ("inbox", BRANCH),
    ("email", "wang@example.org"),
    ("inbox", OTHER),
    ("email", OTHER),  # no address: reported failed
    ("webhook", "county"),
}


async def test_a_signed_circular_is_numbered_and_sent_as_edited_to_every_organisation_once() -> (
    None
):
    store = await lagging_county()
    await weekly(store)
    await apply(
        store,
        edited(
            action="edit",
            item_id=f"criticism-{BRANCH}-leadership_attention",
            text="城关中学党支部领导重视不够，限期一周内整改。",
        ),
        edited(
            action="remove", item_id=f"praise-{OTHER}-commendable", text=None, reason="下周再议"
        ),
    )
    uow = await apply(store, signed("s-1"))
    document = store.circulars.documents[WEEKLY]
    assert (document["status"], document["number"], document["document_number"]) == (
        "issued",
        1,
        "蒲教党办〔2012〕1号",
    )
    assert (document["signed_by"], document["issuing_body"], document["recipients"]) == (
        "李明",
        "中共蒲城县教育局委员会办公室",
        3,
    )
    circulars = store.deliveries.of("circular")
    assert {(r.channel, r.recipient) for r in circulars} == EVERY_ORGANISATION
    inbox = next(r for r in circulars if r.recipient == BRANCH)
    assert inbox.subject == (
        "【通报】关于蒲城县教育系统基层组织建设年督查情况的通报（蒲教党办〔2012〕1号）"
    )
    assert inbox.body == (
        "中共蒲城县教育局委员会办公室\n"
        "蒲教党办〔2012〕1号\n\n"
        "关于蒲城县教育系统基层组织建设年督查情况的通报\n\n"
        "各支部（总支）：\n"
        "截至2012年5月20日，现将有关情况通报如下：\n"
        "一、通报表扬\n"
        f"1. {DRAFTED_ITEMS[0][1]}\n"
        "二、通报批评\n"
        "1. 城关中学党支部领导重视不够，限期一周内整改。\n"
        f"2. {DRAFTED_ITEMS[3][1]}\n"
        f"3. {DRAFTED_ITEMS[4][1]}\n"
        "希望受到表扬的党组织和同志珍惜荣誉、再接再厉；被通报批评的党组织要认真查找原因，限期整改。"
        "各支部（总支）要以先进为榜样、引以为戒，按期完成各项任务。\n\n"
        "中共蒲城县教育局委员会办公室\n"
        "2012年5月21日\n"
    )
    assert all(r.body == inbox.body for r in circulars if r.channel != "webhook")  # alike
    webhook = next(r for r in circulars if r.channel == "webhook")
    facts = json.loads(webhook.body)["facts"]
    assert (facts["document_number"], facts["signed_by"], facts["signed_on"]) == (
        "蒲教党办〔2012〕1号",
        "李明",
        "2012-05-21",
    )
    (issued,) = [e for e in uow.events if isinstance(e, NotificationCircularIssuedEvent)]
    assert issued.subject == WEEKLY and issued.data.model_dump() == {
        "circular_id": WEEKLY,
        "issuing_body": "中共蒲城县教育局委员会办公室",
        "year": 2012,
        "number": 1,
        "document_number": "蒲教党办〔2012〕1号",
        "signed_by": "李明",
        "recipients": 3,
    }
    assert sorted(
        e.data.recipient for e in uow.events if isinstance(e, NotificationDeliveredEvent)
    ) == [BRANCH, OTHER, OFFICE]
    # Its praise is not drafted again — the removed one too: the office decided on it.
    assert store.commendations.rows[(OFFICE_SOURCE, "c-1")]["praised_in"] == WEEKLY
    assert store.circulars.inspections[(OFFICE_SOURCE, "i-2")]["praised_in"] == WEEKLY


async def test_copies_of_a_circular_are_written_in_chunks_bounded_in_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy of a circular is tens of kilobytes: planned 500 at a time, they were hundreds of
    megabytes (rendered, then encoded in one statement) that the process kept (issue 21). A
    chunk is bounded in characters too; the rows are the same, however they are chunked."""

    async def planned(chars: int) -> tuple[list[NewDelivery], list[int]]:
        monkeypatch.setattr(planning, "PLAN_CHUNK_CHARS", chars)
        store = await lagging_county()
        await weekly(store)
        statements: list[int] = []
        insert = store.deliveries.insert_deliveries

        async def counted(rows: Sequence[NewDelivery]) -> set[str]:
            statements.append(len(rows))
            return await insert(rows)

        monkeypatch.setattr(store.deliveries, "insert_deliveries", counted)
        await apply(store, signed("s-1"))
        return store.deliveries.of("circular"), statements

    together, few = await planned(planning.PLAN_CHUNK_CHARS)
    apart, many = await planned(1)  # each row is over the bound: one statement per row
    assert apart == together and len(together) == len(EVERY_ORGANISATION)
    assert max(few) > 1 and max(many) == 1 and sum(many) == len(together)


async def test_the_next_signed_circular_is_number_2_and_a_second_sign_off_sends_nothing() -> None:
    store = await lagging_county()
    await weekly(store)
    await apply(store, event(SupervisionCircularRequestedEvent, event_id="q-1"))
    requested = f"circular-{CAMPAIGN}-req-2012-05-20-1"
    await apply(store, signed("s-1"), signed("s-2", requested))
    assert [store.circulars.documents[c]["document_number"] for c in (WEEKLY, requested)] == [
        "蒲教党办〔2012〕1号",
        "蒲教党办〔2012〕2号",
    ]
    planned = len(store.deliveries.planned)
    assert await refused(store, signed("s-3")) == f"circular {WEEKLY} is already signed"
    assert await refused(store, edited()) == f"circular {WEEKLY} is already signed"
    discard = event(SupervisionCircularDiscardedEvent, circular_id=WEEKLY)
    assert await refused(store, discard) == f"circular {WEEKLY} is already signed"
    assert len(store.deliveries.planned) == planned and store.circulars.numbers == {
        (COUNTY, 2012): 2
    }


async def test_a_discarded_draft_is_never_sent_and_its_praise_waits_for_the_next() -> None:
    store = await lagging_county()
    await weekly(store)
    before = set(store.deliveries.planned)
    uow = await apply(store, event(SupervisionCircularDiscardedEvent, circular_id=WEEKLY))
    document = store.circulars.documents[WEEKLY]
    assert (document["status"], document["discarded_by"]) == ("discarded", "李明")
    assert uow.events == [] and set(store.deliveries.planned) == before
    for decision in (signed("s-1"), edited()):
        assert await refused(store, decision) == f"circular {WEEKLY} was discarded"
    assert store.commendations.rows[(OFFICE_SOURCE, "c-1")]["praised_in"] is None
    assert store.circulars.numbers == {}


async def test_a_decision_about_another_countys_circular_is_refused_as_unknown() -> None:
    store = await lagging_county()
    await weekly(store)
    foreign = SupervisionCircularSignedEvent.model_validate(
        {**signed("s-1").dump(), "countycode": "610527"}
    )
    assert await refused(store, foreign) == f"circular {WEEKLY} is unknown"


async def test_a_county_with_no_issuing_body_cannot_issue_a_circular(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "counties.toml"
    config.write_text(
        '[counties."610527"]\nissuing_body = "外县党委办"\ndocument_prefix = "外教党办"\n',
        encoding="utf-8",
    )
    unconfigured = NotificationSettings(
        webhooks={COUNTY: [{"name": "county", "url": "http://127.0.0.1:9/"}]},
        WEBHOOK_SIGNING_SECRET="s",
        GRASSROOTS_COUNTIES_FILE=config,
    )
    monkeypatch.setattr(planning.PLANNER, "settings", unconfigured)
    store = await lagging_county()
    await weekly(store)
    assert await refused(store, signed("s-1")) == (
        "county 610526 has no issuing body configured (GRASSROOTS_COUNTIES_FILE)"
    )
    assert store.circulars.documents[WEEKLY]["status"] == "draft" and store.circulars.numbers == {}
    # The sweep tells the office (the refusal rolled back everything else).
    store.circulars.refused = [
        {
            "source": OFFICE_SOURCE,
            "event_id": "s-1",
            "reason": "county 610526 has no issuing body configured (GRASSROOTS_COUNTIES_FILE)",
            "circular_id": WEEKLY,
            "campaign_id": CAMPAIGN,
            "county_code": COUNTY,
            "title": "关于蒲城县教育系统基层组织建设年督查情况的通报",
            "trigger": "weekly",
        }
    ]
    uow = UnitOfWork[NotificationStore](store, service="notification", now=NOW)
    assert await tell_refused_sign_offs(uow, planning.PLANNER) == 2  # inbox, webhook
    told = [r for r in store.deliveries.planned.values() if r.cause_event_id == "s-1"]
    assert {(r.channel, r.recipient) for r in told} == {("inbox", OFFICE), ("webhook", "county")}
    inbox = next(r for r in told if r.channel == "inbox")
    assert inbox.subject == "【通报未能印发】关于蒲城县教育系统基层组织建设年督查情况的通报"
    assert "本县未配置发文机关和发文字号（GRASSROOTS_COUNTIES_FILE）" in inbox.body
    assert await tell_refused_sign_offs(uow, planning.PLANNER) == 0  # told once


async def test_a_draft_whose_items_were_all_removed_is_not_issued() -> None:
    store = FakeStore()
    await apply(store, inspected("i-1", BRANCH, "2012-05-18", LEADERSHIP))
    store.circulars.windows = {}  # no progress reports due
    await weekly(store)
    only = f"criticism-{BRANCH}-leadership_attention"
    await apply(store, edited(action="remove", item_id=only, text=None, reason="已整改"))
    assert await refused(store, signed("s-1")) == (
        f"circular {WEEKLY} has no items left: discard it instead"
    )


# ------------------------------------------------------------------ the office, reminded


async def test_an_unsigned_draft_reminds_the_office_once_after_the_campaigns_days() -> None:
    store = await lagging_county()
    await weekly(store)
    await apply(store, event(SupervisionCircularRequestedEvent, event_id="q-1"))
    await apply(store, signed("s-1", f"circular-{CAMPAIGN}-req-2012-05-20-1"))
    store.sign_off_days[CAMPAIGN] = 2

    async def sweep(now: dt.datetime) -> int:
        uow = UnitOfWork[NotificationStore](store, service="notification", now=now)
        return await remind_sign_off(uow, planning.PLANNER)

    assert await sweep(NOW + dt.timedelta(days=2, seconds=-1)) == 0
    assert await sweep(NOW + dt.timedelta(days=2)) == 3  # inbox, email, webhook
    assert await sweep(NOW + dt.timedelta(days=5)) == 0  # once
    reminders = store.deliveries.of("circular_sign_off_due")
    assert {(r.channel, r.recipient) for r in reminders} == {
        ("email", "office@example.org"),
        ("inbox", OFFICE),
        ("webhook", "county"),
    }
    inbox = next(r for r in reminders if r.channel == "inbox")
    assert inbox.subject == "【通报待签发提醒】关于蒲城县教育系统基层组织建设年督查情况的通报"
    assert "于2012年5月20日起草，已满2天仍未签发" in inbox.body
    assert inbox.body.endswith("中共蒲城县教育局委员会办公室\n2012年5月22日\n")
