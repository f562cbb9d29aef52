"""Excel templates and import (issue 18), without Kafka: the templates open in openpyxl with
their drop-down lists; a file with three bad rows reports exactly those three (sheet, row,
column, reason) and publishes nothing; --dry-run publishes nothing; the same file gives the
same event ids; the templates carry every field of their event types."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from grassroots.cli import app
from grassroots.contract import EVENTS, parse_event
from grassroots.contract.labels import LABELS
from grassroots.importing import command
from grassroots.importing.exporting import export_workbook
from grassroots.importing.reading import ImportedEvent, Where, read_workbook
from grassroots.importing.sheets import COVERED_TYPES, SHEETS, TEMPLATES
from grassroots.importing.templates import ALL_IN_ONE, GUIDE, template_bytes, write_templates
from grassroots.simulation import CampaignSimulation

COUNTY = "812345"
CAMPAIGN = "xlsx-unit-2012"
WHERE = Where(COUNTY, CAMPAIGN, f"/counties/{COUNTY}/excel-import")


@pytest.fixture(scope="module")
def simulated() -> list[dict[str, Any]]:
    return list(CampaignSimulation(branches=10, county=COUNTY, campaign_id=CAMPAIGN).events())


@pytest.fixture(scope="module")
def workbook(simulated: list[dict[str, Any]]) -> bytes:
    data, _ = export_workbook(simulated)
    return data


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ImportedEvent]]:
    """What `grassroots import` hands to Kafka or the intake (nothing leaves the test)."""
    sent: list[ImportedEvent] = []

    def publish(events: list[ImportedEvent], **_: Any) -> tuple[int, list[Any]]:
        sent.extend(events)
        return len(events), []

    monkeypatch.setattr(command, "publish", publish)
    yield sent


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["import", *args, "--campaign", CAMPAIGN, "--county", COUNTY])


def test_the_templates_open_with_their_lists_an_example_and_the_guide(tmp_path: Path) -> None:
    written = write_templates(tmp_path)
    assert sorted(path.stem for path in written) == sorted([*TEMPLATES, ALL_IN_ONE])
    for path in written:
        book = load_workbook(path)
        assert book.sheetnames[0] == GUIDE
        expected = SHEETS if path.stem == ALL_IN_ONE else TEMPLATES[path.stem]
        assert book.sheetnames[1:] == [sheet.title for sheet in expected]
        guide = [row for row in book[GUIDE].iter_rows(values_only=True)]
        for sheet in expected:
            ws = book[sheet.title]
            assert [cell.value for cell in ws[1]] == [c.header for c in sheet.columns]
            assert [cell.value for cell in ws[2]] == sheet.example  # the example row
            lists = {
                str(rule.sqref).split(":")[0]: rule.formula1
                for rule in ws.data_validations.dataValidation
                if rule.type == "list"
            }
            for index, column in enumerate(sheet.columns):
                explained = [r for r in guide if r[0] == sheet.title and r[2] == column.header]
                assert explained and explained[0][5] == column.note
                letter = chr(65 + index)
                if column.choices:
                    options = list(LABELS[column.choices].values())
                    assert lists[f"{letter}2"] == '"' + ",".join(options) + '"'
    levels = load_workbook(io.BytesIO(template_bytes("上级党组织评定")))["上级党组织评定"]
    rules = {str(r.sqref): r.formula1 for r in levels.data_validations.dataValidation}
    assert rules["I2:I10000"] == '"强,较强,一般,薄弱"'  # 调整认定等次
    assert rules["B2:B10000"] == '"分类定级,晋位升级复评"'  # 定级轮次


def test_an_empty_template_imports_nothing_and_its_example_is_valid() -> None:
    for template in TEMPLATES:
        result = read_workbook(template_bytes(template), WHERE)
        assert (result.rows, result.errors, result.events) == (0, [], [])
    # The example row, once it is the office's own (any cell changed), is a valid row.
    book = load_workbook(io.BytesIO(template_bytes(ALL_IN_ONE)))
    for sheet in SHEETS:
        book[sheet.title].cell(row=2, column=len(sheet.columns)).value = "2012-03-02"
    buffer = io.BytesIO()
    book.save(buffer)
    result = read_workbook(buffer.getvalue(), WHERE)
    assert result.errors == []
    assert len(result.events) == len(SHEETS) - 1  # 任务 is part of its 整改方案


def test_every_field_of_the_covered_types_has_a_column() -> None:
    columns = {c.field.split(".")[0] for sheet in SHEETS for c in sheet.columns}
    for event_type in COVERED_TYPES:
        fields = set(EVENTS[event_type].data_model.model_fields) - {"tasks"}
        assert fields <= columns, (event_type, fields - columns)


def test_the_demo_county_round_trips_through_the_sheets(
    simulated: list[dict[str, Any]], workbook: bytes
) -> None:
    result = read_workbook(workbook, WHERE)
    assert result.errors == []
    covered = [e for e in simulated if e["type"] in COVERED_TYPES]
    assert [
        (item.event.type, item.event.dump()["data"], item.event.time) for item in result.events
    ] == [(e["type"], e["data"], parse_event(json.dumps(e).encode()).time) for e in covered]


def _spoil(workbook: bytes) -> bytes:
    """Three bad rows: a deadline that is no date, a score above 100, an excellent member
    without a name."""
    book = load_workbook(io.BytesIO(workbook))
    book["任务"]["D7"] = "2012/13/45"
    book["党组织自评"]["C3"] = 120
    honours = book["评比表彰"]
    honours["B2"] = "优秀共产党员"
    honours["D2"] = None
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


THREE_ERRORS = [
    "党组织自评 第3行 C列 领导班子好: 不能大于100",
    "任务 第7行 D列 明确时限: 日期格式应为 2012-05-31",
    "评比表彰 第2行 D列 受表彰人姓名: 表彰优秀共产党员、优秀党务工作者，必须填写受表彰人姓名",
]


def test_three_bad_rows_are_reported_exactly_and_nothing_is_published(
    workbook: bytes, tmp_path: Path, published: list[ImportedEvent]
) -> None:
    path = tmp_path / "有错误.xlsx"
    path.write_bytes(_spoil(workbook))
    result = read_workbook(path.read_bytes(), WHERE)
    assert [str(error) for error in result.sorted_errors()] == THREE_ERRORS
    assert result.bad_rows == [("党组织自评", 3), ("任务", 7), ("评比表彰", 2)]

    done = run(str(path))
    assert done.exit_code == 1
    assert done.stderr.splitlines()[:3] == THREE_ERRORS
    assert "未发布任何数据" in done.stdout
    assert published == []

    good = run(str(path), "--publish-good-rows")
    assert good.exit_code == 1  # the errors stand; the good rows went out
    clean = read_workbook(workbook, WHERE)
    spoilt_ids = {item.event.id for item in clean.events} - {item.event.id for item in published}
    # The self-evaluation, the commendation and the plan whose task was bad: nothing else.
    assert len(published) == len(clean.events) - 3 == len(result.events)
    assert {e.event.type for e in clean.events if e.event.id in spoilt_ids} == {
        "grading.self_evaluated",
        "emulation.commended",
        "rectification.commitment_published",
    }


def test_a_dry_run_publishes_nothing_and_prints_the_events(
    workbook: bytes, tmp_path: Path, published: list[ImportedEvent]
) -> None:
    path = tmp_path / "数据.xlsx"
    path.write_bytes(workbook)
    done = run(str(path), "--dry-run")
    assert done.exit_code == 0, done.output
    assert published == []
    lines = done.stdout.splitlines()
    expected = read_workbook(workbook, WHERE).events
    assert [parse_event(line.encode()).id for line in lines] == [e.event.id for e in expected]
    assert "试运行：未发布任何数据" in done.stderr

    done = run(str(path))  # without --dry-run, the same events go out
    assert done.exit_code == 0
    assert [e.event.id for e in published] == [e.event.id for e in expected]
    assert f"已发布 {len(expected)} 条" in done.stdout


def test_the_same_file_gives_the_same_ids_and_a_changed_row_a_new_one(workbook: bytes) -> None:
    first = read_workbook(workbook, WHERE).events
    again = read_workbook(workbook, WHERE).events
    assert [e.event.id for e in first] == [e.event.id for e in again]
    assert [e.raw for e in first] == [e.raw for e in again]  # same content: a repeat
    book = load_workbook(io.BytesIO(workbook))  # opened and saved again, one score corrected
    book["党组织自评"]["C2"] = 61.5
    buffer = io.BytesIO()
    book.save(buffer)
    changed = read_workbook(buffer.getvalue(), WHERE).events
    differ = {e.event.id for e in first} ^ {e.event.id for e in changed}
    assert len(differ) == 2  # the corrected self-evaluation is a new event; nothing else moved
    other = read_workbook(workbook, Where(COUNTY, "another-campaign", WHERE.source)).events
    same = {e.event.id for e in first} & {e.event.id for e in other}
    assert same == {e.event.id for e in first if e.event.type == "org.branch_registered"}


def test_a_wrong_header_or_file_is_said_in_chinese(tmp_path: Path) -> None:
    book = load_workbook(io.BytesIO(template_bytes("梳理问题")))
    book["梳理问题"]["D1"] = "来源"
    buffer = io.BytesIO()
    book.save(buffer)
    result = read_workbook(buffer.getvalue(), WHERE)
    assert [str(e) for e in result.errors] == ["梳理问题 第1行 D列 问题来源: 表头应为“问题来源”"]
    junk = tmp_path / "不是表格.xlsx"
    junk.write_bytes(b"not a workbook")
    done = run(str(junk))
    assert done.exit_code == 2
    assert "文件无法打开" in done.stderr


def test_cells_are_read_as_the_office_types_them(tmp_path: Path) -> None:
    book = load_workbook(io.BytesIO(template_bytes("任务进展")))
    ws = book["任务进展"]
    ws.append(["b-1", "t-1", "60%", "过半", None, "2012/5/20"])
    ws.append(["b-1", "t-1", None, None, "验收记录", "2012-05-28 16:30"])
    ws.append(["b-1", "t-2", None, None, None, "2012-05-28"])
    ws.append(["b-1", "t-3", "八十", None, None, "明天"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = read_workbook(buffer.getvalue(), WHERE)
    assert [(e.event.type, e.event.time.isoformat()) for e in result.events] == [
        ("rectification.task_progressed", "2012-05-20T09:00:00+08:00"),
        ("rectification.task_completed", "2012-05-28T16:30:00+08:00"),
    ]
    assert [str(e) for e in result.sorted_errors()] == [
        "任务进展 第5行 C列 完成进度（%）: 必填（未填写完成佐证材料时，须填写完成进度）",
        "任务进展 第6行 C列 完成进度（%）: 应为数字",
        "任务进展 第6行 F列 填报时间: 时间格式应为 2012-05-31 或 2012-05-31 09:30",
    ]
