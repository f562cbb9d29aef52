"""The branch table as XLSX and CSV, Chinese headers and labels, safe against formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook

from grassroots.contract.labels import label

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (
    "支部编号",
    "支部名称",
    "单位",
    "乡镇",
    "初评等次",
    "初评总分",
    "终评等次",
    "终评总分",
    "晋位升级",
    "承诺审核",
    "整改任务",
    "已完成",
    "已逾期",
    "整改完成率",
    "表彰",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str | None) -> str:
    """A cell that starts like a formula is prefixed with ' so no spreadsheet evaluates it."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


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
        ]
        for row in rows
    ]


def xlsx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "支部"
    sheet.append(HEADERS)
    for values in table(rows):
        sheet.append(values)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(["" if v is None else v for v in values] for values in table(rows))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
