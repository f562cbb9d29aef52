"""The set-based handlers change the read models exactly as the events applied one at a time:
a whole simulated campaign, with the other services' results mixed in, applied in batches of
500 and one event per batch into two scratch schemas of the real PostgreSQL, gives the same
rows in every read model."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from grassroots.contract import EVENTS
from grassroots.contract.common import Phase
from grassroots.contract.examples import envelope
from grassroots.plumbing import database
from grassroots.plumbing.consumer import BatchApplier
from grassroots.simulation import CampaignSimulation
from reporting.handlers import BATCH_HANDLERS, HANDLERS
from reporting.rebuild import READ_MODELS

MIGRATIONS = Path(__file__).parents[1] / "migrations"
PARTITIONS = 3


@pytest.fixture
async def schemas() -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
    names = [f"reporting_test_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    pools = []
    try:
        for name in names:
            await admin.execute(f"CREATE SCHEMA {name}")
            await database.migrate(admin, name, MIGRATIONS)
            pools.append(await database.create_pool(os.environ["GRASSROOTS_ADMIN_DSN"], name))
        yield pools[0], pools[1]
    finally:
        for pool in pools:
            await pool.close()
        for name in names:
            await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


def results_of_the_other_services(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """What grading and rectification would publish about the simulated branches."""
    chance = random.Random(7)
    campaign = next(e["campaignid"] for e in events if e["type"] == "campaign.launched")
    at = dt.datetime(2012, 6, 1, tzinfo=dt.UTC)
    for event in events:
        data = event["data"]
        if event["type"] == "org.branch_registered" and data["kind"] != "committee":
            branch = data["branch_id"]
            for round_ in ("initial", "final"):
                if chance.random() < 0.1:
                    yield envelope(
                        "grading.branch_incomplete",
                        {"branch_id": branch, "round": round_, "missing": ["appraisal"]},
                        campaign_id=campaign,
                        time=at,
                    )
                    continue
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


def records(events: list[dict[str, Any]]) -> list[ConsumerRecord[bytes, bytes]]:
    """Each event on its topic, in the partition of its subject, in order."""
    offsets: dict[tuple[str, int], int] = {}
    found = []
    for event in events:
        topic = EVENTS[event["type"]].topic
        partition = zlib.crc32(event["subject"].encode()) % PARTITIONS
        offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
        value = json.dumps(event).encode()
        found.append(
            ConsumerRecord(topic, partition, offset, 0, 0, None, value, None, 0, len(value), [])
        )
    return found


async def apply(pool: asyncpg.Pool, applier: BatchApplier, batches: list[list[Any]]) -> None:
    async with pool.acquire() as conn:
        for batch in batches:
            await applier.apply(conn, batch)


async def read_models(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    async with pool.acquire() as conn:
        return {
            table: sorted(tuple(row) for row in await conn.fetch(f"SELECT * FROM {table}"))
            for table in READ_MODELS
            if table != "inbox"  # when each event was received differs
        }


async def test_batches_and_single_events_give_the_same_read_models(
    schemas: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    simulated = list(
        CampaignSimulation(seed=11, branches=40).events(until=Phase.ASSESSMENT, close_last=True)
    )
    # The other services' results interleaved with the inputs, and a few events twice.
    mixed = simulated + list(results_of_the_other_services(simulated))
    random.Random(3).shuffle(mixed)
    mixed.sort(key=lambda e: e["type"] != "org.branch_registered")  # stable: order kept
    mixed += random.Random(5).sample(mixed, 30)
    stream = records(mixed)
    clock = lambda: dt.datetime(2012, 12, 1, tzinfo=dt.UTC)  # noqa: E731
    together = BatchApplier(
        service="reporting", handlers=HANDLERS, batch_handlers=BATCH_HANDLERS, clock=clock
    )
    alone = BatchApplier(service="reporting", handlers=HANDLERS, clock=clock)
    batched, single = schemas
    await apply(batched, together, [stream[i : i + 500] for i in range(0, len(stream), 500)])
    await apply(single, alone, [[record] for record in stream])

    expected = await read_models(single)
    assert await read_models(batched) == expected
    assert len(expected["cards"]) >= 40 and len(expected["tasks"]) > 40
    async with single.acquire() as conn:
        overdue = await conn.fetchval("SELECT count(*) FROM tasks WHERE overdue")
        progressed = await conn.fetchval("SELECT count(*) FROM tasks WHERE percent > 0")
    assert overdue > 0 and progressed > 0  # the task handlers did change something
