"""The branch table as XLSX and CSV, Chinese headers and labels, safe against formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook

from grassroots.contract.labels import label
from reporting.domain import CRITERIA, ROUNDS

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
    "承诺审核",
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
    """A cell that starts like a formula is prefixed with ' so no spreadsheet evaluates it."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


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
            else ("未承诺" if row["commitment_missing"] else ""),
            row["tasks_total"],
            row["tasks_completed"],
            row["tasks_overdue"],
            float(row["settled_rate"]) if row["settled_rate"] is not None else None,
            row["commendations"],
            *criterion_scores(row),
        ]
        for row in rows
    ]


def xlsx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "党组织"
    sheet.append(HEADERS)
    for values in table(rows):
        sheet.append(values)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
            elif cell.column == RATE_COLUMN and cell.value is not None:
                cell.number_format = "0.00%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(["" if v is None else v for v in values] for values in table(rows))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
