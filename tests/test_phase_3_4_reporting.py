"""Phases 3 and 4 end to end on the real broker: a county registers and launches its campaign,
then reports the emulation phase (activities, commendations, publicity, a learning meeting) and
the assessment phase (summary review, the committee's assessment, duty report, appraisals,
annual review, a standing rule). The reporting API gives the exact shares of the "four ones"
and of each coverage with the organisations not covered, the commendations by awarding body,
the 三级联述联评联考 table with the satisfaction rates from the counts; the exports open with
Chinese headers; the dashboard shows the same numbers in zh-CN in Chromium."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import sync_playwright

from tests.harness import Platform, publish_with_tool
from tests.scenario import County, at
from tests.signin import sign_in
from tests.test_reporting import CHROMIUM_FLAGS, SCREENSHOTS, Api, chromium, token, until

pytestmark = pytest.mark.usefixtures("platform")

NAMES = {
    None: "蒲城县教育局党委",
    "g": "城关镇中心学校党总支",
    "b1": "城关一小党支部",
    "b2": "城关二小党支部",
    "b3": "尧山中学党支部",
    "b4": "罕井中学党支部",
    "b5": "城关三小党支部",
}
UNDER_GENERAL = ("b1", "b2", "b5")
SUMMARY = {
    "process_solid": {"answer": "yes", "text": "四个阶段按时推进，资料齐全。"},
    "problems_solved": {"answer": "partly", "text": "三个突出问题解决两个，一个逐步整改中。"},
    "advance_evident": {"answer": "yes", "text": "由“一般”晋位为“较强”。"},
}
SEVENTH_OF_JULY = "局党委“七一”创先争优专项表彰"


def organisations(c: County) -> list[dict[str, Any]]:
    """The committee, a general branch over b1, b2 and b5, and b3, b4 directly under the
    committee: six organisations in the campaign (the committee is not one)."""
    events = []
    for key, name in NAMES.items():
        event = c.register(key)
        event["data"]["name"] = name
        if key == "g":
            event["data"]["kind"] = "general_branch"
        if key in UNDER_GENERAL:
            event["data"]["parent_id"] = c.b("g")
        events.append(event)
    return events


def launched(c: County) -> dict[str, Any]:
    phases = [
        ("survey_grading", "2012-03-01", "2012-04-15"),
        ("rectification", "2012-04-16", "2012-06-30"),
        ("emulation", "2012-07-01", "2012-08-15"),
        ("assessment", "2012-08-16", "2012-09-30"),
    ]
    data = {
        "campaign_id": c.campaign_id,
        "name": "创先争优测试",
        "year": 2012,
        "phases": [{"phase": p, "opens_on": o, "closes_on": e} for p, o, e in phases],
    }
    return c.event("campaign.launched", data, at("2012-03-01"))


def activity(c: County, key: str, kind: str) -> dict[str, Any]:
    data = {
        "branch_id": c.b(key),
        "kind": kind,
        "title": f"{NAMES[key]}活动",
        "held_on": "2012-07-10",
    }
    return c.event("emulation.activity_reported", data, at("2012-07-10"))


def commended(
    c: County, key: str, honour: str, by: str | None, day: str, member: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"branch_id": c.b(key), "honour": honour, "title": SEVENTH_OF_JULY}
    if by:
        data |= {"awarded_by": by, "awarded_on": day}
    if member:
        data["member_name"] = member
    return c.event("emulation.commended", data, at(day))


def appraised(c: County, org_id: str, group: str, counts: tuple[int, int, int]) -> dict[str, Any]:
    satisfied, basically, dissatisfied = counts
    data = {
        "org_id": org_id,
        "groups": [
            {
                "group": group,
                "satisfied": satisfied,
                "basically_satisfied": basically,
                "dissatisfied": dissatisfied,
            }
        ],
    }
    return c.event("assessment.org_appraised", data, at("2012-09-15"))


def phase_inputs(c: County) -> list[dict[str, Any]]:
    """g and b1 complete all four ones (g through b1 and b2 under it); b2 has one mark, b4
    two; pairing covers g, b1, b3 and b5, not b2 and b4."""
    committee = c.committee
    return [
        activity(c, "g", "themed_activity"),
        activity(c, "g", "innovation_measure"),
        activity(c, "g", "pairing"),
        activity(c, "b1", "themed_activity"),
        activity(c, "b1", "innovation_measure"),
        activity(c, "b1", "pairing"),
        activity(c, "b1", "village_visit"),
        activity(c, "b3", "pairing"),
        activity(c, "b4", "themed_activity"),
        activity(c, "b5", "pairing"),
        commended(c, "b1", "advanced_organization", committee, "2012-07-01"),
        commended(c, "b2", "excellent_member", committee, "2012-07-01", "张老师"),
        commended(c, "b1", "excellent_member", c.b("g"), "2012-07-05", "李老师"),
        commended(c, "b4", "advanced_organization", None, "2012-07-08"),
        c.event(
            "emulation.publicized",
            {
                "branch_id": c.b("b1"),
                "member_name": "李老师",
                "title": "李老师：扎根课堂二十年",
                "channel": "education_website",
                "channel_name": "蒲城教育网“创先争优”专栏",
                "published_on": "2012-07-20",
            },
            at("2012-07-20"),
        ),
        c.event(
            "emulation.learning_meeting_held",
            {
                "branch_id": c.b("b1"),
                "held_on": "2012-07-25",
                "target_level": "strong",
                "learned_from": [NAMES["b3"]],
                "summary": "对照先进找差距",
            },
            at("2012-07-25"),
        ),
        c.event(
            "assessment.summary_reviewed",
            {"branch_id": c.b("b1"), **SUMMARY},
            at("2012-09-01"),
        ),
        c.event(
            "assessment.committee_assessed",
            {
                "branch_id": c.b("b1"),
                "score": 88,
                "level": "fairly_strong",
                "comment": "整改扎实，群众满意度明显提高。",
            },
            at("2012-09-05"),
        ),
        c.event(
            "assessment.duty_reported",
            {
                "org_id": committee,
                "reporter_name": "李明",
                "reported_to": "中共蒲城县委",
                "reported_on": "2012-09-10",
                "document_ref": "蒲教党发〔2012〕21号",
            },
            at("2012-09-10"),
        ),
        appraised(c, committee, "branches", (46, 3, 1)),
        appraised(c, c.b("g"), "members", (10, 1, 1)),
        c.event(
            "assessment.annual_reviewed",
            {"org_id": committee, "year": 2012, "grade": "excellent", "comment": "班子团结"},
            at("2012-09-20"),
        ),
        c.event(
            "assessment.rule_established",
            {
                "org_id": c.b("b1"),
                "title": "党员承诺践诺制度",
                "adopted_on": "2012-09-20",
                "document_ref": "城一小党发〔2012〕5号",
            },
            at("2012-09-20"),
        ),
    ]


@pytest.fixture(scope="module")
def county(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> County:
    """Registered and launched first (other topics: no order between them and the inputs),
    then the inputs of phases 3 and 4, all applied."""
    c = County()
    folder = tmp_path_factory.mktemp("phases")
    assert publish_with_tool([launched(c), *organisations(c)], folder).returncode == 0
    office = Api(platform, token(c.county))
    until(
        lambda: office.get(f"/v1/campaigns/{c.campaign_id}/four-ones"),
        lambda response: response.status_code == 200 and response.json()["total"] == 6,
        "the registrations",
    )
    assert publish_with_tool(phase_inputs(c), folder).returncode == 0
    until(
        lambda: office.get(f"/v1/campaigns/{c.campaign_id}/emulation").json(),
        lambda body: (
            (body["commendations"], body["publicity"], body["learning_meetings"]) == (4, 1, 1)
            and body["coverage"][0]["covered"] == 4
        ),
        "the emulation inputs",
    )
    until(
        lambda: office.get(f"/v1/campaigns/{c.campaign_id}/three-level-review").json()["items"],
        lambda items: (
            len(items) == 2 and items[0]["annual_review"] is not None and items[0]["duty_reported"]
        ),
        "the three-level inputs",
    )
    until(
        lambda: office.get(f"/v1/campaigns/{c.campaign_id}/branches/{c.b('b1')}").json(),
        lambda card: (
            card["summary_review"] is not None and card["committee_assessment"] is not None
        ),
        "b1's summary review and assessment",
    )
    until(
        lambda: office.get(f"/v1/campaigns/{c.campaign_id}/standing-rules").json()["items"],
        lambda items: len(items) == 1,
        "the standing rule",
    )
    return c


@pytest.fixture(scope="module")
def office(platform: Platform, county: County) -> Api:
    return Api(platform, token(county.county))


def test_the_shares_of_the_four_ones_and_of_each_coverage(office: Api, county: County) -> None:
    c = county
    body = office.get(f"/v1/campaigns/{c.campaign_id}/emulation").json()
    assert body["organisations"] == 6
    assert body["four_ones"] == {"all_four": 2, "share": 0.3333}
    assert [
        (
            e["activity"],
            e["label"],
            e["covered"],
            e["share"],
            [o["branch_id"] for o in e["not_covered"]],
        )
        for e in body["coverage"]
    ] == [
        ("pairing", "结对共建", 4, 0.6667, [c.b("b2"), c.b("b4")]),
        (
            "village_visit",
            "在职党员进村入户",
            1,
            0.1667,
            [c.b(k) for k in ("b2", "b3", "b4", "b5", "g")],
        ),
        ("double_help", "双帮双比", 0, 0.0, [c.b(k) for k in ("b1", "b2", "b3", "b4", "b5", "g")]),
    ]
    assert body["coverage"][0]["not_covered"] == [
        {"branch_id": c.b("b2"), "name": NAMES["b2"], "kind": "branch"},
        {"branch_id": c.b("b4"), "name": NAMES["b4"], "kind": "branch"},
    ]

    page = office.get(f"/v1/campaigns/{c.campaign_id}/four-ones", page_size=4).json()
    assert (page["total"], [i["branch_id"] for i in page["items"]]) == (
        6,
        [c.b(k) for k in ("b1", "b2", "b3", "b4")],
    )
    rest = office.get(f"/v1/campaigns/{c.campaign_id}/four-ones", page=2, page_size=4).json()
    marks = {i["branch_id"]: i for i in page["items"] + rest["items"]}
    assert [k for k, i in marks.items() if i["all_four"]] == [c.b("b1"), c.b("g")]
    assert {k: i["advanced_organization"] for k, i in marks.items()} == {
        c.b("b1"): True,
        c.b("b2"): False,
        c.b("b3"): False,
        c.b("b4"): True,
        c.b("b5"): False,
        c.b("g"): True,  # b1 under it
    }
    assert marks[c.b("b2")]["excellent_member"] and not marks[c.b("b2")]["themed_activity"]


def test_commendations_are_listed_by_awarding_body(office: Api, county: County) -> None:
    c = county
    body = office.get(f"/v1/campaigns/{c.campaign_id}/commendations").json()
    assert body["total"] == 4
    assert [
        (
            b["awarded_by"],
            b["awarded_by_name"],
            [
                (i["branch_id"], i["honour_label"], i["member_name"], i["awarded_on"])
                for i in b["items"]
            ],
        )
        for b in body["by_awarding_body"]
    ] == [
        (
            c.committee,
            NAMES[None],
            [
                (c.b("b1"), "先进基层党组织", None, "2012-07-01"),
                (c.b("b2"), "优秀共产党员", "张老师", "2012-07-01"),
            ],
        ),
        (c.b("g"), NAMES["g"], [(c.b("b1"), "优秀共产党员", "李老师", "2012-07-05")]),
        (None, "未注明授予单位", [(c.b("b4"), "先进基层党组织", None, "2012-07-08")]),
    ]


def test_the_three_level_table_has_the_satisfaction_rates_from_the_counts(
    office: Api, county: County
) -> None:
    c = county
    items = office.get(f"/v1/campaigns/{c.campaign_id}/three-level-review").json()["items"]
    assert [(i["org_id"], i["name"], i["kind"]) for i in items] == [
        (c.committee, NAMES[None], "committee"),
        (c.b("g"), NAMES["g"], "general_branch"),
    ]
    committee, general = items
    appraisal = committee["appraisal"]
    assert {k: v for k, v in appraisal.items() if k != "groups"} == {
        "satisfied": 46,
        "basically_satisfied": 3,
        "dissatisfied": 1,
        "total": 50,
        "satisfied_rate": 0.92,
        "satisfied_or_basically_rate": 0.98,
    }
    assert [(g["group"], g["group_label"]) for g in appraisal["groups"]] == [
        ("branches", "基层党组织")
    ]
    assert committee["duty_reported"] is True
    assert committee["duty_reports"] == [
        {
            "reporter_name": "李明",
            "reported_to": "中共蒲城县委",
            "reported_on": "2012-09-10",
            "document_ref": "蒲教党发〔2012〕21号",
        }
    ]
    assert committee["annual_review"] == {
        "year": 2012,
        "grade": "excellent",
        "grade_label": "优秀",
        "comment": "班子团结",
    }
    assert (general["duty_reported"], general["annual_review"]) == (False, None)
    assert (
        general["appraisal"]["satisfied_rate"],
        general["appraisal"]["satisfied_or_basically_rate"],
    ) == (0.8333, 0.9167)
    rules = office.get(f"/v1/campaigns/{c.campaign_id}/standing-rules").json()["items"]
    assert rules == [
        {
            "org_id": c.b("b1"),
            "name": NAMES["b1"],
            "title": "党员承诺践诺制度",
            "adopted_on": "2012-09-20",
            "document_ref": "城一小党发〔2012〕5号",
            "summary": None,
        }
    ]


def test_the_card_shows_the_summary_review_and_the_committees_assessment(
    office: Api, county: County
) -> None:
    c = county
    card = office.get(f"/v1/campaigns/{c.campaign_id}/branches/{c.b('b1')}").json()
    assert card["summary_review"] == {
        "process_solid": {
            "answer": "yes",
            "answer_label": "是",
            "text": "四个阶段按时推进，资料齐全。",
        },
        "problems_solved": {
            "answer": "partly",
            "answer_label": "基本",
            "text": "三个突出问题解决两个，一个逐步整改中。",
        },
        "advance_evident": {
            "answer": "yes",
            "answer_label": "是",
            "text": "由“一般”晋位为“较强”。",
        },
        "reviewed_at": "2012-09-01T09:00:00+08:00",
    }
    assert card["committee_assessment"] == {
        "score": 88.0,
        "level": "fairly_strong",
        "level_label": "较强",
        "comment": "整改扎实，群众满意度明显提高。",
        "assessed_at": "2012-09-05T09:00:00+08:00",
    }
    assert card["four_ones"] == dict.fromkeys(
        (
            "themed_activity",
            "innovation_measure",
            "advanced_organization",
            "excellent_member",
            "all_four",
        ),
        True,
    )
    assert card["coverage"] == {"pairing": True, "village_visit": True, "double_help": False}
    assert [
        (h["honour"], h["awarded_by"], h["awarded_by_name"], h["awarded_on"])
        for h in card["commendations"]
    ] == [
        ("advanced_organization", c.committee, NAMES[None], "2012-07-01"),
        ("excellent_member", c.b("g"), NAMES["g"], "2012-07-05"),
    ]
    assert [(p["channel_label"], p["member_name"]) for p in card["publicity"]] == [
        ("教育网", "李老师")
    ]
    assert [(m["target_level_label"], m["learned_from"]) for m in card["learning_meetings"]] == [
        ("强", [NAMES["b3"]])
    ]


def test_the_new_reads_are_for_the_county_token_only(
    platform: Platform, office: Api, county: County
) -> None:
    base = f"/v1/campaigns/{county.campaign_id}"
    paths = [
        f"{base}/{p}"
        for p in (
            "emulation",
            "four-ones",
            "commendations",
            "three-level-review",
            "standing-rules",
            "exports/four-ones.xlsx",
        )
    ]
    branch = Api(platform, token(county.county, county.b("b1")))
    other = Api(platform, token("610000"))
    assert [office.get(p).status_code for p in paths] == [200] * len(paths)
    assert [branch.get(p).status_code for p in paths] == [403] * len(paths)
    assert [other.get(p).status_code for p in paths] == [403] * len(paths)
    assert Api(platform, None).get(paths[0]).status_code == 401
    assert office.get(f"{base}/exports/nothing.xlsx").status_code == 422
    assert office.get(f"{base}/exports/coverage.pdf").status_code == 422


def sheet_rows(office: Api, path: str) -> list[tuple[Any, ...]]:
    response = office.get(path)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


def test_the_exports_open_with_chinese_headers_and_the_rows(office: Api, county: County) -> None:
    c = county
    base = f"/v1/campaigns/{c.campaign_id}/exports"
    four = sheet_rows(office, f"{base}/four-ones.xlsx")
    assert four[0] == (
        "党组织编号",
        "党组织名称",
        "类别",
        "单位",
        "一项党建特色主题活动",
        "一项党建工作创新举措",
        "一批先进党组织",
        "一批优秀共产党员",
        "四个一全部完成",
        "结对共建",
        "在职党员进村入户",
        "双帮双比",
    )
    by_id = {row[0]: row for row in four[1:]}
    assert len(by_id) == 6
    assert by_id[c.b("g")][1:3] == (NAMES["g"], "党总支")
    assert by_id[c.b("b1")][4:] == ("是",) * 7 + ("否",)

    coverage = sheet_rows(office, f"{base}/coverage.xlsx")
    assert coverage[0] == ("活动", "党组织编号", "党组织名称", "类别")
    assert coverage[1:3] == [
        ("结对共建", c.b("b2"), NAMES["b2"], "党支部"),
        ("结对共建", c.b("b4"), NAMES["b4"], "党支部"),
    ]
    assert len(coverage) == 1 + 2 + 5 + 6

    commendations = sheet_rows(office, f"{base}/commendations.xlsx")
    assert commendations[0][:4] == ("授予单位", "党组织编号", "党组织名称", "荣誉")
    assert [(row[0], row[3], row[6]) for row in commendations[1:]] == [
        (NAMES[None], "先进基层党组织", "2012年7月1日"),
        (NAMES[None], "优秀共产党员", "2012年7月1日"),
        (NAMES["g"], "优秀共产党员", "2012年7月5日"),
        ("未注明授予单位", "先进基层党组织", "2012年7月8日"),
    ]

    review = sheet_rows(office, f"{base}/three-level-review.xlsx")
    assert review[0][9:11] == ("满意率", "满意和基本满意率")
    assert review[1][:4] == (c.committee, NAMES[None], "党委", "是")
    assert review[1][5:13] == (46, 3, 1, 50, "92%", "98%", 2012, "优秀")
    assert review[2][9:11] == ("83.33%", "91.67%")

    raw = office.get(f"{base}/standing-rules.csv").content
    assert raw.startswith("\ufeff".encode())
    rules = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rules == [
        ["党组织编号", "党组织名称", "制度名称", "建立日期", "文号", "主要内容"],
        [c.b("b1"), NAMES["b1"], "党员承诺践诺制度", "2012年9月20日", "城一小党发〔2012〕5号", ""],
    ]


def test_the_dashboard_shows_phases_3_and_4_in_chinese(
    platform: Platform, office: Api, county: County
) -> None:
    c = county
    base = platform.services["reporting"].url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            sign_in(page, base, token(c.county))
            page.click("text=创先争优测试")
            page.click("#emulation-link")
            assert page.inner_text("#organisations") == "6"
            assert page.inner_text("#all-four") == "2"
            assert page.inner_text("#four-ones-share") == "33.33%"
            assert page.inner_text("#coverage-share-pairing") == "66.67%"
            assert page.inner_text("#coverage-share-village_visit") == "16.67%"
            assert page.inner_text("#coverage-share-double_help") == "0%"
            not_covered = page.locator("#not-covered-pairing li")
            assert [
                not_covered.nth(i).get_attribute("data-org") for i in range(not_covered.count())
            ] == [c.b("b2"), c.b("b4")]
            assert not_covered.all_inner_texts() == [
                f"{NAMES['b2']}（党支部）",
                f"{NAMES['b4']}（党支部）",
            ]
            marks = page.locator(f"#four-ones tr[data-org='{c.b('g')}'] td.mark")
            assert marks.all_inner_texts() == ["√"] * 6 + ["×", "×"]
            assert page.locator(".awarding-body .body-name").all_inner_texts() == [
                f"{NAMES[None]}（2 项）",
                f"{NAMES['g']}（1 项）",
                "未注明授予单位（1 项）",
            ]
            assert "后进" not in page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "emulation.png"), full_page=True)

            page.goto(f"{base}/campaigns/{c.campaign_id}")
            page.click("#assessment-link")
            row = f"#three-level tr[data-org='{c.committee}']"
            assert page.inner_text(f"{row} td.satisfied-rate") == "92%"
            assert page.inner_text(f"{row} td.satisfied-or-basically-rate") == "98%"
            assert page.inner_text(f"{row} td.duty").startswith("已述职")
            assert page.inner_text(f"{row} td.annual").startswith("2012年度 优秀")
            general = f"#three-level tr[data-org='{c.b('g')}']"
            assert page.inner_text(f"{general} td.satisfied-rate") == "83.33%"
            assert page.inner_text(f"{general} td.satisfied-or-basically-rate") == "91.67%"
            assert page.inner_text(f"{general} td.duty") == "未述职"
            assert page.locator("#standing-rules td.title").all_inner_texts() == [
                "党员承诺践诺制度"
            ]
            assert "后进" not in page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "assessment.png"), full_page=True)

            page.goto(f"{base}/campaigns/{c.campaign_id}/branches/{c.b('b1')}")
            assert page.inner_text("#mark-all_four") == "√"
            assert page.inner_text("#covered-double_help") == "×"
            assert page.inner_text("#answer-process_solid") == "是：四个阶段按时推进，资料齐全。"
            assert (
                page.inner_text("#answer-problems_solved")
                == "基本：三个突出问题解决两个，一个逐步整改中。"
            )
            assert page.inner_text("#answer-advance_evident") == "是：由“一般”晋位为“较强”。"
            assert page.inner_text("#assessment-score") == "88.00"
            assert page.inner_text("#assessment-level") == "较强"
            assert "蒲城教育网“创先争优”专栏" in page.inner_text("#publicity")
            assert page.inner_text("#learning-meetings .target-level") == "强"
            assert "后进" not in page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "branch-card-phases-3-4.png"), full_page=True)

            download = page.request.get(f"{base}/campaigns/{c.campaign_id}/exports/coverage.csv")
            assert download.status == 200 and "结对共建" in download.text()
        finally:
            browser.close()
