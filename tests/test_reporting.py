"""Reporting end to end: a campaign through the real broker and the other services, the API
compared with exact numbers, token scopes, bad parameters, exports, and a rebuild."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import sync_playwright

from tests.harness import REPO, Platform, publish_with_tool
from tests.scenario import County, at

pytestmark = pytest.mark.usefixtures("platform")

# A county system may send anything in a name: it must show as text, never run or compute.
HOSTILE_NAME = '=HYPERLINK("http://x")<script>window.pwned=1</script>党支部'
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


def reporting_cli(*args: str) -> str:
    env = {**os.environ, "GRASSROOTS_DATABASE_URL": os.environ["REPORTING_DATABASE_URL"]}
    done = subprocess.run(
        [sys.executable, "-m", "reporting.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def token(county: str, branch: str | None = None) -> str:
    return reporting_cli(
        "token",
        "create",
        "--county",
        county,
        "--label",
        "测试",
        *(["--branch", branch] if branch else []),
    )


class Api:
    def __init__(self, platform: Platform, bearer: str | None) -> None:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        self.client = httpx.Client(
            base_url=platform.services["reporting"].url, headers=headers, timeout=10
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)


def scores(value: float) -> dict[str, float]:
    return dict.fromkeys(
        ("leadership", "membership", "mechanism", "performance", "reputation"), value
    )


def grading_inputs(c: County, key: str, value: float, skip: str = "") -> list[dict[str, Any]]:
    base = {"branch_id": c.b(key), "round": "initial", "scores": scores(value)}
    events = [
        c.event("grading.self_evaluated", base, at("2012-04-01")),
        c.event("grading.appraised", {**base, "raters": 30}, at("2012-04-01")),
        c.event("grading.superior_rated", {**base, "rater_org_id": c.committee}, at("2012-04-01")),
    ]
    return [e for e in events if not e["type"].endswith(skip or "-")]


@pytest.fixture(scope="module")
def campaign(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """A small county pushed through grading and rectification, on the test clock."""
    c = County()
    folder = tmp_path_factory.mktemp("reporting")
    platform.set_clock(at("2012-04-10"))
    launch = c.event(
        "campaign.launched",
        {
            "campaign_id": c.campaign_id,
            "name": "报表测试",
            "year": 2012,
            "phases": [
                {"phase": "survey_grading", "opens_on": "2012-03-01", "closes_on": "2012-04-15"},
                {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"},
            ],
        },
        at("2012-03-01"),
    )
    named = c.register("b3")
    named["data"]["name"] = HOSTILE_NAME
    events = [
        launch,
        c.register(None),
        c.register("b1"),
        c.register("b2"),
        named,
        c.register("b4"),
        c.phase_of("survey_grading", "opened", at("2012-03-01")),
        *grading_inputs(c, "b1", 95),
        *grading_inputs(c, "b2", 85),
        *grading_inputs(c, "b3", 65),
        *grading_inputs(c, "b4", 90, skip="self_evaluated"),
        c.phase_of("survey_grading", "closed", at("2012-04-15")),
        c.phase("opened", at("2012-04-16")),
        c.event(
            "rectification.problem_listed",
            {
                "branch_id": c.b("b1"),
                "problem_id": "p1",
                "description": "制度落实不到位",
                "source": "members",
                "needs_superior": False,
            },
            at("2012-04-17"),
        ),
        c.commitment(
            "b1",
            1,
            [c.task("t1", "2012-05-10", "p1"), c.task("t2", "2012-05-20")],
            at("2012-04-20"),
        ),
        c.commitment("b2", 1, [c.task("t3", "2012-05-15")], at("2012-04-20")),
        c.commitment("b3", 1, [c.task("t4", "2012-06-01")], at("2012-04-20")),
        c.review("b1", 1, "approved", at("2012-04-22")),
        c.review("b2", 1, "approved", at("2012-04-22")),
        c.review("b3", 1, "returned", at("2012-04-22"), guidance="请明确时限"),
        c.event(
            "rectification.task_completed",
            {"branch_id": c.b("b1"), "task_id": "t1", "evidence": "台账"},
            at("2012-05-08"),
        ),
        c.event(
            "rectification.task_completed",
            {"branch_id": c.b("b2"), "task_id": "t3", "evidence": "台账"},
            at("2012-05-12"),
        ),
        c.event(
            "emulation.commended",
            {"branch_id": c.b("b1"), "honour": "advanced_organization", "title": "先进基层党组织"},
            at("2012-05-15"),
        ),
        c.event(
            "emulation.activity_reported",
            {
                "branch_id": c.b("b2"),
                "kind": "pairing",
                "title": "结对共建",
                "held_on": "2012-05-16",
            },
            at("2012-05-16"),
        ),
    ]
    assert publish_with_tool(events, folder).returncode == 0
    platform.set_clock(at("2012-05-21", "00:00:00"))  # t2 late; b4's commitment overdue
    try:
        yield c
    finally:
        platform.set_clock(None)


@pytest.fixture(scope="module")
def office(campaign: County, platform: Platform) -> Api:
    return Api(platform, token(campaign.county))


EXPECTED_SUMMARY = {
    "phase": "rectification",
    "branches": 4,
    "levels": {
        "initial": {"strong": 1, "fairly_strong": 1, "average": 1, "weak": 0},
        "final": {"strong": 0, "fairly_strong": 0, "average": 0, "weak": 0},
    },
    "incomplete": {"initial": 1, "final": 0},
    "moved_up": 0,
    "commitments": {"published": 3, "approved": 2, "returned": 1, "missing": 1},
    "tasks": {"total": 4, "completed": 2, "overdue": 1},
    "commendations": 1,
    "activities": 1,
}


def settled_summary(office: Api, campaign: County) -> dict[str, Any]:
    """The summary once the campaign's events are all in (polled, with a deadline)."""
    path = f"/v1/campaigns/{campaign.campaign_id}/summary"
    deadline = time.monotonic() + 45
    while True:
        body: dict[str, Any] = office.get(path).json()
        if all(body.get(key) == value for key, value in EXPECTED_SUMMARY.items()):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"summary never matched; last: {body}")
        time.sleep(0.25)


def test_the_summary_has_the_exact_numbers(office: Api, campaign: County) -> None:
    summary = settled_summary(office, campaign)
    assert summary["campaign_id"] == campaign.campaign_id
    assert summary["county_code"] == campaign.county
    assert summary["updated_at"].endswith("+08:00")


def test_lagging_branches_are_ranked_with_their_reasons(office: Api, campaign: County) -> None:
    settled_summary(office, campaign)
    items = office.get(f"/v1/campaigns/{campaign.campaign_id}/lagging").json()["items"]
    assert [(i["branch_id"], i["reasons"], i["overdue_tasks"]) for i in items] == [
        (campaign.b("b4"), ["commitment_missing", "grading_incomplete"], 0),
        (campaign.b("b1"), ["task_overdue"], 1),
    ]


def test_a_branch_card_shows_grades_problems_commitment_and_task_status(
    office: Api, campaign: County
) -> None:
    settled_summary(office, campaign)
    card = office.get(f"/v1/campaigns/{campaign.campaign_id}/branches/{campaign.b('b1')}").json()
    assert card["grades"]["initial"]["level"] == "strong"
    assert card["grades"]["initial"]["total"] == 95.0
    assert card["grades"]["initial"]["basis"] == "computed"
    assert card["grades"]["final"] is None
    assert [p["problem_id"] for p in card["problems"]] == ["p1"]
    assert card["commitment"] == {
        "commitment_id": f"{campaign.b('b1')}-c",
        "revision": 1,
        "review": "approved",
        "guidance": None,
    }
    assert {t["task_id"]: t["status"] for t in card["tasks"]} == {
        "t1": "completed",
        "t2": "overdue",
    }
    assert [c["honour"] for c in card["commendations"]] == ["advanced_organization"]
    returned = office.get(f"/v1/campaigns/{campaign.campaign_id}/branches/{campaign.b('b3')}")
    assert returned.json()["commitment"]["guidance"] == "请明确时限"
    missing = office.get(f"/v1/campaigns/{campaign.campaign_id}/branches/{campaign.b('b4')}")
    assert missing.json()["incomplete"]["initial"] == ["self"]
    assert missing.json()["commitment_missing"] is True


def test_branch_lists_filter_and_page(office: Api, campaign: County) -> None:
    settled_summary(office, campaign)
    path = f"/v1/campaigns/{campaign.campaign_id}/branches"
    strong = office.get(path, level="strong", round="initial").json()
    assert [row["branch_id"] for row in strong["items"]] == [campaign.b("b1")]
    assert strong["total"] == 1
    first = office.get(path, page=1, page_size=3).json()
    assert (first["total"], len(first["items"])) == (4, 3)
    assert len(office.get(path, page=2, page_size=3).json()["items"]) == 1
    assert office.get(path, page=3, page_size=3).json()["items"] == []
    assert office.get(path, township="城关街道").json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"page": 0}, "query.page"),
        ({"page_size": 501}, "query.page_size"),
        ({"level": "good"}, "query.level"),
        ({"round": "mid"}, "query.round"),
    ],
)
def test_bad_parameters_get_a_4xx_naming_them(
    office: Api, campaign: County, params: dict[str, Any], named: str
) -> None:
    response = office.get(f"/v1/campaigns/{campaign.campaign_id}/branches", **params)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_tokens_are_scoped(platform: Platform, campaign: County, office: Api) -> None:
    summary = f"/v1/campaigns/{campaign.campaign_id}/summary"
    own_card = f"/v1/campaigns/{campaign.campaign_id}/branches/{campaign.b('b2')}"
    other_card = f"/v1/campaigns/{campaign.campaign_id}/branches/{campaign.b('b1')}"
    assert Api(platform, None).get(summary).status_code == 401
    assert Api(platform, "gr_not-a-token").get(summary).status_code == 401
    assert Api(platform, token("610000")).get(summary).status_code == 403
    branch = Api(platform, token(campaign.county, campaign.b("b2")))
    assert branch.get(own_card).status_code == 200
    assert branch.get(other_card).status_code == 403
    assert branch.get(summary).status_code == 403
    revoked = token(campaign.county)
    assert Api(platform, revoked).get(summary).status_code == 200
    reporting_cli("token", "revoke", revoked)
    assert Api(platform, revoked).get(summary).status_code == 401
    assert office.get("/v1/campaigns/no-such-campaign/summary").status_code == 404


def test_exports_have_chinese_headers_and_never_run_formulas(office: Api, campaign: County) -> None:
    settled_summary(office, campaign)
    xlsx = office.get(f"/v1/campaigns/{campaign.campaign_id}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("支部编号", "支部名称", "单位", "乡镇", "初评等次")
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[campaign.b("b1")][4] == "强"
    assert by_id[campaign.b("b3")][1] == "'" + HOSTILE_NAME
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)

    raw = office.get(f"/v1/campaigns/{campaign.campaign_id}/export.csv").content
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][1] == "支部名称" and len(table) == 5
    assert {row[0]: row[1] for row in table[1:]}[campaign.b("b3")].startswith("'=")


def test_a_rebuild_from_the_topics_gives_the_same_answers(
    platform: Platform, office: Api, campaign: County
) -> None:
    settled_summary(office, campaign)
    paths = [
        f"/v1/campaigns/{campaign.campaign_id}/{p}"
        for p in ("summary", "lagging", "branches?page_size=10")
    ]
    paths += [
        f"/v1/campaigns/{campaign.campaign_id}/branches/{campaign.b(k)}"
        for k in ("b1", "b2", "b3", "b4")
    ]
    before = {path: office.client.get(path).json() for path in paths}
    platform.services["reporting"].stop()
    assert reporting_cli("rebuild", "--quiet").startswith("replayed ")
    platform.services["reporting"].start()
    platform.services["reporting"].wait_healthy()
    after = {path: office.client.get(path).json() for path in paths}
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)


def test_the_dashboard_shows_the_api_numbers_and_drills_down_to_a_card(
    platform: Platform, office: Api, campaign: County
) -> None:
    summary = settled_summary(office, campaign)
    lagging = office.get(f"/v1/campaigns/{campaign.campaign_id}/lagging").json()["items"]
    base = platform.services["reporting"].url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"{base}/?token={token(campaign.county)}")  # sets the cookie, redirects
            page.click("text=报表测试")
            assert page.inner_text("#branches") == str(summary["branches"])
            for round_, counts in summary["levels"].items():
                for level, count in counts.items():
                    assert page.text_content(f"#level-{round_}-{level}") == str(count)  # SVG text
            assert page.inner_text("#incomplete-initial") == str(summary["incomplete"]["initial"])
            assert page.inner_text("#moved-up") == str(summary["moved_up"])
            assert page.inner_text("#tasks-overdue") == str(summary["tasks"]["overdue"])
            assert page.inner_text("#commitments-missing") == str(summary["commitments"]["missing"])
            assert page.inner_text("#lagging-count") == str(len(lagging))
            assert page.inner_text("#completion") == "50.0%"
            page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

            assert HOSTILE_NAME in page.inner_text("#branch-table")  # shown as text
            assert page.evaluate("window.pwned") is None  # and never run

            page.click(f"#branch-table a[href$='/{campaign.b('b1')}']")
            assert page.inner_text("#grade-initial") == "强"
            statuses = page.locator("#tasks td[class^=status-]").all_inner_texts()
            assert sorted(statuses) == ["已完成", "已逾期"]
            page.screenshot(path=str(SCREENSHOTS / "branch-card.png"), full_page=True)
        finally:
            browser.close()


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed for the dashboard test (make test installs it)"
    return path


def test_every_endpoint_enforces_the_token_scope_matrix(
    platform: Platform, campaign: County, office: Api
) -> None:
    settled_summary(office, campaign)
    base = f"/v1/campaigns/{campaign.campaign_id}"
    own, other = campaign.b("b2"), campaign.b("b1")
    endpoints = {
        "summary": f"{base}/summary",
        "branches": f"{base}/branches",
        "lagging": f"{base}/lagging",
        "export.xlsx": f"{base}/export.xlsx",
        "export.csv": f"{base}/export.csv",
        "own card": f"{base}/branches/{own}",
        "other card": f"{base}/branches/{other}",
    }
    revoked = token(campaign.county)
    reporting_cli("token", "revoke", revoked)
    holders: dict[str, str | None] = {
        "no token": None,
        "bad token": "gr_0000",
        "revoked token": revoked,
        "other county": token("610000"),
        "own branch": token(campaign.county, own),
        "county": token(campaign.county),
    }
    cards = {"own card", "other card"}
    expected = {
        "no token": dict.fromkeys(endpoints, 401),
        "bad token": dict.fromkeys(endpoints, 401),
        "revoked token": dict.fromkeys(endpoints, 401),
        "other county": dict.fromkeys(endpoints, 403),
        "own branch": {name: 200 if name == "own card" else 403 for name in endpoints},
        "county": dict.fromkeys(endpoints, 200),
    }
    actual = {
        holder: {
            name: Api(platform, bearer).get(path).status_code for name, path in endpoints.items()
        }
        for holder, bearer in holders.items()
    }
    assert actual == expected
    assert cards <= set(endpoints)
