"""The set-based handlers decide and write exactly as the events applied one at a time: a
simulated rectification phase, with plans re-published after being returned, problems resolved,
deferred and answered by the superior among them, and a few bad events, applied in batches of
1,000 and one event per batch into two scratch schemas of the real PostgreSQL, gives the same
rows, the same refusals and the same events out."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.common import Phase
from grassroots.contract.examples import envelope
from grassroots.plumbing import metrics
from grassroots.simulation import CampaignSimulation
from grassroots.testing import apply_in_batches, as_records, rows_of, scratch_schemas
from rectification.app import DEFINITION

MIGRATIONS = Path(__file__).parents[1] / "migrations"
TABLES = (
    "branches",
    "problems",
    "commitments",
    "commitment_history",
    "tasks",
    "task_progress",
)


@pytest.fixture
async def schemas() -> AsyncIterator[list[asyncpg.Pool]]:
    async with scratch_schemas("rectification_test", MIGRATIONS, 2) as pools:
        yield pools


def follow_problems(events: list[dict[str, Any]], campaign: str) -> list[dict[str, Any]]:
    """The simulated phase with problems followed through: after each approval, the branch's
    first problem deferred, its second resolved, and every one escalated answered by the parent
    (accepted, then resolved for every other one), mixed in with the rest."""
    parents = {
        e["data"]["branch_id"]: e["data"].get("parent_id")
        for e in events
        if e["type"] == "org.branch_registered"
    }
    problems: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["type"] == "rectification.problem_listed":
            problems.setdefault(e["data"]["branch_id"], []).append(e["data"])
    approvals = {
        e["data"]["branch_id"]: i
        for i, e in enumerate(events)
        if e["type"] == "rectification.commitment_reviewed" and e["data"]["decision"] == "approved"
    }
    after: dict[int, list[dict[str, Any]]] = {}
    answered = 0
    for branch, index in approvals.items():
        listed = problems.get(branch, [])
        follow: list[tuple[str, dict[str, Any]]] = []
        if listed:
            deferred = {"problem_id": listed[0]["problem_id"], "reason": "列入下年度计划"}
            follow.append(("rectification.problem_deferred", deferred))
        if len(listed) > 1:
            resolved = {"problem_id": listed[1]["problem_id"], "evidence": "验收记录"}
            follow.append(("rectification.problem_resolved", resolved))
        for problem in listed:
            if not problem["needs_superior"] or not parents.get(branch):
                continue
            answer = {"problem_id": problem["problem_id"], "answered_by_org_id": parents[branch]}
            accepted = {"answer": "accepted", "action": "统筹解决", "due": "2012-06-20"}
            follow.append(("rectification.escalation_answered", {**answer, **accepted}))
            answered += 1
            if answered % 2:
                solved = {"answer": "resolved", "evidence": "上级已解决"}
                follow.append(("rectification.escalation_answered", {**answer, **solved}))
        approved = events[index]
        when = dt.datetime.fromisoformat(approved["time"]) + dt.timedelta(hours=1)
        after[index] = [
            envelope(
                event_type,
                {"branch_id": branch, **data},
                campaign_id=campaign,
                county=approved["countycode"],
                source=approved["source"],
                time=when + dt.timedelta(seconds=n),
            )
            for n, (event_type, data) in enumerate(follow)
        ]
    assert answered
    return [f for i, e in enumerate(events) for f in [e, *after.get(i, [])]]


def bad_events(events: list[dict[str, Any]], campaign: str) -> list[dict[str, Any]]:
    """Refused by the rules: progress on a task that is in no plan, a review of a commitment
    the branch never published, resolving a problem never listed, answering an escalation that
    was never sent or that went to another organisation."""
    at = dt.datetime(2012, 6, 5, tzinfo=dt.UTC)
    branch = next(
        e["data"]["branch_id"] for e in events if e["type"] == "rectification.commitment_published"
    )

    def bad(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return envelope(event_type, data, campaign_id=campaign, time=at)

    listed = [e["data"] for e in events if e["type"] == "rectification.problem_listed"]
    not_escalated = next(p for p in listed if not p["needs_superior"])
    escalated = next(p for p in listed if p["needs_superior"])
    cannot = {"answer": "cannot_resolve", "reason": "无法解决"}
    return [
        bad(
            "rectification.task_progressed",
            {"branch_id": branch, "task_id": "no-such-task", "percent": 10},
        ),
        bad(
            "rectification.commitment_reviewed",
            {
                "branch_id": branch,
                "commitment_id": "c-unknown",
                "revision": 1,
                "decision": "approved",
                "reviewer_org_id": "610526-edu-committee",
            },
        ),
        bad(
            "rectification.problem_resolved",
            {"branch_id": branch, "problem_id": "p-404", "evidence": "无"},
        ),
        bad(
            "rectification.escalation_answered",
            {
                "branch_id": not_escalated["branch_id"],
                "problem_id": not_escalated["problem_id"],
                "answered_by_org_id": "610526-edu-committee",
                **cannot,
            },
        ),
        bad(
            "rectification.escalation_answered",
            {
                "branch_id": escalated["branch_id"],
                "problem_id": escalated["problem_id"],
                "answered_by_org_id": "somebody-else",
                **cannot,
            },
        ),
    ]


async def outcomes(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    async with pool.acquire() as conn:
        inbox = await conn.fetch(
            "SELECT event_id, outcome, reason FROM inbox WHERE outcome <> 'applied' ORDER BY 1"
        )
        outbox = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY topic, value")
    return {"refused": [tuple(r) for r in inbox], "emitted": [tuple(r) for r in outbox]}


async def test_batches_and_single_events_give_the_same_state_and_events(
    schemas: list[asyncpg.Pool],
) -> None:
    simulation = CampaignSimulation(seed=17, branches=60)
    events = list(simulation.events(until=Phase.RECTIFICATION))
    campaign = next(e["campaignid"] for e in events if e["type"] == "campaign.launched")
    events = follow_problems(events, campaign)
    bad = bad_events(events, campaign)
    stream = as_records(events + bad)  # the bad ones in a batch of their own, at the end
    now = dt.datetime(2012, 6, 10, tzinfo=dt.UTC)
    batched, single = schemas
    one_by_one = metrics.BATCHES_ONE_BY_ONE.labels("rectification")
    before = one_by_one._value.get()
    await apply_in_batches(batched, DEFINITION, stream[: len(events)], 1000, now=now)
    await apply_in_batches(batched, DEFINITION, stream[len(events) :], 1000, now=now)
    # Only the batch with the bad events was applied one event at a time.
    assert one_by_one._value.get() - before == 1
    await apply_in_batches(single, DEFINITION, stream, 1, now=now)

    expected = await rows_of(single, TABLES)
    assert await rows_of(batched, TABLES) == expected
    assert await outcomes(batched) == await outcomes(single)
    refused = (await outcomes(single))["refused"]
    assert sorted(r[0] for r in refused) == sorted(e["id"] for e in bad)
    returned = [r for r in expected["commitment_history"] if r[4] == "returned"]
    republished = [r for r in expected["commitments"] if r[3] == 2]
    assert returned and republished  # plans went back and came again
    assert any(r[13] for r in expected["tasks"])  # progress was kept on tasks (percent > 0)
    statuses = {r[9] for r in expected["problems"]}  # every status reached
    assert statuses == {"open", "in_rectification", "resolved", "deferred"}
    assert {r[14] for r in expected["problems"]} >= {"accepted", "resolved"}  # answers
    updated = [e for e in (await outcomes(single))["emitted"] if b"problem_updated" in e[2]]
    assert updated
