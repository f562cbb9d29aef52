"""Planning and claiming deliveries against the real PostgreSQL, in a scratch schema:
a notice planned twice is one delivery per (cause, recipient, channel); two workers never claim
the same row; an outcome is recorded only by the claim that holds the row; two sign-offs at
once get numbers 1 and 2, and a circular's number is never used twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.events import SupervisionCircularSignedEvent
from grassroots.contract.examples import envelope
from grassroots.plumbing import database
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.unit_of_work import open_unit_of_work
from notification.circulars.handlers import on_circular_signed
from notification.circulars.store import CircularRow, ItemRow
from notification.commendation_store import AnnouncementKey, CommendationRow, CommendationStore
from notification.config import NotificationSettings
from notification.delivery_store import DeliveryStore
from notification.domain import Audience, Kind
from notification.planning import PLANNER, Notice, Planner
from notification.store import NotificationStore, OrgRow, Uow

MIGRATIONS = Path(__file__).parents[1] / "migrations"
NOW = dt.datetime(2012, 5, 20, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    schema = f"notification_test_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
    await admin.execute(f"CREATE SCHEMA {schema}")
    await database.migrate(admin, schema, MIGRATIONS)
    scratch = await database.create_pool(os.environ["GRASSROOTS_ADMIN_DSN"], schema, size=3)
    try:
        yield scratch
    finally:
        await scratch.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def plan_commendation(pool: asyncpg.Pool, planner: Planner, event_id: str) -> Uow:
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=NOW) as uow:
        await uow.store.save_orgs(
            [
                OrgRow(key, "610526", "branch", f"{key}党支部", None, "王建国", email)
                for key, email in (("b1", "b1@example.org"), ("b2", None))
            ],
        )
        facts: dict[str, Any] = {
            "branch_name": "b1党支部",
            "honour": "advanced_organization",
            "title": "先进",
        }
        facts |= {"scope": "organisation", "awarded_by": None, "awarded_by_name": None}
        notice = Notice(
            Kind.COMMENDATION,
            "/county",
            event_id,
            "610526",
            None,
            "b1",
            {**facts, "member_name": None, "awarded_on": "2012-07-01"},
            audiences=(Audience.SECRETARY, Audience.EVERY_BRANCH),  # b1, and b2 too
        )
        await planner.notify(uow, notice)
    return uow


async def test_a_notice_planned_twice_is_delivered_once_per_recipient_and_channel(
    pool: asyncpg.Pool,
) -> None:
    planner = Planner(
        NotificationSettings(
            webhooks={"610526": [{"name": "county", "url": "http://127.0.0.1:9/"}]},
            WEBHOOK_SIGNING_SECRET="s",
        )
    )
    first = await plan_commendation(pool, planner, "e-1")
    again = await plan_commendation(pool, planner, "e-1")
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT recipient, channel, status FROM deliveries ORDER BY 1, 2")
        messages = await conn.fetchval("SELECT count(*) FROM inbox_messages")
    assert [tuple(r) for r in rows] == [
        ("b1", "inbox", "delivered"),
        ("b1@example.org", "email", "pending"),
        ("b2", "email", "pending"),  # no address: it fails when the worker takes it
        ("b2", "inbox", "delivered"),
        ("county", "webhook", "pending"),
    ]
    assert messages == 2
    assert len(first.outgoing) == 2 and again.outgoing == []  # inbox outcomes, once


async def test_two_workers_never_claim_the_same_delivery_and_only_the_holder_records_it(
    pool: asyncpg.Pool,
) -> None:
    await plan_commendation(pool, Planner(NotificationSettings()), "e-2")
    async with pool.acquire() as one, pool.acquire() as two:
        by_one, by_two = DeliveryStore(one), DeliveryStore(two)
        async with one.transaction():
            await one.execute("SELECT 1 FROM deliveries WHERE recipient = 'b2' FOR UPDATE")
            claimed = await by_two.claim(
                channel="email",
                address=None,
                limit=10,
                lease_seconds=60,
                instance="n-1",
                token="t:1",
            )
        assert [r["recipient"] for r in claimed] == ["b1@example.org"]  # b2 was locked: skipped
        again = await by_one.claim(
            channel="email",
            address=None,
            limit=10,
            lease_seconds=60,
            instance="n-1",
            token="t:2",
        )
        assert [r["recipient"] for r in again] == ["b2"]
        assert claimed[0]["attempts"] == 1
        theirs = claimed[0]["notification_id"]
        assert await by_one.finish(theirs, "t:2", "delivered", None) is None
        done = await by_one.finish(theirs, "t:1", "delivered", None)
        assert done is not None and done["latency"] >= 0


async def test_a_restarted_instance_takes_back_its_claims_at_once_and_no_one_elses(
    pool: asyncpg.Pool,
) -> None:
    await plan_commendation(pool, Planner(NotificationSettings()), "e-3")
    async with pool.acquire() as conn:
        deliveries = DeliveryStore(conn)
        await deliveries.claim(
            channel="email",
            address=None,
            limit=1,
            lease_seconds=600,
            instance="n-0",
            token="old:1",
        )
        await deliveries.claim(
            channel="email",
            address=None,
            limit=1,
            lease_seconds=600,
            instance="n-9",
            token="x:1",
        )
        assert await deliveries.release_claims_of_previous_run("n-0", "new") == 1
        due = await deliveries.claim(
            channel="email",
            address=None,
            limit=10,
            lease_seconds=600,
            instance="n-0",
            token="new:1",
        )
        assert len(due) == 1 and due[0]["attempts"] == 2  # the interrupted attempt counts
        assert await deliveries.reschedule(due[0]["notification_id"], "new:1", 0.0, "busy")
        retried = await deliveries.claim(
            channel="email",
            address=None,
            limit=10,
            lease_seconds=600,
            instance="n-0",
            token="new:2",
        )
        assert [r["attempts"] for r in retried] == [3]


async def test_a_phase_opened_twice_counts_its_first_opening(pool: asyncpg.Pool) -> None:
    later = NOW + dt.timedelta(days=1)
    async with pool.acquire() as conn:
        store = NotificationStore(conn)
        first = await store.mark_phase("c1", "610526", "emulation", opened_at=NOW)
        again = await store.mark_phase("c1", "610526", "emulation", opened_at=later)
        closed = await store.mark_phase("c1", "610526", "emulation", closed_at=later)
    assert (first["was_opened"], again["was_opened"]) == (False, True)
    assert again["opened_at"] == NOW and closed["closed_at"] == later and not closed["was_closed"]


# ------------------------------------------------------------------ commendations to announce

JULY_1 = AnnouncementKey("c1", "610526-edu-committee", dt.date(2012, 7, 1))


def commendation(event_id: str, branch_id: str = "b1") -> CommendationRow:
    return CommendationRow(
        cause_source="/county",
        cause_event_id=event_id,
        campaign_id=JULY_1.campaign_id,
        county_code="610526",
        awarded_by=JULY_1.awarded_by,
        awarded_on=JULY_1.awarded_on,
        branch_id=branch_id,
        honour="advanced_organization",
        title="局党委“七一”创先争优专项表彰",
        member_name=None,
    )


async def test_a_group_waits_until_its_commendations_are_named_and_a_later_one_opens_the_next(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        store = CommendationStore(conn)
        assert await store.save(commendation("e-1"), NOW) is True
        assert await store.save(commendation("e-1"), NOW) is False  # redelivered
        assert await store.save(commendation("e-2", "b2"), NOW) is True
        assert await store.waiting() == [(JULY_1, None)]
        await store.save_offsets(JULY_1, {"emulation.inputs:0": 7})
        assert await store.waiting() == [(JULY_1, {"emulation.inputs:0": 7})]
        group = await store.lock_waiting(JULY_1)
        assert group is not None and group["number"] == 1
        named = await store.name_in(JULY_1, 1)
        assert sorted(r["cause_event_id"] for r in named) == ["e-1", "e-2"]
        await store.mark_issued(JULY_1, len(named), NOW)
        assert await store.waiting() == [] and await store.lock_waiting(JULY_1) is None

        later = NOW + dt.timedelta(hours=1)
        await store.save(commendation("e-3", "b3"), later)
        assert await store.waiting() == [(JULY_1, None)]  # a new snapshot for the new one
        group = await store.lock_waiting(JULY_1)
        assert group is not None and (group["number"], group["triggered_at"]) == (2, later)
        assert [r["cause_event_id"] for r in await store.name_in(JULY_1, 2)] == ["e-3"]


async def test_a_commendation_saved_while_its_group_is_announced_is_named_by_the_next_one(
    pool: asyncpg.Pool,
) -> None:
    """The announcement holds the group's row: a commendation saved meanwhile waits for it,
    then opens the next announcement — it is never left out of both."""
    async with pool.acquire() as job, pool.acquire() as consumer:
        await CommendationStore(consumer).save(commendation("e-1"), NOW)
        async with job.transaction():
            announcing = CommendationStore(job)
            assert await announcing.lock_waiting(JULY_1) is not None
            assert len(await announcing.name_in(JULY_1, 1)) == 1

            async def save_meanwhile() -> None:
                async with consumer.transaction():
                    await CommendationStore(consumer).save(commendation("e-2", "b2"), NOW)

            saving = asyncio.create_task(save_meanwhile())
            await asyncio.sleep(0.3)
            assert not saving.done()  # waits for the announcement
            await announcing.mark_issued(JULY_1, 1, NOW)
        await saving
        store = CommendationStore(job)
        group = await store.lock_waiting(JULY_1)
        assert group is not None and group["number"] == 2
        assert [r["cause_event_id"] for r in await store.name_in(JULY_1, 2)] == ["e-2"]


async def test_an_announcement_waits_for_a_commendation_being_saved_and_names_it(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as job, pool.acquire() as consumer:
        await CommendationStore(consumer).save(commendation("e-1"), NOW)
        async with consumer.transaction():
            await CommendationStore(consumer).save(commendation("e-2", "b2"), NOW)

            async def announce() -> list[str]:
                async with job.transaction():
                    store = CommendationStore(job)
                    group = await store.lock_waiting(JULY_1)
                    assert group is not None
                    named = await store.name_in(JULY_1, group["number"])
                    await store.mark_issued(JULY_1, len(named), NOW)
                return sorted(r["cause_event_id"] for r in named)

            announcing = asyncio.create_task(announce())
            await asyncio.sleep(0.3)
            assert not announcing.done()  # waits for the commendation's unit of work
        assert await announcing == ["e-1", "e-2"]


# ------------------------------------------------------------------ circulars' numbers


def draft_of(circular_id: str, county: str = "610526") -> tuple[CircularRow, list[ItemRow]]:
    circular = CircularRow(
        circular_id, "c-2012", county, "weekly", "关于督查情况的通报", NOW.date(), NOW
    )
    item = ItemRow(
        circular_id, "criticism-b1-lagging", "criticism", "b1", "lagging", "b1党支部工作滞后。", []
    )
    return circular, [item]


def signed(
    circular_id: str, county: str = "610526", year: int = 2012
) -> SupervisionCircularSignedEvent:
    data = {"circular_id": circular_id, "signed_by": "李明"}
    when = dt.datetime(year, 5, 21, 10, tzinfo=NOW.tzinfo)
    return SupervisionCircularSignedEvent.model_validate(
        envelope(
            "supervision.circular_signed", data, county=county, time=when, campaign_id="c-2012"
        )
    )


async def drafts(pool: asyncpg.Pool, *circular_ids: str, county: str = "610526") -> None:
    async with open_unit_of_work(pool, NotificationStore, service="notification", now=NOW) as uow:
        await uow.store.save_orgs(
            [OrgRow("b1", county, "branch", "b1党支部", None, "王建国", "b1@example.org")]
        )
        for circular_id in circular_ids:
            assert await uow.store.circulars.save_draft(*draft_of(circular_id, county))


async def numbers(pool: asyncpg.Pool) -> dict[str, tuple[str, int, int, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT circular_id, county_code, year, number, document_number"
            " FROM circular_documents WHERE status = 'issued'"
        )
    return {
        r["circular_id"]: (r["county_code"], r["year"], r["number"], r["document_number"])
        for r in rows
    }


async def test_two_sign_offs_at_once_get_numbers_1_and_2(pool: asyncpg.Pool) -> None:
    """The first sign-off holds the county's and year's number until it commits: the second
    waits for it and takes the next."""
    await drafts(pool, "circular-a", "circular-b")
    first_took = asyncio.Event()
    release = asyncio.Event()

    async def sign(circular_id: str, hold: bool) -> None:
        async with open_unit_of_work(
            pool, NotificationStore, service="notification", now=NOW
        ) as uow:
            await on_circular_signed(uow, signed(circular_id))
            if hold:
                first_took.set()
                await release.wait()

    first = asyncio.create_task(sign("circular-a", hold=True))
    await first_took.wait()
    second = asyncio.create_task(sign("circular-b", hold=False))
    await asyncio.sleep(0.3)
    assert not second.done()  # waits for the first's number
    release.set()
    await asyncio.gather(first, second)
    assert await numbers(pool) == {
        "circular-a": ("610526", 2012, 1, "蒲教党办〔2012〕1号"),
        "circular-b": ("610526", 2012, 2, "蒲教党办〔2012〕2号"),
    }


async def test_a_number_is_never_used_twice_and_counts_per_county_and_year(
    pool: asyncpg.Pool,
) -> None:
    await drafts(pool, "circular-a", "circular-b", "circular-c", "circular-d")
    await drafts(pool, "circular-x", county="610527")

    async def sign(event: SupervisionCircularSignedEvent) -> None:
        async with open_unit_of_work(
            pool, NotificationStore, service="notification", now=NOW
        ) as uow:
            await on_circular_signed(uow, event)

    await sign(signed("circular-a"))
    with pytest.raises(RuntimeError):  # a sign-off that fails after taking a number uses none
        async with open_unit_of_work(
            pool, NotificationStore, service="notification", now=NOW
        ) as uow:
            await on_circular_signed(uow, signed("circular-b"))
            raise RuntimeError("the unit of work fails before it commits")
    await sign(signed("circular-c"))
    with pytest.raises(Rejected, match="circular circular-a is already signed"):
        await sign(signed("circular-a"))  # signed again: refused, no number taken
    await sign(signed("circular-d", year=2013))
    issuer = PLANNER.settings.counties.issuer("610527")
    assert issuer is None  # the deployed configuration lists 610526 only
    with pytest.raises(Rejected, match="county 610527 has no issuing body configured"):
        await sign(signed("circular-x", county="610527"))
    await sign(signed("circular-b"))
    assert await numbers(pool) == {
        "circular-a": ("610526", 2012, 1, "蒲教党办〔2012〕1号"),
        "circular-c": ("610526", 2012, 2, "蒲教党办〔2012〕2号"),
        "circular-d": ("610526", 2013, 1, "蒲教党办〔2013〕1号"),
        "circular-b": ("610526", 2012, 3, "蒲教党办〔2012〕3号"),
    }
    async with pool.acquire() as conn:  # and the database refuses a number used twice
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "UPDATE circular_documents SET year = 2012, number = 1 WHERE circular_id = 'circular-c'"
            )
