"""The services' logs as an operator reads them: every line one JSON object with the service and
level; a consumed batch is one line naming its events (id, type, the trace ids they came with);
every API request is one audit line naming who read (the token's label — never the token) and
the path without its query; no secret and no token in any line. A person at a terminal (or
GRASSROOTS_LOG_FORMAT=text) gets readable text instead."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grassroots.contract.examples import envelope
from grassroots.plumbing import logs
from tests.harness import REPO, Platform, eventually, publish_with_tool
from tests.test_reporting import token
from tests.test_secrets_stay_out_of_logs import SECRET_VARIABLES

LOGS = REPO / ".local" / "logs" / "tests"
TOKEN = re.compile(r"\b(?:gr|sc|gri)_[A-Za-z0-9_.\-]{16,}")


def capture(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact = logs.Redactor()
    handler.setFormatter(
        logs.JsonFormatter("grading", redact) if fmt == "json" else logs.TextFormatter(redact)
    )
    logger = logging.getLogger(f"test.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_an_error_is_one_json_line_with_the_event_and_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRASSROOTS_TOKEN_PEPPER", "pepper-canary-0123456789")
    logger, stream = capture("json")
    try:
        raise RuntimeError("cannot reach postgresql://grading:hunter2-canary@db:5432/grassroots")
    except RuntimeError:
        logger.exception(
            "handler for grading.appraised failed on e-1 (pepper-canary-0123456789)",
            extra={"event_id": "e-1", "event_type": "grading.appraised", "campaign": "c-1"},
        )
    logger.info("token gr_%s read", "A" * 43)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["service"], first["level"], first["event_id"], first["campaign"]) == (
        "grading",
        "error",
        "e-1",
        "c-1",
    )
    assert first["error"].startswith("RuntimeError") and "Traceback" in first["traceback"]
    text = stream.getvalue()
    assert "pepper-canary" not in text and "hunter2-canary" not in text
    assert "gr_AAAA" not in text and second["message"] == "token [redacted] read"


def test_a_person_at_a_terminal_reads_text(monkeypatch: pytest.MonkeyPatch) -> None:
    logger, stream = capture("text")
    logger.info("batch applied", extra={"records": 3, "event_id": "e-1"})
    line = stream.getvalue().strip()
    assert "INFO" in line and "batch applied" in line and "event_id=e-1" in line
    monkeypatch.setenv("GRASSROOTS_LOG_FORMAT", "text")
    assert not logs.wants_json()
    monkeypatch.setenv("GRASSROOTS_LOG_FORMAT", "auto")
    assert logs.wants_json(stream=io.StringIO())  # a file, not a terminal


def new_lines(path: Path, offset: int) -> list[str]:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read().decode("utf-8").splitlines()


@pytest.fixture
def offsets(platform: Platform) -> Iterator[dict[str, int]]:
    """Where each service's log ends now: the lines after it are this test's."""
    yield {name: (LOGS / f"{name}.log").stat().st_size for name in platform.services}


def parsed(lines: list[str]) -> list[dict[str, Any]]:
    found = []
    for line in lines:
        if line.strip():
            found.append(json.loads(line))  # every line is one JSON object
    return found


async def test_service_logs_are_json_lines_with_ids_and_an_audit_trail(
    platform: Platform, offsets: dict[str, int], tmp_path: Path
) -> None:
    county = "619998"
    branch = f"{county}-log-{uuid.uuid4().hex[:6]}"
    trace_id = uuid.uuid4().hex
    registered = envelope(
        "org.branch_registered",
        {
            "branch_id": branch,
            "name": "日志测试党支部",
            "kind": "branch",
            "unit": "日志测试学校",
            "township": "城关镇",
            "secretary": {"name": "李明", "email": "liming@example.org"},
            "member_count": 5,
        },
        county=county,
    )
    registered["traceparent"] = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    assert publish_with_tool([registered], tmp_path).returncode == 0

    reader = token(county)
    base = platform.services["reporting"].url
    code = f"sc_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=base) as client:
        caller_trace = uuid.uuid4().hex  # the caller's trace: its requests are found by it
        answered = await client.get(
            f"/v1/campaigns/log-test-{county}/summary",
            headers={
                "Authorization": f"Bearer {reader}",
                "traceparent": f"00-{caller_trace}-{uuid.uuid4().hex[:16]}-01",
            },
            params={"page_size": 5},
        )
        await client.get("/signin", params={"code": code})  # a code in a query is never logged
    reporting_log = LOGS / "reporting.log"

    def batch_line() -> dict[str, Any] | None:
        for line in parsed(new_lines(reporting_log, offsets["reporting"])):
            if line.get("message") == "batch applied" and trace_id in line.get(
                "event_trace_ids", []
            ):
                return line
        return None

    batch = await eventually(batch_line, within=60)
    assert batch["service"] == "reporting" and batch["level"] == "info"
    assert batch["records"] >= 1 and batch["event_id"]
    assert registered["type"] in [batch.get("event_type"), *batch.get("event_types", [])]
    per_message = [
        line
        for line in parsed(new_lines(reporting_log, offsets["reporting"]))
        if line["message"] in ("Received", "Processed")
    ]
    assert per_message == [], "one line per batch, not one per record"

    def audit_lines() -> list[dict[str, Any]] | None:
        """Both requests' audit lines, once written (each is logged as its response ends, and
        the second may still be on its way when the batch's line is already there)."""
        found = [
            line
            for line in parsed(new_lines(reporting_log, offsets["reporting"]))
            if line.get("audit") == "api_request"
        ]
        paths = {line["path"] for line in found}
        return found if {f"/v1/campaigns/log-test-{county}/summary", "/signin"} <= paths else None

    audit = await eventually(audit_lines, within=30)
    (read,) = [line for line in audit if line["path"] == f"/v1/campaigns/log-test-{county}/summary"]
    assert (read["caller"], read["status"], read["method"]) == ("测试", answered.status_code, "GET")
    assert read["duration_ms"] >= 0 and read["trace_id"] == caller_trace
    (signin,) = [line for line in audit if line["path"] == "/signin"]
    assert signin["caller"] is None

    secrets = {name: os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)}
    for name in platform.services:
        lines = new_lines(LOGS / f"{name}.log", offsets[name])
        assert all(line["service"] == name for line in parsed(lines))
        text = "\n".join(lines)
        assert reader not in text and code not in text, f"a token or code in {name}.log"
        assert not TOKEN.search(text), f"a token in {name}.log"
        for variable, value in secrets.items():
            assert value not in text, f"{variable} appears in {name}.log"
