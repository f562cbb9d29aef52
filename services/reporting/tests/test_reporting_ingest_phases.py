"""Phases 3 and 4 written to the real PostgreSQL, as the consumer applies them into scratch
schemas: a later summary review, committee assessment, appraisal group count or annual review
replaces the earlier one in any arrival order and batching (ties: the greater event id, by code
point); the same event again changes nothing; a refused input of a batch is dead-lettered alone,
with its reason, and leaves no row."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.examples import CAMPAIGN, COUNTY, CST, DATA, envelope
from grassroots.testing import apply_in_batches, as_records, rows_of, scratch_schemas
from reporting.app import DEFINITION
from reporting.store.ingest import (
    CommendationRow,
    DutyReportRow,
    LearningMeetingRow,
    PublicityRow,
    ReportingStore,
    StandingRuleRow,
    SummaryReviewRow,
)

MIGRATIONS = Path(__file__).parents[1] / "migrations"
NOW = dt.datetime(2012, 10, 1, tzinfo=dt.UTC)
COMMITTEE = "610526-edu-committee"
BRANCH = "610526-edu-0007"
OTHER = "610526-edu-0008"
REPLACED = ["summary_reviews", "committee_assessments", "appraisals", "annual_reviews"]


@pytest.fixture
async def pools() -> AsyncIterator[list[asyncpg.Pool]]:
    async with scratch_schemas("reporting_phases", MIGRATIONS, 3) as made:
        yield made


def on(day: str, event_type: str, *, event_id: str | None = None, **data: Any) -> dict[str, Any]:
    when = dt.datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=CST)
    return envelope(event_type, DATA[event_type] | data, time=when, event_id=event_id)


def registered(branch_id: str, kind: str = "branch") -> dict[str, Any]:
    parent = None if kind == "committee" else COMMITTEE
    return on(
        "2012-03-01", "org.branch_registered", branch_id=branch_id, kind=kind, parent_id=parent
    )


SETUP = [
    on("2012-02-20", "campaign.launched"),
    registered(COMMITTEE, "committee"),
    registered(BRANCH),
    registered(OTHER),
]


def answer(value: str, text: str) -> dict[str, str]:
    return {"answer": value, "text": text}


def group(name: str, satisfied: int, basically: int, dissatisfied: int) -> dict[str, Any]:
    return {
        "group": name,
        "satisfied": satisfied,
        "basically_satisfied": basically,
        "dissatisfied": dissatisfied,
    }


# Each later input first, then the one it replaces; ties in time broken by the id.
INPUTS = [
    on(
        "2012-09-05",
        "assessment.summary_reviewed",
        problems_solved=answer("yes", "三个突出问题全部解决。"),
    ),
    on("2012-09-01", "assessment.summary_reviewed"),
    # Same time: "a-1" is the greater id by code point ("B" < "a"), whatever the collation.
    on("2012-09-10", "assessment.committee_assessed", event_id="a-1", score=91.5, comment=None),
    on("2012-09-10", "assessment.committee_assessed", event_id="B-1", score=70, level="average"),
    on("2012-09-08", "assessment.committee_assessed", branch_id=OTHER, level=None),
    on(
        "2012-09-12",
        "assessment.org_appraised",
        groups=[group("members", 30, 5, 2), group("branches", 46, 3, 1)],
    ),
    on("2012-09-11", "assessment.org_appraised", groups=[group("branches", 1, 1, 9)]),
    on("2012-09-09", "assessment.org_appraised"),
    on("2012-09-25", "assessment.annual_reviewed"),
    on("2012-09-20", "assessment.annual_reviewed", grade="good", comment="初评"),
    on("2012-09-20", "assessment.annual_reviewed", year=2011, grade="fair"),
]


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T09:00:00+08:00")


async def table(pool: asyncpg.Pool, name: str) -> list[tuple[Any, ...]]:
    """The table's rows without their event ids (made afresh per run), sorted."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM {name}")
    found = [tuple(v for k, v in row.items() if k != "event_id") for row in rows]
    return sorted(found, key=repr)


async def test_later_inputs_replace_earlier_ones_in_any_arrival_order(
    pools: list[asyncpg.Pool],
) -> None:
    shuffled = list(INPUTS)
    random.Random(15).shuffle(shuffled)
    ways = [(INPUTS, 1), (list(reversed(INPUTS)), 1), (shuffled, 100)]
    for pool, (events, size) in zip(pools, ways, strict=True):
        await apply_in_batches(pool, DEFINITION, as_records(SETUP), 100, now=NOW)
        await apply_in_batches(pool, DEFINITION, as_records(events), size, now=NOW)

    first = pools[0]
    assert await table(first, "summary_reviews") == [
        (
            CAMPAIGN,
            BRANCH,
            at("2012-09-05"),
            "yes",
            "四个阶段按时推进，资料齐全。",
            "yes",
            "三个突出问题全部解决。",
            "yes",
            "由“一般”晋位为“较强”。",
        )
    ]
    assert await table(first, "committee_assessments") == [
        (CAMPAIGN, BRANCH, at("2012-09-10"), Decimal("91.5"), "fairly_strong", None),
        (CAMPAIGN, OTHER, at("2012-09-08"), Decimal("88"), None, "整改扎实，群众满意度明显提高。"),
    ]
    async with first.acquire() as conn:
        tie = await conn.fetchval(
            "SELECT event_id FROM committee_assessments WHERE branch_id = $1", BRANCH
        )
    assert tie == "a-1"
    assert await table(first, "appraisals") == [
        (CAMPAIGN, COMMITTEE, "branches", at("2012-09-12"), 46, 3, 1),
        (CAMPAIGN, COMMITTEE, "members", at("2012-09-12"), 30, 5, 2),
        (CAMPAIGN, COMMITTEE, "public_representatives", at("2012-09-09"), 18, 2, 0),
    ]
    assert await table(first, "annual_reviews") == [
        (CAMPAIGN, COMMITTEE, 2011, at("2012-09-20"), "fair", None),
        (CAMPAIGN, COMMITTEE, 2012, at("2012-09-25"), "excellent", None),
    ]
    expected = await rows_of(first, REPLACED)  # with the event ids
    for other in pools[1:]:
        assert await rows_of(other, REPLACED) == expected


async def test_the_same_event_again_changes_nothing(pools: list[asyncpg.Pool]) -> None:
    pool = pools[0]
    await apply_in_batches(pool, DEFINITION, as_records(SETUP), 100, now=NOW)
    events = [
        on("2012-07-01", "emulation.commended"),
        on("2012-07-20", "emulation.publicized"),
        on("2012-07-25", "emulation.learning_meeting_held"),
        on("2012-09-01", "assessment.summary_reviewed"),
        on("2012-09-10", "assessment.duty_reported"),
        on("2012-09-20", "assessment.rule_established"),
    ]
    tables = [
        "commendations",
        "publicity",
        "learning_meetings",
        "summary_reviews",
        "duty_reports",
        "standing_rules",
        "cards",
        "counters",
    ]
    await apply_in_batches(pool, DEFINITION, as_records(events), 100, now=NOW)
    once = await rows_of(pool, tables)
    assert all(len(once[name]) == 1 for name in tables if name != "counters")
    await apply_in_batches(pool, DEFINITION, as_records(events), 1, now=NOW)  # redelivered
    assert await rows_of(pool, tables) == once

    # The store itself keeps the first row of an event id, whatever comes with it again.
    def row(name: str, event: dict[str, Any]) -> tuple[Any, ...]:
        found = [r for r in once[name] if event["id"] in r]
        assert len(found) == 1
        return found[0]

    commended, publicized, meeting, reviewed, reported, rule = events
    async with pool.acquire() as conn, conn.transaction():
        store = ReportingStore(conn)
        assert (
            await store.add_commendations(
                [CommendationRow(*row("commendations", commended))._replace(title="改过")]
            )
            == {}
        )
        await store.add_publicity([PublicityRow(*row("publicity", publicized))._replace(url=None)])
        await store.add_learning_meetings(
            [LearningMeetingRow(*row("learning_meetings", meeting))._replace(summary="改过")]
        )
        await store.save_summary_reviews(
            [SummaryReviewRow(*row("summary_reviews", reviewed))._replace(process_text="改过")]
        )
        await store.add_duty_reports(
            [DutyReportRow(*row("duty_reports", reported))._replace(document_ref="改过")]
        )
        await store.add_standing_rules(
            [StandingRuleRow(*row("standing_rules", rule))._replace(title="改过")]
        )
    assert await rows_of(pool, tables) == once


async def dead_letters(pool: asyncpg.Pool) -> dict[str, tuple[str, str, str]]:
    """What went to the outbox's dead-letter topics: {event id: (topic, code, reason)}."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT topic, value, header_names, header_values FROM outbox ORDER BY id"
        )
    found = {}
    for r in rows:
        headers = dict(zip(r["header_names"], r["header_values"], strict=True))
        found[json.loads(r["value"])["id"]] = (
            r["topic"],
            bytes(headers["dlq-reason-code"]).decode(),
            bytes(headers["dlq-reason"]).decode(),
        )
    return found


async def test_a_refused_input_of_a_batch_is_dead_lettered_alone(
    pools: list[asyncpg.Pool],
) -> None:
    pool = pools[0]
    await apply_in_batches(pool, DEFINITION, as_records(SETUP), 100, now=NOW)
    good = [
        on("2012-07-01", "emulation.commended"),
        on("2012-09-01", "assessment.summary_reviewed"),
        on("2012-09-02", "assessment.summary_reviewed", branch_id=OTHER),
    ]
    unknown = on("2012-07-02", "emulation.commended", branch_id="610526-edu-0404")
    committee = on("2012-09-03", "assessment.summary_reviewed", branch_id=COMMITTEE)
    await apply_in_batches(
        pool, DEFINITION, as_records([good[0], unknown, good[1], committee, good[2]]), 100, now=NOW
    )
    assert await dead_letters(pool) == {
        unknown["id"]: (
            "emulation.inputs.dlq",
            "rejected_by_rule",
            f"610526-edu-0404 is not a registered organisation of county {COUNTY}: register it"
            " (org.branch_registered) first",
        ),
        committee["id"]: (
            "assessment.inputs.dlq",
            "rejected_by_rule",
            f"{COMMITTEE} is not one of the organisations graded in campaign {CAMPAIGN}",
        ),
    }
    async with pool.acquire() as conn:
        commended = await conn.fetch("SELECT branch_id FROM commendations")
        reviewed = await conn.fetch("SELECT branch_id FROM summary_reviews ORDER BY branch_id")
        outcomes = await conn.fetch(
            "SELECT event_id, outcome FROM inbox WHERE outcome <> 'applied'"
        )
        summary = await conn.fetchval("SELECT value FROM counters WHERE name = 'commendations'")
    assert [r["branch_id"] for r in commended] == [BRANCH]
    assert [r["branch_id"] for r in reviewed] == [BRANCH, OTHER]
    assert {r["event_id"] for r in outcomes} == {unknown["id"], committee["id"]}
    assert summary == 1
