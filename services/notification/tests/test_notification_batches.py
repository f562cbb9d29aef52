"""Against the real PostgreSQL, in scratch schemas: a simulated campaign with the other
services' results, inspections, progress reports and the office's decisions on circulars applied
in batches of 500 and one event per batch gives the same rows and the same events; the sweep (a
PeriodicJob) and the close drafts (a BarrierJob) do what is due, once."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.common import Phase
from grassroots.contract.examples import CAMPAIGN, COUNTY, DATA, envelope
from grassroots.plumbing import metrics
from grassroots.plumbing.unit_of_work import open_unit_of_work
from grassroots.simulation import CampaignSimulation
from grassroots.testing import apply_in_batches, as_records, scratch_schemas
from notification import planning
from notification.app import DEFINITION
from notification.commendation_store import AnnouncementKey
from notification.config import NotificationSettings
from notification.jobs import CLOSE_CIRCULARS, COMMENDATION_ANNOUNCEMENTS, SWEEP
from notification.store import NotificationStore

MIGRATIONS = Path(__file__).parents[1] / "migrations"
CST = dt.timezone(dt.timedelta(hours=8))
OFFICE, BRANCH, OTHER = "610526-edu-committee", "610526-edu-0007", "610526-edu-0008"
# Every table but the clock columns the database fills in (planned_at, finished_at, seq …).
COMPARED = {
    "campaigns": "*",
    "phases": "*",
    "orgs": "*",
    "commitments": "*",
    "tasks": "*",
    "lagging_facts": "*",
    "reminders": "*",
    "circulars": "*",
    "problems": "*",
    "reviews": "*",
    "commendations": "*",
    "commendation_announcements": "*",
    "inspections": "*",
    "progress_reports": "*",
    "circular_documents": "*",
    "circular_items": "*",
    "circular_numbers": "*",
    "deliveries": "notification_id, cause_source, cause_event_id, recipient, channel, kind,"
    " county_code, campaign_id, branch_id, address, subject, body, html, status, attempts",
    "inbox_messages": "message_id, org_id, county_code, campaign_id, kind, subject, body,"
    " created_at, read_at",
}


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """One webhook endpoint for the county, whatever the environment says."""
    webhooks = {COUNTY: [{"name": "county", "url": "http://127.0.0.1:9/"}]}
    monkeypatch.setattr(
        planning.PLANNER,
        "settings",
        NotificationSettings(webhooks=webhooks, WEBHOOK_SIGNING_SECRET="s"),
    )


@pytest.fixture
async def schemas() -> AsyncIterator[list[asyncpg.Pool]]:
    async with scratch_schemas("notification_test", MIGRATIONS, 2) as pools:
        yield pools


async def compared_rows(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    async with pool.acquire() as conn:
        found = {
            table: sorted(
                (tuple(r) for r in await conn.fetch(f"SELECT {columns} FROM {table}")), key=repr
            )
            for table, columns in COMPARED.items()
        }
        found["outbox"] = sorted(
            (r["topic"], r["key"], r["value"])
            for r in await conn.fetch("SELECT topic, key, value FROM outbox")
        )
    return found


def results_of_the_other_services(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """What grading, rectification and emulation would publish about the simulated branches."""
    chance = random.Random(7)
    at = dt.datetime(2012, 6, 1, tzinfo=dt.UTC)

    def made(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return envelope(event_type, data, campaign_id=CAMPAIGN, time=at)

    parents: dict[str, str] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "org.branch_registered" and data.get("parent_id"):
            parents[data["branch_id"]] = data["parent_id"]
        if event["type"] == "rectification.problem_listed" and data["needs_superior"]:
            # Escalated to the parent; some left unanswered past their days, some answered.
            ref = {"branch_id": data["branch_id"], "problem_id": data["problem_id"]}
            to = parents.get(data["branch_id"], OFFICE)
            yield made("rectification.problem_escalated", {**ref, "to_org_id": to})
            if chance.random() < 0.5:
                overdue = {**ref, "to_org_id": to, "due": "2012-05-10"}
                yield made("rectification.escalation_overdue", overdue)
            if chance.random() < 0.5:
                answer = {"to_org_id": to, "answer": "cannot_resolve", "reason": "经费不足"}
                updated = {**ref, "status": "open", "escalation": answer}
                yield made("rectification.problem_updated", updated)
        if event["type"] == "rectification.commitment_published" and chance.random() < 0.3:
            late = {
                "branch_id": data["branch_id"],
                "commitment_id": data["commitment_id"],
                "revision": data["revision"],
                "reviewer_org_id": parents.get(data["branch_id"], OFFICE),
                "due": "2012-05-08",
            }
            yield made("rectification.review_overdue", late)
        if event["type"] == "org.branch_registered" and data["kind"] != "committee":
            branch = data["branch_id"]
            if chance.random() < 0.2:
                incomplete = {"branch_id": branch, "round": "initial", "missing": ["appraisal"]}
                yield made("grading.branch_incomplete", incomplete)
                if chance.random() < 0.5:  # its appraisal came: supplementary determination
                    supplementary = {
                        **DATA["grading.branch_graded"],
                        "branch_id": branch,
                        "supplementary": True,
                        "rules": [{"rule": "supplementary", "level": "fairly_strong"}],
                    }
                    yield made("grading.branch_graded", supplementary)
            else:
                yield made(
                    "grading.branch_graded", {**DATA["grading.branch_graded"], "branch_id": branch}
                )
            if chance.random() < 0.2:
                yield made(
                    "rectification.commitment_missing", {"branch_id": branch, "due": "2012-05-01"}
                )
            if chance.random() < 0.2:
                reviewed = {**DATA["rectification.commitment_reviewed"], "branch_id": branch}
                yield made("rectification.commitment_reviewed", reviewed)
            if chance.random() < 0.1:
                yield made(
                    "emulation.commended", {**DATA["emulation.commended"], "branch_id": branch}
                )
            if chance.random() < 0.3:  # inspected: a critical finding, or a commendable one
                kind = chance.choice(["leadership_attention", "lagging", "commendable"])
                inspected = {
                    **DATA["supervision.inspected"],
                    "org_id": branch,
                    "findings": [{"kind": kind, "text": "督查发现的情况。"}],
                }
                yield made("supervision.inspected", inspected)
            if chance.random() < 0.5:
                reported = {**DATA["supervision.progress_reported"], "org_id": branch}
                yield made("supervision.progress_reported", reported)
            yield made(
                "rectification.branch_settled",
                {**DATA["rectification.branch_settled"], "branch_id": branch},
            )
        if event["type"] == "rectification.commitment_published":
            for task in data["tasks"][:2]:
                if chance.random() < 0.4:
                    overdue = {
                        "branch_id": data["branch_id"],
                        "task_id": task["task_id"],
                        "deadline": task["deadline"],
                        "responsible": task["responsible"],
                    }
                    yield made("rectification.task_overdue", overdue)
    yield made("grading.results_published", DATA["grading.results_published"])


def the_offices_decisions(branch: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two drafts asked for; one edited (an item added, then its text changed) and signed, the
    other discarded — as the reporting API publishes them, after the drafts were made."""
    at = dt.datetime(2012, 8, 20, tzinfo=dt.UTC)

    def made(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return envelope(event_type, data, campaign_id=CAMPAIGN, time=at)

    requests = [
        made(
            "supervision.circular_requested",
            {**DATA["supervision.circular_requested"], "request_id": r},
        )
        for r in ("req-1", "req-2")
    ]
    signed, discarded = f"circular-{CAMPAIGN}-req-1", f"circular-{CAMPAIGN}-req-2"
    added = {
        "circular_id": signed,
        "action": "add",
        "item_id": "criticism-added-1",
        "section": "criticism",
        "org_id": branch,
        "text": "补充的一条。",
        "reason": "现场督查补充",
        "edited_by": "刘芳",
    }
    decisions = [
        made("supervision.circular_edited", added),
        made(
            "supervision.circular_edited",
            {
                **added,
                "action": "edit",
                "text": "改过的一条。",
                "section": None,
                "org_id": None,
                "reason": None,
            },
        ),
        made("supervision.circular_signed", {"circular_id": signed, "signed_by": "李明"}),
        made(
            "supervision.circular_discarded",
            {**DATA["supervision.circular_discarded"], "circular_id": discarded},
        ),
    ]
    return requests, decisions


async def test_batches_and_single_events_give_the_same_rows_and_events(
    schemas: list[asyncpg.Pool],
) -> None:
    simulated = list(
        CampaignSimulation(seed=11, branches=30).events(until=Phase.EMULATION, close_last=True)
    )
    results = list(results_of_the_other_services(simulated))
    # A few events twice. (Notices are rendered at the end of a unit of work, and a batch cuts
    # across topics, so the results come after what they are about, as in the service.)
    branch = next(
        e["data"]["branch_id"]
        for e in simulated
        if e["type"] == "org.branch_registered" and e["data"]["kind"] == "branch"
    )
    requests, decisions = the_offices_decisions(branch)
    streams = [
        as_records(simulated + random.Random(5).sample(simulated, 20)),
        as_records(results + random.Random(6).sample(results, 20)),
        as_records(requests + requests[:1]),  # the drafts read what came before
        as_records(decisions + decisions[-1:]),
    ]
    now = dt.datetime(2012, 8, 20, tzinfo=dt.UTC)
    batched, single = schemas
    one_by_one = metrics.BATCHES_ONE_BY_ONE.labels("notification")
    before = one_by_one._value.get()
    for stream in streams:
        await apply_in_batches(batched, DEFINITION, stream, 500, now=now)
    assert one_by_one._value.get() == before  # every batch applied together
    for stream in streams:
        await apply_in_batches(single, DEFINITION, stream, 1, now=now)

    expected = await compared_rows(single)
    assert await compared_rows(batched) == expected
    kinds = {row[5] for row in expected["deliveries"]}
    assert kinds >= {"phase_opened", "grading_result", "task_overdue", "commitment_returned"}
    delivered = [v for _, _, v in expected["outbox"] if b"notification.delivered" in v]
    assert len(delivered) == len(expected["inbox_messages"]) > 30  # one delivered each
    assert not any(topic.endswith(".dlq") for topic, _, _ in expected["outbox"])
    assert len(expected["circulars"]) >= 2 and len(expected["tasks"]) > 30
    # Branches graded by supplementary determination are no longer lagging for their round.
    incomplete = [row for row in expected["lagging_facts"] if row[2] == "grading_incomplete"]
    assert any(row[-1] is not None for row in incomplete), incomplete
    assert any("（补充定级）" in row[10] for row in expected["deliveries"])
    # The committee's commendations wait, together, to be drafted (by the barrier job).
    assert len(expected["commendations"]) >= 2
    assert [row[4:6] for row in expected["commendation_announcements"]] == [(1, "waiting")]
    # Inspections and reports kept; two drafts, one signed (number 1, sent as edited to every
    # organisation), one discarded (sent to no one).
    assert len(expected["inspections"]) > 3 and len(expected["progress_reports"]) > 5
    documents = {row[0]: row for row in expected["circular_documents"]}
    assert [documents[f"circular-{CAMPAIGN}-req-{n}"][6] for n in (1, 2)] == ["issued", "discarded"]
    assert expected["circular_numbers"] == [(COUNTY, 2012, 1)]
    sent = [row for row in expected["deliveries"] if row[5] == "circular"]
    assert sent and all("改过的一条。" in row[11] for row in sent if row[4] != "webhook")
    topics = {json.loads(value)["type"] for _, _, value in expected["outbox"]}
    assert {"notification.circular_drafted", "notification.circular_issued"} <= topics


def at(day: str, clock: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CST)


def registration(branch_id: str, kind: str, email: str | None) -> dict[str, Any]:
    data = {**DATA["org.branch_registered"], "branch_id": branch_id, "kind": kind}
    data["secretary"] = {"name": "王建国", "email": email}
    if kind == "committee":
        data["parent_id"] = None
    return envelope("org.branch_registered", data)


async def delivered_kinds(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT kind, count(*) FROM deliveries GROUP BY kind")
    return {row["kind"]: row["count"] for row in rows}


async def test_the_sweep_plans_what_is_due_once_and_one_replica_at_a_time(
    schemas: list[asyncpg.Pool],
) -> None:
    pool = schemas[0]
    events = [
        registration(OFFICE, "committee", "office@example.org"),
        registration(BRANCH, "branch", "wang@example.org"),
        registration(OTHER, "branch", None),
        envelope("campaign.launched"),
        envelope("campaign.phase_opened", time=at("2012-03-01", "08:00")),
        envelope("campaign.phase_closed", time=at("2012-04-15", "18:00")),
        envelope(
            "campaign.phase_opened",
            {"campaign_id": CAMPAIGN, "phase": "rectification"},
            time=at("2012-04-16"),
        ),
        envelope("rectification.commitment_published"),  # BRANCH has one, OTHER has not
    ]
    await apply_in_batches(pool, DEFINITION, as_records(events), 100, now=at("2012-04-16"))
    # Rectification's result about the task follows the commitment it read (in one batch the
    # two topics have no order between them: its new deadline would give the task a new chance).
    overdue = {**DATA["rectification.task_overdue"], "deadline": "2012-04-10"}
    results = as_records([envelope("rectification.task_overdue", overdue)])
    await apply_in_batches(pool, DEFINITION, results, 100, now=at("2012-04-16"))
    before = await delivered_kinds(pool)
    # (and the office hears that BRANCH's plan waits for its review)
    assert set(before) == {"phase_opened", "task_overdue", "review_requested"}

    def unit(now: dt.datetime) -> Any:
        return open_unit_of_work(pool, NotificationStore, service="notification", now=now)

    async with pool.acquire() as other_replica, other_replica.transaction():
        await other_replica.execute(
            "SELECT pg_advisory_xact_lock(hashtext('sweep:' || current_schema()))"
        )
        async with unit(at("2012-04-24")) as uow:
            assert await SWEEP.run(uow) == 0  # the other replica is sweeping
    assert await delivered_kinds(pool) == before

    async with unit(at("2012-04-24")) as uow:
        planned = await SWEEP.run(uow)
    after = await delivered_kinds(pool)
    # Commitment due 1 May (opened 16 April + 15 days): 7 days before, to OTHER only (inbox,
    # email, webhook); the task due 10 April is escalated to the office; the 7th week's draft
    # (from 1 March) waits in the office's inbox (and the county's system hears of it): BRANCH's
    # overdue task, and both branches' progress reports due 12 April and never made.
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "commitment_due": 3,
        "overdue_escalated": 3,
        "circular_drafted": 2,
    }
    assert planned == 8
    assert sorted({e.type for e in uow.events}) == [
        "notification.circular_drafted",
        "notification.delivered",
    ]
    async with pool.acquire() as conn:
        reminders = await conn.fetch("SELECT reminder_key, sent FROM reminders")
        circulars = await conn.fetch("SELECT circular_key, status, named FROM circulars")
        items = await conn.fetch(
            "SELECT item_id FROM circular_items WHERE circular_id = $1 ORDER BY position",
            f"circular-{CAMPAIGN}-2012-04-24",
        )
    assert [tuple(r) for r in reminders] == [("commitment_due:7", True)]
    assert [tuple(r) for r in circulars] == [("period:7", "issued", 3)]
    assert [r["item_id"] for r in items] == [
        f"criticism-{BRANCH}-task_overdue",
        f"criticism-{BRANCH}-progress_report_missing",
        f"criticism-{OTHER}-progress_report_missing",
    ]

    async with unit(at("2012-04-24", "09:30")) as uow:
        assert await SWEEP.run(uow) == 0  # everything due was recorded
    assert uow.events == [] and await delivered_kinds(pool) == after


async def test_a_close_circular_waits_for_its_snapshot_and_is_issued_once(
    schemas: list[asyncpg.Pool],
) -> None:
    pool = schemas[0]
    events = [
        registration(OFFICE, "committee", "office@example.org"),
        registration(BRANCH, "branch", "wang@example.org"),
        envelope("campaign.launched"),
        envelope("rectification.branch_settled"),
    ]
    now = at("2012-07-01")
    await apply_in_batches(pool, DEFINITION, as_records(events), 100, now=now)
    key = (CAMPAIGN, "close:rectification")
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=now) as uow:
        assert await CLOSE_CIRCULARS.waiting(uow.store) == [(key, None)]
        await CLOSE_CIRCULARS.save_snapshot(uow.store, key, {"org.branches:0": 3})
        assert await CLOSE_CIRCULARS.waiting(uow.store) == [(key, {"org.branches:0": 3})]
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=now) as uow:
        assert await CLOSE_CIRCULARS.run(uow, key) is True
    # A draft: the progress report due 21 June never came. The office's inbox and the county's
    # system hear it waits; no organisation is sent anything.
    assert await delivered_kinds(pool) == {"circular_drafted": 2}
    assert sorted(e.type for e in uow.events) == [
        "notification.circular_drafted",
        "notification.delivered",
    ]
    async with pool.acquire() as conn:
        texts = await conn.fetch(
            "SELECT text FROM circular_items WHERE circular_id = $1",
            f"circular-{CAMPAIGN}-close-rectification",
        )
    assert [r["text"] for r in texts] == [
        "蒲城县城关中学党支部未按时报送工作进展情况（应于2012年6月21日前报送）。"
    ]
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=now) as uow:
        assert await CLOSE_CIRCULARS.waiting(uow.store) == []
        assert await CLOSE_CIRCULARS.run(uow, key) is False  # done already
    assert uow.events == []


async def test_a_superior_is_named_in_a_circular_for_what_it_owes_until_it_answers_or_reviews(
    schemas: list[asyncpg.Pool],
) -> None:
    """On PostgreSQL: an escalation told once both it and its problem are here, whichever came
    first; the superior's lagging facts named in the periodic circular, then resolved."""
    pool = schemas[0]
    review = DATA["rectification.commitment_reviewed"]
    committee, branch = (
        registration(OFFICE, "committee", "office@example.org"),
        registration(BRANCH, "branch", "wang@example.org"),
    )
    committee["data"]["name"] = "教育局党委"
    events = [
        committee,
        branch,
        envelope("campaign.launched"),
        envelope("campaign.phase_opened", time=at("2012-03-01", "08:00")),
        envelope("rectification.problem_escalated"),  # before its problem: told when it comes
        envelope("rectification.problem_listed"),
        envelope("rectification.commitment_published"),
        envelope("rectification.escalation_overdue"),
        envelope("rectification.review_overdue"),
        envelope("rectification.review_overdue"),  # said again, with a new id
    ]
    await apply_in_batches(pool, DEFINITION, as_records(events), 1, now=at("2012-05-11"))
    kinds = await delivered_kinds(pool)
    assert {k: kinds[k] for k in kinds if k != "phase_opened"} == {
        "problem_escalated": 3,  # the office's inbox and email, the county's webhook
        "review_requested": 3,
        "escalation_overdue": 3,
        "review_overdue": 3,  # once, though said twice
    }
    async with pool.acquire() as conn:
        facts = await conn.fetch(
            "SELECT branch_id, reason, fact_key FROM lagging_facts WHERE resolved_at IS NULL"
            " ORDER BY reason"
        )
    assert [tuple(f) for f in facts] == [
        (OFFICE, "escalation_unanswered", f"{BRANCH}|p-1"),
        (OFFICE, "review_overdue", f"{BRANCH}|1"),
    ]

    async def drafted_about_the_office(now: dt.datetime) -> list[str]:
        async with open_unit_of_work(
            pool, NotificationStore, service="notification", now=now
        ) as uow:
            await SWEEP.run(uow)
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT text FROM circular_items WHERE circular_id = $1 AND org_id = $2"
                " ORDER BY position",
                f"circular-{CAMPAIGN}-{now.date().isoformat()}",
                OFFICE,
            )
        return [row["text"] for row in rows]

    # the 10th week from 1 March: the committee is criticised for what it owes, a reason each
    assert await drafted_about_the_office(at("2012-05-11", "09:00")) == [
        "教育局党委上报问题逾期未答复1项（蒲城县城关中学党支部“党员活动室设施陈旧”，"
        "应于2012年5月10日前答复）。",
        "教育局党委整改方案逾期未审核1项（蒲城县城关中学党支部第1版，应于2012年5月8日前审核）。",
    ]

    answered = [
        envelope("rectification.problem_updated"),  # accepted
        envelope("rectification.commitment_reviewed", {**review, "decision": "returned"}),
    ]
    await apply_in_batches(pool, DEFINITION, as_records(answered), 1, now=at("2012-05-12"))
    async with pool.acquire() as conn:
        still = await conn.fetchval("SELECT count(*) FROM lagging_facts WHERE resolved_at IS NULL")
    assert still == 0


async def test_a_committees_commendations_are_announced_once_behind_their_snapshot(
    schemas: list[asyncpg.Pool],
) -> None:
    pool = schemas[0]
    seventh_of_july = DATA["emulation.commended"]
    events = [
        registration(OFFICE, "committee", "office@example.org"),
        registration(BRANCH, "branch", "wang@example.org"),
        registration(OTHER, "branch", None),
        envelope("campaign.launched"),
        envelope("emulation.commended"),
        envelope(
            "emulation.commended",
            {
                **seventh_of_july,
                "branch_id": OTHER,
                "honour": "excellent_member",
                "member_name": "赵老师",
            },
        ),
    ]
    now = at("2012-07-01")
    await apply_in_batches(pool, DEFINITION, as_records(events), 100, now=now)
    assert await delivered_kinds(pool) == {}  # waiting for the barrier
    key = AnnouncementKey(CAMPAIGN, OFFICE, dt.date(2012, 7, 1))
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=now) as uow:
        assert await COMMENDATION_ANNOUNCEMENTS.waiting(uow.store) == [(key, None)]
        await COMMENDATION_ANNOUNCEMENTS.save_snapshot(uow.store, key, {"emulation.inputs:0": 2})
        assert await COMMENDATION_ANNOUNCEMENTS.waiting(uow.store) == [
            (key, {"emulation.inputs:0": 2})
        ]
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=now) as uow:
        assert await COMMENDATION_ANNOUNCEMENTS.run(uow, key) is True
    # One draft of praise for the office to sign off: its inbox and the county's system hear it
    # waits; no organisation is sent anything yet.
    assert await delivered_kinds(pool) == {"circular_drafted": 2}
    assert sorted(e.type for e in uow.events) == [
        "notification.circular_drafted",
        "notification.delivered",
    ]
    async with pool.acquire() as conn:
        items = await conn.fetch(
            "SELECT item_id, text FROM circular_items WHERE circular_id = $1 ORDER BY position",
            f"circular-{CAMPAIGN}-commendation-{OFFICE}-2012-07-01-1",
        )
    title, name = seventh_of_july["title"], "蒲城县城关中学党支部"  # every registration's name
    assert [tuple(r) for r in items] == [
        (
            f"praise-{BRANCH}-commended",
            f"{name}于2012年7月1日授予{name}“先进基层党组织”称号（{title}）。",
        ),
        (
            f"praise-{OTHER}-commended",
            f"{name}于2012年7月1日授予{name}赵老师同志“优秀共产党员”称号（{title}）。",
        ),
    ]
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=now) as uow:
        assert await COMMENDATION_ANNOUNCEMENTS.waiting(uow.store) == []
        assert await COMMENDATION_ANNOUNCEMENTS.run(uow, key) is False  # done already
    assert uow.events == [] and await delivered_kinds(pool) == {"circular_drafted": 2}
