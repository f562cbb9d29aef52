"""The set-based handlers decide and write exactly as the events applied one at a time: a
simulated rectification phase, with plans re-published after being returned and a few bad
events among them, applied in batches of 1,000 and one event per batch into two scratch schemas
of the real PostgreSQL, gives the same rows, the same refusals and the same events out."""

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


def bad_events(events: list[dict[str, Any]], campaign: str) -> list[dict[str, Any]]:
    """Refused by the rules: progress on a task that is in no plan, a review of a commitment
    the branch never published."""
    at = dt.datetime(2012, 6, 5, tzinfo=dt.UTC)
    branch = next(
        e["data"]["branch_id"] for e in events if e["type"] == "rectification.commitment_published"
    )
    unknown_task = envelope(
        "rectification.task_progressed",
        {"branch_id": branch, "task_id": "no-such-task", "percent": 10},
        campaign_id=campaign,
        time=at,
    )
    old_review = envelope(
        "rectification.commitment_reviewed",
        {
            "branch_id": branch,
            "commitment_id": "c-unknown",
            "revision": 1,
            "decision": "approved",
            "reviewer_org_id": "610526-edu-committee",
        },
        campaign_id=campaign,
        time=at,
    )
    return [unknown_task, old_review]


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
