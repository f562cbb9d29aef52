"""Reading a filled-in workbook: every row becomes a contract event or the reasons why not.

Pure: nothing is published here. Each row is read cell by cell (columns), its event is built
with the contract's own models and `new_event`, and checked once more with `parse_event` — the
validation the consumers and the intake apply — so a row that passes here is not refused
downstream for its form. Every bad cell is reported as sheet, row, column letter and a Chinese
reason (`任务 第7行 D列 明确时限: 日期格式应为 2012-05-31`).

An event's id is a UUID derived from the county, the campaign, the sheet and the row's values
(all of them, as read): importing the same file again gives the same ids, which the consumers
de-duplicate on (source, id), so nothing new happens; a row that was corrected gets a new id
and is a new event. Its time is the row's 填报时间, so it is the same every time too."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import load_workbook
from pydantic import BaseModel, ValidationError

from grassroots.contract import ContractViolation, parse_event
from grassroots.contract.publishing import new_event
from grassroots.contract.registry import EVENTS, AnyEvent
from grassroots.importing.columns import CellProblem, Column, column_letter
from grassroots.importing.reasons import field_of, problems, reason_of
from grassroots.importing.sheets import (
    BY_TITLE,
    ORGANISATIONS,
    PLANS,
    PROGRESS,
    SHEETS,
    TASKS,
    Sheet,
)

NAMESPACE = uuid.UUID("0b6f7d2e-3c1a-5e8b-9f4d-2a7c6e1b8d35")
ORGANISATION_FIELDS = ("branch_id", "parent_id", "rater_org_id", "awarded_by")
"""Fields of the imported types that name an organisation (for the county check)."""
Progress = Callable[[int, int], None]
"""Called as rows are read: (rows read, rows in the file)."""


class ImportFileError(Exception):
    """The file as a whole cannot be read (not an XLSX, no sheet of the templates)."""


@dataclass(frozen=True, order=True)
class CellError:
    """One bad cell (or row, when `column` is empty): where, and why in Chinese."""

    sheet: str
    row: int
    column: str
    header: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.sheet} 第{self.row}行"
        if self.column:
            where += f" {self.column}列 {self.header}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ImportedEvent:
    """A good row's event, where it came from, and its columns by field (to name a cell when a
    later check — the dashboard's county check, the intake — refuses it)."""

    sheet: str
    row: int
    event: AnyEvent
    raw: bytes
    letters: Mapping[str, tuple[str, str]]

    def error(self, field_name: str, reason: str) -> CellError:
        letter, header = self.letters.get(field_name, ("", ""))
        return CellError(self.sheet, self.row, letter, header, reason)

    def organisations(self) -> list[tuple[str, str]]:
        """(field, organisation id) for every organisation the event names."""
        data = self.event.data.__dict__
        return [(name, str(data[name])) for name in ORGANISATION_FIELDS if data.get(name)]


@dataclass
class ImportResult:
    events: list[ImportedEvent] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    rows: int = 0
    sheets: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> list[tuple[str, int]]:
        return sorted({(error.sheet, error.row) for error in self.errors}, key=_sheet_order)

    def sorted_errors(self) -> list[CellError]:
        return sorted(self.errors, key=lambda e: (*_sheet_order((e.sheet, e.row)), e.column))


def _sheet_order(key: tuple[str, int]) -> tuple[int, int]:
    sheet = BY_TITLE.get(key[0])
    return (SHEETS.index(sheet) if sheet else -1, key[1])


@dataclass(frozen=True)
class Where:
    """What every event of one import carries: county, campaign, the publishing system."""

    county_code: str
    campaign_id: str
    source: str


@dataclass
class _Row:
    sheet: Sheet
    number: int
    values: dict[str, Any]


def read_workbook(
    workbook: bytes | Path | BinaryIO, where: Where, *, progress: Progress | None = None
) -> ImportResult:
    """Every row of every template sheet in the workbook (others are ignored), as events or
    errors. Raises ImportFileError when the file is not a workbook or has no template sheet."""
    stream = io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ImportFileError(
            "文件无法打开：请上传用模板填写的 Excel 文件（.xlsx 格式）"
        ) from error
    try:
        titles = [title for title in book.sheetnames if title in BY_TITLE]
        if not titles:
            raise ImportFileError(
                "文件中没有可导入的工作表；工作表名称应为："
                + "、".join(sheet.title for sheet in SHEETS)
            )
        result = ImportResult(sheets=titles)
        total = sum(max(0, (book[title].max_row or 1) - 1) for title in titles)
        rows: dict[str, list[_Row]] = {}
        for title in titles:
            rows[title] = list(_rows(book[title], BY_TITLE[title], result, total, progress))
    finally:
        book.close()
    build = _Builder(where, result)
    for title, sheet_rows in rows.items():
        if title == PLANS.title:
            build.plans(sheet_rows, rows.get(TASKS.title, []))
        elif title == TASKS.title and PLANS.title not in rows:
            for row in sheet_rows:
                result.errors.append(_cell(row, "commitment_id", "文件中没有“整改方案”表"))
        elif title != TASKS.title:
            for row in sheet_rows:
                build.row(row)
    result.events.sort(key=lambda e: (e.event.time, SHEETS.index(BY_TITLE[e.sheet]), e.row))
    return result


def _normal(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _rows(
    worksheet: Any, sheet: Sheet, result: ImportResult, total: int, progress: Progress | None
) -> Iterator[_Row]:
    width = len(sheet.columns)
    example = [_normal(value) for value in sheet.example]
    for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
        values = list(cells[:width]) + [None] * max(0, width - len(cells))
        if number == 1:
            wrong = [
                CellError(
                    sheet.title, 1, column_letter(i), column.header, f"表头应为“{column.header}”"
                )
                for i, column in enumerate(sheet.columns)
                if _normal(values[i]).rstrip("*") != column.header
            ]
            if wrong:
                result.errors.extend(wrong)
                return
            continue
        result.rows += 1
        if progress is not None:
            progress(result.rows, total)
        shown = [_normal(value) for value in values]
        if not any(shown) or shown == example:  # blank, or the template's example left in
            result.rows -= 1
            continue
        read: dict[str, Any] = {}
        for index, (column, value) in enumerate(zip(sheet.columns, values, strict=True)):
            try:
                read[column.field] = column.read(value)
            except CellProblem as problem:
                result.errors.append(
                    CellError(
                        sheet.title, number, column_letter(index), column.header, str(problem)
                    )
                )
                read[column.field] = _BAD
        yield _Row(sheet, number, read)


_BAD = object()
"""A cell already reported: the row is not built."""


def _cell(row: _Row, field_name: str, reason: str) -> CellError:
    return CellError(
        row.sheet.title,
        row.number,
        row.sheet.letter(field_name),
        row.sheet.column(field_name).header,
        reason,
    )


def _nested(values: Mapping[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """`{"scores.leadership": 90}` → `{"scores": {"leadership": 90}}`; empty cells left out."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or name == "time" or name in skip:
            continue
        *parents, last = name.split(".")
        target = data
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return data


class _Builder:
    def __init__(self, where: Where, result: ImportResult) -> None:
        self.where = where
        self.result = result

    def row(self, row: _Row) -> None:
        if any(value is _BAD for value in row.values.values()):
            return
        event_type, data = row.sheet.event_type or "", _nested(row.values)
        if row.sheet is PROGRESS:
            built = self._progress(row, data)
            if built is None:
                return
            event_type, data = built
        self._event(row, event_type, data, [(row, None)], row.values)

    def _progress(self, row: _Row, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A row with evidence is a completion; any other a step of progress."""
        if data.get("evidence"):
            refusals = []
            if data.get("percent") not in (None, 100):
                refusals.append(_cell(row, "percent", "填写了完成佐证材料，完成进度应为100或不填"))
            if data.get("note"):
                refusals.append(
                    _cell(row, "note", "任务完成的行不填情况说明，完成情况请写在完成佐证材料中")
                )
            if refusals:
                self.result.errors.extend(refusals)
                return None
            keep = ("branch_id", "task_id", "evidence")
            return "rectification.task_completed", {k: data[k] for k in keep if k in data}
        if data.get("percent") is None:
            self.result.errors.append(
                _cell(row, "percent", "必填（未填写完成佐证材料时，须填写完成进度）")
            )
            return None
        return "rectification.task_progressed", data

    def plans(self, plans: list[_Row], tasks: list[_Row]) -> None:
        by_plan: dict[tuple[Any, Any], list[_Row]] = {}
        for task in tasks:
            key = (task.values["commitment_id"], task.values["revision"])
            by_plan.setdefault(key, []).append(task)
        seen: dict[tuple[Any, Any], int] = {}
        for plan in plans:
            key = (plan.values["commitment_id"], plan.values["revision"])
            if key in seen and _BAD not in key and None not in key:
                self.result.errors.append(
                    _cell(
                        plan,
                        "commitment_id",
                        f"方案编号和修订版次与第{seen[key]}行相同；任务表按方案编号和版次对应方案，"
                        "请使用全县唯一的方案编号",
                    )
                )
                continue
            seen[key] = plan.number
            own = by_plan.get(key, [])
            if any(v is _BAD for row in (plan, *own) for v in row.values.values()):
                continue
            if not own:
                self.result.errors.append(
                    _cell(
                        plan,
                        "commitment_id",
                        "任务表中没有这个方案（这一版次）的任务，至少要有一项",
                    )
                )
                continue
            data = _nested(plan.values)
            data["tasks"] = [
                _nested(task.values, skip=("commitment_id", "revision")) for task in own
            ]
            identity = {**plan.values, "tasks": [task.values for task in own]}
            self._event(
                plan,
                PLANS.event_type or "",
                data,
                [(plan, None), *((t, i) for i, t in enumerate(own))],
                identity,
            )
        for key, own in by_plan.items():
            if key not in seen and _BAD not in key:
                for task in own:
                    if None in key:
                        missing = "commitment_id" if key[0] is None else "revision"
                        self.result.errors.append(_cell(task, missing, "必填，不能为空"))
                    else:
                        self.result.errors.append(
                            _cell(
                                task,
                                "commitment_id",
                                f"整改方案表中没有方案编号为 {key[0]}、修订版次为 {key[1]} 的方案",
                            )
                        )

    def _event(
        self,
        row: _Row,
        event_type: str,
        data: dict[str, Any],
        parts: list[tuple[_Row, int | None]],
        identity: Mapping[str, Any],
    ) -> None:
        """Build, validate and keep one event; or report each problem on its cell."""
        spec = EVENTS[event_type]
        if row.values.get("time") is None:
            self.result.errors.append(_cell(row, "time", "必填，不能为空"))
            return
        try:
            model: BaseModel = spec.data_model.model_validate(data)
        except ValidationError as error:
            self.result.errors.extend(self._refusals(error, parts))
            return
        campaign_scoped = spec.envelope_model.campaign_scoped
        event_id = self._id(row.sheet, identity, campaign_scoped)
        try:
            event = new_event(
                spec.envelope_model,
                model,
                source=self.where.source,
                countycode=self.where.county_code,
                campaignid=self.where.campaign_id if campaign_scoped else None,
                event_id=str(event_id),
                time=dt.datetime.fromisoformat(row.values["time"]),
            )
            raw = event.to_json_bytes()
            parse_event(raw, topic=spec.topic)  # the consumers' and the intake's own check
        except ValidationError as error:
            self.result.errors.append(_cell(row, row.sheet.columns[0].field, _envelope(error)))
            return
        except ContractViolation as violation:
            self.result.errors.append(
                _cell(row, row.sheet.columns[0].field, f"不符合数据规范：{violation.reason}")
            )
            return
        letters = {
            column.field: (column_letter(index), column.header)
            for index, column in enumerate(row.sheet.columns)
        }
        self.result.events.append(ImportedEvent(row.sheet.title, row.number, event, raw, letters))

    def _id(self, sheet: Sheet, identity: Mapping[str, Any], campaign_scoped: bool) -> uuid.UUID:
        # A registration is the county's, not the campaign's: the same row is the same event
        # whichever campaign it is imported with.
        campaign = self.where.campaign_id if campaign_scoped or sheet is not ORGANISATIONS else ""
        values = json.dumps(identity, ensure_ascii=False, sort_keys=True, default=str)
        return uuid.uuid5(
            NAMESPACE, "|".join((self.where.county_code, campaign, sheet.title, values))
        )

    def _refusals(
        self, error: ValidationError, parts: list[tuple[_Row, int | None]]
    ) -> list[CellError]:
        plan = parts[0][0]
        tasks = {index: task for task, index in parts if index is not None}
        found: list[CellError] = []
        for problem in problems(error):
            location = [str(part) for part in problem["loc"]]
            message = str(problem["msg"])
            if location[:1] == ["tasks"] and len(location) > 1 and location[1].isdigit():
                task = tasks[int(location[1])]
                problem = {**problem, "loc": tuple(location[2:])}
                found.append(self._on(task, problem))
            elif location == ["tasks"] and problem["type"] == "too_short":
                found.append(
                    _cell(plan, "commitment_id", "任务表中没有这个方案的任务，至少要有一项")
                )
            elif "task_id repeated" in message:
                repeated = set(re.split(r",\s*", message.split("repeated:")[-1].strip()))
                found.extend(
                    self._on(task, problem, "task_id")
                    for task in tasks.values()
                    if task.values.get("task_id") in repeated
                )
            else:
                found.append(self._on(plan, problem))
        return found

    def _on(self, row: _Row, problem: Any, field_name: str | None = None) -> CellError:
        fields = [column.field for column in row.sheet.columns]
        named = field_name or field_of(problem, fields) or fields[0]
        column: Column = row.sheet.column(named)
        return _cell(row, named, reason_of(problem, column))


def _envelope(error: ValidationError) -> str:
    first = problems(error)[0]
    return f"不符合数据规范：{'.'.join(str(p) for p in first['loc'])} {first['msg']}".strip()
