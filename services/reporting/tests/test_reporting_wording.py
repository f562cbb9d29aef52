"""Each rule applied to a level says, in Chinese, what it did and with which numbers."""

from __future__ import annotations

from typing import Any

import pytest

from grassroots.contract.grading import AppliedRule
from reporting.views import rule_lines
from reporting.wording import percent, rule_text


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
            "上级党组织评定为“一般”：班子不团结",
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
            "text": "“强”等次名额已满（30%），定为“较强”",
        }
    ]
    assert rule_lines(None) == []  # a result from before rules were sent
