"""The contract as a county engineer meets it, end to end: what a short run of the platform
emits is CloudEvents by the specification's own JSON Schema and valid against our per-type
schemas, and reporting serves the HTML documentation of the AsyncAPI document at /contract/ —
every event type with its example, nothing loaded from the internet (checked in Chromium)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from aiokafka import ConsumerRecord
from playwright.sync_api import sync_playwright

from grassroots import contract_documents as documents
from grassroots.contract import EVENTS, json_schemas
from grassroots.contract.examples import envelope
from tests.harness import REPO, Platform, TopicWatcher, header, publish_with_tool

pytestmark = pytest.mark.usefixtures("platform")

CLOUDEVENTS = jsonschema_rs.validator_for(
    json.loads((REPO / "contract/tests/cloudevents/cloudevents.json").read_text("utf-8")),
    validate_formats=True,
)
SCREENSHOTS = REPO / ".local" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCORES = dict.fromkeys(("leadership", "membership", "mechanism", "performance", "reputation"), 86)


def violations(event: dict[str, Any]) -> list[str]:
    """What the CloudEvents schema and the type's own schema say against the event."""
    own = jsonschema_rs.validator_for(
        json_schemas.json_schema(event["type"]), validate_formats=True
    )
    return [f"cloudevents: {e.message}" for e in CLOUDEVENTS.iter_errors(event)] + [
        f"{event['type']}: {e.message}" for e in own.iter_errors(event)
    ]


class ShortRun:
    """One branch through the survey phase: registered, launched, three inputs, closed."""

    def __init__(self) -> None:
        token = uuid.uuid4().hex[:6]
        self.county = f"9{int(token, 16) % 100000:05d}"
        self.campaign_id = f"contract-{token}"
        self.committee = f"{self.county}-{token}-committee"
        self.branch = f"{self.county}-{token}-b1"

    def event(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return envelope(event_type, data, campaign_id=self.campaign_id, county=self.county)

    def register(self, org_id: str, kind: str, parent: str | None) -> dict[str, Any]:
        return self.event(
            "org.branch_registered",
            {
                "branch_id": org_id,
                "name": f"{org_id}党组织",
                "kind": kind,
                "parent_id": parent,
                "unit": "契约测试学校",
                "secretary": {"name": "王建国", "email": f"{org_id}@example.org"},
                "member_count": 12,
            },
        )

    def events(self) -> list[dict[str, Any]]:
        base = {"branch_id": self.branch, "round": "initial", "scores": SCORES}
        phase = {"campaign_id": self.campaign_id, "phase": "survey_grading"}
        return [
            self.register(self.committee, "committee", None),
            self.register(self.branch, "branch", self.committee),
            self.event(
                "campaign.launched",
                {
                    "campaign_id": self.campaign_id,
                    "name": "契约测试基层组织建设年",
                    "year": 2012,
                    "phases": [
                        {
                            "phase": "survey_grading",
                            "opens_on": "2012-03-01",
                            "closes_on": "2012-04-15",
                        }
                    ],
                },
            ),
            self.event("campaign.phase_opened", phase),
            self.event("grading.self_evaluated", base),
            self.event("grading.appraised", {**base, "raters": 30}),
            self.event("grading.superior_rated", {**base, "rater_org_id": self.committee}),
            self.event("campaign.phase_closed", phase),
        ]


async def test_a_short_runs_events_are_cloudevents_valid_against_their_schemas(
    tmp_path: Path,
) -> None:
    run = ShortRun()
    sent = run.events()
    async with (
        TopicWatcher("grading.results") as grading,
        TopicWatcher("notification.results") as notification,
    ):
        published = publish_with_tool(sent, tmp_path)
        assert published.returncode == 0, published.stderr

        def ours(record: ConsumerRecord[bytes, bytes]) -> bool:
            return bool(json.loads(record.value).get("campaignid") == run.campaign_id)

        results = await grading.wait_for(ours, count=2, within=60)
        graded = next(
            json.loads(r.value)
            for r in results
            if json.loads(r.value)["type"] == "grading.branch_graded"
        )

        def told(record: ConsumerRecord[bytes, bytes]) -> bool:
            return bool(json.loads(record.value)["data"]["cause_event_id"] == graded["id"])

        await notification.wait_for(told, within=60)
        await grading.drain()
        await notification.drain()
        emitted = grading.seen + notification.seen

    types = {json.loads(r.value)["type"] for r in emitted}
    assert {"grading.branch_graded", "grading.results_published"} <= types
    assert types & {"notification.delivered", "notification.failed"}
    for record in emitted:
        event = json.loads(record.value)
        assert violations(event) == [], event
        assert header(record, "content-type") == "application/cloudevents+json"
        assert record.key == event["subject"].encode()
    for event in sent:  # and what the county system sent
        assert violations(event) == [], event


@pytest.fixture(scope="module")
def site() -> Path:
    """The HTML documentation, built from contract/asyncapi.json if it is not yet."""
    if not documents.site_is_current():
        if shutil.which("npm") is None:
            pytest.skip(
                "npm is absent: the AsyncAPI HTML template cannot build /contract/ here "
                "(`make test` installs nodejs and npm, so CI always runs this)"
            )
        documents.write_site()
    return documents.SITE_FOLDER


def test_contract_renders_every_event_type_with_its_example_offline(
    platform: Platform, site: Path
) -> None:
    base = platform.services["reporting"].url
    served = httpx.get(f"{base}/contract/asyncapi.json", timeout=10)
    assert served.status_code == 200
    assert served.content == (REPO / "contract" / "asyncapi.json").read_bytes()
    assert httpx.get(f"{base}/contract", timeout=10).status_code == 308
    schema = httpx.get(f"{base}/contract/schemas/grading.branch_graded.json", timeout=10)
    assert schema.json() == json_schemas.json_schema("grading.branch_graded")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed for this test (make test installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1600, "height": 1200})
            elsewhere: list[str] = []
            errors: list[str] = []
            page.on(
                "request",
                lambda request: (
                    None
                    if request.url.startswith((f"{base}/", "data:"))
                    else elsewhere.append(request.url)
                ),
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            response = page.goto(f"{base}/contract/")
            assert response is not None and response.status == 200
            page.wait_for_load_state("load")  # its scripts have run
            assert "Grassroots platform contract" in page.title()
            assert "基层组织建设年平台事件契约" in page.locator("h1").first.inner_text()
            for event_type in [*sorted(EVENTS), documents.DEAD_LETTER_MESSAGE]:
                message = page.locator(f'[id="message-{event_type}"]')
                assert message.is_visible(), event_type
                title = documents.chinese_title(event_type) if event_type in EVENTS else "死信"
                assert title in message.inner_text(), event_type
                example = message.locator(".examples code").first
                assert example.is_visible(), event_type
                if event_type in EVENTS:
                    shown = json.loads(example.inner_text())
                    assert shown == documents.example(event_type), event_type
            for topic in ("grading.inputs.dlq", "supervision.decisions"):
                assert topic in page.inner_text("body")
            message = page.locator('[id="message-grading.self_evaluated"]')
            message.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "contract.png"))
            assert elsewhere == [], f"loaded from elsewhere: {elsewhere}"
            assert errors == [], errors
        finally:
            browser.close()
