"""The plumbing's promises to a newcomer: a handler for a type the service does not consume
stops it from starting; a consumed type with no handler is counted apart, never as applied; and
what a job defers reaches the outbox with its writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from pydantic import Field

from grassroots.contract import Topic
from grassroots.contract.campaign import PhaseOpened
from grassroots.contract.common import Phase
from grassroots.contract.envelope import CloudEvent
from grassroots.contract.events import CampaignLaunchedEvent, CampaignPhaseOpenedEvent
from grassroots.contract.examples import envelope
from grassroots.plumbing import database, metrics
from grassroots.plumbing.consumer import BatchApplier
from grassroots.plumbing.handling import HandlerTable, each
from grassroots.plumbing.jobs import PeriodicJob
from grassroots.plumbing.service import ServiceDefinition
from grassroots.plumbing.settings import ServiceSettings
from grassroots.plumbing.unit_of_work import UnitOfWork, open_unit_of_work

NOW = dt.datetime(2012, 4, 1, tzinfo=dt.UTC)


async def nothing(uow: UnitOfWork[None], event: CampaignLaunchedEvent) -> None:
    return None


def test_a_service_with_a_handler_for_a_topic_it_does_not_consume_refuses_to_start() -> None:
    with pytest.raises(ValueError, match=r"campaign\.launched \(on campaign\.lifecycle\)"):
        ServiceDefinition(
            name="grading",
            topics=(Topic.GRADING_INPUTS,),
            handlers=HandlerTable(each(CampaignLaunchedEvent, nothing)),
            store=lambda conn: None,
            migrations=Path("."),
        )


def test_a_handler_table_refuses_a_type_that_is_not_in_the_contract() -> None:
    class MadeUpEvent(CloudEvent[PhaseOpened]):
        type: Literal["campaign.made_up"] = Field(description="not a contract type")

    async def on_made_up(uow: UnitOfWork[None], event: MadeUpEvent) -> None:
        return None

    with pytest.raises(ValueError, match="MadeUpEvent is not a contract type"):
        HandlerTable(each(MadeUpEvent, on_made_up))
    with pytest.raises(ValueError, match=r"two handlers for campaign\.launched"):
        HandlerTable(each(CampaignLaunchedEvent, nothing), each(CampaignLaunchedEvent, nothing))


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    schema = f"units_test_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
    await admin.execute(f"CREATE SCHEMA {schema}")
    await database.migrate(admin, schema, tmp_path)
    created = await database.create_pool(os.environ["GRASSROOTS_ADMIN_DSN"], schema, size=2)
    try:
        yield created
    finally:
        await created.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


def consumed(outcome: str, event_type: str) -> float:
    value: float = metrics.EVENTS_CONSUMED.labels("units", event_type, outcome)._value.get()
    return value


async def test_a_consumed_type_without_a_handler_is_counted_as_unhandled(
    pool: asyncpg.Pool,
) -> None:
    applier = BatchApplier(
        service="units", handlers=HandlerTable(each(CampaignLaunchedEvent, nothing))
    )
    value = json.dumps(envelope("campaign.phase_opened")).encode()
    record = ConsumerRecord(Topic.CAMPAIGN_LIFECYCLE, 0, 0, 0, 0, b"k", value, None, 0, 0, [])
    before = {o: consumed(o, "campaign.phase_opened") for o in ("applied", "unhandled")}
    async with open_unit_of_work(pool, lambda conn: None, service="units", now=NOW) as uow:
        await applier.apply(uow, [record])
    assert consumed("unhandled", "campaign.phase_opened") == before["unhandled"] + 1
    assert consumed("applied", "campaign.phase_opened") == before["applied"]


class OpenedLater:
    """Deferred work: collects phases and emits one event per phase when flushed."""

    def __init__(self) -> None:
        self.phases: list[Phase] = []

    async def flush(self, uow: UnitOfWork[Any]) -> None:
        for phase in self.phases:
            uow.emit(
                CampaignPhaseOpenedEvent,
                PhaseOpened(campaign_id="pucheng-edu-2012", phase=phase),
                countycode="610526",
                campaignid="pucheng-edu-2012",
            )


class JobRuntime:
    """What a job needs of the runtime: units of work on the pool, the settings."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.definition = SimpleNamespace(name="units")  # jobs name their spans by it
        self.settings = ServiceSettings(
            database_url="postgresql://unused", sweep_interval_seconds=0.05
        )

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork[None]]:
        return open_unit_of_work(self.pool, lambda conn: None, service="units", now=NOW)


async def test_what_a_job_defers_reaches_the_outbox(pool: asyncpg.Pool) -> None:
    async def remind(uow: UnitOfWork[None]) -> None:
        uow.deferred(OpenedLater).phases.append(Phase.RECTIFICATION)

    job = PeriodicJob("remind", remind)
    task = asyncio.create_task(job.run_forever(JobRuntime(pool)))  # type: ignore[arg-type]
    try:
        for _ in range(500):  # the job runs every 0.05 s; give it ten seconds at most
            if await pool.fetchval("SELECT count(*) FROM outbox"):
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    row = await pool.fetchrow("SELECT topic, value FROM outbox ORDER BY id LIMIT 1")
    assert row["topic"] == Topic.CAMPAIGN_LIFECYCLE
    sent = json.loads(row["value"])
    assert (sent["type"], sent["data"]["phase"]) == ("campaign.phase_opened", "rectification")


async def test_a_piecewise_job_commits_each_piece_and_stops_when_one_finds_nothing(
    pool: asyncpg.Pool,
) -> None:
    """A sweep of three campaigns' pieces: three transactions that emit, then one that finds
    nothing and ends the pass (the next pass waits for the interval)."""
    pieces = ["pucheng-edu-2012", "fuping-edu-2012", "baishui-edu-2012"]
    transactions: list[int] = []

    async def sweep_one_campaign(uow: UnitOfWork[None]) -> int:
        transactions.append(await uow.connection.fetchval("SELECT txid_current()"))
        if not pieces:
            return 0
        campaign_id = pieces.pop(0)
        uow.emit(
            CampaignPhaseOpenedEvent,
            PhaseOpened(campaign_id=campaign_id, phase=Phase.RECTIFICATION),
            countycode="610526",
            campaignid=campaign_id,
        )
        return 1

    job = PeriodicJob("sweep", sweep_one_campaign, piecewise=True)
    await job.run_once(JobRuntime(pool))  # type: ignore[arg-type]
    assert len(transactions) == len(set(transactions)) == 4
    rows = await pool.fetch("SELECT value FROM outbox ORDER BY id")
    assert [json.loads(row["value"])["data"]["campaign_id"] for row in rows] == [
        "pucheng-edu-2012",
        "fuping-edu-2012",
        "baishui-edu-2012",
    ]
