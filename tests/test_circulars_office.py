"""The office's circulars end to end on the real broker (issue 16): a county registers and
launches its campaign; a draft arrives on notification.results as notification publishes it;
through reporting's API an office token (one person of the Party office) lists it, edits an item,
removes one with a reason and signs it off — the sign-off is on supervision.decisions with that
person as signed_by, read back by reporting without changing anything; a second sign-off is 409
and a reader's is 403. In Chromium the pages show the draft in zh-CN, a reader sees no forms, and
another person of the office edits and signs a second draft through the forms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import ConsumerRecord
from playwright.async_api import async_playwright

from grassroots.contract.examples import envelope
from tests.harness import Platform, TopicWatcher, eventually, produce_raw, publish_with_tool
from tests.scenario import County, at
from tests.signin import sign_in_async
from tests.test_reporting import (
    CHROMIUM_FLAGS,
    SCREENSHOTS,
    chromium,
    reporting_cli,
    token,
    until,
)

pytestmark = pytest.mark.usefixtures("platform")

NAME = "通报签发测试"
NOW = at("2012-05-21", "10:00:00")
NAMES = {None: "蒲城县教育局党委", "b1": "城关一小党支部", "b2": "城关二小党支部"}
READ_ONLY = (
    "this token may only read: editing or signing a circular needs an office token "
    "(token create --role office)"
)


class Office:
    """Reporting's API with one token."""

    def __init__(self, platform: Platform, bearer: str, c: County) -> None:
        self.client = httpx.AsyncClient(
            base_url=platform.services["reporting"].url,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
        )
        self.base = f"/v1/campaigns/{c.campaign_id}/circulars"

    async def get(self, tail: str = "") -> httpx.Response:
        return await self.client.get(self.base + tail)

    async def post(self, tail: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(self.base + tail, json=body or {})


@pytest.fixture(scope="module")
def county(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """Registered and launched, on the test clock of 21 May 2012, 10:00."""
    c = County()
    launch = c.event(
        "campaign.launched",
        {
            "campaign_id": c.campaign_id,
            "name": NAME,
            "year": 2012,
            "phases": [
                {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"}
            ],
        },
        at("2012-03-01"),
    )
    registrations = []
    for key, name in NAMES.items():
        event = c.register(key)
        event["data"]["name"] = name
        registrations.append(event)
    folder = tmp_path_factory.mktemp("circulars")
    assert publish_with_tool([launch, *registrations], folder).returncode == 0
    reader = httpx.Client(
        base_url=platform.services["reporting"].url,
        headers={"Authorization": f"Bearer {token(c.county)}"},
        timeout=10,
    )
    until(  # registrations come on another topic than the drafts: applied first
        lambda: reader.get(f"/v1/campaigns/{c.campaign_id}/summary"),
        lambda r: r.status_code == 200 and r.json()["branches"] == 2,
        "the launch and the registrations",
    )
    platform.set_clock(NOW)
    try:
        yield c
    finally:
        platform.set_clock(None)


def item(c: County, section: str, key: str, basis: str, text: str) -> dict[str, str]:
    org_id = c.b(key)
    return {
        "item_id": f"{section}-{org_id}-{basis}",
        "section": section,
        "org_id": org_id,
        "basis": basis,
        "text": text,
    }


async def drafted(c: County, circular_id: str, day: str) -> list[dict[str, str]]:
    """A weekly draft published as notification publishes it; its items."""
    items = [
        item(c, "criticism", "b1", "leadership_attention", "城关一小党支部领导重视不够。"),
        item(c, "criticism", "b2", "progress_report_missing", "城关二小党支部未按时报送进展。"),
        item(c, "praise", "b2", "commendable", "城关二小党支部整改台账规范，予以表扬。"),
    ]
    event = envelope(
        "notification.circular_drafted",
        {
            "circular_id": circular_id,
            "trigger": "weekly",
            "title": "关于基层组织建设年活动进展情况的通报",
            "items": items,
        },
        campaign_id=c.campaign_id,
        county=c.county,
        source="/grassroots/notification",
        time=at(day, "08:00:00"),
    )
    await produce_raw("notification.results", [(circular_id.encode(), json.dumps(event).encode())])
    return items


def office_token(c: County, person: str) -> str:
    return reporting_cli(
        "token", "create", "--county", c.county, "--label", person, "--role", "office"
    )


def decision(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(record.value or b"{}")
    return found


async def listed(office: Office, circular_id: str) -> dict[str, Any] | None:
    response = await office.get()
    if response.status_code != 200:
        return None
    return next((c for c in response.json()["items"] if c["circular_id"] == circular_id), None)


async def test_the_office_edits_and_signs_a_draft_and_the_sign_off_is_published(
    platform: Platform, county: County, admin: asyncpg.Connection
) -> None:
    c = county
    circular_id = f"circular-{c.campaign_id}-2012-05-21"
    office = Office(platform, office_token(c, "刘芳"), c)
    reader = Office(platform, token(c.county), c)
    items = await drafted(c, circular_id, "2012-05-21")

    summary = await eventually(lambda: listed(reader, circular_id), within=60)
    assert {k: summary[k] for k in ("status", "status_label", "items", "drafted_at")} == {
        "status": "draft",
        "status_label": "待签发",
        "items": 3,
        "drafted_at": "2012-05-21T08:00:00+08:00",
    }

    async with TopicWatcher("supervision.decisions") as decisions:
        edited = await office.post(
            f"/{circular_id}/edits",
            {"action": "edit", "item_id": items[0]["item_id"], "text": "城关一小党支部限期整改。"},
        )
        assert edited.status_code == 202
        removed = await office.post(
            f"/{circular_id}/edits",
            {"action": "remove", "item_id": items[1]["item_id"], "reason": "已于5月20日补报"},
        )
        assert removed.status_code == 202
        assert [(i["item_id"], i["org_name"], i["text"]) for i in removed.json()["items"]] == [
            (items[0]["item_id"], "城关一小党支部", "城关一小党支部限期整改。"),
            (items[2]["item_id"], "城关二小党支部", items[2]["text"]),
        ]
        refused = await reader.post(f"/{circular_id}/sign")
        assert (refused.status_code, refused.json()) == (403, {"detail": READ_ONLY})
        signed = await office.post(f"/{circular_id}/sign")
        assert (signed.status_code, signed.json()) == (
            202,
            {"circular_id": circular_id, "status": "signed"},
        )
        again = await office.post(f"/{circular_id}/sign")
        assert (again.status_code, again.json()) == (
            409,
            {"detail": f"circular {circular_id} is already signed"},
        )
        records = await decisions.wait_for(
            lambda r: r.key == circular_id.encode(), count=3, within=30
        )

    published = [decision(r) for r in records]
    assert [(e["type"], e["data"]) for e in published] == [
        (
            "supervision.circular_edited",
            {
                "circular_id": circular_id,
                "action": "edit",
                "item_id": items[0]["item_id"],
                "text": "城关一小党支部限期整改。",
                "edited_by": "刘芳",
            },
        ),
        (
            "supervision.circular_edited",
            {
                "circular_id": circular_id,
                "action": "remove",
                "item_id": items[1]["item_id"],
                "reason": "已于5月20日补报",
                "edited_by": "刘芳",
            },
        ),
        ("supervision.circular_signed", {"circular_id": circular_id, "signed_by": "刘芳"}),
    ]
    signed_event = published[2]
    assert {k: signed_event[k] for k in ("source", "subject", "countycode", "campaignid")} == {
        "source": "/grassroots/reporting",
        "subject": circular_id,
        "countycode": c.county,
        "campaignid": c.campaign_id,
    }
    assert signed_event["time"] == NOW.isoformat()

    # Reporting reads its own decisions back: kept already, nothing changes.
    await eventually(
        lambda: admin.fetchval(
            "SELECT count(*) = 3 FROM reporting.inbox WHERE source = '/grassroots/reporting'"
            " AND event_id = ANY($1::text[])",
            [e["id"] for e in published],
        ),
        within=30,
    )
    read = (await reader.get(f"/{circular_id}")).json()
    assert (read["status"], read["status_label"]) == ("signed", "已签发")
    assert [(h["action"], h["by"]) for h in read["history"]] == [
        ("drafted", None),
        ("edited", "刘芳"),
        ("edited", "刘芳"),
        ("signed", "刘芳"),
    ]
    assert [h["detail"] for h in read["history"][1:]] == [
        "修改城关一小党支部的条目：原为“城关一小党支部领导重视不够。”，改为“城关一小党支部限期整改。”",
        "删除城关二小党支部的条目“城关二小党支部未按时报送进展。”，理由：已于5月20日补报",
        "签发",
    ]
    assert len(read["items"]) == 2


async def test_the_office_signs_through_the_dashboard_in_chromium(
    platform: Platform, county: County
) -> None:
    c = county
    circular_id = f"circular-{c.campaign_id}-2012-05-28"
    base = platform.services["reporting"].url
    signer = office_token(c, "李明")
    reader = Office(platform, token(c.county), c)
    items = await drafted(c, circular_id, "2012-05-28")
    await eventually(lambda: listed(reader, circular_id), within=60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async with (
        TopicWatcher("supervision.decisions") as decisions,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            readers_page = await browser.new_page()
            await sign_in_async(readers_page, base, token(c.county))
            await readers_page.goto(f"{base}/campaigns/{c.campaign_id}/circulars/{circular_id}")
            assert await readers_page.inner_text("#status") == "待签发"
            assert await readers_page.locator("form").count() == 0

            page = await browser.new_page()
            await sign_in_async(page, base, signer)  # sets the cookie, redirects
            await page.goto(f"{base}/campaigns/{c.campaign_id}")
            await page.click("#circulars-link")
            row = page.locator(f"#circulars tr[data-circular='{circular_id}']")
            assert await row.locator(".status").inner_text() == "待签发"
            await row.locator("a").click()
            assert (
                await page.inner_text("#circular-title") == "关于基层组织建设年活动进展情况的通报"
            )
            assert await page.locator(
                "#section-criticism tr[data-item] .text"
            ).all_inner_texts() == [
                items[0]["text"],
                items[1]["text"],
            ]
            assert await page.locator("#section-praise tr[data-item] .text").all_inner_texts() == [
                items[2]["text"]
            ]
            first = page.locator(f"tr[data-item='{items[0]['item_id']}']")
            await first.locator(".edit-form textarea").fill(
                "城关一小党支部领导重视不够，限期一周整改。"
            )
            await first.locator(".edit-form button").click()
            await page.wait_for_load_state()
            assert (
                await first.locator(".text").inner_text()
                == "城关一小党支部领导重视不够，限期一周整改。"
            )
            await page.screenshot(path=str(SCREENSHOTS / "circular-draft.png"), full_page=True)
            await page.click("#sign")
            await page.wait_for_load_state()
            assert await page.inner_text("#status") == "已签发"
            assert await page.locator("form").count() == 0
            signed_row = page.locator("#history tr[data-action='signed']")
            assert await signed_row.locator(".by").inner_text() == "李明"
            await page.screenshot(path=str(SCREENSHOTS / "circular-signed.png"), full_page=True)
        finally:
            await browser.close()
        records = await decisions.wait_for(
            lambda r: r.key == circular_id.encode(), count=2, within=30
        )
    assert [(decision(r)["type"], decision(r)["data"]) for r in records] == [
        (
            "supervision.circular_edited",
            {
                "circular_id": circular_id,
                "action": "edit",
                "item_id": items[0]["item_id"],
                "text": "城关一小党支部领导重视不够，限期一周整改。",
                "edited_by": "李明",
            },
        ),
        ("supervision.circular_signed", {"circular_id": circular_id, "signed_by": "李明"}),
    ]
