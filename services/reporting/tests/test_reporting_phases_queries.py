"""Phases 3 and 4 read on the real PostgreSQL: events applied as the consumer applies them into
a scratch schema, then the emulation summary, the "four ones" marks, the commendations by
awarding body, the 三级联述联评联考 table, the standing rules, the card and the exports, read by
the API's own queries and shaped by its views (and checked against its response models)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook

from grassroots.contract.examples import CAMPAIGN, CST, DATA, envelope
from grassroots.testing import apply_in_batches, as_records, scratch_schemas
from reporting import api, exports, schemas, views
from reporting.app import DEFINITION
from reporting.store import queries

MIGRATIONS = Path(__file__).parents[1] / "migrations"
NOW = dt.datetime(2012, 10, 1, tzinfo=dt.UTC)
COUNTY = "610526"
COMMITTEE = "610526-edu-committee"
GENERAL = "610526-edu-0100"  # a general branch over B1 and B2
B1, B2, B3, B4, B5 = (f"610526-edu-000{n}" for n in range(1, 6))
T, F = True, False  # the marks of a row, compactly


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schemas("reporting_phases", MIGRATIONS, 1) as pools:
        yield pools[0]


def on(day: str, event_type: str, data: dict[str, Any], clock: str = "09:00:00") -> dict[str, Any]:
    when = dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CST)
    return envelope(event_type, data, time=when)


def registered(branch_id: str, name: str, kind: str, parent_id: str | None) -> dict[str, Any]:
    data = DATA["org.branch_registered"] | {
        "branch_id": branch_id,
        "name": name,
        "kind": kind,
        "parent_id": parent_id,
    }
    return on("2012-03-01", "org.branch_registered", data)


def activity(branch_id: str, kind: str, day: str = "2012-07-10") -> dict[str, Any]:
    data = {"branch_id": branch_id, "kind": kind, "title": f"{kind}活动", "held_on": day}
    return on(day, "emulation.activity_reported", data)


def commended(
    branch_id: str,
    honour: str,
    *,
    by: str | None,
    on_day: str | None,
    member: str | None = None,
    title: str = "局党委“七一”创先争优专项表彰",
) -> dict[str, Any]:
    data: dict[str, Any] = {"branch_id": branch_id, "honour": honour, "title": title}
    if member:
        data["member_name"] = member
    if by:
        data["awarded_by"] = by
    if on_day:
        data["awarded_on"] = on_day
    return on("2012-07-08", "emulation.commended", data)


def appraised(org_id: str, day: str, *groups: tuple[str, int, int, int]) -> dict[str, Any]:
    counts = [
        {"group": g, "satisfied": s, "basically_satisfied": b, "dissatisfied": d}
        for g, s, b, d in groups
    ]
    return on(day, "assessment.org_appraised", {"org_id": org_id, "groups": counts})


REGISTERED = [
    on("2012-03-01", "campaign.launched", DATA["campaign.launched"]),
    registered(COMMITTEE, "蒲城县教育局党委", "committee", None),
    registered(GENERAL, "蒲城县城关镇中心学校党总支", "general_branch", COMMITTEE),
    registered(B1, "城关一小党支部", "branch", GENERAL),
    registered(B2, "城关二小党支部", "branch", GENERAL),
    registered(B3, "尧山中学党支部", "branch", COMMITTEE),
    registered(B4, "罕井中学党支部", "branch", COMMITTEE),
    registered(B5, "椿林中学党支部", "branch", COMMITTEE),
]
EMULATION = [
    # The general branch: both activities itself, the honours through B1 and B2 under it.
    activity(GENERAL, "themed_activity"),
    activity(GENERAL, "innovation_measure"),
    activity(GENERAL, "pairing"),
    # B3: all four by itself.
    activity(B3, "themed_activity"),
    activity(B3, "innovation_measure"),
    activity(B3, "pairing"),
    # B1: two marks; B4: three (an excellent party worker is not one of the four ones).
    activity(B1, "themed_activity"),
    activity(B1, "pairing"),
    activity(B1, "village_visit"),
    activity(B4, "themed_activity"),
    activity(B4, "innovation_measure"),
    activity(B4, "pairing"),
    activity(B4, "pairing", "2012-07-20"),  # a second one covers nothing more
    activity(COMMITTEE, "double_help"),  # the committee is not one of the campaign's
    commended(B1, "advanced_organization", by=COMMITTEE, on_day="2012-07-01"),
    commended(B3, "advanced_organization", by=COMMITTEE, on_day="2012-07-01"),
    commended(B2, "excellent_member", by=COMMITTEE, on_day="2012-06-30", member="张老师"),
    commended(
        B1,
        "excellent_party_worker",
        by=GENERAL,
        on_day="2012-07-05",
        member="李老师",
        title="党总支表彰",
    ),
    commended(B4, "advanced_organization", by=GENERAL, on_day="2012-07-05", title="党总支表彰"),
    commended(B3, "excellent_member", by=None, on_day=None, member="王老师", title="优秀共产党员"),
    commended(B4, "excellent_party_worker", by=None, on_day=None, member="赵老师", title="表彰"),
    on("2012-07-20", "emulation.publicized", DATA["emulation.publicized"] | {"branch_id": B1}),
    on(
        "2012-07-21",
        "emulation.publicized",
        DATA["emulation.publicized"]
        | {
            "branch_id": B1,
            "member_name": "张老师",
            "channel": "education_newspaper",
            "published_on": "2012-07-21",
        },
    ),
    on(
        "2012-07-25",
        "emulation.learning_meeting_held",
        DATA["emulation.learning_meeting_held"] | {"branch_id": B1},
    ),
    on(
        "2012-07-26",
        "emulation.learning_meeting_held",
        DATA["emulation.learning_meeting_held"] | {"branch_id": B3, "target_level": "strong"},
    ),
]
REVIEWED = DATA["assessment.summary_reviewed"] | {"branch_id": B1}
ASSESSMENT = [
    # The later summary review and appraisal arrive first: the later time is kept anyway.
    on("2012-09-02", "assessment.summary_reviewed", REVIEWED),
    on(
        "2012-09-01",
        "assessment.summary_reviewed",
        REVIEWED | {"process_solid": {"answer": "no", "text": "初稿"}},
    ),
    on(
        "2012-09-05",
        "assessment.committee_assessed",
        DATA["assessment.committee_assessed"] | {"branch_id": B1},
    ),
    on("2012-09-10", "assessment.duty_reported", DATA["assessment.duty_reported"]),
    on(
        "2012-09-11",
        "assessment.duty_reported",
        DATA["assessment.duty_reported"]
        | {"org_id": B3, "reporter_name": "周书记", "reported_to": "蒲城县教育局党委"},
    ),
    appraised(COMMITTEE, "2012-09-15", ("branches", 46, 3, 1)),
    appraised(COMMITTEE, "2012-09-12", ("branches", 40, 5, 5)),
    appraised(GENERAL, "2012-09-15", ("members", 10, 1, 1)),
    on(
        "2012-09-20",
        "assessment.annual_reviewed",
        DATA["assessment.annual_reviewed"] | {"comment": "班子团结"},
    ),
    on(
        "2012-09-20",
        "assessment.annual_reviewed",
        DATA["assessment.annual_reviewed"] | {"year": 2011, "grade": "good"},
    ),
    on(
        "2012-09-20",
        "assessment.rule_established",
        DATA["assessment.rule_established"] | {"org_id": B1},
    ),
    on(
        "2012-09-18",
        "assessment.rule_established",
        DATA["assessment.rule_established"]
        | {"org_id": COMMITTEE, "title": "党建工作例会制度", "adopted_on": "2012-09-18"},
    ),
]


async def read(pool: asyncpg.Pool) -> dict[str, Any]:
    """Every view of phases 3 and 4, as the API answers them."""
    async with pool.acquire() as conn:
        campaign = await queries.campaign(conn, CAMPAIGN)
        assert campaign is not None
        total, first = await api.four_ones_view(conn, campaign, limit=4, offset=0)
        _, second = await api.four_ones_view(conn, campaign, limit=4, offset=4)
        branch = await queries.branch(conn, B1)
        assert branch is not None
        card = views.card(
            branch,
            await queries.card(conn, CAMPAIGN, B1),
            await queries.card_lists(conn, CAMPAIGN, B1),
            CAMPAIGN,
        )
        shown = {
            "emulation": await api.emulation_view(conn, campaign),
            "four_ones": {"items": first + second, "page": 1, "page_size": 4, "total": total},
            "first_page": len(first),
            "commendations": await api.commendations_view(conn, campaign),
            "three_level": await api.three_level_view(conn, campaign),
            "standing_rules": await api.standing_rules_view(conn, campaign),
            "card": card,
            "exports": {
                table: await api.phase_table(conn, campaign, table)
                for table in exports.PHASE_TABLES
            },
        }
    schemas.Emulation.model_validate(shown["emulation"])  # what the response models accept
    schemas.FourOnesPage.model_validate(shown["four_ones"])
    schemas.Commendations.model_validate(shown["commendations"])
    schemas.ThreeLevelReview.model_validate(shown["three_level"])
    schemas.StandingRules.model_validate(shown["standing_rules"])
    schemas.Card.model_validate(card)
    return shown


@pytest.fixture
async def shown(pool: asyncpg.Pool) -> dict[str, Any]:
    await apply_in_batches(pool, DEFINITION, as_records(REGISTERED), 100, now=NOW)
    await apply_in_batches(pool, DEFINITION, as_records(EMULATION + ASSESSMENT), 7, now=NOW)
    return await read(pool)


async def test_the_shares_of_the_four_ones_and_of_each_coverage(shown: dict[str, Any]) -> None:
    emulation = shown["emulation"]
    assert emulation["organisations"] == 6  # the general branch and five branches
    assert emulation["four_ones"] == {"all_four": 2, "share": 0.3333}
    coverage = {
        c["activity"]: (
            c["label"],
            c["covered"],
            c["share"],
            [o["branch_id"] for o in c["not_covered"]],
        )
        for c in emulation["coverage"]
    }
    assert coverage == {
        "pairing": ("结对共建", 4, 0.6667, [B2, B5]),
        "village_visit": ("在职党员进村入户", 1, 0.1667, [B2, B3, B4, B5, GENERAL]),
        "double_help": ("双帮双比", 0, 0.0, [B1, B2, B3, B4, B5, GENERAL]),
    }
    assert [c["activity"] for c in emulation["coverage"]] == [
        "pairing",
        "village_visit",
        "double_help",
    ]
    assert emulation["coverage"][0]["not_covered"] == [
        {"branch_id": B2, "name": "城关二小党支部", "kind": "branch"},
        {"branch_id": B5, "name": "椿林中学党支部", "kind": "branch"},
    ]
    assert (emulation["commendations"], emulation["publicity"], emulation["learning_meetings"]) == (
        7,
        2,
        2,
    )


async def test_the_four_marks_of_each_organisation_a_page_at_a_time(
    shown: dict[str, Any],
) -> None:
    page = shown["four_ones"]
    assert (page["total"], shown["first_page"]) == (6, 4)
    marks = {
        item["branch_id"]: tuple(
            item[k]
            for k in (
                "themed_activity",
                "innovation_measure",
                "advanced_organization",
                "excellent_member",
                "all_four",
                "pairing",
                "village_visit",
                "double_help",
            )
        )
        for item in page["items"]
    }
    assert list(marks) == [B1, B2, B3, B4, B5, GENERAL]  # by branch_id
    assert marks == {
        B1: (T, F, T, F, F, T, T, F),
        B2: (F, F, F, T, F, F, F, F),
        B3: (T, T, T, T, T, T, F, F),
        B4: (T, T, T, F, F, T, F, F),
        B5: (F, F, F, F, F, F, F, F),
        GENERAL: (T, T, T, T, T, T, F, F),  # the honours of B1 and B2, directly under it
    }
    general = page["items"][-1]
    assert (general["name"], general["kind"], general["unit"]) == (
        "蒲城县城关镇中心学校党总支",
        "general_branch",
        "蒲城县城关中学",
    )


async def test_commendations_are_listed_by_awarding_body_the_committee_first(
    shown: dict[str, Any],
) -> None:
    listed = shown["commendations"]
    assert listed["total"] == 7
    bodies = [
        (
            body["awarded_by"],
            body["awarded_by_name"],
            [
                (i["branch_id"], i["honour_label"], i["member_name"], i["awarded_on"])
                for i in body["items"]
            ],
        )
        for body in listed["by_awarding_body"]
    ]
    assert bodies == [
        (
            COMMITTEE,
            "蒲城县教育局党委",
            [
                (B2, "优秀共产党员", "张老师", "2012-06-30"),
                (B1, "先进基层党组织", None, "2012-07-01"),
                (B3, "先进基层党组织", None, "2012-07-01"),
            ],
        ),
        (
            GENERAL,
            "蒲城县城关镇中心学校党总支",
            [
                (B1, "优秀党务工作者", "李老师", "2012-07-05"),
                (B4, "先进基层党组织", None, "2012-07-05"),
            ],
        ),
        (
            None,
            "未注明授予单位",
            [
                (B3, "优秀共产党员", "王老师", "2012-07-08"),  # the event's day
                (B4, "优秀党务工作者", "赵老师", "2012-07-08"),
            ],
        ),
    ]
    assert listed["by_awarding_body"][0]["items"][0]["branch_name"] == "城关二小党支部"


async def test_the_three_level_table_computes_the_satisfaction_rates(
    shown: dict[str, Any],
) -> None:
    items = shown["three_level"]["items"]
    assert [(i["org_id"], i["kind"], i["duty_reported"]) for i in items] == [
        (COMMITTEE, "committee", True),
        (B3, "branch", True),
        (GENERAL, "general_branch", False),
    ]  # the committee first, then by org_id
    committee = items[0]
    assert committee["duty_reports"] == [
        {
            "reporter_name": "李明",
            "reported_to": "中共蒲城县委",
            "reported_on": "2012-09-10",
            "document_ref": "蒲教党发〔2012〕21号",
        }
    ]
    assert committee["appraisal"] == {
        "satisfied": 46,
        "basically_satisfied": 3,
        "dissatisfied": 1,
        "total": 50,
        "satisfied_rate": 0.92,
        "satisfied_or_basically_rate": 0.98,
        "groups": [
            {
                "group": "branches",
                "group_label": "基层党组织",
                "satisfied": 46,
                "basically_satisfied": 3,
                "dissatisfied": 1,
            }
        ],
    }  # the later counts of the group, though they came first
    assert committee["annual_review"] == {
        "year": 2012,
        "grade": "excellent",
        "grade_label": "优秀",
        "comment": "班子团结",
    }  # the campaign's year, not 2011
    general = items[2]
    assert general["duty_reports"] == [] and general["annual_review"] is None
    assert (
        general["appraisal"]["satisfied_rate"],
        general["appraisal"]["satisfied_or_basically_rate"],
    ) == (0.8333, 0.9167)
    assert items[1]["appraisal"] is None


async def test_standing_rules_and_the_card(shown: dict[str, Any]) -> None:
    rules = shown["standing_rules"]["items"]
    assert [(r["org_id"], r["name"], r["title"], r["adopted_on"]) for r in rules] == [
        (COMMITTEE, "蒲城县教育局党委", "党建工作例会制度", "2012-09-18"),
        (B1, "城关一小党支部", "党员承诺践诺制度", "2012-09-20"),
    ]
    card = shown["card"]
    assert card["four_ones"] == {
        "themed_activity": True,
        "innovation_measure": False,
        "advanced_organization": True,
        "excellent_member": False,
        "all_four": False,
    }
    assert card["coverage"] == {"pairing": True, "village_visit": True, "double_help": False}
    assert [
        (c["honour"], c["awarded_by"], c["awarded_by_name"], c["awarded_on"])
        for c in card["commendations"]
    ] == [
        ("advanced_organization", COMMITTEE, "蒲城县教育局党委", "2012-07-01"),
        ("excellent_party_worker", GENERAL, "蒲城县城关镇中心学校党总支", "2012-07-05"),
    ]
    assert [(p["channel"], p["channel_label"], p["member_name"]) for p in card["publicity"]] == [
        ("education_website", "教育网", None),
        ("education_newspaper", "教育报", "张老师"),
    ]
    assert card["learning_meetings"] == [
        {
            "held_on": "2012-07-25",
            "target_level": "strong",
            "target_level_label": "强",
            "learned_from": ["蒲城县尧山中学党支部"],
            "summary": "对照先进找差距，确定争先进位目标为“强”。",
        }
    ]
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
        "reviewed_at": "2012-09-02T09:00:00+08:00",
    }  # the later review, though it came first
    assert card["committee_assessment"] == {
        "score": 88.0,
        "level": "fairly_strong",
        "level_label": "较强",
        "comment": "整改扎实，群众满意度明显提高。",
        "assessed_at": "2012-09-05T09:00:00+08:00",
    }


async def test_the_exports_have_chinese_headers_and_the_rows(shown: dict[str, Any]) -> None:
    tables = shown["exports"]
    review = load_workbook(
        io.BytesIO(exports.phase_export("three-level-review", tables["three-level-review"], "xlsx"))
    ).active
    assert review is not None
    rows = list(review.iter_rows(values_only=True))
    assert rows[0] == exports.PHASE_TABLES["three-level-review"][1]
    assert rows[0][3:11] == (
        "专项述职",
        "述职情况",
        "满意",
        "基本满意",
        "不满意",
        "评议人数",
        "满意率",
        "满意和基本满意率",
    )
    assert rows[1] == (
        COMMITTEE,
        "蒲城县教育局党委",
        "党委",
        "是",
        "李明向中共蒲城县委述职（2012年9月10日，蒲教党发〔2012〕21号）",
        46,
        3,
        1,
        50,
        "92%",
        "98%",
        2012,
        "优秀",
        "班子团结",
    )
    assert rows[3][9:11] == ("83.33%", "91.67%")

    coverage = exports.phase_export("coverage", tables["coverage"], "csv")
    table = list(csv.reader(io.StringIO(coverage.decode("utf-8-sig"))))
    assert table[0] == ["活动", "党组织编号", "党组织名称", "类别"]
    assert table[1:3] == [
        ["结对共建", B2, "城关二小党支部", "党支部"],
        ["结对共建", B5, "椿林中学党支部", "党支部"],
    ]
    assert len(table) == 1 + 2 + 5 + 6
    four = tables["four-ones"]
    # The whole county's marks (one aggregate) are the pages' marks (probes per organisation).
    assert four == exports.four_ones_table(shown["four_ones"]["items"])
    assert [row[0] for row in four] == [B1, B2, B3, B4, B5, GENERAL]
    assert four[2][4:] == ["是"] * 6 + ["否", "否"]
    assert [row[0] for row in tables["commendations"]] == [
        "蒲城县教育局党委",
        "蒲城县教育局党委",
        "蒲城县教育局党委",
        "蒲城县城关镇中心学校党总支",
        "蒲城县城关镇中心学校党总支",
        "未注明授予单位",
        "未注明授予单位",
    ]
    assert tables["standing-rules"][0][2:4] == ["党建工作例会制度", "2012年9月18日"]


async def test_delivered_again_nothing_changes(pool: asyncpg.Pool, shown: dict[str, Any]) -> None:
    everything = REGISTERED + EMULATION + ASSESSMENT
    await apply_in_batches(pool, DEFINITION, as_records(everything), 1, now=NOW)
    assert await read(pool) == shown
