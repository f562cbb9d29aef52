"""Messages: every kind renders in Chinese with its facts; HTML is escaped; mail and webhook
requests carry what receivers need (Message-ID, signature, idempotency key)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from grassroots.contract.grading import AppliedRule, BranchGraded
from notification.channels import EmailSender, sign
from notification.config import NotificationSettings
from notification.domain import DOCUMENTS, Addressee, Kind
from notification.rendering import cn_date, number, percent, render

TODAY = dt.date(2012, 5, 20)
TO = Addressee("610526-edu-0007", "城关中学党支部", "王建国", "wang@example.org")

FACTS: dict[Kind, dict[str, Any]] = {
    Kind.GRADING_RESULT: {  # every field of the event, as the handler gives them
        **dict.fromkeys(BranchGraded.model_fields),
        "branch_name": "城关中学党支部",
        "round": "final",
        "level": "strong",
        "total": 91.256,
        "scores": dict.fromkeys(
            ("leadership", "membership", "mechanism", "performance", "reputation"), 90.0
        ),
        "basis": "computed",
        "override_reason": None,
        "moved_up": True,
        "previous_level": "fairly_strong",
        "corrected": None,
        "supplementary": False,
        "rules": [],
    },
    Kind.GRADING_INCOMPLETE: {
        "branch_name": "城关中学党支部",
        "round": "initial",
        "missing": ["self", "superior"],
    },
    Kind.PHASE_OPENED: {"phase": "survey_grading", "opened_on": "2012-03-01", "closes_on": None},
    Kind.PHASE_CLOSING: {"phase": "assessment", "closes_on": "2012-09-30", "days_left": 7},
    Kind.COMMITMENT_DUE: {"branch_name": "城关中学党支部", "due_on": "2012-05-01", "days_left": 1},
    Kind.COMMITMENT_RETURNED: {
        "branch_name": "城关中学党支部",
        "revision": 2,
        "guidance": "请细化整改措施",
    },
    Kind.TASK_OVERDUE: {
        "branch_name": "城关中学党支部",
        "task_id": "t-1",
        "title": "更新党员活动室",
        "deadline": "2012-05-10",
        "responsible": "张主任",
    },
    Kind.OVERDUE_ESCALATED: {
        "branch_name": "城关中学党支部",
        "task_id": "t-1",
        "title": None,
        "deadline": "2012-05-10",
        "responsible": "张主任",
        "days_overdue": 9,
    },
    Kind.CIRCULAR: {  # a circular the office signed off, as the sign-off's handler gives it
        "circular_id": "circular-pucheng-edu-2012-2012-05-18",
        "title": "关于蒲城县教育系统基层组织建设年督查情况的通报",
        "as_of": "2012-05-18",
        "issuing_body": "中共蒲城县教育局委员会办公室",
        "document_number": "蒲教党办〔2012〕3号",
        "year": 2012,
        "number": 3,
        "signed_by": "李明",
        "signed_on": "2012-05-20",
        "sections": [
            {
                "section": "criticism",
                "entries": [
                    {
                        "item_id": "criticism-610526-edu-0007-leadership_attention",
                        "org_id": "610526-edu-0007",
                        "basis": "leadership_attention",
                        "text": "城关中学党支部在2012年5月18日督查中被发现领导重视不够：整改台账缺失。",
                    }
                ],
            }
        ],
    },
    Kind.CIRCULAR_DRAFTED: {
        "circular_id": "circular-pucheng-edu-2012-2012-05-18",
        "title": "关于蒲城县教育系统基层组织建设年督查情况的通报",
        "trigger": "weekly",
        "as_of": "2012-05-18",
        "praise": 1,
        "criticism": 2,
        "refused": False,
    },
    Kind.CIRCULAR_SIGN_OFF_DUE: {
        "circular_id": "circular-pucheng-edu-2012-2012-05-18",
        "title": "关于蒲城县教育系统基层组织建设年督查情况的通报",
        "drafted_on": "2012-05-17",
        "days": 3,
    },
    Kind.COMMENDATION: {  # told to the organisation commended (not a committee's)
        "scope": "organisation",
        "branch_name": "城关中学党支部",
        "honour": "advanced_organization",
        "title": "先进基层党组织",
        "member_name": None,
        "awarded_by": "610526-edu-general-01",
        "awarded_by_name": "城关镇学区党总支",
        "awarded_on": "2012-06-28",
    },
    Kind.PROBLEM_ESCALATED: {
        "branch_name": "城关中学党支部",
        "problem_id": "p-1",
        "description": "党员活动室设施陈旧",
        "source": "public",
        "to_org_id": "610526-edu-committee",
        "escalated_on": "2012-05-20",
        "answer_days": 10,
        "answer_due": "2012-05-30",
    },
    Kind.REVIEW_REQUESTED: {
        "branch_name": "城关中学党支部",
        "commitment_id": "c-0007",
        "revision": 2,
        "tasks_total": 3,
        "kinds": {"immediate": 2, "gradual": 1},
        "tasks": [
            {
                "task_id": f"t-{n}",
                "title": title,
                "responsible": "张主任",
                "deadline": "2012-06-30",
                "kind": kind,
            }
            for n, (title, kind) in enumerate(
                (("更新党员活动室", "immediate"), ("健全三会一课", "immediate")), start=1
            )
        ]
        + [
            {
                "task_id": "t-3",
                "title": "建设党员活动阵地",
                "responsible": "李校长",
                "deadline": "2012-09-30",
                "kind": "gradual",
            }
        ],
        "published_on": "2012-05-20",
        "review_days": 5,
        "review_due": "2012-05-25",
    },
    Kind.ESCALATION_OVERDUE: {
        "branch_name": "城关中学党支部",
        "problem_id": "p-1",
        "description": "党员活动室设施陈旧",
        "to_org_id": "610526-edu-committee",
        "due": "2012-05-30",
    },
    Kind.REVIEW_OVERDUE: {
        "branch_name": "城关中学党支部",
        "commitment_id": "c-0007",
        "revision": 2,
        "reviewer_org_id": "610526-edu-committee",
        "due": "2012-05-25",
    },
}

EXPECTED = {
    Kind.GRADING_RESULT: (
        "城关中学党支部晋位升级复评等次：强",
        "综合得分91.26分",
        "较分类定级等次“较强”晋位升级",
    ),
    Kind.GRADING_INCOMPLETE: ("分类定级材料不全，待补充定级", "党组织自评、上级党组织评定"),
    Kind.PHASE_OPENED: ("“调查摸底、分类定级”阶段已启动", "2012年3月1日启动", "结束时间另行通知"),
    Kind.PHASE_CLOSING: ("将于2012年9月30日结束", "距截止还有7天"),
    Kind.COMMITMENT_DUE: ("请于2012年5月1日前公开整改方案", "距截止还有1天"),
    Kind.COMMITMENT_RETURNED: ("（第2版）已退回", "请细化整改措施", "整改方案（第2版）"),
    Kind.TASK_OVERDUE: ("“更新党员活动室”已逾期", "责任人：张主任", "2012年5月10日"),
    Kind.OVERDUE_ESCALATED: ("“t-1”逾期未完成", "逾期已满9天"),
    Kind.CIRCULAR: ("（蒲教党办〔2012〕3号）", "一、通报批评\n1. 城关中学党支部在"),
    Kind.CIRCULAR_DRAFTED: ("【通报待签发】关于", "共3项：通报表扬1项，通报批评2项"),
    Kind.CIRCULAR_SIGN_OFF_DUE: ("【通报待签发提醒】关于", "于2012年5月17日起草，已满3天仍未签发"),
    Kind.COMMENDATION: ("荣获“先进基层党组织”称号", "2012年6月28日，经城关镇学区党总支研究"),
    Kind.PROBLEM_ESCALATED: ("【问题上报】城关中学党支部上报问题待答复", "党员活动室设施陈旧"),
    Kind.REVIEW_REQUESTED: ("【方案待审】城关中学党支部整改方案（第2版）待审核", "共3项整改任务"),
    Kind.ESCALATION_OVERDUE: ("【督办】城关中学党支部上报问题逾期未答复", "2012年5月30日"),
    Kind.REVIEW_OVERDUE: ("【督办】城关中学党支部整改方案（第2版）逾期未审核", "2012年5月25日"),
}


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_renders_in_chinese_with_its_facts(kind: Kind) -> None:
    message = render(
        kind,
        {"campaign_name": "蒲城县教育系统基层组织建设年", **FACTS[kind]},
        to=TO,
        today=TODAY,
        sender="党委办",
    )
    whole = message.subject + "\n" + message.text
    for expected in EXPECTED[kind]:
        assert expected in whole, (expected, whole)
    assert "\n\n\n" not in message.text
    if kind in DOCUMENTS:  # the committee's document: its own head and foot (below)
        return
    assert message.text.startswith("城关中学党支部王建国同志：\n")
    assert message.text.rstrip().endswith("党委办\n2012年5月20日")


def test_a_webhook_message_has_no_salutation() -> None:
    message = render(
        Kind.TASK_OVERDUE,
        {"campaign_name": None, **FACTS[Kind.TASK_OVERDUE]},
        to=None,
        today=TODAY,
        sender="x",
    )
    assert message.text.startswith("城关中学党支部整改任务")


def test_what_a_county_system_wrote_is_escaped_in_html_and_kept_in_text() -> None:
    facts = {
        **FACTS[Kind.COMMITMENT_RETURNED],
        "campaign_name": None,
        "guidance": '<a href="x">细化</a> & 落实',
    }
    hostile = Addressee("b-1", "<b>城关</b>党支部", "王<i>建国</i>", "wang@example.org")
    message = render(Kind.COMMITMENT_RETURNED, facts, to=hostile, today=TODAY, sender="x")
    assert '<a href="x">细化</a> & 落实' in message.text
    assert message.html is not None
    assert "&lt;a href=&#34;x&#34;&gt;细化&lt;/a&gt; &amp; 落实" in message.html
    assert "&lt;b&gt;城关&lt;/b&gt;党支部王&lt;i&gt;建国&lt;/i&gt;同志" in message.html
    assert "<a href" not in message.html and "<b>" not in message.html


def test_a_signed_circular_reads_as_the_committees_document_for_everyone() -> None:
    """The official layout: issuing body and number, title, 各支部（总支）：, praise then
    criticism with numbered items, then the issuing body and the day it was signed — the same
    for every addressee, with no salutation and no platform."""
    facts = {**FACTS[Kind.CIRCULAR], "campaign_name": "蒲城县教育系统基层组织建设年"}
    facts["sections"] = [
        {
            "section": "praise",
            "entries": [
                {
                    "text": "教育局党委于2012年7月1日授予城关中学党支部“先进基层党组织”称号（七一表彰）。"
                }
            ],
        },
        {
            "section": "criticism",
            "entries": [
                {"text": "东关小学党支部在2012年5月18日督查中被发现领导重视不够：整改台账缺失。"},
                {"text": "尧山中学党支部未按时报送工作进展情况（应于2012年5月15日前报送）。"},
            ],
        },
    ]
    message = render(Kind.CIRCULAR, facts, to=TO, today=dt.date(2012, 5, 22), sender="平台")
    assert message.subject == (
        "【通报】关于蒲城县教育系统基层组织建设年督查情况的通报（蒲教党办〔2012〕3号）"
    )
    assert message.text == (
        "中共蒲城县教育局委员会办公室\n"
        "蒲教党办〔2012〕3号\n"
        "\n"
        "关于蒲城县教育系统基层组织建设年督查情况的通报\n"
        "\n"
        "各支部（总支）：\n"
        "截至2012年5月18日，现将有关情况通报如下：\n"
        "一、通报表扬\n"
        "1. 教育局党委于2012年7月1日授予城关中学党支部“先进基层党组织”称号（七一表彰）。\n"
        "二、通报批评\n"
        "1. 东关小学党支部在2012年5月18日督查中被发现领导重视不够：整改台账缺失。\n"
        "2. 尧山中学党支部未按时报送工作进展情况（应于2012年5月15日前报送）。\n"
        "希望受到表扬的党组织和同志珍惜荣誉、再接再厉；被通报批评的党组织要认真查找原因，"
        "限期整改。各支部（总支）要以先进为榜样、引以为戒，按期完成各项任务。\n"
        "\n"
        "中共蒲城县教育局委员会办公室\n"
        "2012年5月20日\n"
    )
    assert message.html is not None and "<p>一、通报表扬</p>" in message.html


def test_a_circular_of_one_section_numbers_it_first_and_closes_for_it() -> None:
    praise_only = {**FACTS[Kind.CIRCULAR], "campaign_name": None}
    praise_only["sections"] = [
        {"section": "praise", "entries": [{"text": "甲党支部工作值得肯定。"}]}
    ]
    text = render(Kind.CIRCULAR, praise_only, to=None, today=TODAY, sender="x").text
    assert (
        "一、通报表扬\n1. 甲党支部工作值得肯定。\n希望受到表扬的党组织和同志珍惜荣誉、再接再厉；"
        in text
    )
    assert "通报批评" not in text
    criticism_only = {**FACTS[Kind.CIRCULAR], "campaign_name": None}
    text = render(Kind.CIRCULAR, criticism_only, to=None, today=TODAY, sender="x").text
    assert "一、通报批评\n1. 城关中学党支部" in text
    assert "被通报批评的党组织要认真查找原因，限期整改；各支部（总支）要引以为戒" in text


def test_the_office_hears_a_draft_waits_without_its_items_and_a_refused_sign_off() -> None:
    facts = {**FACTS[Kind.CIRCULAR_DRAFTED], "campaign_name": None}
    office = Addressee("610526-edu-committee", "教育局党委", "李书记", "office@example.org")
    message = render(
        Kind.CIRCULAR_DRAFTED, facts, to=office, today=TODAY, sender="中共蒲城县教育局委员会办公室"
    )
    assert message.subject == "【通报待签发】关于蒲城县教育系统基层组织建设年督查情况的通报"
    assert message.text == (
        "教育局党委李书记同志：\n"
        "2012年5月18日已起草通报草稿《关于蒲城县教育系统基层组织建设年督查情况的通报》"
        "（每周例行），共3项：通报表扬1项，通报批评2项。\n"
        "请在平台“通报”页面审核，可修改、删除或增加条目，然后签发或作废。"
        "未经签发的通报不会印发，也不会发送给任何党组织。\n\n"
        "中共蒲城县教育局委员会办公室\n2012年5月20日\n"
    )
    refused = {**facts, "refused": True, "reason": "county 610526 has no issuing body configured"}
    message = render(Kind.CIRCULAR_DRAFTED, refused, to=None, today=TODAY, sender="平台")
    assert message.subject == "【通报未能印发】关于蒲城县教育系统基层组织建设年督查情况的通报"
    assert message.text.startswith(
        "通报《关于蒲城县教育系统基层组织建设年督查情况的通报》的签发未能生效："
        "本县未配置发文机关和发文字号（GRASSROOTS_COUNTIES_FILE），通报未印发，"
        "未发送给任何党组织，草稿仍待签发。\n"
    )


def rule(name: str, level: str | None, **known: Any) -> dict[str, Any]:
    """An applied rule as the handler gives it: every field of AppliedRule present."""
    fields = dict.fromkeys(AppliedRule.model_fields)
    return {**fields, "rule": name, "level": level, **known}


def graded(**changed: Any) -> dict[str, Any]:
    return {"campaign_name": "建设年", **FACTS[Kind.GRADING_RESULT], **changed}


def test_a_grade_says_the_five_goods_and_every_rule_that_changed_it_in_the_plans_words() -> None:
    facts = graded(
        round="final",
        level="weak",
        moved_up=False,
        scores={**FACTS[Kind.GRADING_RESULT]["scores"], "mechanism": 58.6},
        rules=[
            rule("floor", "average", criterion="mechanism", score=58.6, threshold=60.0),
            rule("upgrade_cap", "fairly_strong", completion_rate=0.7, threshold=0.8),
            rule("override", "average", reason="班子调整，工作未全面开展"),
            rule("veto", "weak", reason="班子成员受党纪处分"),
            rule("quota", "fairly_strong", threshold=0.3),
        ],
    )
    message = render(Kind.GRADING_RESULT, facts, to=TO, today=TODAY, sender="党委办")
    lines = message.text.splitlines()
    assert message.subject == "【定级结果】城关中学党支部晋位升级复评等次：薄弱"
    assert "建设年晋位升级复评结果已公布，城关中学党支部定为“薄弱”等次，综合得分91.26分。" in lines
    assert "“五个好”各项得分：" in lines
    assert [line for line in lines if line.endswith("分）") and "好（" in line] == [
        "领导班子好（90.00分）",
        "党员队伍好（90.00分）",
        "工作机制好（58.60分）",
        "工作业绩好（90.00分）",
        "群众反映好（90.00分）",
    ]
    start = lines.index("定级说明：")
    assert lines[start + 1 : start + 6] == [
        "1. 单项“工作机制好”58.60分，低于60分底线，等次不高于“一般”。",
        "2. 整改完成率70%，未达80%，不得晋位，保持分类定级等次“较强”。",
        "3. 上级党组织调整认定为“一般”，理由：班子调整，工作未全面开展。",
        "4. 一票否决：班子成员受党纪处分，定为“薄弱”。",
        "5. 全县教育系统“强”等次名额（30%）已满，定为“较强”。",
    ]
    assert message.html is not None
    assert "<p>2. 整改完成率70%，未达80%，不得晋位，保持分类定级等次“较强”。</p>" in message.html


def test_a_grade_without_rules_says_no_rules_and_keeps_the_moved_up_sentence() -> None:
    message = render(Kind.GRADING_RESULT, graded(), to=TO, today=TODAY, sender="x")
    assert "定级说明" not in message.text
    assert "较分类定级等次“较强”晋位升级，特此祝贺。" in message.text


def test_an_upgrade_cap_without_a_settlement_counts_completion_as_nothing() -> None:
    facts = graded(
        settled=False,
        rules=[rule("upgrade_cap", "average", completion_rate=0.0, threshold=0.8)],
    )
    message = render(Kind.GRADING_RESULT, facts, to=None, today=TODAY, sender="x")
    assert "1. 未报整改结算，整改完成率按0%计，未达80%，不得晋位，保持分类定级等次“一般”。" in (
        message.text
    )


def test_a_rule_without_its_numbers_is_still_said() -> None:
    """A result from before grading carried the rules: what its flags say, no numbers."""
    facts = graded(
        rules=[
            rule("upgrade_cap", "fairly_strong", completion_rate=0.755),
            rule("override", None, reason="工作滞后"),  # its level is hidden by the veto
            rule("quota", "fairly_strong"),
        ]
    )
    text = render(Kind.GRADING_RESULT, facts, to=None, today=TODAY, sender="x").text
    assert "1. 整改完成率75.5%，未达要求，不得晋位，保持分类定级等次“较强”。" in text
    assert "2. 上级党组织调整认定，理由：工作滞后。" in text
    assert "3. 全县教育系统“强”等次名额已满，定为“较强”。" in text


def test_a_supplementary_grade_says_it_is_one_and_what_the_superior_decided_alone() -> None:
    facts = graded(
        round="initial",
        level="average",
        moved_up=None,
        basis="override",
        supplementary=True,
        rules=[
            rule("override", "average", reason="党员群众评议无法组织"),
            rule("supplementary", "average", missing=["appraisal"]),
        ],
    )
    message = render(Kind.GRADING_RESULT, facts, to=TO, today=TODAY, sender="x")
    assert message.subject == "【定级结果】城关中学党支部分类定级（补充定级）等次：一般"
    assert "建设年分类定级（补充定级）结果：城关中学党支部定为“一般”等次" in message.text
    assert "1. 上级党组织调整认定为“一般”，理由：党员群众评议无法组织。" in message.text
    assert "2. 补充定级：由上级党组织单独评定，缺党员群众评议。" in message.text
    complete = graded(
        round="initial",
        moved_up=None,
        supplementary=True,
        rules=[rule("supplementary", "fairly_strong")],
    )
    text = render(Kind.GRADING_RESULT, complete, to=None, today=TODAY, sender="x").text
    assert "1. 补充定级：分类定级时材料不全，材料补齐后按同一标准评定。" in text


def test_the_incomplete_notice_says_the_branch_is_graded_once_its_material_arrives() -> None:
    for round_, until in (("initial", "请在晋位升级复评前补齐"), ("final", "本年度活动结束前")):
        facts = {"campaign_name": "建设年", **FACTS[Kind.GRADING_INCOMPLETE], "round": round_}
        message = render(Kind.GRADING_INCOMPLETE, facts, to=TO, today=TODAY, sender="x")
        assert "材料补齐后，即按同一标准对城关中学党支部进行补充定级，结果另行通知" in (
            message.text
        )
        assert until in message.text and "可由上级党组织单独评定并说明理由" in message.text
    assert message.subject == "【定级材料不全】城关中学党支部晋位升级复评材料不全，待补充定级"


@pytest.mark.parametrize("kind", list(Kind))
def test_no_message_uses_a_retired_word(kind: Kind) -> None:
    message = render(kind, FACTS[kind] | {"campaign_name": None}, to=TO, today=TODAY, sender="x")
    for retired in ("初评", "终评", "后进"):
        assert retired not in message.subject + message.text


def test_rates_are_percentages_and_thresholds_plain_numbers() -> None:
    assert [percent(r) for r in (0.7, 0.755, 0.8, 1.0, 0.0, 0.3)] == [
        "70%",
        "75.5%",
        "80%",
        "100%",
        "0%",
        "30%",
    ]
    assert [number(n) for n in (60.0, 59.5, 58.25)] == ["60", "59.5", "58.25"]


def test_dates_are_written_the_chinese_way() -> None:
    assert cn_date("2012-06-30") == "2012年6月30日"
    assert cn_date(dt.datetime(2012, 1, 5, 8, tzinfo=dt.UTC)) == "2012年1月5日"


def test_an_email_carries_the_notification_id_as_its_message_id() -> None:
    settings = NotificationSettings(mail_from="grassroots@pucheng.example.org")
    row = {
        "notification_id": "2c9f0b4e-0000-5000-8000-000000000001",
        "address": "wang@example.org",
        "subject": "【定级结果】城关中学党支部分类定级等次：较强",
        "body": "正文",
        "html": "<p>正文</p>",
        "kind": "grading_result",
    }
    sent = EmailSender(settings).message(row).as_bytes()
    message = BytesParser(policy=policy.default).parsebytes(sent)
    assert isinstance(message, EmailMessage)
    assert message["Message-ID"] == "<2c9f0b4e-0000-5000-8000-000000000001@pucheng.example.org>"
    assert message["Subject"] == row["subject"]
    assert message["From"].addresses[0].display_name == settings.mail_from_name
    assert message["Auto-Submitted"] == "auto-generated"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and plain.get_content() == "正文"
    assert html is not None and html.get_content() == "<p>正文</p>"
    assert sent.isascii()  # headers encoded, bodies base64: any relay can carry it


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_exact_body() -> None:
    body = b'{"kind": "circular"}'
    header = sign(b"secret", 1_336_000_000, body)
    expected = hmac.new(b"secret", b"1336000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1336000000,v1={expected}"
    assert sign(b"secret", 1_336_000_000, body + b" ") != header


def test_webhooks_without_a_signing_secret_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SIGNING_SECRET"):
        NotificationSettings(
            webhooks={"610526": [{"name": "county-office", "url": "http://127.0.0.1:1/"}]},
            WEBHOOK_SIGNING_SECRET=None,
        )


def test_a_countys_endpoints_come_before_the_ones_for_every_county() -> None:
    settings = NotificationSettings(
        webhooks={
            "610526": [{"name": "office", "url": "http://county/"}],
            "*": [
                {"name": "office", "url": "http://province/"},
                {"name": "archive", "url": "http://a/"},
            ],
        },
        WEBHOOK_SIGNING_SECRET="s",
    )
    assert [(e.name, str(e.url)) for e in settings.endpoints_for("610526")] == [
        ("office", "http://county/"),
        ("archive", "http://a/"),
    ]
    assert [e.name for e in settings.endpoints_for("610527")] == ["office", "archive"]


def superior(kind: Kind, **changed: Any) -> tuple[str, list[str]]:
    """The subject and lines of a notice to the superior (the committee's secretary)."""
    office = Addressee("610526-edu-committee", "教育局党委", "李书记", "office@example.org")
    facts = {"campaign_name": "建设年", **FACTS[kind], **changed}
    message = render(kind, facts, to=office, today=TODAY, sender="党委办")
    assert message.text.startswith("教育局党委李书记同志：\n")
    return message.subject, message.text.splitlines()


def test_an_escalated_problem_tells_the_superior_what_to_answer_and_by_when() -> None:
    subject, lines = superior(Kind.PROBLEM_ESCALATED)
    assert subject == "【问题上报】城关中学党支部上报问题待答复"
    assert lines[1:5] == [
        "城关中学党支部在梳理问题中列出的以下问题需要上级党组织统筹解决，"
        "已于2012年5月20日上报你单位：",
        "问题：党员活动室设施陈旧（群众反映）",
        "请于2012年5月30日前（10日内）答复：已受理的，说明将采取的措施和完成时限；"
        "已解决的，说明解决情况；确实无法解决的，说明理由。",
        "逾期未答复的，你单位将在督查通报中列为工作滞后。",
    ]


def test_a_plan_waiting_for_review_lists_its_tasks_and_says_a_revision_is_one() -> None:
    subject, lines = superior(Kind.REVIEW_REQUESTED)
    assert subject == "【方案待审】城关中学党支部整改方案（第2版）待审核"
    assert lines[1:6] == [
        "城关中学党支部已于2012年5月20日公开按审核意见修改后的整改方案（第2版），"
        "共3项整改任务（立即整改2项、逐步整改1项），报请上级党组织审核：",
        "1. 更新党员活动室（责任人：张主任；时限：2012年6月30日；立即整改）",
        "2. 健全三会一课（责任人：张主任；时限：2012年6月30日；立即整改）",
        "3. 建设党员活动阵地（责任人：李校长；时限：2012年9月30日；逐步整改）",
        "请于2012年5月25日前（5日内）完成审核：符合要求的予以通过；"
        "需要修改的，退回并提出具体指导意见。",
    ]
    first = FACTS[Kind.REVIEW_REQUESTED]["tasks"][:1]
    subject, lines = superior(
        Kind.REVIEW_REQUESTED,
        revision=1,
        tasks_total=1,
        kinds={"immediate": 1, "gradual": 0},
        tasks=first,
    )
    assert subject == "【方案待审】城关中学党支部整改方案（第1版）待审核"
    assert lines[1] == (
        "城关中学党支部已于2012年5月20日公开整改方案（第1版），"
        "共1项整改任务（立即整改1项），报请上级党组织审核："
    )


def test_the_reminders_to_the_superior_are_supervision_notices() -> None:
    subject, lines = superior(Kind.ESCALATION_OVERDUE)
    assert subject == "【督办】城关中学党支部上报问题逾期未答复"
    assert lines[1:3] == [
        "城关中学党支部上报的以下问题需要上级党组织统筹解决，应于2012年5月30日前答复，至今未答复：",
        "问题：党员活动室设施陈旧",
    ]
    assert "答复前，你单位在督查通报中列为工作滞后。" in lines[3]
    subject, lines = superior(Kind.ESCALATION_OVERDUE, description=None)
    assert lines[2] == "问题：p-1"  # a problem never listed here is named by its id
    subject, lines = superior(Kind.REVIEW_OVERDUE)
    assert subject == "【督办】城关中学党支部整改方案（第2版）逾期未审核"
    assert lines[1] == "城关中学党支部整改方案（第2版）应于2012年5月25日前审核，至今未审核。"
    assert lines[2].startswith("请你单位抓紧审核，加强具体指导")


@pytest.mark.parametrize(
    "kind",
    [
        Kind.PROBLEM_ESCALATED,
        Kind.REVIEW_REQUESTED,
        Kind.ESCALATION_OVERDUE,
        Kind.REVIEW_OVERDUE,
        Kind.COMMITMENT_RETURNED,
    ],
)
def test_the_plan_is_the_rectification_plan_and_lagging_is_lagging(kind: Kind) -> None:
    subject, lines = superior(kind)
    whole = subject + "\n".join(lines)
    assert "整改承诺" not in whole and "后进" not in whole
    if kind in (Kind.REVIEW_REQUESTED, Kind.REVIEW_OVERDUE, Kind.COMMITMENT_RETURNED):
        assert "整改方案" in subject


def test_a_commendation_told_to_its_organisation_says_who_awarded_it_and_when() -> None:
    facts = {**FACTS[Kind.COMMENDATION], "campaign_name": None}
    message = render(Kind.COMMENDATION, facts, to=TO, today=TODAY, sender="党委办")
    assert message.subject == "【表彰】城关中学党支部荣获“先进基层党组织”称号"
    assert message.text == (
        "城关中学党支部王建国同志：\n"
        "2012年6月28日，经城关镇学区党总支研究，城关中学党支部被评为“先进基层党组织”"
        "（先进基层党组织）。\n"
        "希望受到表彰的党组织珍惜荣誉、再接再厉，在创先争优中发挥示范带动作用。\n\n"
        "党委办\n2012年5月20日\n"
    )
    person = {**facts, "honour": "excellent_member", "member_name": "赵老师", "awarded_by": None}
    person |= {"awarded_by_name": None, "title": "优秀共产党员"}
    message = render(Kind.COMMENDATION, person, to=None, today=TODAY, sender="党委办")
    assert message.subject == "【表彰】城关中学党支部赵老师同志荣获“优秀共产党员”称号"
    assert message.text.startswith(
        "2012年6月28日，经研究，城关中学党支部党员赵老师同志被评为“优秀共产党员”（优秀共产党员）。\n"
        "希望受到表彰的同志珍惜荣誉"
    )
