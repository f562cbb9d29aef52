"""What a draft names and how each item reads, and the county configuration — pure rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from grassroots.contract.supervision import Section
from notification.circulars.drafting import (
    CommendationSeen,
    InspectionSeen,
    ReportMissing,
    Source,
    commendation_title,
    draft_items,
    supervision_title,
)
from notification.counties import DEFAULT_FILE, Issuer, load_counties, no_issuer, parse
from notification.domain import LaggingFact, Reason

MAY_18 = dt.date(2012, 5, 18)


def inspection(org: str, on: dt.date, *findings: tuple[str, str], key: str = "i") -> InspectionSeen:
    return InspectionSeen(org, f"{org}党支部", on, findings, Source("inspections", "/o", key))


def test_each_critical_finding_kind_is_an_item_and_its_texts_one_sentence() -> None:
    items = draft_items(
        latest_inspections=[
            inspection(
                "b1",
                MAY_18,
                ("ineffective_measures", "整改措施不具体。"),
                ("leadership_attention", "书记未到会；"),
                ("ineffective_measures", "台账不全"),
                ("commendable", "活动室整洁。"),  # praise comes from commendable_inspections
            )
        ]
    )
    assert [(i.item_id, i.section, i.text) for i in items] == [
        (
            "criticism-b1-leadership_attention",
            Section.CRITICISM,
            "b1党支部在2012年5月18日督查中被发现领导重视不够：书记未到会。",
        ),
        (
            "criticism-b1-ineffective_measures",
            Section.CRITICISM,
            "b1党支部在2012年5月18日督查中被发现措施不力：整改措施不具体；台账不全。",
        ),
    ]


def test_every_lagging_reason_is_an_item_naming_the_organisation_with_its_facts() -> None:
    def fact(org: str, reason: Reason, key: str, **detail: object) -> LaggingFact:
        return LaggingFact(org, f"{org}党支部", reason, key, detail)

    items = draft_items(
        lagging=[
            fact(
                "b2",
                Reason.GRADING_INCOMPLETE,
                "initial",
                round="initial",
                missing=["self", "appraisal"],
            ),
            fact("b2", Reason.COMMITMENT_MISSING, "", due="2012-05-01"),
            fact("b2", Reason.TASK_OVERDUE, "t2", title="乙", deadline="2012-05-12"),
            fact("b2", Reason.TASK_OVERDUE, "t1", title="甲", deadline="2012-05-10"),
            fact("b2", Reason.TASK_OVERDUE, "t1", title="甲", deadline="2012-05-10"),  # twice
            fact(
                "c1",
                Reason.REVIEW_OVERDUE,
                "b2|2",
                branch_name="b2党支部",
                revision=2,
                due="2012-05-25",
            ),
            fact(
                "c1",
                Reason.ESCALATION_UNANSWERED,
                "b2|p-7",
                branch_name="b2党支部",
                problem_id="p-7",
                description=None,
                due="2012-05-22",
            ),
        ],
        missing=[ReportMissing("b2", "b2党支部", dt.date(2012, 5, 10))],
    )
    assert [(i.item_id, i.text) for i in items] == [
        (
            "criticism-b2-task_overdue",
            "b2党支部整改任务逾期2项（甲，2012年5月10日到期；乙，2012年5月12日到期）。",
        ),
        ("criticism-b2-commitment_missing", "b2党支部未按时公开承诺（应于2012年5月1日前公开）。"),
        (
            "criticism-b2-grading_incomplete",
            "b2党支部定级材料不全（分类定级缺党组织自评、党员群众评议）。",
        ),
        (
            "criticism-b2-progress_report_missing",
            "b2党支部未按时报送工作进展情况（应于2012年5月10日前报送）。",
        ),
        (
            "criticism-c1-escalation_unanswered",
            "c1党支部上报问题逾期未答复1项（b2党支部“p-7”，应于2012年5月22日前答复）。",
        ),
        (
            "criticism-c1-review_overdue",
            "c1党支部整改方案逾期未审核1项（b2党支部第2版，应于2012年5月25日前审核）。",
        ),
    ]


def test_praise_is_one_item_per_organisation_for_its_commendations_and_one_for_its_findings() -> (
    None
):
    def commended(key: str, member: str | None, honour: str) -> CommendationSeen:
        return CommendationSeen(
            "b1",
            "b1党支部",
            "教育局党委",
            dt.date(2012, 7, 1),
            honour,
            "七一表彰",
            member,
            Source("commendations", "/o", key),
        )

    items = draft_items(
        commendable=[
            inspection("b1", dt.date(2012, 5, 20), ("commendable", "台账齐全。"), key="i-2"),
            inspection("b1", MAY_18, ("commendable", "活动室整洁。"), ("lagging", "x"), key="i-1"),
        ],
        commended=[
            commended("c-2", "赵老师", "excellent_member"),
            commended("c-1", None, "advanced_organization"),
        ],
    )
    assert [(i.item_id, i.text) for i in items] == [
        (
            "praise-b1-commended",
            "教育局党委于2012年7月1日授予b1党支部“先进基层党组织”称号（七一表彰）；"
            "教育局党委于2012年7月1日授予b1党支部赵老师同志“优秀共产党员”称号（七一表彰）。",
        ),
        (
            "praise-b1-commendable",
            "b1党支部在2012年5月18日督查中工作值得肯定：活动室整洁；"
            "b1党支部在2012年5月20日督查中工作值得肯定：台账齐全。",
        ),
    ]
    assert [s.cause_event_id for s in items[0].sources] == ["c-1", "c-2"]
    assert [s.cause_event_id for s in items[1].sources] == ["i-1", "i-2"]


def test_titles_name_the_campaign_the_phase_or_the_commendations() -> None:
    assert supervision_title(None) == "关于基层组织建设年督查情况的通报"
    assert supervision_title("建设年", "rectification") == (
        "关于建设年“集中整改、晋位升级”阶段督查情况的通报"
    )
    assert (
        commendation_title(["七一表彰", "先进集体", "七一表彰"]) == "关于七一表彰、先进集体的通报"
    )
    assert len(supervision_title("长" * 300)) == 200


def test_a_county_is_configured_by_its_entry_else_by_the_defaults() -> None:
    counties = parse(
        '[counties."610526"]\nissuing_body = "中共蒲城县教育局委员会办公室"\n'
        'document_prefix = "蒲教党办"\n'
        '[defaults]\nissuing_body = "中共某县教育局委员会办公室"\ndocument_prefix = "某教党办"\n'
    )
    pucheng = counties.issuer("610526")
    assert pucheng == Issuer("中共蒲城县教育局委员会办公室", "蒲教党办")
    assert pucheng.document_number(2012, 1) == "蒲教党办〔2012〕1号"
    assert counties.issuer("610527") == Issuer("中共某县教育局委员会办公室", "某教党办")
    assert parse("").issuer("610526") is None
    assert no_issuer("610527") == (
        "county 610527 has no issuing body configured (GRASSROOTS_COUNTIES_FILE)"
    )


def test_the_deployed_configuration_lists_pucheng(tmp_path: Path) -> None:
    deployed = load_counties(DEFAULT_FILE)
    assert deployed.issuer("610526") == Issuer("中共蒲城县教育局委员会办公室", "蒲教党办")
    assert deployed.defaults is None
    assert load_counties(tmp_path / "absent.toml").issuer("610526") is None  # none configured


@pytest.mark.parametrize(
    "text",
    [
        '[counties."610526"]\nissuing_body = "x"\n',  # no prefix
        '[counties."610526"]\nissuing_body = ""\ndocument_prefix = "x"\n',
        '[county."610526"]\nissuing_body = "x"\ndocument_prefix = "x"\n',  # misspelt
        "not toml [",
    ],
)
def test_a_wrong_configuration_is_an_error_not_an_empty_one(text: str) -> None:
    with pytest.raises(ValueError, match="county configuration"):
        parse(text)
