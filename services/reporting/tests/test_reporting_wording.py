"""Each rule applied to a level says, in Chinese, what it did and with which numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from grassroots.contract.grading import AppliedRule
from reporting.views import rule_lines
from reporting.wording import (
    answer_text,
    cn_date,
    percent,
    review_answer_text,
    review_text,
    rule_text,
    share_text,
)


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (
            {
                "rule": "floor",
                "level": "average",
                "criterion": "mechanism",
                "score": 58.6,
                "threshold": 60,
            },
            "单项低于底线分：工作机制好 58.60 分，低于 60 分，等次不高于一般",
        ),
        (
            {
                "rule": "upgrade_cap",
                "level": "fairly_strong",
                "completion_rate": 0.7,
                "threshold": 0.8,
            },
            "整改完成率 70.00%，未达 80.00%，不得晋位，保持“较强”",
        ),
        (
            {"rule": "upgrade_cap", "level": "average", "completion_rate": 0, "threshold": 0.8},
            "整改完成率 0.00%，未达 80.00%，不得晋位，保持“一般”",
        ),
        (
            {"rule": "override", "level": "average", "reason": "班子不团结"},
            "上级党组织调整认定为“一般”：班子不团结",
        ),
        (
            {"rule": "veto", "level": "weak", "reason": "班子成员受到党纪处分"},
            "一票否决：班子成员受到党纪处分，定为“薄弱”",
        ),
        (
            {"rule": "quota", "level": "fairly_strong", "threshold": 0.3},
            "“强”等次名额已满（30%），定为“较强”",
        ),
        (
            {"rule": "quota", "level": "fairly_strong", "threshold": 0.125},
            "“强”等次名额已满（12.5%），定为“较强”",
        ),
        (
            {
                "rule": "assessment",
                "level": "fairly_strong",
                "score": 95,
                "weight": 0.4,
                "previous_total": 78,
            },
            "计入局党委评估：95.00 分，权重 40%，五项平均 78.00 分，定为“较强”",
        ),
        ({"rule": "supplementary", "level": "average"}, "补充定级"),
        (
            {"rule": "supplementary", "level": "average", "missing": ["self", "appraisal"]},
            "补充定级，由上级党组织单独评定（缺：党组织自评、党员群众评议）",
        ),
    ],
)
def test_each_rule_says_what_it_did_with_its_numbers(rule: dict[str, Any], text: str) -> None:
    AppliedRule.model_validate(rule)  # the contract's shape
    assert rule_text(rule) == text


def test_rates_are_percentages() -> None:
    assert percent(0.7) == "70.00%"
    assert percent(0.29) == "29.00%"
    assert percent(0.3, trim=True) == "30%"
    assert percent(1 / 3, trim=True) == "33.33%"


def test_rule_lines_carry_the_code_the_level_the_numbers_and_the_text() -> None:
    kept = [{"rule": "quota", "level": "fairly_strong", "threshold": 0.3}]
    assert rule_lines(kept) == [
        {
            "rule": "quota",
            "level": "fairly_strong",
            "reason": None,
            "criterion": None,
            "score": None,
            "threshold": 0.3,
            "completion_rate": None,
            "missing": None,
            "weight": None,
            "previous_total": None,
            "text": "“强”等次名额已满（30%），定为“较强”",
        }
    ]
    assert rule_lines(None) == []  # a result from before rules were sent


def test_a_day_is_written_as_people_write_it_in_county_time() -> None:
    assert cn_date(dt.date(2012, 6, 30)) == "2012年6月30日"
    assert cn_date("2012-05-03T09:00:00+08:00") == "2012年5月3日"
    # 20:00 UTC is the next morning in the county.
    assert cn_date(dt.datetime(2012, 5, 3, 20, tzinfo=dt.UTC)) == "2012年5月4日"


@pytest.mark.parametrize(
    ("escalation", "text"),
    [
        ({"answer": None}, "待答复"),
        ({"answer": None, "answer_due": "2012-05-10"}, "待答复（应于2012年5月10日前答复，已逾期）"),
        (
            {
                "answer": "accepted",
                "action": "局党委统筹专项经费",
                "due": "2012-06-20",
                "answered_at": "2012-05-03T09:00:00+08:00",
            },
            "已受理：局党委统筹专项经费，2012年6月20日前完成（2012年5月3日答复）",
        ),
        (
            {
                "answer": "resolved",
                "evidence": "经费已拨付",
                "answered_at": "2012-05-13T10:00:00+08:00",
            },
            "已解决：经费已拨付（2012年5月13日答复）",
        ),
        ({"answer": "cannot_resolve", "reason": "超出县级权限"}, "无法解决：超出县级权限"),
    ],
)
def test_the_superiors_answer_is_one_sentence(escalation: dict[str, Any], text: str) -> None:
    assert answer_text(escalation) == text


def test_a_review_decision_says_who_when_and_the_guidance() -> None:
    returned = {
        "decision": "returned",
        "reviewer_org_id": "610526-edu-committee",
        "reviewer_name": "蒲城县教育局党委",
        "reviewed_at": "2012-04-22T09:00:00+08:00",
        "guidance": "请明确时限",
        "uncovered_reason": None,
    }
    assert (
        review_text(returned) == "已退回（蒲城县教育局党委，2012年4月22日），指导意见：请明确时限"
    )
    approved = returned | {
        "decision": "approved",
        "reviewer_name": None,
        "guidance": None,
        "uncovered_reason": "该问题已由县局统一解决",
    }
    assert review_text(approved) == (
        "已通过（610526-edu-committee，2012年4月22日），突出问题未纳入整改的说明：该问题已由县局统一解决"
    )


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (0.92, "92%"),
        (0.98, "98%"),
        (0.9167, "91.67%"),
        (0.3333, "33.33%"),
        (0.0, "0%"),
        (1.0, "100%"),
    ],
)
def test_shares_and_satisfaction_rates_read_as_percentages(rate: float, text: str) -> None:
    assert share_text(rate) == text


def test_a_summary_review_answer_reads_with_its_text() -> None:
    assert review_answer_text({"answer": "partly", "text": "三个突出问题解决两个。"}) == (
        "基本：三个突出问题解决两个。"
    )
    assert review_answer_text({"answer": "yes", "text": "资料齐全。"}) == "是：资料齐全。"


def test_the_csv_export_says_the_rate_as_a_percentage() -> None:
    """整改完成率 reads 70.00% in the CSV as in the workbook, not the fraction 0.7."""
    import csv
    import io

    from reporting.exports import csv_bytes

    row: dict[str, Any] = {
        "branch_id": "b1",
        "name": "城关中学党支部",
        "unit": "城关中学",
        "township": "城关镇",
        "initial_level": "fairly_strong",
        "initial_total": 83.8,
        "final_level": None,
        "final_total": None,
        "moved_up": False,
        "review": None,
        "commitment_id": None,
        "commitment_missing": True,
        "tasks_total": 10,
        "tasks_completed": 7,
        "tasks_overdue": 1,
        "settled_rate": 0.7,
        "commendations": 0,
    }
    header, values = list(csv.reader(io.StringIO(csv_bytes([row]).decode("utf-8-sig"))))
    said = dict(zip(header, values, strict=True))
    assert (said["整改完成率"], said["整改方案审核"]) == ("70.00%", "未公开")
    unsettled = list(
        csv.reader(io.StringIO(csv_bytes([{**row, "settled_rate": None}]).decode("utf-8-sig")))
    )
    assert dict(zip(header, unsettled[1], strict=True))["整改完成率"] == ""
