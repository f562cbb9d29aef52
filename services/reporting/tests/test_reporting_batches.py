"""The set-based handlers change the read models exactly as the events applied one at a time:
a whole simulated campaign, with the other services' results mixed in, applied in batches of
500 and one event per batch into two scratch schemas of the real PostgreSQL, gives the same
rows in every read model."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.common import Phase
from grassroots.contract.examples import envelope
from grassroots.plumbing import metrics
from grassroots.simulation import CampaignSimulation
from grassroots.testing import apply_in_batches, as_records, rows_of, scratch_schemas
from reporting.app import DEFINITION
from reporting.rebuild import READ_MODELS

MIGRATIONS = Path(__file__).parents[1] / "migrations"


@pytest.fixture
async def schemas() -> AsyncIterator[list[asyncpg.Pool]]:
    async with scratch_schemas("reporting_test", MIGRATIONS, 2) as pools:
        yield pools


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
    now = dt.datetime(2012, 12, 1, tzinfo=dt.UTC)
    batched, single = schemas
    one_by_one = metrics.BATCHES_ONE_BY_ONE.labels("reporting")
    before = one_by_one._value.get()
    await apply_in_batches(batched, DEFINITION, stream, 500, now=now)
    assert one_by_one._value.get() == before  # every batch applied together
    await apply_in_batches(single, DEFINITION, stream, 1, now=now)

    tables = [table for table in READ_MODELS if table != "inbox"]  # received at other times
    expected = await rows_of(single, tables)
    assert await rows_of(batched, tables) == expected
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
