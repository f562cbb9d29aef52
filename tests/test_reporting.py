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
from tests.signin import sign_in

pytestmark = pytest.mark.usefixtures("platform")

# A county system may send anything in a name: it must show as text, never run or compute.
HOSTILE_NAME = '=HYPERLINK("http://x")<script>window.pwned=1</script>党支部'
SCREENSHOTS = REPO / ".local" / "screenshots"
NO_PROGRESS_REPORTS = {"progress_report_every_days": 0}
"""These campaigns ask for no progress reports (工作进展情况, issue 16): their lagging lists
are grading's and rectification's alone, whatever the clock says."""
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def reporting_cli(*args: str, timeout: float = 120) -> str:
    env = {**os.environ, "GRASSROOTS_DATABASE_URL": os.environ["REPORTING_DATABASE_URL"]}
    done = subprocess.run(
        [sys.executable, "-m", "reporting.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
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
            "rules": NO_PROGRESS_REPORTS,
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
    # The keyset: following `next` gives the rows of page=, in the same order, then null.
    pages = [office.get(path, page=n, page_size=3).json()["items"] for n in (1, 2)]
    by_page = [row["branch_id"] for items in pages for row in items]
    assert first["next"] == by_page[2]
    second = office.get(path, after=first["next"], page_size=3).json()
    assert [row["branch_id"] for row in second["items"]] == by_page[3:]
    assert (second["total"], second["next"]) == (4, None)
    assert office.get(path, after=by_page[-1]).json()["items"] == []


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
    assert rows[0][:5] == ("党组织编号", "党组织名称", "单位", "乡镇", "分类定级等次")
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[campaign.b("b1")][4] == "强"
    # Text typed as text: shown as written (no apostrophe), never run as a formula.
    assert by_id[campaign.b("b3")][1] == HOSTILE_NAME
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)

    raw = office.get(f"/v1/campaigns/{campaign.campaign_id}/export.csv").content
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][1] == "党组织名称" and len(table) == 5
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
    # It replays every topic of the test broker, which keeps what earlier runs published.
    assert reporting_cli("rebuild", "--quiet", timeout=600).startswith("replayed ")
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
            sign_in(page, base, token(campaign.county))  # sets the cookie, redirects
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


# Grading as the plan means it (issue 13): why a level is what it is, on the card and the
# dashboard, for both rounds; supplementary determination (补充定级); the announced list (公示).
# Grading's results are published straight to `grading.results`, as grading publishes them.

CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")
NO_LEVELS = {"strong": 0, "fairly_strong": 0, "average": 0, "weak": 0}
B2_INITIAL = {
    "leadership": 92.5,
    "membership": 91.0,
    "mechanism": 90.2,
    "performance": 93.1,
    "reputation": 89.2,
}
B2_FINAL = {
    "leadership": 95.0,
    "membership": 92.4,
    "mechanism": 90.0,
    "performance": 91.6,
    "reputation": 93.0,
}
QUOTA = {"rule": "quota", "level": "fairly_strong", "threshold": 0.3}
QUOTA_TEXT = "“强”等次名额已满（30%），定为“较强”"
CAP = {"rule": "upgrade_cap", "level": "fairly_strong", "threshold": 0.8, "completion_rate": 0.7}
CAP_TEXT = "整改完成率 70.00%，未达 80.00%，不得晋位，保持“较强”"
FLOOR = {
    "rule": "floor",
    "level": "average",
    "criterion": "mechanism",
    "score": 58.6,
    "threshold": 60,
}
FLOOR_TEXT = "单项低于底线分：工作机制好 58.60 分，低于 60 分，等次不高于一般"
NO_NUMBERS = {
    "reason": None,
    "criterion": None,
    "score": None,
    "threshold": None,
    "weight": None,
    "previous_total": None,
}
NOT_ANNOUNCED = {"scores", "total", "reason", "override_reason", "veto_reason", "rules", "basis"}


def criteria(*values: float) -> dict[str, float]:
    return dict(zip(CRITERIA, values, strict=True))


def graded(
    c: County, key: str, round_: str, level: str, by: dict[str, float], **why: Any
) -> dict[str, Any]:
    """A grading.branch_graded as the grading service publishes it."""
    data = {
        "branch_id": c.b(key),
        "round": round_,
        "level": level,
        "total": round(sum(by.values()) / len(by), 2),
        "scores": by,
        "basis": "computed",
        "rules": [],
        **why,
    }
    when = at("2012-04-16") if round_ == "initial" else at("2012-09-20")
    return c.event("grading.branch_graded", data, when)


def incomplete(c: County, key: str, missing: list[str]) -> dict[str, Any]:
    data = {"branch_id": c.b(key), "round": "initial", "missing": missing}
    return c.event("grading.branch_incomplete", data, at("2012-04-16"))


def results_published(
    c: County, round_: str, counts: dict[str, int], incomplete: int
) -> dict[str, Any]:
    data = {
        "campaign_id": c.campaign_id,
        "round": round_,
        "counts": NO_LEVELS | counts,
        "incomplete": incomplete,
    }
    return c.event("grading.results_published", data, at("2012-04-16", "09:30:00"))


def launched(c: County, name: str) -> dict[str, Any]:
    window = {"phase": "survey_grading", "opens_on": "2012-03-01", "closes_on": "2012-04-15"}
    data = {
        "campaign_id": c.campaign_id,
        "name": name,
        "year": 2012,
        "phases": [window],
        "rules": NO_PROGRESS_REPORTS,
    }
    return c.event("campaign.launched", data, at("2012-03-01"))


def until(read: Any, done: Any, what: str, within: float = 45) -> Any:
    """Poll `read()` until `done(value)`, or fail naming `what` and the last value."""
    deadline = time.monotonic() + within
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never came; last: {value}")
        time.sleep(0.25)


def keys_of(value: Any) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


@pytest.fixture(scope="module")
def why(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> County:
    """A county whose results say why: a quota-limited branch that is upgrade-capped in the
    final round, a floor, an override with a veto, one incomplete branch; only the initial
    round published."""
    c = County()
    general = c.register("b5")
    general["data"]["kind"] = "general_branch"
    override = {"rule": "override", "level": "average", "reason": "班子不团结"}
    veto = {"rule": "veto", "level": "weak", "reason": "班子成员受到党纪处分"}
    events = [
        launched(c, "定级说明测试"),
        c.register(None),
        *(c.register(key) for key in ("b1", "b2", "b3", "b4")),
        general,
        graded(c, "b1", "initial", "strong", criteria(95, 94, 96, 95, 95)),
        graded(
            c,
            "b2",
            "initial",
            "fairly_strong",
            B2_INITIAL,
            computed_level="strong",
            quota_limited=True,
            rules=[QUOTA],
        ),
        graded(
            c,
            "b3",
            "initial",
            "average",
            criteria(90, 90, 58.6, 90, 90),
            computed_level="average",
            rules=[FLOOR],
        ),
        incomplete(c, "b4", ["appraisal"]),
        graded(
            c,
            "b5",
            "initial",
            "weak",
            criteria(85, 85, 85, 85, 85),
            basis="override",
            computed_level="fairly_strong",
            override_reason="班子不团结",
            veto_reason="班子成员受到党纪处分",
            rules=[override, veto],
        ),
        results_published(c, "initial", dict.fromkeys(NO_LEVELS, 1), 1),
        graded(
            c,
            "b1",
            "final",
            "strong",
            criteria(96, 95, 96, 95, 96),
            previous_level="strong",
            moved_up=False,
            completion_rate=1.0,
            settled=True,
            upgrade_capped=False,
        ),
        graded(
            c,
            "b2",
            "final",
            "fairly_strong",
            B2_FINAL,
            computed_level="strong",
            previous_level="fairly_strong",
            moved_up=False,
            completion_rate=0.7,
            settled=True,
            upgrade_capped=True,
            rules=[CAP],
        ),
    ]
    assert publish_with_tool(events, tmp_path_factory.mktemp("why")).returncode == 0
    return c


@pytest.fixture(scope="module")
def why_office(platform: Platform, why: County) -> Api:
    """The county's token, once every result above is applied."""
    api = Api(platform, token(why.county))
    expected = {
        "levels": {
            "initial": dict.fromkeys(NO_LEVELS, 1),
            "final": NO_LEVELS | {"strong": 1, "fairly_strong": 1},
        },
        "incomplete": {"initial": 1, "final": 0},
    }
    until(
        lambda: api.get(f"/v1/campaigns/{why.campaign_id}/summary").json(),
        lambda body: all(body.get(k) == v for k, v in expected.items()),
        "the results of both rounds",
    )
    until(
        lambda: api.get(f"/v1/campaigns/{why.campaign_id}/rounds/initial/announced"),
        lambda response: response.status_code == 200,
        "the initial round's publication",
    )
    return api


def test_the_card_says_why_for_both_rounds_with_the_numbers(why_office: Api, why: County) -> None:
    def card(key: str) -> dict[str, Any]:
        body: dict[str, Any] = why_office.get(
            f"/v1/campaigns/{why.campaign_id}/branches/{why.b(key)}"
        ).json()
        return body

    b2 = card("b2")
    initial, final = b2["grades"]["initial"], b2["grades"]["final"]
    assert initial["scores"] == B2_INITIAL and final["scores"] == B2_FINAL
    assert (initial["total"], final["total"]) == (91.2, 92.4)
    # Quota-limited in the initial round: why, with the share.
    assert initial["level"] == "fairly_strong" and initial["computed_level"] == "strong"
    assert initial["basis"] == "computed" and initial["quota_limited"] is True
    assert initial["rules"] == [
        NO_NUMBERS | QUOTA | {"completion_rate": None, "missing": None, "text": QUOTA_TEXT}
    ]
    # Upgrade-capped in the final round: why, with the completion rate and the minimum.
    assert final["level"] == "fairly_strong" and final["computed_level"] == "strong"
    assert final["upgrade_capped"] is True and final["quota_limited"] is False
    assert (final["completion_rate"], final["settled"]) == (0.7, True)
    assert final["rules"] == [NO_NUMBERS | CAP | {"missing": None, "text": CAP_TEXT}]
    assert not (initial["supplementary"] or initial["corrected"] or final["supplementary"])

    b3 = card("b3")["grades"]["initial"]
    assert [(r["rule"], r["criterion"], r["score"], r["threshold"]) for r in b3["rules"]] == [
        ("floor", "mechanism", 58.6, 60)
    ]
    assert [r["text"] for r in b3["rules"]] == [FLOOR_TEXT]
    b5 = card("b5")["grades"]["initial"]
    assert (b5["level"], b5["basis"]) == ("weak", "override")
    assert (b5["override_reason"], b5["veto_reason"]) == ("班子不团结", "班子成员受到党纪处分")
    assert [r["text"] for r in b5["rules"]] == [
        "上级党组织调整认定为“一般”：班子不团结",
        "一票否决：班子成员受到党纪处分，定为“薄弱”",
    ]
    assert card("b1")["grades"]["initial"]["rules"] == []  # the computed level, nothing changed
    assert card("b4")["grades"]["initial"] is None


def test_the_exports_have_the_five_criteria_of_both_rounds(why_office: Api, why: County) -> None:
    columns = [
        f"{r}·{c}"
        for r in ("分类定级", "晋位升级复评")
        for c in ("领导班子好", "党员队伍好", "工作机制好", "工作业绩好", "群众反映好")
    ]
    xlsx = why_office.get(f"/v1/campaigns/{why.campaign_id}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:8] == [
        "党组织编号",
        "党组织名称",
        "单位",
        "乡镇",
        "分类定级等次",
        "分类定级总分",
        "晋位升级复评等次",
        "晋位升级复评总分",
    ]
    assert header[-10:] == columns
    by_id = {row[0]: row for row in rows[1:]}
    assert list(by_id[why.b("b2")][-10:]) == [*B2_INITIAL.values(), *B2_FINAL.values()]
    assert list(by_id[why.b("b4")][-10:]) == [None] * 10  # incomplete, never graded

    raw = why_office.get(f"/v1/campaigns/{why.campaign_id}/export.csv").content
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][-10:] == columns
    b3 = next(row for row in table[1:] if row[0] == why.b("b3"))
    assert b3[-10:-5] == ["90.0", "90.0", "58.6", "90.0", "90.0"] and b3[-5:] == [""] * 5


def test_the_announced_list_is_for_every_organisation_of_the_county(
    platform: Platform, why_office: Api, why: County
) -> None:
    path = f"/v1/campaigns/{why.campaign_id}/rounds/initial/announced"
    county = why_office.get(path)
    assert county.status_code == 200
    body = county.json()
    assert (body["round"], body["title"]) == ("initial", "分类定级结果公示")
    assert body["counts"] == dict.fromkeys(NO_LEVELS, 1)
    assert [(i["branch_id"], i["level"], i["level_label"]) for i in body["items"]] == [
        (why.b("b1"), "strong", "强"),
        (why.b("b2"), "fairly_strong", "较强"),
        (why.b("b3"), "average", "一般"),
        (why.b("b5"), "weak", "薄弱"),
    ]  # by level, then name; b4 (incomplete) has no level to announce
    assert {i["kind_label"] for i in body["items"]} == {"党支部", "党总支"}
    assert not keys_of(body) & NOT_ANNOUNCED  # levels only: no scores, no reasons

    branch = Api(platform, token(why.county, why.b("b3")))
    seen = branch.get(path)
    assert seen.status_code == 200 and seen.json() == body
    assert not keys_of(seen.json()) & NOT_ANNOUNCED
    assert branch.get(f"/v1/campaigns/{why.campaign_id}/branches/{why.b('b2')}").status_code == 403

    other = County()
    assert Api(platform, token(other.county, other.b("b1"))).get(path).status_code == 403
    assert Api(platform, token(other.county)).get(path).status_code == 403
    assert Api(platform, None).get(path).status_code == 401

    unpublished = branch.get(f"/v1/campaigns/{why.campaign_id}/rounds/final/announced")
    assert unpublished.status_code == 404
    assert unpublished.json()["code"] == "results_not_published"
    assert unpublished.json()["detail"].startswith("晋位升级复评结果尚未公布")
    bad = why_office.get(f"/v1/campaigns/{why.campaign_id}/rounds/mid/announced")
    assert bad.status_code == 422 and "path.round" in bad.json()["detail"]
    assert (
        why_office.get("/v1/campaigns/no-such-campaign/rounds/initial/announced").status_code == 404
    )


def test_a_supplementary_result_moves_the_branch_from_incomplete_to_its_level(
    platform: Platform, tmp_path: Any
) -> None:
    c = County()
    office = Api(platform, token(c.county))
    summary = f"/v1/campaigns/{c.campaign_id}/summary"
    announced = f"/v1/campaigns/{c.campaign_id}/rounds/initial/announced"
    first = [
        launched(c, "补充定级测试"),
        c.register(None),
        *(c.register(key) for key in ("b1", "b2", "b3")),
        graded(c, "b1", "initial", "strong", criteria(95, 95, 95, 95, 95)),
        graded(c, "b2", "initial", "average", criteria(70, 70, 70, 70, 70)),
        incomplete(c, "b3", ["appraisal"]),
    ]
    assert publish_with_tool(first, tmp_path).returncode == 0
    before = until(
        lambda: office.get(summary).json(),
        lambda s: (
            s.get("incomplete", {}).get("initial") == 1
            and s["levels"]["initial"] == NO_LEVELS | {"strong": 1, "average": 1}
        ),
        "the initial round",
    )
    # Before grading published the round: nothing is announced, and the reason says so.
    early = office.get(announced)
    assert early.status_code == 404 and early.json()["code"] == "results_not_published"
    assert early.json()["detail"].startswith("分类定级结果尚未公布")

    published = [results_published(c, "initial", {"strong": 1, "average": 1}, 1)]
    assert publish_with_tool(published, tmp_path).returncode == 0
    listed = until(lambda: office.get(announced), lambda r: r.status_code == 200, "publication")
    assert [i["branch_id"] for i in listed.json()["items"]] == [c.b("b1"), c.b("b2")]

    # 补充定级: the superior determined b3 alone (the appraisal can no longer be had).
    alone = "党员群众评议无法组织，由上级党组织单独评定"
    supplementary = graded(
        c,
        "b3",
        "initial",
        "average",
        criteria(72, 70, 74, 71, 73),
        basis="override",
        computed_level="fairly_strong",
        override_reason=alone,
        supplementary=True,
        rules=[
            {"rule": "override", "level": "average", "reason": alone},
            {"rule": "supplementary", "level": "average", "missing": ["appraisal"]},
        ],
    )
    assert publish_with_tool([supplementary], tmp_path).returncode == 0
    after = until(
        lambda: office.get(summary).json(),
        lambda s: s["incomplete"]["initial"] == 0,
        "the supplementary result",
    )
    assert after["incomplete"]["initial"] == before["incomplete"]["initial"] - 1
    assert after["levels"]["initial"] == before["levels"]["initial"] | {
        "average": before["levels"]["initial"]["average"] + 1
    }
    card_path = f"/v1/campaigns/{c.campaign_id}/branches/{c.b('b3')}"
    card = office.get(card_path).json()
    grade = card["grades"]["initial"]
    assert (grade["level"], grade["supplementary"], grade["basis"]) == ("average", True, "override")
    assert card["incomplete"]["initial"] == []
    assert [r["text"] for r in grade["rules"]] == [
        f"上级党组织调整认定为“一般”：{alone}",
        "补充定级，由上级党组织单独评定（缺：党员群众评议）",
    ]
    assert [i["branch_id"] for i in office.get(announced).json()["items"]] == [
        c.b("b1"),
        c.b("b2"),
        c.b("b3"),
    ]

    # Delivered again, repeated with another id and level, the old notice again: nothing
    # changes. A final-round result for the same branch (same partition, after them) tells
    # when they were all applied.
    repeated = graded(
        c, "b3", "initial", "strong", criteria(95, 95, 95, 95, 95), supplementary=True
    )
    marker = graded(c, "b3", "final", "average", criteria(75, 75, 75, 75, 75))
    again = [supplementary, repeated, incomplete(c, "b3", ["appraisal"]), marker]
    assert publish_with_tool(again, tmp_path).returncode == 0
    until(
        lambda: office.get(card_path).json()["grades"]["final"],
        lambda final: final is not None,
        "the marker",
    )
    settled = office.get(summary).json()
    assert settled["levels"]["initial"] == after["levels"]["initial"]
    assert settled["incomplete"] == after["incomplete"]
    assert office.get(card_path).json()["grades"]["initial"] == grade


def test_the_dashboard_card_shows_the_five_criteria_of_both_rounds_and_why(
    platform: Platform, why_office: Api, why: County
) -> None:
    base = platform.services["reporting"].url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            sign_in(page, base, token(why.county))
            page.click("text=定级说明测试")
            shown = page.inner_text("body")
            assert "工作滞后的党组织" in shown and "党组织一览" in shown
            assert not any(word in shown for word in ("后进", "初评", "终评"))

            page.click("#announced-initial")
            assert page.inner_text("#announced-title") == "分类定级结果公示"
            rows = page.locator("#announced tr[data-branch]")
            assert [rows.nth(i).get_attribute("data-branch") for i in range(rows.count())] == [
                why.b(key) for key in ("b1", "b2", "b3", "b5")
            ]
            assert page.locator("#announced td.level").all_inner_texts() == [
                "强",
                "较强",
                "一般",
                "薄弱",
            ]
            page.screenshot(path=str(SCREENSHOTS / "announced.png"), full_page=True)

            page.goto(f"{base}/campaigns/{why.campaign_id}/branches/{why.b('b2')}")
            for round_, scores in (("initial", B2_INITIAL), ("final", B2_FINAL)):
                for criterion, value in scores.items():
                    assert page.inner_text(f"#score-{round_}-{criterion}") == f"{value:.2f}"
            assert page.inner_text("#total-initial") == "91.20"
            assert page.inner_text("#total-final") == "92.40"
            assert page.inner_text("#grade-initial") == page.inner_text("#grade-final") == "较强"
            assert page.inner_text("#computed-final") == "强"
            assert page.locator("#rules-initial li.rule").all_inner_texts() == [QUOTA_TEXT]
            assert page.locator("#rules-final li.rule").all_inner_texts() == [CAP_TEXT]
            page.screenshot(path=str(SCREENSHOTS / "branch-card-why.png"), full_page=True)

            page.goto(f"{base}/campaigns/{why.campaign_id}/branches/{why.b('b3')}")
            assert page.locator("#rules-initial li.rule").all_inner_texts() == [FLOOR_TEXT]

            # A branch's secretary sees the announced list, not the others' cards.
            secretary = browser.new_page(locale="zh-CN")
            sign_in(secretary, base, token(why.county, why.b("b3")))
            secretary.click("a[href$='/rounds/initial/announced']")
            assert secretary.locator("#announced td.level").count() == 4
            secretary.goto(f"{base}/campaigns/{why.campaign_id}/rounds/final/announced")
            assert secretary.inner_text("#not-published") == "晋位升级复评结果尚未公布"
        finally:
            browser.close()


# Problems followed through (issue 14): where each problem stands and the superior's answer on
# the card, the plan's every revision and review, the summary's problem counts, superiors in
# the lagging list for their own reasons. Rectification's results are published straight to
# `rectification.results`, as rectification publishes them; the rectification service is
# paused meanwhile, so that the only results about this county are the ones published here.

GUIDANCE = "群众反映的交通问题未纳入整改，请补充或说明暂缓理由"
DEFERRED = "需交警部门统一规划，列入下年度计划"
ACTION = "局党委协调腾出两间教室作为党员活动室"


def problem_listed(c: County, key: str, problem_id: str, source: str, needs: bool) -> Any:
    data = {
        "branch_id": c.b(key),
        "problem_id": problem_id,
        "description": f"问题{problem_id}",
        "source": source,
        "needs_superior": needs,
    }
    return c.event("rectification.problem_listed", data, at("2012-04-17"))


def problem_updated(c: County, problem_id: str, day: str, **data: Any) -> dict[str, Any]:
    """A rectification.problem_updated about b1's problem, as rectification publishes it."""
    fields = {"branch_id": c.b("b1"), "problem_id": problem_id, **data}
    return c.event("rectification.problem_updated", fields, at(day))


class Followed:
    """A county whose b1 listed three problems raised by members and the public (one needing
    the superior), had revision 1 returned and revision 2 approved, and whose b2 waits for its
    review; and the results and inputs that later answer the superior's part."""

    def __init__(self) -> None:
        c = self.county = County()
        waiting = {"to_org_id": c.committee}
        self.accepted = {**waiting, "answer": "accepted", "action": ACTION, "due": "2012-06-15"}
        self.first = [
            launched(c, "问题整改测试"),
            c.register(None),
            c.register("b1"),
            c.register("b2"),
            problem_listed(c, "b1", "p1", "public", False),
            problem_listed(c, "b1", "p2", "public", False),
            problem_listed(c, "b1", "p3", "members", True),
            c.commitment("b1", 1, [c.task("t1", "2012-05-30", "p1")], at("2012-04-20")),
            c.review("b1", 1, "returned", at("2012-04-22"), guidance=GUIDANCE),
            c.commitment(
                "b1",
                2,
                [c.task("t1", "2012-05-30", "p1"), c.task("t2", "2012-06-10")],
                at("2012-04-25"),
            ),
            c.review("b1", 2, "approved", at("2012-04-27", "10:00:00")),
            c.commitment("b2", 1, [c.task("t3", "2012-05-30")], at("2012-04-20")),
            c.event(
                "rectification.problem_escalated",
                {"branch_id": c.b("b1"), "problem_id": "p3", "to_org_id": c.committee},
                at("2012-04-17", "09:00:01"),
            ),
            problem_updated(c, "p3", "2012-04-17", status="open", escalation=waiting),
            problem_updated(c, "p1", "2012-04-27", status="in_rectification", task_id="t1"),
            problem_updated(c, "p2", "2012-04-27", status="deferred", reason=DEFERRED),
            c.event(
                "rectification.review_overdue",
                {
                    "branch_id": c.b("b2"),
                    "commitment_id": f"{c.b('b2')}-c",
                    "revision": 1,
                    "reviewer_org_id": c.committee,
                    "due": "2012-04-25",
                },
                at("2012-04-26"),
            ),
            c.event(
                "rectification.escalation_overdue",
                {
                    "branch_id": c.b("b1"),
                    "problem_id": "p3",
                    "to_org_id": c.committee,
                    "due": "2012-04-27",
                },
                at("2012-04-28"),
            ),
        ]
        self.answers = [
            problem_updated(c, "p3", "2012-05-02", status="open", escalation=self.accepted),
            c.review("b2", 1, "approved", at("2012-05-03")),
            problem_updated(
                c, "p1", "2012-05-10", status="resolved", task_id="t1", evidence="食堂整改验收合格"
            ),
            problem_updated(
                c,
                "p3",
                "2012-06-10",
                status="resolved",
                evidence="两间活动室已启用",
                escalation=self.accepted,
            ),
            c.event(  # 2 immediate tasks completed, 1 gradual not yet due: 100 %
                "rectification.branch_settled",
                {
                    "branch_id": c.b("b2"),
                    "tasks_total": 3,
                    "tasks_completed": 2,
                    "tasks_overdue": 0,
                    "tasks_on_track": 1,
                    "completion_rate": 1.0,
                },
                at("2012-07-01"),
            ),
        ]


@pytest.fixture(scope="module")
def followed(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Followed]:
    """The county's first events applied (rectification paused until the module ends)."""
    rectification = platform.services["rectification"]
    rectification.stop()
    try:
        f = Followed()
        assert publish_with_tool(f.first, tmp_path_factory.mktemp("followed")).returncode == 0
        office = Api(platform, token(f.county.county))
        until(
            lambda: office.get(f"/v1/campaigns/{f.county.campaign_id}/summary").json(),
            lambda s: (
                s.get("problems", {}).get("deferred") == 1
                and s["escalations"]["overdue"] == 1
                and s["commitments"] == {"published": 2, "approved": 1, "returned": 0, "missing": 0}
            ),
            "the first events",
        )
        until(
            lambda: office.get(f"/v1/campaigns/{f.county.campaign_id}/lagging").json()["items"],
            lambda items: (
                [i["reasons"] for i in items] == [["escalation_unanswered", "review_overdue"]]
            ),
            "the overdue notices",
        )
        yield f
    finally:
        rectification.start()
        rectification.wait_healthy()


def answer(platform: Platform, f: Followed, folder: Any) -> Api:
    """The superior answers and reviews, b1's problems are resolved; the county's token once
    all of it is applied (publishing again changes nothing: same events, same ids)."""
    assert publish_with_tool(f.answers, folder).returncode == 0
    office = Api(platform, token(f.county.county))
    until(
        lambda: office.get(f"/v1/campaigns/{f.county.campaign_id}/summary").json(),
        lambda s: s["problems"]["resolved"] == 2 and s["commitments"]["approved"] == 2,
        "the answers",
    )
    until(
        lambda: office.get(f"/v1/campaigns/{f.county.campaign_id}/branches/{f.county.b('b2')}"),
        lambda card: card.json()["settlement"] is not None,
        "b2's settlement",
    )
    return office


@pytest.fixture(scope="module")
def answered(
    platform: Platform, followed: Followed, tmp_path_factory: pytest.TempPathFactory
) -> Api:
    return answer(platform, followed, tmp_path_factory.mktemp("answered"))


def test_a_superior_is_lagging_until_it_answers_and_reviews(
    platform: Platform, followed: Followed, tmp_path: Any
) -> None:
    c = followed.county
    office = Api(platform, token(c.county))
    lagging = office.get(f"/v1/campaigns/{c.campaign_id}/lagging").json()["items"]
    assert lagging == [
        {
            "branch_id": c.committee,
            "name": "党委",
            "township": None,
            "reasons": ["escalation_unanswered", "review_overdue"],
            "overdue_tasks": 0,
            "escalations_unanswered": 1,
            "reviews_overdue": 1,
            "level": None,
            "progress_report_due": None,
        }
    ]
    summary = office.get(f"/v1/campaigns/{c.campaign_id}/summary").json()
    assert summary["problems"] == {
        "total": 3,
        "open": 1,
        "in_rectification": 1,
        "resolved": 0,
        "deferred": 1,
    }
    assert summary["prominent_problems"] == {"total": 3, "resolved": 0}
    assert summary["escalations"] == {"total": 1, "answered": 0, "waiting": 1, "overdue": 1}
    card = office.get(f"/v1/campaigns/{c.campaign_id}/branches/{c.b('b1')}").json()
    p3 = next(p for p in card["problems"] if p["problem_id"] == "p3")
    assert (p3["escalation"]["answer_label"], p3["escalation"]["overdue"]) == ("待答复", True)
    assert p3["escalation"]["text"] == "待答复（应于2012年4月27日前答复，已逾期）"

    base = platform.services["reporting"].url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            sign_in(page, base, token(c.county))
            page.goto(f"{base}/campaigns/{c.campaign_id}")
            reasons = page.locator(f"#lagging tr[data-org='{c.committee}'] .reason")
            assert reasons.all_inner_texts() == [
                "上报问题逾期未答复（1）",
                "整改方案逾期未审核（1）",
            ]
            assert page.inner_text("#escalations-overdue") == "1"
            page.screenshot(path=str(SCREENSHOTS / "lagging-superior.png"), full_page=True)
        finally:
            browser.close()

    office = answer(platform, followed, tmp_path)
    assert office.get(f"/v1/campaigns/{c.campaign_id}/lagging").json()["items"] == []


def test_the_card_shows_each_problem_and_the_whole_plan_history(
    answered: Api, followed: Followed
) -> None:
    c = followed.county
    card = answered.get(f"/v1/campaigns/{c.campaign_id}/branches/{c.b('b1')}").json()
    problems = {p["problem_id"]: p for p in card["problems"]}
    assert {k: (p["status"], p["status_label"]) for k, p in problems.items()} == {
        "p1": ("resolved", "已解决"),
        "p2": ("deferred", "暂缓整改"),
        "p3": ("resolved", "已解决"),
    }
    assert (problems["p1"]["task_id"], problems["p1"]["task_title"]) == ("t1", "整改任务t1")
    assert problems["p1"]["evidence"] == "食堂整改验收合格"
    assert problems["p2"]["reason"] == DEFERRED and problems["p2"]["escalation"] is None
    assert problems["p3"]["evidence"] == "两间活动室已启用"
    escalation = problems["p3"]["escalation"]
    assert {k: escalation[k] for k in ("to_org_id", "to_org_name", "answer", "action", "due")} == {
        "to_org_id": c.committee,
        "to_org_name": "党委",
        "answer": "accepted",
        "action": ACTION,
        "due": "2012-06-15",
    }
    assert escalation["answered_at"] == "2012-05-02T09:00:00+08:00"  # when it first came
    assert escalation["text"] == f"已受理：{ACTION}，2012年6月15日前完成（2012年5月2日答复）"
    assert escalation["overdue"] is False

    history = card["plan_history"]
    assert [(h["revision"], h["task_count"], h["published_at"]) for h in history] == [
        (1, 1, "2012-04-20T09:00:00+08:00"),
        (2, 2, "2012-04-25T09:00:00+08:00"),
    ]
    assert [t["task_id"] for t in history[1]["tasks"]] == ["t1", "t2"]
    assert history[0]["tasks"][0]["problem_id"] == "p1"
    reviews = [
        [
            (r["decision"], r["reviewer_org_id"], r["reviewed_at"], r["guidance"])
            for r in h["reviews"]
        ]
        for h in history
    ]
    assert reviews == [
        [("returned", c.committee, "2012-04-22T09:00:00+08:00", GUIDANCE)],
        [("approved", c.committee, "2012-04-27T10:00:00+08:00", None)],
    ]
    assert (
        history[0]["reviews"][0]["text"] == f"已退回（党委，2012年4月22日），指导意见：{GUIDANCE}"
    )
    assert card["commitment"] == {
        "commitment_id": f"{c.b('b1')}-c",
        "revision": 2,
        "review": "approved",
        "guidance": None,
    }
    b2 = answered.get(f"/v1/campaigns/{c.campaign_id}/branches/{c.b('b2')}").json()
    assert [[r["decision"] for r in h["reviews"]] for h in b2["plan_history"]] == [["approved"]]
    assert b2["plan_history"][0]["review_overdue"] is None  # reviewed at last
    assert b2["settlement"] == {
        "tasks_total": 3,
        "tasks_completed": 2,
        "tasks_overdue": 0,
        "tasks_on_track": 1,
        "completion_rate": 1.0,
    }
    assert card["settlement"] is None  # b1 not settled


def test_the_summary_counts_problems_and_escalations(answered: Api, followed: Followed) -> None:
    summary = answered.get(f"/v1/campaigns/{followed.county.campaign_id}/summary").json()
    assert summary["problems"] == {
        "total": 3,
        "open": 0,
        "in_rectification": 0,
        "resolved": 2,
        "deferred": 1,
    }
    assert summary["prominent_problems"] == {"total": 3, "resolved": 2}
    assert summary["escalations"] == {"total": 1, "answered": 1, "waiting": 0, "overdue": 0}


def test_the_dashboard_card_shows_the_problems_and_the_plan_history(
    platform: Platform, answered: Api, followed: Followed
) -> None:
    c = followed.county
    summary = answered.get(f"/v1/campaigns/{c.campaign_id}/summary").json()
    base = platform.services["reporting"].url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            sign_in(page, base, token(c.county))
            page.click("text=问题整改测试")
            for status, count in summary["problems"].items():
                assert page.inner_text(f"#problems-{status}") == str(count)
            assert page.inner_text("#prominent-resolved") == "2"
            assert page.inner_text("#prominent-total") == "3"
            assert page.inner_text("#escalations-answered") == "1"
            assert page.inner_text("#escalations-waiting") == "0"
            assert page.inner_text("#lagging-count") == "0"

            page.goto(f"{base}/campaigns/{c.campaign_id}/branches/{c.b('b1')}")
            statuses = page.locator("#problems tr[data-problem] td.status").all_inner_texts()
            assert statuses == ["已解决", "暂缓整改", "已解决"]
            assert "暂缓理由：" + DEFERRED in page.inner_text("#problems tr[data-problem='p2']")
            answer_cell = page.inner_text("#problems tr[data-problem='p3'] td.escalation")
            assert answer_cell.startswith("党委：已受理：") and "2012年6月15日前完成" in answer_cell
            first = page.locator("#plan-history li[data-revision='1'] li.review")
            second = page.locator("#plan-history li[data-revision='2'] li.review")
            assert first.all_inner_texts() == [
                f"已退回（党委，2012年4月22日），指导意见：{GUIDANCE}"
            ]
            assert second.all_inner_texts() == ["已通过（党委，2012年4月27日）"]
            assert page.inner_text("#plan-history li[data-revision='2'] .task-count") == "2"
            shown = page.inner_text("body")
            assert not any(word in shown for word in ("后进", "初评", "终评"))
            page.screenshot(path=str(SCREENSHOTS / "branch-card-problems.png"), full_page=True)

            page.goto(f"{base}/campaigns/{c.campaign_id}/branches/{c.b('b2')}")
            assert page.inner_text("#on-track") == "1"
            assert "整改完成率 100.00%" in page.inner_text("#settlement")
        finally:
            browser.close()
