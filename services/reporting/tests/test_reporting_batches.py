"""The set-based handlers change the read models exactly as the events applied one at a time:
a whole simulated campaign, with the other services' results mixed in, applied in batches of
500 and one event per batch into two scratch schemas of the real PostgreSQL, gives the same
rows in every read model; so do phases 3 and 4's inputs with replacements, ties, repeats and
refused inputs mixed in (a refused input is dead-lettered alone, the same either way)."""

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
from grassroots.contract.examples import CST, envelope
from grassroots.plumbing import metrics
from grassroots.simulation import CampaignSimulation
from grassroots.testing import apply_in_batches, as_records, rows_of, scratch_schemas
from reporting.app import DEFINITION
from reporting.rebuild import READ_MODELS

MIGRATIONS = Path(__file__).parents[1] / "migrations"
NOW = dt.datetime(2012, 12, 1, tzinfo=dt.UTC)


@pytest.fixture
async def schemas() -> AsyncIterator[list[asyncpg.Pool]]:
    async with scratch_schemas("reporting_test", MIGRATIONS, 2) as pools:
        yield pools


async def read_models(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every read model's rows but the inbox (received at other times); a counter at 0 reads
    as one never counted (one event at a time may leave a 0 where a batch nets it out)."""
    tables = [table for table in READ_MODELS if table != "inbox"]
    found = await rows_of(pool, tables)
    found["counters"] = [row for row in found["counters"] if row[-1] != 0]
    return found


def results_of_the_other_services(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """What grading and rectification would publish about the simulated branches."""
    chance = random.Random(7)
    campaign = next(e["campaignid"] for e in events if e["type"] == "campaign.launched")
    at = dt.datetime(2012, 6, 1, tzinfo=dt.UTC)
    parents = {
        e["data"]["branch_id"]: e["data"]["parent_id"]
        for e in events
        if e["type"] == "org.branch_registered" and e["data"].get("parent_id")
    }
    for event in events:
        data = event["data"]
        if event["type"] == "rectification.problem_listed":
            parent = parents.get(data["branch_id"], "610526-edu-committee")
            yield from problem_results(data, parent, campaign, chance)
        if event["type"] == "org.branch_registered" and data["kind"] != "committee":
            branch = data["branch_id"]
            for round_ in ("initial", "final"):
                supplementary = False
                if chance.random() < 0.1:
                    yield envelope(
                        "grading.branch_incomplete",
                        {"branch_id": branch, "round": round_, "missing": ["appraisal"]},
                        campaign_id=campaign,
                        time=at,
                    )
                    if chance.random() < 0.5:
                        continue
                    supplementary = True  # 补充定级 once the appraisal came
                grade = {
                    "branch_id": branch,
                    "round": round_,
                    "level": chance.choice(["strong", "fairly_strong", "average", "weak"]),
                    "total": 80.0,
                    "scores": {
                        c: 80.0
                        for c in (
                            "leadership",
                            "membership",
                            "mechanism",
                            "performance",
                            "reputation",
                        )
                    },
                    "basis": "computed",
                }
                if supplementary:
                    grade["supplementary"] = True
                    grade["rules"] = [{"rule": "supplementary", "level": grade["level"]}]
                elif grade["level"] == "fairly_strong" and chance.random() < 0.5:
                    grade |= {"computed_level": "strong", "quota_limited": True}
                    grade["rules"] = [{"rule": "quota", "level": "fairly_strong", "threshold": 0.3}]
                if round_ == "final":
                    grade["moved_up"] = chance.random() < 0.3
                yield envelope("grading.branch_graded", grade, campaign_id=campaign, time=at)
            yield envelope(
                "rectification.branch_settled",
                {
                    "branch_id": branch,
                    "tasks_total": 4,
                    "tasks_completed": 3,
                    "tasks_overdue": 1,
                    "completion_rate": 0.75,
                },
                campaign_id=campaign,
                time=at,
            )
            if chance.random() < 0.2:
                yield envelope(
                    "rectification.commitment_missing",
                    {"branch_id": branch, "due": "2012-05-01"},
                    campaign_id=campaign,
                    time=at,
                )
        if event["type"] == "rectification.commitment_published":
            if chance.random() < 0.3:
                yield envelope(
                    "rectification.review_overdue",
                    {
                        "branch_id": data["branch_id"],
                        "commitment_id": data["commitment_id"],
                        "revision": data["revision"],
                        "reviewer_org_id": parents.get(data["branch_id"], "610526-edu-committee"),
                        "due": "2012-05-20",
                    },
                    campaign_id=campaign,
                    time=at,
                )
            for task in data["tasks"][:2]:
                if chance.random() < 0.4:
                    yield envelope(
                        "rectification.task_overdue",
                        {
                            "branch_id": data["branch_id"],
                            "task_id": task["task_id"],
                            "deadline": task["deadline"],
                            "responsible": task["responsible"],
                        },
                        campaign_id=campaign,
                        time=at,
                    )


def problem_results(
    listed: dict[str, Any], parent: str, campaign: str, chance: random.Random
) -> Iterator[dict[str, Any]]:
    """What rectification would publish about a listed problem: its escalation, where it
    stands at each change with the superior's answer, an answer overdue."""
    ref = {"branch_id": listed["branch_id"], "problem_id": listed["problem_id"]}
    at = dt.datetime(2012, 5, 1, tzinfo=dt.UTC)

    def result(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        nonlocal at
        at += dt.timedelta(days=1)
        return envelope(event_type, ref | data, campaign_id=campaign, time=at)

    escalation: dict[str, Any] | None = None
    if listed["needs_superior"]:
        escalation = {"to_org_id": parent}
        yield result("rectification.problem_escalated", {"to_org_id": parent})
        yield result("rectification.problem_updated", {"status": "open", "escalation": escalation})
        if chance.random() < 0.4:
            yield result(
                "rectification.escalation_overdue", {"to_org_id": parent, "due": "2012-05-10"}
            )
        if chance.random() < 0.6:
            escalation = escalation | {
                "answer": "accepted",
                "action": "统筹解决",
                "due": "2012-06-20",
            }
    task_id = f"{listed['problem_id']}-t1"
    yield result(
        "rectification.problem_updated",
        {"status": "in_rectification", "task_id": task_id, "escalation": escalation},
    )
    fate = chance.random()
    if fate < 0.4:
        yield result(
            "rectification.problem_updated",
            {
                "status": "resolved",
                "task_id": task_id,
                "evidence": "验收记录",
                "escalation": escalation,
            },
        )
    elif fate < 0.6:
        yield result(
            "rectification.problem_updated",
            {"status": "deferred", "reason": "列入下年度计划", "escalation": escalation},
        )


async def test_batches_and_single_events_give_the_same_read_models(
    schemas: list[asyncpg.Pool],
) -> None:
    simulated = list(
        CampaignSimulation(seed=11, branches=40).events(until=Phase.ASSESSMENT, close_last=True)
    )
    # The other services' results interleaved with the inputs, and a few events twice.
    mixed = simulated + list(results_of_the_other_services(simulated))
    random.Random(3).shuffle(mixed)
    mixed.sort(key=lambda e: e["type"] != "org.branch_registered")  # stable: order kept
    mixed += random.Random(5).sample(mixed, 30)
    stream = as_records(mixed)
    now = NOW
    batched, single = schemas
    one_by_one = metrics.BATCHES_ONE_BY_ONE.labels("reporting")
    before = one_by_one._value.get()
    await apply_in_batches(batched, DEFINITION, stream, 500, now=now)
    assert one_by_one._value.get() == before  # every batch applied together
    await apply_in_batches(single, DEFINITION, stream, 1, now=now)

    expected = await read_models(single)
    assert await read_models(batched) == expected
    assert len(expected["cards"]) >= 40 and len(expected["tasks"]) > 40
    async with single.acquire() as conn:
        overdue = await conn.fetchval("SELECT count(*) FROM tasks WHERE overdue")
        progressed = await conn.fetchval("SELECT count(*) FROM tasks WHERE percent > 0")
    assert overdue > 0 and progressed > 0  # the task handlers did change something
    async with single.acquire() as conn:
        supplementary = await conn.fetchval(
            "SELECT count(*) FROM cards WHERE initial_supplementary"
        )
        with_rules = await conn.fetchval(
            "SELECT count(*) FROM cards WHERE initial_rules IS NOT NULL"
        )
    assert supplementary > 0 and with_rules > 0  # the why of a level is kept
    async with single.acquire() as conn:
        statuses = set(await conn.fetch("SELECT DISTINCT status FROM problems"))
        answered = await conn.fetchval("SELECT count(*) FROM problems WHERE answer IS NOT NULL")
        overdue = await conn.fetchval("SELECT count(*) FROM problems WHERE overdue_to IS NOT NULL")
        reviews = await conn.fetchval("SELECT count(*) FROM plan_reviews")
        revised = await conn.fetchval("SELECT count(*) FROM plan_revisions WHERE revision = 2")
        waiting = await conn.fetchval("SELECT count(*) FROM reviews_overdue")
    assert {row["status"] for row in statuses} >= {"in_rectification", "resolved", "deferred"}
    assert answered > 0 and overdue > 0 and waiting > 0  # problems followed through
    assert reviews > 0 and revised > 0  # every revision and review kept


class Phase34Inputs:
    """Phases 3 and 4's inputs about a county's registered organisations: several summary
    reviews, assessments, appraisals and annual reviews of each, on few distinct times (ties
    broken by the id), and inputs refused by rule."""

    def __init__(self, registrations: list[dict[str, Any]], launch: dict[str, Any]) -> None:
        self.chance = random.Random(15)
        self.campaign, self.county = launch["campaignid"], launch["countycode"]
        self.kinds = {e["data"]["branch_id"]: e["data"]["kind"] for e in registrations}
        self.committee = next(o for o, kind in self.kinds.items() if kind == "committee")

    def on(
        self, event_type: str, data: dict[str, Any], county: str | None = None
    ) -> dict[str, Any]:
        day = self.chance.choice([1, 2, 3])  # few times: ties are frequent
        when = dt.datetime(2012, 9, day, 9, tzinfo=CST)
        return envelope(
            event_type, data, campaign_id=self.campaign, county=county or self.county, time=when
        )

    def answers(self) -> dict[str, Any]:
        return {
            question: {"answer": self.chance.choice(["yes", "partly", "no"]), "text": "说明"}
            for question in ("process_solid", "problems_solved", "advance_evident")
        }

    def groups(self) -> list[dict[str, Any]]:
        names = self.chance.sample(["branches", "members", "public_representatives"], 2)
        return [
            {
                "group": name,
                "satisfied": self.chance.randint(1, 50),
                "basically_satisfied": self.chance.randint(0, 5),
                "dissatisfied": self.chance.randint(0, 3),
            }
            for name in names
        ]

    def good(self) -> Iterator[dict[str, Any]]:
        c = self.chance
        for org, kind in self.kinds.items():
            if kind != "committee":
                for _ in range(c.randint(1, 3)):
                    yield self.on(
                        "assessment.summary_reviewed", {"branch_id": org, **self.answers()}
                    )
                for _ in range(c.randint(1, 2)):
                    data = {"branch_id": org, "score": c.randint(60, 99), "level": "average"}
                    yield self.on("assessment.committee_assessed", data)
                commended: dict[str, Any] = {
                    "branch_id": org,
                    "honour": "advanced_organization",
                    "title": "先进基层党组织",
                    "awarded_by": c.choice([self.committee, None]),
                }
                if c.random() < 0.5:
                    commended["awarded_on"] = "2012-07-01"
                yield self.on("emulation.commended", commended)
                yield self.on(
                    "emulation.publicized",
                    {
                        "branch_id": org,
                        "title": "先进事迹",
                        "channel": "own_channel",
                        "published_on": "2012-07-20",
                    },
                )
                yield self.on(
                    "emulation.learning_meeting_held",
                    {"branch_id": org, "held_on": "2012-07-25", "target_level": "strong"},
                )
            if kind != "branch":
                for _ in range(c.randint(1, 3)):
                    yield self.on(
                        "assessment.org_appraised", {"org_id": org, "groups": self.groups()}
                    )
                for _ in range(c.randint(1, 2)):
                    yield self.on(
                        "assessment.annual_reviewed",
                        {"org_id": org, "year": c.choice([2011, 2012]), "grade": "good"},
                    )
                yield self.on(
                    "assessment.duty_reported",
                    {
                        "org_id": org,
                        "reporter_name": "书记",
                        "reported_to": "县委",
                        "reported_on": "2012-09-10",
                        "document_ref": "述职报告",
                    },
                )
                yield self.on(
                    "assessment.rule_established",
                    {"org_id": org, "title": "制度", "adopted_on": "2012-09-20"},
                )

    def refused(self, foreign: str) -> list[dict[str, Any]]:
        review = {"branch_id": self.committee, **self.answers()}
        return [
            self.on("assessment.summary_reviewed", review),
            self.on("assessment.summary_reviewed", {**review, "branch_id": foreign}, "610527"),
            self.on(
                "emulation.commended",
                {"branch_id": "nowhere", "honour": "advanced_organization", "title": "先进"},
            ),
            self.on("assessment.org_appraised", {"org_id": "nowhere", "groups": self.groups()}),
        ]


async def dead_letters(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    """(topic, record) of each dead letter in the outbox."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT topic, value FROM outbox")
    return sorted((row["topic"], bytes(row["value"]).decode()) for row in rows)


async def test_phase_3_and_4_inputs_give_the_same_read_models_in_batches_with_refusals(
    schemas: list[asyncpg.Pool],
) -> None:
    simulated = list(CampaignSimulation(seed=12, branches=20).events(until=Phase.EMULATION))
    registrations = [e for e in simulated if e["type"] == "org.branch_registered"]
    launch = next(e for e in simulated if e["type"] == "campaign.launched")
    foreign = envelope(
        "org.branch_registered",
        registrations[-1]["data"] | {"branch_id": "610527-edu-0001"},
        county="610527",
    )
    inputs = Phase34Inputs(registrations, launch)
    good = list(inputs.good())
    refused = inputs.refused("610527-edu-0001")
    mixed = good + refused + random.Random(6).sample(good, 20)  # some delivered twice
    random.Random(4).shuffle(mixed)
    mixed.sort(key=lambda e: e["type"])  # stable: long runs of a type, several of a key each
    stream = as_records([*simulated, foreign, *mixed])
    batched, single = schemas
    one_by_one = metrics.BATCHES_ONE_BY_ONE.labels("reporting")
    before = one_by_one._value.get()
    await apply_in_batches(batched, DEFINITION, stream, 20, now=NOW)
    fell_back = one_by_one._value.get() - before
    assert 1 <= fell_back <= len(refused) < len(mixed) // 20  # most batches applied together
    await apply_in_batches(single, DEFINITION, stream, 1, now=NOW)

    expected = await read_models(single)
    assert await read_models(batched) == expected
    letters = await dead_letters(single)
    assert await dead_letters(batched) == letters
    assert sorted(json.loads(value)["id"] for _, value in letters) == sorted(
        e["id"] for e in refused
    )
    graded = len([kind for kind in inputs.kinds.values() if kind != "committee"])
    assert len(expected["summary_reviews"]) == len(expected["committee_assessments"]) == graded
    others = len([kind for kind in inputs.kinds.values() if kind != "branch"])
    assert len(expected["annual_reviews"]) >= others and len(expected["appraisals"]) >= 2 * others
    kept = {row[2] for row in expected["summary_reviews"]}
    reviews = [e for e in good if e["type"] == "assessment.summary_reviewed"]
    assert len(reviews) > len(kept)  # some replaced by later ones
