"""The annual target-responsibility sheet (年度目标责任考核): one row per organisation of the
campaign, for the office to carry into the annual review — its levels in both rounds,
rectification, emulation, assessment and supervision, with Chinese headers and rates as
percentages. One aggregate per fact in SQL, and the workbook written row by row (`xlsx`), so
100,000 organisations take a few seconds."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from grassroots.contract.labels import label
from reporting import xlsx
from reporting.domain import COVERAGE_ACTIVITIES, FOUR_ONES, Marks, rate
from reporting.exports import safe_text
from reporting.store import supervision as store
from reporting.supervision_views import Schedule, campaign_schedule
from reporting.wording import cn_date, yes_no

TITLE = "年度目标责任考核"
SUMMARY_QUESTIONS = ("process_solid", "problems_solved", "advance_evident")
SUMMARY_COLUMNS = ("process_answer", "problems_answer", "advance_answer")
INITIAL, FINAL = label("round", "initial"), label("round", "final")
HEADERS = (
    "党组织编号",
    "党组织名称",
    f"{INITIAL}等次",
    f"{FINAL}等次",
    "晋位升级",
    "整改任务",
    "已完成",
    "已逾期",
    "整改完成率",
    "问题已解决",
    "问题总数",
    "表彰",
    *(label("four_ones", mark) for mark in FOUR_ONES),
    "四个一全部完成",
    *(label("activity", kind) for kind in COVERAGE_ACTIVITIES),
    *(f"评估小结·{label('summary_question', q)}" for q in SUMMARY_QUESTIONS),
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
RATE_COLUMNS = frozenset({HEADERS.index("整改完成率"), HEADERS.index("评议满意率")})
"""0-based: shown as percentages (0.00%)."""


def annual_grade(row: Mapping[str, Any], year: int | None) -> str:
    """优秀 (the campaign's year), 良好（2011年度） (another year reviewed), or blank."""
    if row["annual_grade"] is None:
        return ""
    grade = label("annual_grade", row["annual_grade"])
    return grade if row["annual_year"] == year else f"{grade}（{row['annual_year']}年度）"


def satisfied_rate(row: Mapping[str, Any]) -> float | None:
    """评议满意率: satisfied of everyone who rated, over every rater group (not appraised:
    none)."""
    if row["satisfied"] is None:
        return None
    total = row["satisfied"] + row["basically_satisfied"] + row["dissatisfied"]
    return rate(row["satisfied"], total)


def progress_missing(row: Mapping[str, Any], schedule: Schedule | None, today: dt.date) -> str:
    """否, or 是（2012年4月30日） with the due date missed by `today`."""
    due = schedule.missing(today, row["last_reported_on"]) if schedule else None
    return "否" if due is None else f"是（{cn_date(due)}）"


def table(
    rows: Sequence[Mapping[str, Any]], schedule: Schedule | None, today: dt.date, year: int | None
) -> list[list[Any]]:
    """The sheet's rows (as `HEADERS`), from `store.annual_rows`."""
    values = []
    for row in rows:
        marks = Marks.of(row)
        values.append(
            [
                safe_text(row["branch_id"]),
                safe_text(row["name"]),
                label("level", row["initial_level"]) if row["initial_level"] else "",
                label("level", row["final_level"]) if row["final_level"] else "",
                yes_no(row["moved_up"]),
                row["tasks_total"],
                row["tasks_completed"],
                row["tasks_overdue"],
                float(row["settled_rate"]) if row["settled_rate"] is not None else None,
                row["problems_resolved"],
                row["problems_total"],
                row["commendations"],
                *(yes_no(getattr(marks, mark)) for mark in FOUR_ONES),
                yes_no(marks.all_four),
                *(yes_no(getattr(marks, kind)) for kind in COVERAGE_ACTIVITIES),
                *(label("answer", row[c]) if row[c] else "" for c in SUMMARY_COLUMNS),
                float(row["assessment_score"]) if row["assessment_score"] is not None else None,
                label("level", row["assessment_level"]) if row["assessment_level"] else "",
                "是" if row["duty_reports"] else "",
                satisfied_rate(row),
                annual_grade(row, year),
                row["inspections"],
                row["criticised"],
                row["progress_reports"],
                progress_missing(row, schedule, today),
            ]
        )
    return values


async def annual_sheet(
    conn: asyncpg.Connection, campaign: Mapping[str, Any], today: dt.date
) -> bytes:
    """The campaign's sheet as an XLSX workbook, progress reports judged on `today`."""
    rows = await store.annual_rows(
        conn, campaign["campaign_id"], campaign["county_code"], campaign["year"]
    )
    values = table(rows, campaign_schedule(campaign), today, campaign["year"])
    # A few seconds of CPU at 100,000 organisations: off the event loop.
    return await asyncio.to_thread(xlsx.workbook, TITLE, HEADERS, values, RATE_COLUMNS)
