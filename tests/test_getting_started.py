"""docs/getting-started.md runs as written: its snippets publish a self-evaluation over the HTTP
intake and straight to Kafka, and the platform applies both."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import uuid
from typing import Any

import pytest

from tests.harness import REPO, Platform, env, eventually
from tests.intake_client import credential, inbox_ids

PAGE = REPO / "docs" / "getting-started.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def run(code: str, scope: dict[str, Any]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(PAGE), "exec"), scope)
    return out.getvalue()


def test_the_page_has_the_event_and_both_ways() -> None:
    event, http, kafka = snippets()
    assert "new_event(" in event and "HttpPublisher(" in http and "KafkaPublisher(" in kafka


def test_both_snippets_publish_and_the_platform_applies_them(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_code, http_code, kafka_code = snippets()
    monkeypatch.setenv("GRASSROOTS_INTAKE_URL", platform.services["intake"].url)
    monkeypatch.setenv(
        "GRASSROOTS_INTAKE_CREDENTIAL", credential("610526", f"入门-{uuid.uuid4().hex[:8]}")
    )
    monkeypatch.setenv("KAFKA_COUNTY_PASSWORD", env("KAFKA_COUNTY_PASSWORD"))
    ids = []
    for code in (http_code, kafka_code):
        scope: dict[str, Any] = {"__name__": "getting_started"}
        run(event_code, scope)
        printed = run(code, scope)
        assert "Traceback" not in printed
        ids.append(scope["event"].id)
    source = "/counties/610526/edu-office"

    async def applied() -> bool:
        found = await inbox_ids("grading", source)
        return all(found.get(i) == 1 for i in ids)

    asyncio.run(eventually(applied, within=60))
