"""The batch applier against the real database: events are applied together through a batch
handler; when one of them is refused, the attempt is undone and the batch applied one event
at a time, so only that event is dead-lettered and every other is applied exactly once."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from grassroots.contract import AnyEvent, RejectionCode, Topic
from grassroots.contract.events import CampaignLaunchedEvent, OrgBranchRegisteredEvent
from grassroots.contract.examples import envelope
from grassroots.plumbing import database
from grassroots.plumbing.consumer import BatchApplier, named_first, runs
from grassroots.plumbing.handling import HandlerTable, Rejected, batch, each
from grassroots.plumbing.inbox import Received
from grassroots.plumbing.kafka import dead_letter_owner
from grassroots.plumbing.outbox import OutgoingRecord
from grassroots.plumbing.unit_of_work import UnitOfWork

NOW = dt.datetime(2012, 4, 1, tzinfo=dt.UTC)
REGISTERED = "org.branch_registered"


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[asyncpg.Connection]:
    schema = f"applier_test_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
    await admin.execute(f"CREATE SCHEMA {schema}")
    await database.migrate(admin, schema, tmp_path)
    await admin.execute(f"CREATE TABLE {schema}.names (branch_id text PRIMARY KEY, name text)")
    pool = await database.create_pool(os.environ["GRASSROOTS_ADMIN_DSN"], schema, size=1)
    try:
        async with pool.acquire() as connection:
            yield connection
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


def record(
    branch: str,
    name: str,
    *,
    partition: int = 0,
    offset: int = 0,
    event_id: str | None = None,
) -> ConsumerRecord:
    data = {
        "branch_id": branch,
        "kind": "branch",
        "name": name,
        "unit": "城关中学",
        "parent_id": None,
        "secretary": {"name": "王建国"},
        "member_count": 12,
    }
    value = json.dumps(envelope(REGISTERED, data, event_id=event_id)).encode()
    return ConsumerRecord(
        Topic.ORG_BRANCHES, partition, offset, 0, 0, branch.encode(), value, None, 0, 0, []
    )


class Names:
    """A store of one table, as a service's store is."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, rows: list[tuple[str, str]]) -> None:
        await self.conn.executemany("INSERT INTO names VALUES ($1, $2)", rows)


class Calls:
    def __init__(self) -> None:
        self.batches: list[int] = []

    async def save(
        self, uow: UnitOfWork[Names], events: Sequence[OrgBranchRegisteredEvent]
    ) -> None:
        """Writes the good ones first (plain inserts: a second write of one fails), then refuses."""
        self.batches.append(len(events))
        await uow.store.insert(
            [(e.data.branch_id, e.data.name) for e in events if e.data.name != "refused"]
        )
        for event in events:
            if event.data.name == "refused":
                raise Rejected(f"{event.data.branch_id} is refused")

    def applier(self, service: str = "test") -> BatchApplier:
        return BatchApplier(
            service=service, handlers=HandlerTable(batch(OrgBranchRegisteredEvent, self.save))
        )


async def apply(
    conn: asyncpg.Connection, applier: BatchApplier, records: list[ConsumerRecord]
) -> list[OutgoingRecord]:
    """Apply in one transaction, as the unit of work does; what went to the outbox."""
    async with conn.transaction():
        uow = UnitOfWork(Names(conn), service="test", now=NOW, connection=conn)
        await applier.apply(uow, records)
        await uow.flush()
    return uow.outgoing


async def names(conn: asyncpg.Connection) -> dict[str, str]:
    return {r["branch_id"]: r["name"] for r in await conn.fetch("SELECT * FROM names")}


async def test_a_batch_is_applied_together_by_its_batch_handler(
    conn: asyncpg.Connection,
) -> None:
    calls = Calls()
    records = [record(f"b{i}", f"支部{i}", offset=i) for i in range(5)]
    out = await apply(conn, calls.applier(), records)
    assert (calls.batches, out) == ([5], [])
    assert await names(conn) == {f"b{i}": f"支部{i}" for i in range(5)}


async def test_one_refused_event_is_dead_lettered_and_the_others_applied_once(
    conn: asyncpg.Connection,
) -> None:
    calls = Calls()
    records = [record("b1", "一支部"), record("b2", "refused", offset=1), record("b3", "三支部")]
    out = await apply(conn, calls.applier(), records)
    assert calls.batches == [3, 1, 1, 1]  # together, then each alone
    assert await names(conn) == {"b1": "一支部", "b3": "三支部"}
    assert [(o.topic, dict(o.headers)["dlq-reason"]) for o in out] == [
        (f"{Topic.ORG_BRANCHES}.dlq", b"b2 is refused")
    ]
    outcomes = await conn.fetch("SELECT subject, outcome FROM inbox ORDER BY subject")
    assert [(r["subject"], r["outcome"]) for r in outcomes] == [
        ("b1", "applied"),
        ("b2", "rejected"),
        ("b3", "applied"),
    ]


async def test_a_refused_event_among_many_costs_its_slice_not_the_whole_run(
    conn: asyncpg.Connection,
) -> None:
    """A batch handler's run of 200 with one refusal: applied again in slices of 64 in order,
    only the slice with the refusal one event at a time."""
    calls = Calls()
    records = [
        record(f"b{i:03}", "refused" if i == 100 else f"支部{i}", offset=i) for i in range(200)
    ]
    out = await apply(conn, calls.applier(), records)
    assert calls.batches == [200, 64, 64, *[1] * 64, 64, 8]  # the second slice failed
    assert len(await names(conn)) == 199
    assert [dict(o.headers)["dlq-reason"] for o in out] == [b"b100 is refused"]


def parsed(topic: str, partition: int, offset: int, kind: str) -> Received:
    # Only the type matters to the order: a stand-in, not a whole event.
    event = cast(AnyEvent, SimpleNamespace(type=kind))
    return Received(
        ConsumerRecord(topic, partition, offset, 0, 0, b"", b"", None, 0, 0, []),
        event,
        b"",
        ("/test", f"{topic}-{partition}-{offset}"),
    )


def test_registrations_come_first_and_every_partition_keeps_its_order() -> None:
    batch = [
        parsed(Topic.EMULATION_INPUTS, 0, 7, "emulation.commended"),
        parsed(Topic.ORG_BRANCHES, 1, 3, REGISTERED),
        parsed(Topic.GRADING_INPUTS, 2, 0, "grading.self_evaluated"),
        parsed(Topic.CAMPAIGN_LIFECYCLE, 0, 1, "campaign.launched"),
        parsed(Topic.ORG_BRANCHES, 1, 4, REGISTERED),
        parsed(Topic.EMULATION_INPUTS, 0, 8, "emulation.commended"),
    ]
    assert [(p.record.topic, p.record.offset) for p in named_first(batch)] == [
        (Topic.ORG_BRANCHES, 3),
        (Topic.ORG_BRANCHES, 4),
        (Topic.EMULATION_INPUTS, 7),
        (Topic.GRADING_INPUTS, 0),
        (Topic.CAMPAIGN_LIFECYCLE, 1),
        (Topic.EMULATION_INPUTS, 8),
    ]


def test_runs_keep_each_partition_in_order_and_gather_one_kind_across_partitions() -> None:
    batch = [
        parsed("t", 0, 0, "a"),
        parsed("t", 0, 1, "b"),
        parsed("t", 0, 2, "a"),
        parsed("t", 1, 0, "a"),
        parsed("t", 1, 1, "a"),
        parsed("u", 0, 0, "b"),
    ]
    cut = runs(batch, lambda item: item.event.type)
    assert [[(p.record.topic, p.record.partition, p.record.offset) for p in r] for r in cut] == [
        [("t", 0, 0), ("t", 1, 0), ("t", 1, 1)],
        [("t", 0, 1), ("u", 0, 0)],
        [("t", 0, 2)],
    ]


async def test_the_same_id_again_is_a_repeat_and_with_other_content_a_conflicting_duplicate(
    conn: asyncpg.Connection,
) -> None:
    """(source, id) is the event's identity: resent unchanged it is ignored; resent with other
    content it is dead-lettered as conflicting_duplicate (by the topic's dead-letter owner,
    reporting for org.branches) and changes nothing."""
    calls = Calls()
    applier = calls.applier(dead_letter_owner(Topic.ORG_BRANCHES))
    await apply(conn, applier, [record("b1", "一支部", event_id="e-1")])
    again = await apply(conn, applier, [record("b1", "一支部", event_id="e-1", offset=1)])
    other = await apply(conn, applier, [record("b1", "改名支部", event_id="e-1", offset=2)])
    assert again == [] and calls.batches == [1]
    assert [(o.topic, dict(o.headers)["dlq-reason-code"]) for o in other] == [
        (f"{Topic.ORG_BRANCHES}.dlq", b"conflicting_duplicate")
    ]
    assert await names(conn) == {"b1": "一支部"}


def lifecycle(event_type: str, offset: int, **changes: object) -> ConsumerRecord:
    event = {**envelope(event_type, event_id=f"{event_type}-{offset}"), **changes}
    value = json.dumps(event).encode()
    return ConsumerRecord(Topic.CAMPAIGN_LIFECYCLE, 0, offset, 0, 0, b"k", value, None, 0, 0, [])


async def test_a_type_the_service_does_not_handle_is_passed_by_unless_it_owns_the_dead_letters(
    conn: asyncpg.Connection,
) -> None:
    """A record of a type without a handler changes nothing: it is counted and passed by (no
    inbox row); the service that dead-letters the topic reads every record, and a record whose
    type the contract does not know is read and refused, as before."""
    launched: list[str] = []

    async def on_launched(uow: UnitOfWork[Names], event: CampaignLaunchedEvent) -> None:
        launched.append(event.id)

    def applier(service: str) -> BatchApplier:
        return BatchApplier(
            service=service, handlers=HandlerTable(each(CampaignLaunchedEvent, on_launched))
        )

    records = [
        lifecycle("campaign.launched", 0),
        lifecycle("campaign.phase_opened", 1),
        lifecycle("campaign.phase_closed", 2),
        lifecycle("campaign.launched", 3, type="campaign.made_up"),
    ]
    assert dead_letter_owner(Topic.CAMPAIGN_LIFECYCLE) != "grading"
    parsed = applier("grading").parse(records)
    assert parsed.passed_by == {"campaign.phase_opened": 1, "campaign.phase_closed": 1}
    assert [r.event.type for r in parsed.received] == ["campaign.launched"]
    assert [v.code for _, v in parsed.refused] == [RejectionCode.UNKNOWN_TYPE]
    await apply(conn, applier("grading"), records)
    assert launched == ["campaign.launched-0"]
    assert await conn.fetchval("SELECT array_agg(event_id) FROM inbox") == ["campaign.launched-0"]

    owner = applier(dead_letter_owner(Topic.CAMPAIGN_LIFECYCLE)).parse(records)
    assert not owner.passed_by
    assert [r.event.type for r in owner.received] == [
        "campaign.launched",
        "campaign.phase_opened",
        "campaign.phase_closed",
    ]
