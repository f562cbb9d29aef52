"""The downloadable templates: one workbook per kind of record (整改方案 with its 任务 sheet),
each with its data sheet(s) — Chinese headers, required columns in bold red, drop-down lists
(data validation) of the contract's codes as their Chinese labels, one example row — and a
说明 sheet explaining every column. `ALL_IN_ONE` holds every sheet, for an office that keeps
its records in one file."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from grassroots.importing.columns import Column, Kind, column_letter
from grassroots.importing.sheets import SHEETS, TEMPLATES, Sheet

ALL_IN_ONE = "全部模板"
"""The name of the workbook with every sheet."""
GUIDE = "说明"
ROWS = 10_000
"""How many rows the drop-down lists and formats cover."""
HEADER_FILL = PatternFill("solid", fgColor="FFF3E0")
REQUIRED = Font(bold=True, color="B71C1C")
OPTIONAL = Font(bold=True)
EXAMPLE = Font(italic=True, color="808080")
KIND_WORDS = {
    Kind.TEXT: "文字",
    Kind.ID: "编号",
    Kind.INT: "整数",
    Kind.NUMBER: "数字",
    Kind.DATE: "日期",
    Kind.TIME: "日期或日期时间",
    Kind.CHOICE: "从下拉列表中选择",
    Kind.YES_NO: "是 / 否",
}


def file_name(template: str) -> str:
    return f"{template}.xlsx"


def template_names() -> list[str]:
    return [*TEMPLATES, ALL_IN_ONE]


def sheets_of(template: str) -> tuple[Sheet, ...]:
    return SHEETS if template == ALL_IN_ONE else TEMPLATES[template]


def template_bytes(template: str) -> bytes:
    """The template's workbook as XLSX bytes (KeyError for an unknown template)."""
    book = build(sheets_of(template))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_templates(folder: Path) -> list[Path]:
    """Every template into `folder` (created if needed); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for template in template_names():
        path = folder / file_name(template)
        path.write_bytes(template_bytes(template))
        written.append(path)
    return written


def build(sheets: Sequence[Sheet], *, example: bool = True) -> Workbook:
    """A workbook of these sheets, with the 说明 sheet first."""
    book = Workbook()
    guide = book.active
    guide.title = GUIDE
    _guide(guide, sheets)
    for sheet in sheets:
        _data_sheet(book.create_sheet(sheet.title), sheet, example=example)
    return book


def _data_sheet(ws: Any, sheet: Sheet, *, example: bool) -> None:
    ws.append([column.header for column in sheet.columns])
    for index, column in enumerate(sheet.columns):
        letter = column_letter(index)
        cell = ws.cell(row=1, column=index + 1)
        cell.font = REQUIRED if column.required else OPTIONAL
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[letter].width = column.width
        _validation(ws, column, letter)
    ws.freeze_panes = "A2"
    if example:
        ws.append([_example_cell(column) for column in sheet.columns])
        for index, column in enumerate(sheet.columns):
            cell = ws.cell(row=2, column=index + 1)
            cell.font = EXAMPLE
            _format(cell, column)


def _example_cell(column: Column) -> object:
    return column.example


def _format(cell: Any, column: Column) -> None:
    # Ids, names and phone numbers stay text (0913… keeps its 0, 1e5 is no number).
    if column.kind in (Kind.TEXT, Kind.ID, Kind.DATE, Kind.TIME, Kind.CHOICE, Kind.YES_NO):
        cell.number_format = "@"


def _validation(ws: Any, column: Column, letter: str) -> None:
    cells = f"{letter}2:{letter}{ROWS}"
    if column.options:
        rule = DataValidation(
            type="list",
            formula1='"' + ",".join(column.options) + '"',
            allow_blank=not column.required,
            showErrorMessage=True,
            errorTitle=column.header,
            error="请从下拉列表中选择：" + "、".join(column.options),
            showInputMessage=True,
            promptTitle=column.header,
            prompt=column.note[:255],
        )
    elif column.kind is Kind.NUMBER:
        rule = DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2="100",
            showErrorMessage=True,
            errorTitle=column.header,
            error="应为 0–100 的数字",
        )
    else:
        rule = DataValidation(
            showInputMessage=True, promptTitle=column.header[:32], prompt=column.note[:255]
        )
    rule.add(cells)
    ws.add_data_validation(rule)


def _guide(ws: Any, sheets: Sequence[Sheet]) -> None:
    rows: list[list[object]] = [
        ["基层组织建设年数据导入模板 · 填写说明"],
        [
            "每张工作表一行一条记录。第1行为表头（红色为必填列），第2行为示例（灰色斜体，"
            "可以保留也可以删除：与示例完全相同的行导入时跳过）。可选值请从下拉列表中选择。"
            "同一文件可以重复导入：已导入过的行不会重复登记；修改过的行作为新的记录导入。"
        ],
        [],
        ["工作表", "列", "列名", "是否必填", "填写类型", "填写要求", "可选值", "示例"],
    ]
    for sheet in sheets:
        rows.append([sheet.title, "", sheet.purpose])
        for index, column in enumerate(sheet.columns):
            rows.append(
                [
                    sheet.title,
                    column_letter(index),
                    column.header,
                    "必填" if column.required else "选填",
                    KIND_WORDS[column.kind],
                    column.note,
                    "、".join(column.options),
                    "" if column.example is None else str(column.example),
                ]
            )
    for row in rows:
        ws.append(row)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"].alignment = Alignment(wrap_text=True)
    ws.merge_cells("A2:H2")
    ws.row_dimensions[2].height = 48
    for cell in ws[4]:
        cell.font = OPTIONAL
        cell.fill = HEADER_FILL
    for letter, width in zip("ABCDEFGH", (14, 6, 18, 9, 14, 48, 40, 24), strict=True):
        ws.column_dimensions[letter].width = width
