"""Words people read (DOMAIN.md "Words for people"): no retired word in any template of the
reporting and notification services, in any label, or in any export's header row. The header
rows are the ones the exports write (read back from the CSV and XLSX bytes the code makes).
No infrastructure: runs anywhere."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from grassroots.contract.labels import LABELS
from reporting import annual_sheet, exports, xlsx

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = (
    ROOT / "services" / "reporting" / "reporting",  # templates/ and any package's templates/
    ROOT / "services" / "notification" / "notification" / "templates",
)
TEMPLATE_SUFFIXES = (".html", ".j2", ".txt")

RETIRED: dict[str, str] = {
    "后进": "工作滞后（工作滞后党组织）",
    "终评": "晋位升级复评",
    "初评阶段": "分类定级",
    "初评": "分类定级",
    "上级评定": "上级党组织调整认定",
    "支部总数": "党组织总数 / 支部（总支）总数",
    "支部一览": "党组织一览",
    "支部编号": "党组织编号",
    "支部名称": "党组织名称",
    "找不到该支部": "找不到该党组织",
    "支部书记": "党组织书记",
    "公开整改承诺": "公开整改方案（公开承诺）",
    "承诺审核": "整改方案审核",
}
"""Retired word → what is said instead."""

BARE_BRANCH = re.compile(r"(?<!党)支部(?!（总支）)")
"""支部 for every organisation: only 党支部 (the kind) or 支部（总支） (all of them)."""


def template_files() -> list[Path]:
    found = [
        path
        for folder in TEMPLATE_DIRS
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix in TEMPLATE_SUFFIXES
        and any(part == "templates" for part in path.relative_to(ROOT).parts)
    ]
    return sorted(found)


def labels() -> Iterator[tuple[str, str]]:
    for table, codes in LABELS.items():
        for code, text in codes.items():
            yield f"{table}.{code}", text


def csv_header(data: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_header(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True))
    return [str(cell) for cell in first if cell is not None]


def export_headers() -> Iterator[tuple[str, list[str]]]:
    yield "export.csv", csv_header(exports.csv_bytes([]))
    yield "export.xlsx", xlsx_header(exports.xlsx([]))
    for name in exports.PHASE_TABLES:
        yield f"exports/{name}.csv", csv_header(exports.phase_export(name, [], "csv"))
        yield f"exports/{name}.xlsx", xlsx_header(exports.phase_export(name, [], "xlsx"))
    sheet = xlsx.workbook(annual_sheet.TITLE, annual_sheet.HEADERS, [], annual_sheet.RATE_COLUMNS)
    yield "exports/annual-sheet.xlsx", xlsx_header(sheet)


def offences(text: str) -> list[str]:
    said = [f"{word}（应为 {instead}）" for word, instead in RETIRED.items() if word in text]
    said += [
        f"“{m.group(0)}”泛指所有党组织（应为 支部（总支）或 党支部/党总支/党委）"
        for m in BARE_BRANCH.finditer(text)
    ]
    return said


def test_the_templates_are_found() -> None:
    names = {path.name for path in template_files()}
    assert {"campaign.html", "branch.html", "grading_result.txt.j2", "circular.txt.j2"} <= names


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_retired_word_in_a_template(path: Path) -> None:
    assert offences(path.read_text(encoding="utf-8")) == []


def test_no_retired_word_in_a_label() -> None:
    found = {where: offences(text) for where, text in labels() if offences(text)}
    assert found == {}


def test_no_retired_word_in_an_export_header() -> None:
    found = {
        f"{export}: {header}": offences(header)
        for export, headers in export_headers()
        for header in headers
        if offences(header)
    }
    assert found == {}


def test_the_export_headers_are_read() -> None:
    headers = dict(export_headers())
    assert headers["export.csv"][:2] == ["党组织编号", "党组织名称"]
    assert headers["export.csv"] == headers["export.xlsx"]
    assert "整改完成率" in headers["exports/annual-sheet.xlsx"]


@pytest.mark.parametrize("word", [*RETIRED, "支部编号", "城关中学支部"])
def test_the_check_sees_a_retired_word(word: str) -> None:
    assert offences(f"<th>{word}</th>") != []


@pytest.mark.parametrize(
    "text", ["城关中学党支部", "各支部（总支）：", "工作滞后党组织", "分类定级"]
)
def test_the_check_lets_the_right_words_pass(text: str) -> None:
    assert offences(text) == []
