"""The API's reads on the real PostgreSQL, for problems followed through: events applied as the
consumer applies them into a scratch schema, then the card, the summary and the lagging list
read by the API's own queries and shaped by its views (and checked against its response
models); the migration counts the problems a deployment already has."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.examples import CAMPAIGN, CST, DATA, envelope
from grassroots.plumbing import database
from grassroots.testing import apply_in_batches, as_records, scratch_schemas
from reporting import schemas, views
from reporting.app import DEFINITION
from reporting.store import queries

MIGRATIONS = Path(__file__).parents[1] / "migrations"
NOW = dt.datetime(2012, 7, 1, tzinfo=dt.UTC)
COUNTY = "610526"
COMMITTEE = "610526-edu-committee"
BRANCH = "610526-edu-0007"


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schemas("reporting_queries", MIGRATIONS, 1) as pools:
        yield pools[0]


def on(day: str, event_type: str, **data: Any) -> dict[str, Any]:
    return envelope(
        event_type,
        DATA[event_type] | data,
        time=dt.datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=CST),
    )


def registered(branch_id: str, name: str, kind: str, parent_id: str | None) -> dict[str, Any]:
    return on(
        "2012-03-01",
        "org.branch_registered",
        branch_id=branch_id,
        name=name,
        kind=kind,
        parent_id=parent_id,
    )


def task(task_id: str, title: str, problem_id: str | None = None) -> dict[str, Any]:
    planned: dict[str, Any] = DATA["rectification.commitment_published"]["tasks"][0]
    return planned | {"task_id": task_id, "title": title, "problem_id": problem_id}


REVISION_1 = [task("t-1", "更新党员活动室", "p-1"), task("t-2", "公开承诺上墙")]
REVISION_2 = [*REVISION_1, task("t-3", "建立整改台账", "p-2")]
ACCEPTED = {
    "to_org_id": COMMITTEE,
    "answer": "accepted",
    "action": "局党委统筹专项经费",
    "due": "2012-06-20",
}


def listed(problem_id: str, source: str, needs_superior: bool) -> dict[str, Any]:
    return on(
        "2012-04-17",
        "rectification.problem_listed",
        problem_id=problem_id,
        description=f"问题{problem_id}",
        source=source,
        needs_superior=needs_superior,
    )


def updated(day: str, problem_id: str, **data: Any) -> dict[str, Any]:
    fields = {"problem_id": problem_id, "task_id": None, "escalation": None} | data
    return envelope(
        "rectification.problem_updated",
        {"branch_id": BRANCH, **fields},
        time=dt.datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=CST),
    )


FIRST = [
    registered(COMMITTEE, "蒲城县教育局党委", "committee", None),
    registered(BRANCH, "城关中学党支部", "branch", COMMITTEE),
    listed("p-1", "public", True),
    listed("p-2", "members", False),
    listed("p-3", "survey", False),
    on("2012-04-20", "rectification.commitment_published", revision=1, tasks=REVISION_1),
    on("2012-04-22", "rectification.commitment_reviewed", revision=1, guidance="请明确时限"),
    on("2012-04-25", "rectification.commitment_published", revision=2, tasks=REVISION_2),
    on("2012-04-18", "rectification.problem_escalated"),
    updated("2012-04-18", "p-1", status="open", escalation={"to_org_id": COMMITTEE}),
    on("2012-04-28", "rectification.escalation_overdue", due="2012-04-28"),
    on("2012-05-01", "rectification.review_overdue", revision=2, due="2012-04-30"),
]
THEN = [
    on(
        "2012-05-02",
        "rectification.commitment_reviewed",
        revision=2,
        decision="approved",
        guidance=None,
        uncovered_reason="问题p-3由县局统一解决",
    ),
    updated("2012-05-02", "p-1", status="in_rectification", task_id="t-1", escalation=ACCEPTED),
    updated("2012-05-02", "p-2", status="in_rectification", task_id="t-3"),
    updated("2012-05-20", "p-2", status="resolved", task_id="t-3", evidence="台账已建立"),
    updated("2012-05-03", "p-3", status="deferred", reason="列入下年度计划"),
]


async def read(pool: asyncpg.Pool) -> dict[str, Any]:
    """The card, the summary and the lagging list as the API answers them."""
    async with pool.acquire() as conn:
        campaign = await queries.campaign(conn, CAMPAIGN)
        branch = await queries.branch(conn, BRANCH)
        assert campaign is not None and branch is not None
        card = await queries.card(conn, CAMPAIGN, BRANCH)
        lists = await queries.card_lists(conn, CAMPAIGN, BRANCH)
        counters = await queries.counters(conn, CAMPAIGN)
        rows = await queries.lagging(conn, CAMPAIGN, COUNTY)
        parents = await queries.lagging_parents(conn, CAMPAIGN)
    shown = {
        "card": views.card(branch, card, lists, CAMPAIGN),
        "summary": views.summary(campaign, counters, 1),
        "lagging": views.lagging(rows, parents),
    }
    schemas.Card.model_validate(shown["card"])  # what the response models accept
    schemas.Summary.model_validate(shown["summary"])
    schemas.Lagging.model_validate(shown["lagging"])
    return shown


async def test_the_card_summary_and_lagging_list_follow_the_problems_through(
    pool: asyncpg.Pool,
) -> None:
    await apply_in_batches(pool, DEFINITION, as_records(FIRST), 100, now=NOW)
    before = await read(pool)
    lagging = before["lagging"]["items"]
    assert [(i["branch_id"], i["name"], i["reasons"]) for i in lagging] == [
        (COMMITTEE, "蒲城县教育局党委", ["escalation_unanswered", "review_overdue"])
    ]
    assert (lagging[0]["escalations_unanswered"], lagging[0]["reviews_overdue"]) == (1, 1)
    waiting = before["card"]["problems"][0]["escalation"]
    assert (waiting["to_org_name"], waiting["overdue"], waiting["text"]) == (
        "蒲城县教育局党委",
        True,
        "待答复（应于2012年4月28日前答复，已逾期）",
    )
    assert before["card"]["plan_history"][1]["review_overdue"] == {
        "reviewer_org_id": COMMITTEE,
        "due": "2012-04-30",
    }
    assert before["summary"]["escalations"] == {
        "total": 1,
        "answered": 0,
        "waiting": 1,
        "overdue": 1,
    }

    await apply_in_batches(pool, DEFINITION, as_records(THEN), 100, now=NOW)
    after = await read(pool)
    assert after["lagging"]["items"] == []  # answered, and reviewed
    card = after["card"]
    assert [
        (p["problem_id"], p["status_label"], p["task_title"], p["evidence"], p["reason"])
        for p in card["problems"]
    ] == [
        ("p-1", "整改中", "更新党员活动室", None, None),
        ("p-2", "已解决", "建立整改台账", "台账已建立", None),
        ("p-3", "暂缓整改", None, None, "列入下年度计划"),
    ]
    answer = card["problems"][0]["escalation"]
    assert answer["text"] == "已受理：局党委统筹专项经费，2012年6月20日前完成（2012年5月2日答复）"
    assert (answer["answered_at"], answer["overdue"]) == ("2012-05-02T09:00:00+08:00", False)
    history = card["plan_history"]
    assert [
        (h["revision"], h["task_count"], [(r["decision"], r["guidance"]) for r in h["reviews"]])
        for h in history
    ] == [(1, 2, [("returned", "请明确时限")]), (2, 3, [("approved", None)])]
    assert [t["task_id"] for t in history[1]["tasks"]] == ["t-1", "t-2", "t-3"]
    assert history[1]["reviews"][0]["uncovered_reason"] == "问题p-3由县局统一解决"
    assert history[1]["reviews"][0]["reviewer_name"] == "蒲城县教育局党委"
    assert history[1]["review_overdue"] is None
    assert card["commitment"] == {
        "commitment_id": "c-0007",
        "revision": 2,
        "review": "approved",
        "guidance": None,
    }
    summary = after["summary"]
    assert summary["problems"] == {
        "total": 3,
        "open": 0,
        "in_rectification": 1,
        "resolved": 1,
        "deferred": 1,
    }
    assert summary["prominent_problems"] == {"total": 2, "resolved": 1}
    assert summary["escalations"] == {"total": 1, "answered": 1, "waiting": 0, "overdue": 0}

    # Delivered again: nothing changes.
    await apply_in_batches(pool, DEFINITION, as_records(FIRST + THEN), 100, now=NOW)
    assert await read(pool) == after


async def test_the_migration_counts_the_problems_already_there(tmp_path: Path) -> None:
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS.glob("000[12]_*.sql")):
        shutil.copy(path, earlier)
    async with scratch_schemas("reporting_upgrade", earlier, 1) as (pool,):
        async with pool.acquire() as conn:
            schema = await conn.fetchval("SELECT current_schema()")
            await conn.execute(
                """INSERT INTO problems (campaign_id, branch_id, problem_id, description, source,
                       needs_superior, escalated_to) VALUES
                   ('c', 'b', 'p-1', '活动室陈旧', 'public', true, 'committee'),
                   ('c', 'b', 'p-2', '制度不落实', 'self', false, null),
                   ('c', 'b', 'p-3', '', 'self', true, 'committee')"""
            )
        admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
        try:
            applied = await database.migrate(admin, schema, MIGRATIONS)
        finally:
            await admin.close()
        assert applied[0] == f"{schema}:0003_problems_followed_through"  # then the later ones
        async with pool.acquire() as conn:
            counters = await queries.counters(conn, "c")
            unlisted = await conn.fetchval("SELECT problem_id FROM problems WHERE NOT listed")
    assert unlisted == "p-3"  # made by an escalation, never listed
    assert counters == {
        "problems:total": 2,
        "problems:open": 2,
        "prominent:total": 1,
        "escalations:total": 2,
        "escalations:waiting": 2,
    }
