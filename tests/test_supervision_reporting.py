"""Supervision in reporting, end to end on the real broker (issue 16): a county registers and
launches its campaign; the office's inspection with a leadership_attention finding puts a branch
in the lagging list with that reason and a later inspection with only praise clears it; on the
test clock a progress report due date passes and the branch that has not reported is lagging
(progress_report_missing) until it reports; an inspection of an organisation the county never
registered, and one with a finding kind outside the list, are dead-lettered with their reason
and change nothing; the annual sheet (年度目标责任考核) downloads and opens; the supervision
page shows it all in zh-CN in Chromium."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook
from playwright.sync_api import sync_playwright

from tests.harness import (
    Platform,
    TopicWatcher,
    eventually,
    header,
    produce_raw,
    publish_with_tool,
)
from tests.scenario import County, at
from tests.signin import sign_in
from tests.test_reporting import CHROMIUM_FLAGS, SCREENSHOTS, Api, chromium, token, until

pytestmark = pytest.mark.usefixtures("platform")

NAME = "督查测试"
NAMES = {None: "蒲城县教育局党委", "b1": "城关一小党支部", "b2": "城关二小党支部"}
FOUND = {
    "leadership_attention": "支部书记未按期主持专题研究整改工作。",
    "commendable": "整改台账规范齐全。",
}


def launched(c: County) -> dict[str, Any]:
    """Progress reports due every 14 days (the default) from 16 April: 30 April, 14 May, …"""
    data = {
        "campaign_id": c.campaign_id,
        "name": NAME,
        "year": 2012,
        "phases": [{"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"}],
    }
    return c.event("campaign.launched", data, at("2012-03-01"))


def registered(c: County) -> list[dict[str, Any]]:
    events = []
    for key, name in NAMES.items():
        event = c.register(key)
        event["data"]["name"] = name
        events.append(event)
    return events


def inspected(c: County, key: str, inspection_id: str, day: str, *kinds: str) -> dict[str, Any]:
    data = {
        "inspection_id": inspection_id,
        "org_id": c.b(key),
        "mode": "unannounced",
        "inspected_on": day,
        "inspectors": ["张卫东", "刘芳"],
        "checked": "整改方案落实情况、整改台账",
        "findings": [{"kind": kind, "text": FOUND[kind]} for kind in kinds],
    }
    return c.event("supervision.inspected", data, at(day))


def reported(c: County, key: str, day: str) -> dict[str, Any]:
    data = {"org_id": c.b(key), "reported_on": day, "summary": "已完成整改任务3项。"}
    return c.event("supervision.progress_reported", data, at(day))


def set_up(platform: Platform, c: County, folder: Path) -> Api:
    """Registered and launched, both applied (other topics: no order with what follows)."""
    assert publish_with_tool([launched(c), *registered(c)], folder).returncode == 0
    office = Api(platform, token(c.county))
    until(
        lambda: office.get(f"/v1/campaigns/{c.campaign_id}/summary"),
        lambda r: r.status_code == 200 and r.json()["name"] == NAME,
        "the launch",
    )
    until(
        lambda: office.get(f"/v1/campaigns/{c.campaign_id}/progress-reports").json(),
        lambda body: body["total"] == 2,
        "the registrations",
    )
    return office


def lagging(office: Api, c: County) -> dict[str, list[str]]:
    items = office.get(f"/v1/campaigns/{c.campaign_id}/lagging").json()["items"]
    return {item["branch_id"]: item["reasons"] for item in items}


@pytest.fixture
def clock(platform: Platform) -> Iterator[Platform]:
    """The test clock on 20 April 2012 (before the first due date); the real one afterwards."""
    platform.set_clock(at("2012-04-20"))
    try:
        yield platform
    finally:
        platform.set_clock(None)


def test_inspections_and_progress_reports_make_an_organisation_lagging_until_cleared(
    clock: Platform, tmp_path: Path
) -> None:
    platform, c = clock, County()
    office = set_up(platform, c, tmp_path)
    base = f"/v1/campaigns/{c.campaign_id}"
    assert lagging(office, c) == {}

    # A critical finding: b1 is lagging with that reason (praise beside it changes nothing).
    first = inspected(c, "b1", "insp-1", "2012-04-18", "leadership_attention", "commendable")
    assert publish_with_tool([first], tmp_path).returncode == 0
    until(lambda: lagging(office, c), lambda found: c.b("b1") in found, "b1 lagging")
    assert lagging(office, c) == {c.b("b1"): ["leadership_attention"]}
    item = office.get(f"{base}/lagging").json()["items"][0]
    assert (item["name"], item["progress_report_due"]) == (NAMES["b1"], None)
    card = office.get(f"{base}/branches/{c.b('b1')}").json()
    assert card["inspections"] == [
        {
            "inspection_id": "insp-1",
            "mode": "unannounced",
            "mode_label": "不定期督查",
            "inspected_on": "2012-04-18",
            "inspectors": ["张卫东", "刘芳"],
            "checked": "整改方案落实情况、整改台账",
            "findings": [
                {
                    "kind": "leadership_attention",
                    "kind_label": "领导重视不够",
                    "text": FOUND["leadership_attention"],
                },
                {
                    "kind": "commendable",
                    "kind_label": "值得肯定",
                    "text": FOUND["commendable"],
                },
            ],
        }
    ]

    # A later inspection with only praise clears it.
    second = inspected(c, "b1", "insp-2", "2012-04-19", "commendable")
    assert publish_with_tool([second], tmp_path).returncode == 0
    until(lambda: lagging(office, c), lambda found: found == {}, "b1 cleared")
    listed = office.get(f"{base}/inspections").json()
    assert [(i["inspection_id"], i["org_id"], i["name"]) for i in listed["items"]] == [
        ("insp-2", c.b("b1"), NAMES["b1"]),
        ("insp-1", c.b("b1"), NAMES["b1"]),
    ]
    assert listed["total"] == 2

    # b1 reports; from 1 May the due date of 30 April has passed: b2 has not reported.
    assert publish_with_tool([reported(c, "b1", "2012-04-25")], tmp_path).returncode == 0
    until(
        lambda: office.get(f"{base}/progress-reports").json()["items"][0]["reports"],
        lambda reports: reports == 1,
        "b1's report",
    )
    platform.set_clock(at("2012-05-01", "08:00:00"))
    until(lambda: lagging(office, c), lambda found: c.b("b2") in found, "b2 lagging")
    assert lagging(office, c) == {c.b("b2"): ["progress_report_missing"]}
    assert office.get(f"{base}/lagging").json()["items"][0]["progress_report_due"] == "2012-04-30"
    assert office.get(f"{base}/progress-reports").json() == {
        "every_days": 14,
        "items": [
            {
                "org_id": c.b("b1"),
                "name": NAMES["b1"],
                "reports": 1,
                "last_reported_on": "2012-04-25",
                "missing_due": None,
            },
            {
                "org_id": c.b("b2"),
                "name": NAMES["b2"],
                "reports": 0,
                "last_reported_on": None,
                "missing_due": "2012-04-30",
            },
        ],
        "page": 1,
        "page_size": 500,
        "total": 2,
    }
    card = office.get(f"{base}/branches/{c.b('b2')}").json()
    assert card["progress_reports"] == {
        "every_days": 14,
        "last_reported_on": None,
        "missing_due": "2012-04-30",
        "items": [],
    }

    # The annual sheet downloads and opens, with the supervision columns.
    response = office.get(f"{base}/exports/annual-sheet.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["年度目标责任考核"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("党组织编号", "党组织名称")
    assert rows[0][-4:] == (
        "督查次数",
        "督查发现问题",
        "工作进展情况报送次数",
        "工作进展情况逾期未报",
    )
    assert [(row[0], row[1], *row[-4:]) for row in rows[1:]] == [
        (c.b("b1"), NAMES["b1"], 2, 1, 1, "否"),
        (c.b("b2"), NAMES["b2"], 0, 0, 0, "是（2012年4月30日）"),
    ]

    show_the_dashboard(platform, c)

    # The county's token only: a branch's or another county's is refused.
    paths = [
        f"{base}/{p}" for p in ("inspections", "progress-reports", "exports/annual-sheet.xlsx")
    ]
    branch = Api(platform, token(c.county, c.b("b1")))
    other = Api(platform, token("610000"))
    assert [branch.get(p).status_code for p in paths] == [403] * 3
    assert [other.get(p).status_code for p in paths] == [403] * 3
    assert [Api(platform, None).get(p).status_code for p in paths] == [401] * 3

    # A late report clears b2.
    assert publish_with_tool([reported(c, "b2", "2012-05-01")], tmp_path).returncode == 0
    until(lambda: lagging(office, c), lambda found: found == {}, "b2 cleared")
    assert [i["missing_due"] for i in office.get(f"{base}/progress-reports").json()["items"]] == [
        None,
        None,
    ]


def show_the_dashboard(platform: Platform, c: County) -> None:
    """The campaign page's lagging list and link, the supervision page, the card's sections."""
    base = platform.services["reporting"].url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            sign_in(page, base, token(c.county))
            page.click(f"text={NAME}")
            reason = page.locator(f"#lagging tr[data-org='{c.b('b2')}'] .reason")
            assert reason.all_inner_texts() == ["未按时报送工作进展情况（2012年4月30日）"]
            page.click("#supervision-link")
            assert page.inner_text("#supervision-title") == "督查与工作进展"
            assert page.inner_text("#inspections-total") == "2"
            rows = page.locator("#inspections tr.inspection")
            assert [rows.nth(i).get_attribute("data-inspection") for i in range(rows.count())] == [
                "insp-2",
                "insp-1",
            ]
            findings = page.locator("#inspections tr[data-inspection='insp-1'] li.finding")
            assert findings.all_inner_texts() == [
                f"领导重视不够：{FOUND['leadership_attention']}",
                f"值得肯定：{FOUND['commendable']}",
            ]
            assert page.inner_text("#every-days") == "14"
            b2 = f"#progress-reports tr[data-org='{c.b('b2')}']"
            assert page.inner_text(f"{b2} td.reports") == "0"
            assert page.inner_text(f"{b2} td.missing") == "应于2012年4月30日前报送，未报送"
            b1 = f"#progress-reports tr[data-org='{c.b('b1')}']"
            assert page.inner_text(f"{b1} td.last") == "2012年4月25日"
            assert page.inner_text(f"{b1} td.missing") == "—"
            assert "后进" not in page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "supervision.png"), full_page=True)

            download = page.request.get(
                f"{base}/campaigns/{c.campaign_id}/exports/annual-sheet.xlsx"
            )
            assert download.status == 200
            assert load_workbook(io.BytesIO(download.body())).sheetnames == ["年度目标责任考核"]

            page.goto(f"{base}/campaigns/{c.campaign_id}/branches/{c.b('b2')}")
            assert page.inner_text("#progress-missing") == (
                "应于2012年4月30日前报送工作进展情况，未报送"
            )
            page.goto(f"{base}/campaigns/{c.campaign_id}/branches/{c.b('b1')}")
            assert page.locator("#card-inspections li.inspection").count() == 2
        finally:
            browser.close()


def from_reporting(ids: set[str]) -> Any:
    """Dead letters of reporting (notification reads the topic too and may refuse them)."""

    def matches(record: Any) -> bool:
        return (
            header(record, "dlq-service") == "reporting" and json.loads(record.value)["id"] in ids
        )

    return matches


async def test_bad_inspections_are_dead_lettered_with_their_reason_and_change_nothing(
    platform: Platform, admin: asyncpg.Connection, tmp_path: Path
) -> None:
    c = County()
    assert publish_with_tool([launched(c), *registered(c)], tmp_path).returncode == 0

    async def applied() -> bool:
        count = await admin.fetchval(
            "SELECT count(*) FROM reporting.branches WHERE county_code = $1", c.county
        )
        name = await admin.fetchval(
            "SELECT name FROM reporting.campaigns WHERE campaign_id = $1", c.campaign_id
        )
        return bool(count == 3 and name == NAME)

    await eventually(applied, within=60)
    good = inspected(c, "b1", "insp-1", "2012-04-18", "commendable")
    assert publish_with_tool([good], tmp_path).returncode == 0

    async def kept() -> int:
        found: int = await admin.fetchval(
            "SELECT count(*) FROM reporting.inspections WHERE campaign_id = $1", c.campaign_id
        )
        return found

    await eventually(kept, within=60)
    updated_at = await admin.fetchval(
        "SELECT updated_at FROM reporting.campaigns WHERE campaign_id = $1", c.campaign_id
    )

    late = "2012-12-01"  # after every good input: a refused one must not move updated_at
    unknown = inspected(c, "b404", "insp-x", late, "leadership_attention")
    praise = inspected(c, "b2", "insp-y", late, "commendable")
    praise["data"]["findings"][0]["kind"] = "praise"  # not a finding kind of the contract
    expected = {
        unknown["id"]: (
            "rejected_by_rule",
            f"{c.b('b404')} is not a registered organisation of county {c.county}: register it"
            " (org.branch_registered) first",
        ),
        praise["id"]: (
            "invalid_data",
            "data.findings.0.kind: Input should be 'leadership_attention', "
            "'ineffective_measures', 'lagging' or 'commendable'",
        ),
    }
    async with TopicWatcher("supervision.inputs.dlq") as dlq:
        assert publish_with_tool([unknown], tmp_path).returncode == 0
        await produce_raw(
            "supervision.inputs", [(praise["subject"].encode(), json.dumps(praise).encode())]
        )
        found = await dlq.wait_for(from_reporting(set(expected)), count=2, within=60)
        await dlq.drain()
        every = [r for r in dlq.seen if from_reporting(set(expected))(r)]
    dead = {
        json.loads(r.value)["id"]: (header(r, "dlq-reason-code"), header(r, "dlq-reason"))
        for r in found
    }
    assert dead == expected
    assert len(every) == 2  # each dead-lettered once
    assert await kept() == 1
    assert (
        await admin.fetchval(
            "SELECT updated_at FROM reporting.campaigns WHERE campaign_id = $1", c.campaign_id
        )
        == updated_at
    )
