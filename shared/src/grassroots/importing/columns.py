"""The columns of the import templates: what a cell may hold, and the Chinese reason when it
holds something else. A cell is read here into the value the contract expects (a code, a
number, a date); whether the row as a whole makes a valid event is the contract's to say."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from grassroots.contract.calendar import COUNTY_TIME
from grassroots.contract.labels import LABELS

DATE_EXAMPLE = "2012-05-31"
TIME_EXAMPLE = "2012-05-31 或 2012-05-31 09:30"
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_TIME = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
OFFICE_HOURS = dt.time(9, 0)
"""A row's 填报时间 given as a day is taken as 09:00 county time on that day."""


class Kind(StrEnum):
    TEXT = "text"
    ID = "id"
    INT = "int"
    NUMBER = "number"
    DATE = "date"
    TIME = "time"
    CHOICE = "choice"
    YES_NO = "yes_no"


class CellProblem(ValueError):
    """A cell that cannot be read: the Chinese reason."""


@dataclass(frozen=True)
class Column:
    """One column of a template sheet.

    `field` is where the value goes in the event's data (dotted for nested objects, e.g.
    `scores.leadership`); `choices` names the table of `grassroots.contract.labels` whose
    Chinese labels the cell offers (and whose codes it also accepts)."""

    header: str
    field: str
    kind: Kind
    required: bool
    note: str
    example: Any
    choices: str | None = None
    width: int = 14

    @property
    def options(self) -> list[str]:
        """The Chinese labels offered in the cell's list (data validation)."""
        if self.kind is Kind.YES_NO:
            return ["是", "否"]
        if self.choices is None:
            return []
        return list(LABELS[self.choices].values())

    def read(self, raw: Any) -> Any:
        """The cell's value as the contract wants it; None for an empty cell."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return _READERS[self.kind](self, raw)

    def write(self, value: Any) -> Any:
        """What goes into a cell for a value of the event (the exporter's side of `read`)."""
        if value is None:
            return None
        if self.kind is Kind.CHOICE and self.choices is not None:
            return LABELS[self.choices].get(str(value), str(value))
        if self.kind is Kind.YES_NO:
            return "是" if value else "否"
        if self.kind is Kind.DATE:
            return dt.date.fromisoformat(value) if isinstance(value, str) else value
        if self.kind is Kind.TIME:
            moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
            return moment.astimezone(COUNTY_TIME).replace(tzinfo=None)
        return value


def _text(column: Column, raw: Any) -> str:
    if isinstance(raw, bool):
        raise CellProblem("应为文字")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # 1001 typed into a general cell comes back as 1001.0
    if isinstance(raw, dt.datetime | dt.date):
        raise CellProblem("应为文字，不是日期")
    return str(raw).strip()


def _int(column: Column, raw: Any) -> int:
    number = _number(column, raw)
    if not float(number).is_integer():
        raise CellProblem("应为整数")
    return int(number)


def _number(column: Column, raw: Any) -> float:
    if isinstance(raw, bool):
        raise CellProblem("应为数字")
    if isinstance(raw, int | float):
        return float(raw)
    text = str(raw).strip().removesuffix("%").removesuffix("分").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellProblem("应为数字") from None
    if not value.is_finite():
        raise CellProblem("应为数字")
    return float(value)


def _date(column: Column, raw: Any) -> str:
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time(0):
            raise CellProblem(f"应为日期，不带时间，格式如 {DATE_EXAMPLE}")
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    found = _DATE.match(str(raw).strip())
    try:
        if found is None:
            raise ValueError
        return dt.date(*(int(part) for part in found.groups())).isoformat()
    except ValueError:
        raise CellProblem(f"日期格式应为 {DATE_EXAMPLE}") from None


def _time(column: Column, raw: Any) -> str:
    """RFC 3339 with the county's offset; a day alone is 09:00 that day."""
    if isinstance(raw, dt.datetime):
        # Excel keeps times as fractions of a day: round to the second it was written with.
        moment = (raw + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    elif isinstance(raw, dt.date):
        moment = dt.datetime.combine(raw, OFFICE_HOURS)
    else:
        text = str(raw).strip()
        try:
            if _DATE.match(text):
                moment = dt.datetime.combine(
                    dt.date.fromisoformat(_date(column, text)), OFFICE_HOURS
                )
            elif found := _TIME.match(text):
                year, month, day, hour, minute, second = (int(part or 0) for part in found.groups())
                moment = dt.datetime(year, month, day, hour, minute, second)
            else:
                raise ValueError
        except (ValueError, CellProblem):
            raise CellProblem(f"时间格式应为 {TIME_EXAMPLE}") from None
    return moment.replace(tzinfo=COUNTY_TIME).isoformat()


def _choice(column: Column, raw: Any) -> str:
    text = str(raw).strip()
    table = LABELS[column.choices or ""]
    for code, shown in table.items():
        if text in (shown, code):
            return code
    raise CellProblem("应为下列之一：" + "、".join(table.values()))


def _yes_no(column: Column, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    if text in ("是", "否"):
        return text == "是"
    raise CellProblem("应填“是”或“否”")


_READERS = {
    Kind.TEXT: _text,
    Kind.ID: _text,
    Kind.INT: _int,
    Kind.NUMBER: _number,
    Kind.DATE: _date,
    Kind.TIME: _time,
    Kind.CHOICE: _choice,
    Kind.YES_NO: _yes_no,
}


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name
