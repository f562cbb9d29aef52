"""`grassroots import` and `grassroots templates`: the command line around `reading` (the
commands themselves are declared in grassroots.cli). Errors and the summary are for people
(Chinese, on standard error and output); `--dry-run` prints the events that would be published
as JSON lines on standard output, so they can be read, kept or piped to `grassroots publish -`."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grassroots.contract.labels import label
from grassroots.importing.reading import (
    CellError,
    ImportedEvent,
    ImportFileError,
    ImportResult,
    Where,
    read_workbook,
)

CREDENTIAL_VARIABLE = "GRASSROOTS_INTAKE_CREDENTIAL"
LARGE = 500
"""Rows from which a progress bar is shown."""
CHUNK = 500
"""Events published per step (and per intake request)."""
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")


class UsageError(Exception):
    """A wrong option or an unreadable file: said in Chinese, exit 2."""


@dataclass
class Outcome:
    result: ImportResult
    published: int = 0
    refused: list[CellError] | None = None

    @property
    def failed(self) -> bool:
        return bool(self.result.errors or self.refused)


def default_source(county: str) -> str:
    return f"/counties/{county}/excel-import"


def check_options(campaign: str, county: str, intake: str | None) -> str | None:
    """The credential for --intake (from the environment); UsageError for a bad option."""
    if not re.fullmatch(r"[0-9]{6}", county):
        raise UsageError(f"县区代码应为6位数字，如 610526（收到 {county!r}）")
    if not IDENTIFIER.fullmatch(campaign):
        raise UsageError(f"活动编号格式不正确：{campaign!r}（字母、数字和 . _ : / -）")
    if intake is None:
        return None
    credential = os.environ.get(CREDENTIAL_VARIABLE, "").strip()
    if not credential:
        raise UsageError(f"使用 --intake 时须在环境变量 {CREDENTIAL_VARIABLE} 中提供接入凭据")
    return credential


class Bar:
    """A progress bar on standard error, shown once the total is known to be large."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.progress: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None and total >= LARGE:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=total)
        if self.progress is not None:
            self.progress.update(self.task, completed=done)

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def read(file: Path, where: Where) -> ImportResult:
    if not file.is_file():
        raise UsageError(f"找不到文件 {file}")
    try:
        with Bar("读取") as bar:
            return read_workbook(file.read_bytes(), where, progress=bar)
    except ImportFileError as error:
        raise UsageError(str(error)) from None


GRADING_SOURCES = {
    "grading.self_evaluated": "self",
    "grading.appraised": "appraisal",
    "grading.superior_rated": "superior",
}


def type_title(event_type: str) -> str:
    """The Chinese name of an event type (the three grading inputs by their source)."""
    if event_type in GRADING_SOURCES:
        return label("input_source", GRADING_SOURCES[event_type])
    return label("message_title", event_type)


def summary_lines(result: ImportResult) -> list[str]:
    kinds = Counter(item.event.type for item in result.events)
    lines = [
        f"读取工作表：{'、'.join(result.sheets)}；数据 {result.rows} 行，"
        f"其中 {len(result.bad_rows)} 行有错误，可发布 {len(result.events)} 条"
    ]
    lines += [f"  {type_title(kind)}（{kind}）：{count} 条" for kind, count in kinds.items()]
    return lines


def error_lines(errors: Sequence[CellError]) -> list[str]:
    return [str(error) for error in errors]


def publish(
    events: Sequence[ImportedEvent],
    *,
    intake: str | None,
    credential: str | None,
    bootstrap_servers: str,
) -> tuple[int, list[CellError]]:
    """Publish over the intake (when given) or Kafka; (published, rows refused by the intake)."""
    with Bar("发布") as bar:
        advance = lambda done: bar(done, len(events))  # noqa: E731
        if intake is not None:
            return _over_intake(events, intake, credential or "", advance)
        return asyncio.run(_over_kafka(events, bootstrap_servers, advance)), []


def _over_intake(
    events: Sequence[ImportedEvent], url: str, credential: str, advance: Callable[[int], None]
) -> tuple[int, list[CellError]]:
    from grassroots.contract.client import HttpPublisher, PublishError

    publisher = HttpPublisher(url, credential, batch_size=CHUNK)
    published = 0
    refused: list[CellError] = []
    for start in range(0, len(events), CHUNK):
        chunk = events[start : start + CHUNK]
        try:
            report = publisher.publish([item.event for item in chunk])
        except PublishError as error:
            raise PublishFailed(published, _refused_request(error)) from None
        for result in report.results:
            if result.status == "accepted":
                published += 1
            else:
                item = chunk[result.index]
                refused.append(item.error(_first_field(item), f"接收服务拒绝：{result.reason}"))
        advance(start + len(chunk))
    return published, refused


class PublishFailed(Exception):
    """The intake refused a request as a whole, or could not be reached: `published` events
    went out before it (the ones after did not)."""

    def __init__(self, published: int, reason: str) -> None:
        super().__init__(reason)
        self.published = published
        self.reason = reason


def _refused_request(error: Any) -> str:
    if error.status == 0:
        return f"无法连接数据接收服务：{error.detail}"
    if error.status == 401:
        return "数据接收服务不认可此接入凭据（401）：请检查 GRASSROOTS_INTAKE_CREDENTIAL"
    if error.status == 403:
        return f"此接入凭据不能发布本县区的数据（403）：{error.detail}"
    return f"数据接收服务拒绝了请求（{error.status}）：{error.detail}"


def _first_field(item: ImportedEvent) -> str:
    return next(iter(item.letters), "")


async def _over_kafka(
    events: Sequence[ImportedEvent], bootstrap_servers: str, advance: Callable[[int], None]
) -> int:
    from grassroots.plumbing.kafka import make_producer
    from grassroots.publishing import publish_events

    producer = make_producer(bootstrap_servers, client_id="grassroots-import")
    await producer.start()
    published = 0
    try:
        for start in range(0, len(events), CHUNK):
            chunk = events[start : start + CHUNK]
            published += await publish_events(producer, [(i.event, i.raw) for i in chunk])
            advance(published)
    finally:
        await producer.stop()
    return published


def print_dry_run(events: Sequence[ImportedEvent]) -> None:
    for item in events:
        sys.stdout.buffer.write(item.raw + b"\n")
    sys.stdout.buffer.flush()
