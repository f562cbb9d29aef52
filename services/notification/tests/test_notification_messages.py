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

from notification.channels import EmailSender, sign
from notification.config import NotificationSettings
from notification.domain import Addressee, Kind
from notification.rendering import cn_date, render

TODAY = dt.date(2012, 5, 20)
TO = Addressee("610526-edu-0007", "城关中学党支部", "王建国", "wang@example.org")

FACTS: dict[Kind, dict[str, Any]] = {
    Kind.GRADING_RESULT: {
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
    Kind.CIRCULAR: {"number": 3, "phase": None, "as_of": "2012-05-20", "lagging": []},
    Kind.COMMENDATION: {
        "branch_name": "城关中学党支部",
        "honour": "advanced_organization",
        "title": "先进基层党组织",
        "member_name": None,
    },
}

EXPECTED = {
    Kind.GRADING_RESULT: ("城关中学党支部终评等次：强", "综合得分91.26分", "较初评“较强”晋位升级"),
    Kind.GRADING_INCOMPLETE: ("初评未能定级", "党组织自评、上级党组织评定"),
    Kind.PHASE_OPENED: ("“调查摸底、分类定级”阶段已启动", "2012年3月1日启动", "结束时间另行通知"),
    Kind.PHASE_CLOSING: ("将于2012年9月30日结束", "距截止还有7天"),
    Kind.COMMITMENT_DUE: ("请于2012年5月1日前公开整改承诺", "距截止还有1天"),
    Kind.COMMITMENT_RETURNED: ("（第2版）已退回", "请细化整改措施"),
    Kind.TASK_OVERDUE: ("“更新党员活动室”已逾期", "责任人：张主任", "2012年5月10日"),
    Kind.OVERDUE_ESCALATED: ("“t-1”逾期未完成", "逾期已满9天"),
    Kind.CIRCULAR: ("第3期通报", "未发现滞后情况"),
    Kind.COMMENDATION: ("荣获“先进基层党组织”称号", "全县各党组织要以先进为榜样"),
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
    assert message.text.startswith("城关中学党支部王建国同志：\n")
    assert message.text.rstrip().endswith("党委办\n2012年5月20日")
    assert "\n\n\n" not in message.text


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


def test_a_circular_lists_each_branch_with_its_reasons() -> None:
    facts = {
        "campaign_name": "建设年",
        "number": None,
        "phase": "rectification",
        "as_of": "2012-06-30",
        "lagging": [
            {
                "branch_id": "b1",
                "branch_name": "甲党支部",
                "reasons": [
                    {
                        "reason": "task_overdue",
                        "details": [{"title": "任务一", "deadline": "2012-05-10"}],
                    },
                    {"reason": "commitment_missing", "details": [{"due": "2012-05-01"}]},
                ],
            }
        ],
    }
    message = render(Kind.CIRCULAR, facts, to=None, today=TODAY, sender="x")
    assert message.subject == "【督查通报】建设年“集中整改、晋位升级”阶段结束通报"
    assert (
        "1. 甲党支部：整改任务逾期1项（任务一，2012年5月10日到期）；"
        "未按时公开承诺（应于2012年5月1日前公开）。"
    ) in message.text


def test_dates_are_written_the_chinese_way() -> None:
    assert cn_date("2012-06-30") == "2012年6月30日"
    assert cn_date(dt.datetime(2012, 1, 5, 8, tzinfo=dt.UTC)) == "2012年1月5日"


def test_an_email_carries_the_notification_id_as_its_message_id() -> None:
    settings = NotificationSettings(mail_from="grassroots@pucheng.example.org")
    row = {
        "notification_id": "2c9f0b4e-0000-5000-8000-000000000001",
        "address": "wang@example.org",
        "subject": "【定级结果】城关中学党支部初评等次：较强",
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
