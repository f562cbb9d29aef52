"""The tables people download, as XLSX and CSV: Chinese headers and labels, rates as
percentages, safe against formulas. The branch table, and the tables of phases 3 and 4 (四个一,
coverage, commendations, 三级联述联评联考, standing rules), made from the API's own JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from typing import Any

from openpyxl import Workbook

from grassroots.contract.labels import label
from reporting import xlsx as sheets
from reporting.domain import COVERAGE_ACTIVITIES, CRITERIA, FOUR_ONES, ROUNDS
from reporting.wording import cn_date, percent, share_text, yes_no

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INITIAL, FINAL = label("round", "initial"), label("round", "final")  # 分类定级, 晋位升级复评
HEADERS = (
    "党组织编号",
    "党组织名称",
    "单位",
    "乡镇",
    f"{INITIAL}等次",
    f"{INITIAL}总分",
    f"{FINAL}等次",
    f"{FINAL}总分",
    "晋位升级",
    "整改方案审核",
    "整改任务",
    "已完成",
    "已逾期",
    "整改完成率",
    "表彰",
    # The five criteria (五个好) of each round, e.g. 分类定级·领导班子好.
    *(
        f"{label('round', round_)}·{label('criterion', criterion)}"
        for round_ in ROUNDS
        for criterion in CRITERIA
    ),
)
RATE_COLUMN = HEADERS.index("整改完成率") + 1  # shown as a percentage in the workbook
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str | None) -> str:
    """Text as it is (the workbook types text cells as text, so no formula runs there; the CSV
    writer neutralises what a spreadsheet would read as a formula)."""
    return value or ""


def csv_safe(value: Any) -> Any:
    """A CSV cell that starts like a formula is prefixed with ' so no spreadsheet evaluates it
    (CSV has no cell types)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def criterion_scores(row: Mapping[str, Any]) -> list[float | None]:
    """The weighted score of each criterion, round by round (None: not graded)."""
    values: list[float | None] = []
    for round_ in ROUNDS:
        scores = row.get(f"{round_}_scores") or {}
        values += [
            float(scores[criterion]) if scores.get(criterion) is not None else None
            for criterion in CRITERIA
        ]
    return values


def table(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    return [
        [
            safe_text(row["branch_id"]),
            safe_text(row["name"]),
            safe_text(row["unit"]),
            safe_text(row["township"]),
            label("level", row["initial_level"]) if row["initial_level"] else "",
            float(row["initial_total"]) if row["initial_total"] is not None else None,
            label("level", row["final_level"]) if row["final_level"] else "",
            float(row["final_total"]) if row["final_total"] is not None else None,
            "是" if row["moved_up"] else "否",
            label("review", row["review"])
            if row["commitment_id"]
            else ("未公开" if row["commitment_missing"] else ""),
            row["tasks_total"],
            row["tasks_completed"],
            row["tasks_overdue"],
            float(row["settled_rate"]) if row["settled_rate"] is not None else None,
            row["commendations"],
            *criterion_scores(row),
        ]
        for row in rows
    ]


def workbook(
    title: str,
    headers: Sequence[str],
    values: Sequence[Sequence[Any]],
    rate_columns: Sequence[int] = (),
) -> bytes:
    """One sheet: headers, then the rows; text cells are text (never a formula), the rate
    columns (1-based) shown as percentages."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append(list(headers))
    for row_values in values:
        sheet.append(list(row_values))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
            elif cell.column in rate_columns and cell.value is not None:
                cell.number_format = "0.00%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_table(headers: Sequence[str], values: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with BOM, so Excel reads the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(["" if v is None else csv_safe(v) for v in row] for row in values)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


BRANCH_SHEET = "党组织"


def xlsx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The branch table as a workbook (the same cells as `xlsx_stream`'s)."""
    return sheets.workbook(BRANCH_SHEET, HEADERS, table(rows), frozenset({RATE_COLUMN - 1}))


async def xlsx_stream(
    batches: AsyncIterable[Sequence[Mapping[str, Any]]],
) -> AsyncIterator[bytes]:
    """The branch table as a workbook written while the rows are read, a batch at a time
    (constant memory for 100,000 branches)."""

    async def tables() -> AsyncIterator[list[list[Any]]]:
        async for rows in batches:
            yield table(rows)

    async for piece in sheets.stream(BRANCH_SHEET, HEADERS, tables(), frozenset({RATE_COLUMN - 1})):
        yield piece


def csv_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The rate as people read it (70.00%), as the workbook shows it."""
    values = table(rows)
    for row in values:
        rate = row[RATE_COLUMN - 1]
        row[RATE_COLUMN - 1] = percent(rate) if rate is not None else None
    return csv_table(HEADERS, values)


# Phases 3 and 4: each table from the API's JSON of it.

ORGANISATION = ("党组织编号", "党组织名称", "类别")


def kind_text(kind: str | None) -> str:
    return label("org_kind", kind) if kind else ""


def four_ones_table(items: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Per organisation: its four marks, all four, and its coverage of each activity."""
    return [
        [
            safe_text(item["branch_id"]),
            safe_text(item["name"]),
            kind_text(item["kind"]),
            safe_text(item["unit"]),
            *(yes_no(item[mark]) for mark in (*FOUR_ONES, "all_four", *COVERAGE_ACTIVITIES)),
        ]
        for item in items
    ]


def coverage_table(emulation: Mapping[str, Any]) -> list[list[Any]]:
    """One row per organisation not covered by an activity, with the activity."""
    return [
        [
            entry["label"],
            safe_text(org["branch_id"]),
            safe_text(org["name"]),
            kind_text(org["kind"]),
        ]
        for entry in emulation["coverage"]
        for org in entry["not_covered"]
    ]


def commendations_table(listed: Mapping[str, Any]) -> list[list[Any]]:
    return [
        [
            safe_text(body["awarded_by_name"]),
            safe_text(item["branch_id"]),
            safe_text(item["branch_name"]),
            item["honour_label"],
            safe_text(item["title"]),
            safe_text(item["member_name"]),
            cn_date(item["awarded_on"]) if item["awarded_on"] else "",
        ]
        for body in listed["by_awarding_body"]
        for item in body["items"]
    ]


def duty_text(report: Mapping[str, Any]) -> str:
    """李明向中共蒲城县委述职（2012年9月10日，蒲教党发〔2012〕21号）"""
    return (
        f"{report['reporter_name']}向{report['reported_to']}述职"
        f"（{cn_date(report['reported_on'])}，{report['document_ref']}）"
    )


def three_level_table(review: Mapping[str, Any]) -> list[list[Any]]:
    rows = []
    for item in review["items"]:
        appraisal = item["appraisal"] or {}
        annual = item["annual_review"] or {}
        rows.append(
            [
                safe_text(item["org_id"]),
                safe_text(item["name"]),
                kind_text(item["kind"]),
                yes_no(item["duty_reported"]),
                safe_text("；".join(duty_text(r) for r in item["duty_reports"])),
                appraisal.get("satisfied"),
                appraisal.get("basically_satisfied"),
                appraisal.get("dissatisfied"),
                appraisal.get("total"),
                share_text(appraisal["satisfied_rate"]) if appraisal else "",
                share_text(appraisal["satisfied_or_basically_rate"]) if appraisal else "",
                annual.get("year"),
                annual.get("grade_label", ""),
                safe_text(annual.get("comment")),
            ]
        )
    return rows


def standing_rules_table(rules: Mapping[str, Any]) -> list[list[Any]]:
    return [
        [
            safe_text(item["org_id"]),
            safe_text(item["name"]),
            safe_text(item["title"]),
            cn_date(item["adopted_on"]),
            safe_text(item["document_ref"]),
            safe_text(item["summary"]),
        ]
        for item in rules["items"]
    ]


SATISFACTION = tuple(
    label("satisfaction", s) for s in ("satisfied", "basically_satisfied", "dissatisfied")
)
PHASE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "four-ones": (
        "四个一",
        (
            *ORGANISATION,
            "单位",
            *(label("four_ones", mark) for mark in FOUR_ONES),
            "四个一全部完成",
            *(label("activity", kind) for kind in COVERAGE_ACTIVITIES),
        ),
    ),
    "coverage": ("未覆盖的党组织", ("活动", *ORGANISATION)),
    "commendations": (
        "评比表彰",
        ("授予单位", "党组织编号", "党组织名称", "荣誉", "表彰名称", "姓名", "授予日期"),
    ),
    "three-level-review": (
        "三级联述联评联考",
        (
            *ORGANISATION,
            "专项述职",
            "述职情况",
            *SATISFACTION,
            "评议人数",
            "满意率",
            "满意和基本满意率",
            "年度考核年度",
            "年度考核等次",
            "考核意见",
        ),
    ),
    "standing-rules": (
        "巩固深化",
        ("党组织编号", "党组织名称", "制度名称", "建立日期", "文号", "主要内容"),
    ),
}
"""table → (sheet title, headers), for GET …/exports/{table}.{xlsx|csv}."""


def phase_export(table_name: str, values: Sequence[Sequence[Any]], kind: str) -> bytes:
    """A table of phases 3 and 4 as `kind` (xlsx or csv)."""
    title, headers = PHASE_TABLES[table_name]
    return workbook(title, headers, values) if kind == "xlsx" else csv_table(headers, values)
