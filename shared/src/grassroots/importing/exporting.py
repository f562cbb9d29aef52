"""Events → a workbook in the templates' form: the other way round from `reading`, for the
event types the templates carry (org.branch_registered, the three grading inputs, problems,
public commitments with their tasks, task progress and completion, activities, commendations).
Used to bring an existing county's data into the office's sheets, and by the end-to-end test
that imports the demo county from XLSX."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from grassroots.importing.sheets import (
    BY_TITLE,
    COVERED_TYPES,
    PLANS,
    PROGRESS,
    SHEETS,
    TASKS,
    Sheet,
)
from grassroots.importing.templates import build

BY_TYPE = {sheet.event_type: sheet for sheet in SHEETS if sheet.event_type}
BY_TYPE["rectification.task_completed"] = PROGRESS


def covered(event: Mapping[str, Any]) -> bool:
    return str(event["type"]) in COVERED_TYPES


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _row(sheet: Sheet, data: Mapping[str, Any], time: str | None) -> list[Any]:
    known = {column.field.split(".")[0] for column in sheet.columns}
    unknown = set(data) - known - {"tasks"}
    if unknown:
        raise ValueError(f"{sheet.title} has no column for {sorted(unknown)}")
    return [
        column.write(time if column.field == "time" else _lookup(data, column.field))
        for column in sheet.columns
    ]


def export_workbook(events: Iterable[Mapping[str, Any]]) -> tuple[bytes, list[Mapping[str, Any]]]:
    """(the workbook of the covered events, the events it does not cover), in the given order."""
    rows: dict[str, list[list[Any]]] = {sheet.title: [] for sheet in SHEETS}
    rest: list[Mapping[str, Any]] = []
    for event in events:
        if not covered(event):
            rest.append(event)
            continue
        data: Mapping[str, Any] = event["data"]
        sheet = BY_TYPE[str(event["type"])]
        rows[sheet.title].append(_row(sheet, data, str(event["time"])))
        if sheet is PLANS:
            for task in data["tasks"]:
                keys = {"commitment_id": data["commitment_id"], "revision": data["revision"]}
                rows[TASKS.title].append(_row(TASKS, {**task, **keys}, None))
    used = [BY_TITLE[title] for title, found in rows.items() if found]
    if PLANS in used and TASKS not in used:
        used.append(TASKS)
    book = build([sheet for sheet in SHEETS if sheet in used], example=False)
    for sheet in used:
        worksheet = book[sheet.title]
        for row in rows[sheet.title]:
            worksheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), rest
