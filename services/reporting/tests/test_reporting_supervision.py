"""Supervision (issue 16) on the real PostgreSQL: inspections and progress reports applied as
the consumer applies them into a scratch schema, then read by the API's own queries and views
(checked against its response models): each kept once per event, the latest inspection decides
whatever order they came in, a progress report missing is judged on read by the day given, an
input about an unregistered organisation is dead-lettered alone, and the annual sheet
(年度目标责任考核) opens with openpyxl and holds the exact values of three organisations."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook

from grassroots.contract.examples import CAMPAIGN, CST, DATA, SCORES, envelope
from grassroots.testing import apply_in_batches, as_records, scratch_schemas
from reporting import annual_sheet, schemas, supervision_views, views, xlsx
from reporting.app import DEFINITION
from reporting.store import queries

MIGRATIONS = Path(__file__).parents[1] / "migrations"
NOW = dt.datetime(2012, 10, 1, tzinfo=dt.UTC)
COMMITTEE = "610526-edu-committee"
GENERAL = "610526-edu-0100"
B1, B2 = "610526-edu-0001", "610526-edu-0002"
NAMES = {GENERAL: "城关镇中心学校党总支", B1: "城关一小党支部", B2: "城关二小党支部"}
# Reports are due every 30 days from 1 March: 31 March, 30 April, 30 May, …
LAUNCHED = DATA["campaign.launched"] | {"rules": {"progress_report_every_days": 30}}


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schemas("reporting_supervision", MIGRATIONS, 1) as pools:
        yield pools[0]


def on(
    day: str, event_type: str, data: dict[str, Any], *, clock: str = "09:00:00", **more: Any
) -> dict[str, Any]:
    when = dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CST)
    return envelope(event_type, data, time=when, **more)


def registered(org_id: str, kind: str, parent_id: str | None) -> dict[str, Any]:
    data = DATA["org.branch_registered"] | {
        "branch_id": org_id,
        "name": NAMES.get(org_id, "蒲城县教育局党委"),
        "kind": kind,
        "parent_id": parent_id,
    }
    return on("2012-03-01", "org.branch_registered", data)


def inspected(
    org_id: str, inspection_id: str, day: str, *kinds: str, clock: str = "09:00:00"
) -> dict[str, Any]:
    findings = [{"kind": kind, "text": f"{kind}的情况"} for kind in kinds]
    data = DATA["supervision.inspected"] | {
        "inspection_id": inspection_id,
        "org_id": org_id,
        "inspected_on": day,
        "findings": findings,
    }
    return on(day, "supervision.inspected", data, clock=clock)


def reported(org_id: str, day: str) -> dict[str, Any]:
    data = {"org_id": org_id, "reported_on": day, "summary": f"{day}进展", "document_ref": None}
    return on(day, "supervision.progress_reported", data)


REGISTERED = [
    on("2012-02-20", "campaign.launched", LAUNCHED),
    registered(COMMITTEE, "committee", None),
    registered(GENERAL, "general_branch", COMMITTEE),
    registered(B1, "branch", GENERAL),
    registered(B2, "branch", GENERAL),
]


async def apply(pool: asyncpg.Pool, events: list[dict[str, Any]], size: int = 100) -> None:
    await apply_in_batches(pool, DEFINITION, as_records(events), size, now=NOW)


async def campaign_of(conn: asyncpg.Connection) -> asyncpg.Record:
    found = await queries.campaign(conn, CAMPAIGN)
    assert found is not None
    return found


async def lagging(pool: asyncpg.Pool, today: dt.date) -> list[dict[str, Any]]:
    """The lagging list as the API answers it on `today`."""
    async with pool.acquire() as conn:
        campaign = await campaign_of(conn)
        shown = views.lagging(
            await queries.lagging(conn, CAMPAIGN, campaign["county_code"]),
            await queries.lagging_parents(conn, CAMPAIGN),
            await supervision_views.lagging(conn, campaign, today),
        )
    schemas.Lagging.model_validate(shown)
    items: list[dict[str, Any]] = shown["items"]
    return items


async def card(pool: asyncpg.Pool, org_id: str, today: dt.date) -> dict[str, Any]:
    async with pool.acquire() as conn:
        branch = await queries.branch(conn, org_id)
        assert branch is not None
        shown = views.card(
            branch,
            await queries.card(conn, CAMPAIGN, org_id),
            await queries.card_lists(conn, CAMPAIGN, org_id),
            CAMPAIGN,
            today=today,
        )
    schemas.Card.model_validate(shown)
    return shown


async def test_inspections_are_kept_once_per_event_and_listed_newest_first(
    pool: asyncpg.Pool,
) -> None:
    first = inspected(B1, "insp-1", "2012-05-18", "leadership_attention", "commendable")
    await apply(pool, [*REGISTERED, first, inspected(B2, "insp-2", "2012-05-20", "lagging")])
    await apply(pool, [first], size=1)  # the same event again
    async with pool.acquire() as conn:
        total, items = await supervision_views.inspections_view(
            conn, await campaign_of(conn), limit=10, offset=0
        )
    schemas_page = {"items": items, "page": 1, "page_size": 10, "total": total}
    supervision_views.Inspections.model_validate(schemas_page)
    assert total == 2
    assert [(i["inspection_id"], i["org_id"], i["name"]) for i in items] == [
        ("insp-2", B2, NAMES[B2]),
        ("insp-1", B1, NAMES[B1]),
    ]
    assert items[1] == {
        "org_id": B1,
        "name": NAMES[B1],
        "inspection_id": "insp-1",
        "mode": "unannounced",
        "mode_label": "不定期督查",
        "inspected_on": "2012-05-18",
        "inspectors": ["张卫东", "刘芳"],
        "checked": "整改方案落实情况、整改台账、党员承诺践诺记录",
        "findings": [
            {
                "kind": "leadership_attention",
                "kind_label": "领导重视不够",
                "text": "leadership_attention的情况",
            },
            {"kind": "commendable", "kind_label": "值得肯定", "text": "commendable的情况"},
        ],
    }
    shown = await card(pool, B1, dt.date(2012, 5, 21))
    assert [i["inspection_id"] for i in shown["inspections"]] == ["insp-1"]


async def test_the_latest_inspection_decides_whatever_order_they_came_in(
    pool: asyncpg.Pool,
) -> None:
    today = dt.date(2012, 3, 20)  # before the first due date: no progress report is missing
    await apply(
        pool,
        [
            *REGISTERED,
            # B1: the later inspection (only praise) arrives first; it still clears the earlier.
            inspected(B1, "insp-b1-2", "2012-05-20", "commendable"),
            inspected(B1, "insp-b1-1", "2012-05-18", "leadership_attention", "lagging"),
            # B2: the same day; the later event time decides, whatever came first.
            inspected(B2, "insp-b2-2", "2012-05-18", "ineffective_measures", clock="15:00:00"),
            inspected(B2, "insp-b2-1", "2012-05-18", "commendable", clock="08:00:00"),
            # The committee is lagging too for a critical finding of its own.
            inspected(COMMITTEE, "insp-c", "2012-05-19", "lagging", "leadership_attention"),
        ],
        size=1,
    )
    items = await lagging(pool, today)
    assert [(i["branch_id"], i["reasons"]) for i in items] == [
        (COMMITTEE, ["leadership_attention", "lagging"]),  # the contract's order
        (B2, ["ineffective_measures"]),
    ]
    assert items[1] == {
        "branch_id": B2,
        "name": NAMES[B2],
        "township": "城关镇",
        "reasons": ["ineffective_measures"],
        "overdue_tasks": 0,
        "escalations_unanswered": 0,
        "reviews_overdue": 0,
        "level": None,
        "progress_report_due": None,
    }
    # A later inspection with only praise clears B2.
    await apply(pool, [inspected(B2, "insp-b2-3", "2012-06-01", "commendable")])
    assert [i["branch_id"] for i in await lagging(pool, today)] == [COMMITTEE]


async def test_a_progress_report_missing_is_judged_on_read_by_the_day_given(
    pool: asyncpg.Pool,
) -> None:
    await apply(
        pool,
        [
            *REGISTERED,
            reported(B1, "2012-04-01"),
            reported(B1, "2012-05-10"),
            reported(B2, "2012-04-30"),  # the day the period before ended: not this period's
        ],
    )
    # 1 June: the due date of 30 May has passed; its period began after 30 April.
    june = dt.date(2012, 6, 1)
    items = await lagging(pool, june)
    assert [(i["branch_id"], i["reasons"], i["progress_report_due"]) for i in items] == [
        (B2, ["progress_report_missing"], "2012-05-30"),
        (GENERAL, ["progress_report_missing"], "2012-05-30"),
    ]  # the committee reports to no one: never missing
    async with pool.acquire() as conn:
        every, total, page = await supervision_views.progress_view(
            conn, await campaign_of(conn), june, limit=2, offset=0
        )
        _, _, rest = await supervision_views.progress_view(
            conn, await campaign_of(conn), june, limit=2, offset=2
        )
    supervision_views.ProgressReports.model_validate(
        {"every_days": every, "items": page, "page": 1, "page_size": 2, "total": total}
    )
    assert (every, total) == (30, 3)
    assert page + rest == [
        {
            "org_id": B1,
            "name": NAMES[B1],
            "reports": 2,
            "last_reported_on": "2012-05-10",
            "missing_due": None,
        },
        {
            "org_id": B2,
            "name": NAMES[B2],
            "reports": 1,
            "last_reported_on": "2012-04-30",
            "missing_due": "2012-05-30",
        },
        {
            "org_id": GENERAL,
            "name": NAMES[GENERAL],
            "reports": 0,
            "last_reported_on": None,
            "missing_due": "2012-05-30",
        },
    ]
    # On 30 May its due date has not passed yet (from the next day on): only the report due
    # on 30 April counts, and B2's report of that day is one of its period.
    assert [
        (i["branch_id"], i["progress_report_due"])
        for i in await lagging(pool, dt.date(2012, 5, 30))
    ] == [(GENERAL, "2012-04-30")]
    # A late report clears B2; the card shows its reports newest first.
    await apply(pool, [reported(B2, "2012-06-01")])
    assert [i["branch_id"] for i in await lagging(pool, june)] == [GENERAL]
    shown = await card(pool, B2, june)
    assert shown["progress_reports"] == {
        "every_days": 30,
        "last_reported_on": "2012-06-01",
        "missing_due": None,
        "items": [
            {"reported_on": "2012-06-01", "summary": "2012-06-01进展", "document_ref": None},
            {"reported_on": "2012-04-30", "summary": "2012-04-30进展", "document_ref": None},
        ],
    }
    assert (await card(pool, GENERAL, june))["progress_reports"]["missing_due"] == "2012-05-30"


async def test_an_input_about_an_unregistered_organisation_is_dead_lettered_alone(
    pool: asyncpg.Pool,
) -> None:
    await apply(pool, REGISTERED)
    unknown = inspected("610526-edu-0404", "insp-x", "2012-05-18", "lagging")
    foreign_campaign = on(
        "2012-05-18",
        "supervision.progress_reported",
        {"org_id": B1, "reported_on": "2012-05-18", "summary": "进展"},
        campaign_id="another-county-campaign",
    )
    # The other county's campaign is known (launched there).
    elsewhere = on(
        "2012-02-20",
        "campaign.launched",
        LAUNCHED,
        county="610527",
        campaign_id="another-county-campaign",
    )
    good = [inspected(B1, "insp-1", "2012-05-18", "commendable"), reported(B1, "2012-05-18")]
    await apply(pool, [elsewhere])
    await apply(pool, [good[0], unknown, foreign_campaign, good[1]])
    async with pool.acquire() as conn:
        rejected = await conn.fetch(
            "SELECT event_id, reason FROM inbox WHERE outcome = 'rejected' ORDER BY reason"
        )
        kept = (
            await conn.fetchval("SELECT count(*) FROM inspections"),
            await conn.fetchval("SELECT count(*) FROM progress_reports"),
        )
    assert [(r["event_id"], r["reason"]) for r in rejected] == [
        (
            unknown["id"],
            "610526-edu-0404 is not a registered organisation of county 610526: register it"
            " (org.branch_registered) first",
        ),
        (
            foreign_campaign["id"],
            "campaign another-county-campaign is a campaign of county 610527, not 610526",
        ),
    ]
    assert kept == (1, 1)


def graded(org_id: str, round_: str, level: str, total: float, **more: Any) -> dict[str, Any]:
    data = {
        "branch_id": org_id,
        "round": round_,
        "level": level,
        "total": total,
        "scores": SCORES,
        "basis": "computed",
        **more,
    }
    return on("2012-04-15" if round_ == "initial" else "2012-09-25", "grading.branch_graded", data)


def task(task_id: str) -> dict[str, Any]:
    planned: dict[str, Any] = DATA["rectification.commitment_published"]["tasks"][0]
    return planned | {"task_id": task_id, "title": f"任务{task_id}", "deadline": "2012-05-31"}


def for_b1(event_type: str, day: str, **data: Any) -> dict[str, Any]:
    return on(day, event_type, DATA[event_type] | {"branch_id": B1} | data)


SEEDED = [
    graded(B1, "initial", "average", 72.5),
    graded(B1, "final", "fairly_strong", 84.25, moved_up=True),
    graded(B2, "initial", "strong", 91.0),
    for_b1("rectification.commitment_published", "2012-04-20", tasks=[task("t-1"), task("t-2")]),
    for_b1("rectification.task_completed", "2012-05-20", task_id="t-1"),
    for_b1("rectification.task_overdue", "2012-06-01", task_id="t-2", deadline="2012-05-31"),
    for_b1(
        "rectification.branch_settled",
        "2012-07-01",
        completion_rate=0.5,
        tasks_total=2,
        tasks_completed=1,
        tasks_overdue=1,
    ),
    for_b1("rectification.problem_listed", "2012-04-17", problem_id="p-1"),
    for_b1("rectification.problem_listed", "2012-04-17", problem_id="p-2", source="survey"),
    on(
        "2012-05-20",
        "rectification.problem_updated",
        {"branch_id": B1, "problem_id": "p-1", "status": "resolved", "evidence": "已验收"},
    ),
    for_b1("emulation.commended", "2012-07-01", honour="advanced_organization"),
    for_b1("emulation.activity_reported", "2012-07-10", kind="themed_activity"),
    for_b1("emulation.activity_reported", "2012-07-10", kind="innovation_measure"),
    for_b1("emulation.activity_reported", "2012-07-10", kind="pairing"),
    for_b1("assessment.summary_reviewed", "2012-09-01"),
    for_b1("assessment.committee_assessed", "2012-09-05"),
    on(
        "2012-09-10",
        "assessment.duty_reported",
        DATA["assessment.duty_reported"] | {"org_id": GENERAL, "reporter_name": "周书记"},
    ),
    on(
        "2012-09-15",
        "assessment.org_appraised",
        {
            "org_id": GENERAL,
            "groups": [
                {"group": "members", "satisfied": 10, "basically_satisfied": 1, "dissatisfied": 1}
            ],
        },
    ),
    on(
        "2012-09-20",
        "assessment.annual_reviewed",
        {"org_id": GENERAL, "year": 2012, "grade": "good"},
    ),
    inspected(B1, "insp-1", "2012-05-18", "leadership_attention", "lagging", "commendable"),
    inspected(B1, "insp-2", "2012-06-18", "commendable"),
    inspected(B2, "insp-3", "2012-06-18", "ineffective_measures"),
    reported(B1, "2012-04-01"),
    reported(B1, "2012-05-10"),
    reported(B2, "2012-04-30"),
]


async def test_the_annual_sheet_holds_the_exact_values_of_three_organisations(
    pool: asyncpg.Pool,
) -> None:
    await apply(pool, REGISTERED)
    await apply(pool, SEEDED, size=5)
    async with pool.acquire() as conn:
        body = await annual_sheet.annual_sheet(conn, await campaign_of(conn), dt.date(2012, 6, 1))
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["年度目标责任考核"]
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "党组织编号",
        "党组织名称",
        "分类定级等次",
        "晋位升级复评等次",
        "晋位升级",
        "整改任务",
        "已完成",
        "已逾期",
        "整改完成率",
        "问题已解决",
        "问题总数",
        "表彰",
        "一项党建特色主题活动",
        "一项党建工作创新举措",
        "一批先进党组织",
        "一批优秀共产党员",
        "四个一全部完成",
        "结对共建",
        "在职党员进村入户",
        "双帮双比",
        "评估小结·过程是否扎实",
        "评估小结·突出问题是否解决",
        "评估小结·争先进位的成效是否明显",
        "局党委评估得分",
        "局党委评估等次",
        "专项述职",
        "评议满意率",
        "年度考核",
        "督查次数",
        "督查发现问题",
        "工作进展情况报送次数",
        "工作进展情况逾期未报",
    )
    assert rows[1:] == [
        (
            B1,
            NAMES[B1],
            "一般",
            "较强",
            "是",
            2,
            1,
            1,
            0.5,
            1,
            2,
            1,
            "是",
            "是",
            "是",
            "否",
            "否",
            "是",
            "否",
            "否",
            "是",
            "基本",
            "是",
            88,
            "较强",
            None,
            None,
            None,
            2,
            2,  # the first inspection's two criticised findings (praise is not one)
            2,
            "否",
        ),
        (
            B2,
            NAMES[B2],
            "强",
            None,
            "否",
            0,
            0,
            0,
            None,
            0,
            0,
            0,
            "否",
            "否",
            "否",
            "否",
            "否",
            "否",
            "否",
            "否",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            1,
            1,
            1,
            "是（2012年5月30日）",
        ),
        (
            GENERAL,
            NAMES[GENERAL],
            None,
            None,
            "否",
            0,
            0,
            0,
            None,
            0,
            0,
            0,
            "否",
            "否",
            "是",  # b1's commendation, directly under it
            "否",
            "否",
            "否",
            "否",
            "否",
            None,
            None,
            None,
            None,
            None,
            "是",
            0.8333,
            "良好",
            0,
            0,
            0,
            "是（2012年5月30日）",
        ),
    ]
    percent_cells = [sheet.cell(row=r, column=c).number_format for r, c in ((2, 9), (4, 27))]
    assert percent_cells == ["0.00%", "0.00%"]


def test_the_sheet_writer_keeps_text_as_text_and_rates_as_percentages() -> None:
    hostile = '=HYPERLINK("http://x")<script>&\x07党支部'
    body = xlsx.workbook(
        "表",
        ("名称", "比率", "数"),
        [(hostile, 0.9167, 3), ("", None, 0), ("  前后空格  ", 1, 2.5)],
        frozenset({1}),
    )
    sheet = load_workbook(io.BytesIO(body))["表"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("名称", "比率", "数"),
        ('=HYPERLINK("http://x")<script>&党支部', 0.9167, 3),  # the bell dropped: not XML
        (None, None, 0),
        ("  前后空格  ", 1, 2.5),
    ]
    assert sheet["A2"].data_type == "s"  # text, never a formula
    assert (sheet["B2"].number_format, sheet["C2"].number_format) == ("0.00%", "General")
