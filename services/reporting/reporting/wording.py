"""The Chinese sentences shown to people, built from the one label table: each rule that set
or changed a level says what it did, with its numbers (rates as percentages); the superior's
answer to an escalated problem, and each review decision on a plan, with who and when; shares
and satisfaction rates as percentages; the summary review's answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from grassroots.contract.calendar import COUNTY_TIME
from grassroots.contract.labels import label


def score_text(value: float) -> str:
    """A score as people read it on a grading sheet: two decimals (58.60)."""
    return f"{value:.2f}"


def trimmed(value: float) -> str:
    """A configured number without trailing zeros (60, 59.5)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def percent(rate: float, *, trim: bool = False) -> str:
    """A rate (0–1) as a percentage: 70.00%, or 30% trimmed."""
    value = 100 * rate
    return f"{trimmed(value) if trim else f'{value:.2f}'}%"


def share_text(rate: float) -> str:
    """A share or satisfaction rate (0–1) as people read it: 92%, or 91.67% (up to two
    decimals when not whole)."""
    return percent(rate, trim=True)


NOT_STATED = "未注明授予单位"
"""The awarding body of a commendation that names none, or names one not registered."""


def yes_no(flag: bool) -> str:
    return "是" if flag else "否"


def review_answer_text(answer: Mapping[str, Any]) -> str:
    """One answer of a summary review (评估小结): 是：四个阶段按时推进，资料齐全。"""
    return f"{label('answer', str(answer['answer']))}：{answer['text']}"


def quoted_level(code: str) -> str:
    return f"“{label('level', code)}”"


def rule_text(rule: Mapping[str, Any]) -> str:
    """One rule line (the contract's AppliedRule as JSON) as a sentence."""
    code = str(rule["rule"])
    level = str(rule["level"])
    name = label("rule", code)
    reason = rule.get("reason")
    threshold = rule.get("threshold")
    if code == "floor":
        criterion = rule.get("criterion")
        score = rule.get("score")
        what = label("criterion", criterion) if criterion else "单项"
        said = f"{what} {score_text(score)} 分" if score is not None else what
        below = f"，低于 {trimmed(threshold)} 分" if threshold is not None else ""
        return f"{name}：{said}{below}，等次不高于{label('level', level)}"
    if code == "upgrade_cap":
        rate = rule.get("completion_rate")
        said = f"整改完成率 {percent(rate)}" if rate is not None else "整改完成率"
        short = f"未达 {percent(threshold)}" if threshold is not None else "未达要求"
        return f"{said}，{short}，不得晋位，保持{quoted_level(level)}"
    if code == "override":
        return f"{name}为{quoted_level(level)}" + (f"：{reason}" if reason else "")
    if code == "veto":
        return (
            f"{name}：{reason}，定为{quoted_level(level)}"
            if reason
            else f"{name}，定为{quoted_level(level)}"
        )
    if code == "quota":
        share = f"（{percent(threshold, trim=True)}）" if threshold is not None else ""
        return f"{name}{share}，定为{quoted_level(level)}"
    if code == "assessment":
        score, weight, before = rule.get("score"), rule.get("weight"), rule.get("previous_total")
        if score is None or weight is None or before is None:
            return f"{name}，定为{quoted_level(level)}"
        return (
            f"{name}：{score_text(score)} 分，权重 {percent(weight, trim=True)}，"
            f"五项平均 {score_text(before)} 分，定为{quoted_level(level)}"
        )
    if code == "supplementary":
        missing = rule.get("missing") or []
        if not missing:
            return name
        sources = "、".join(label("missing_input", m) for m in missing)
        return f"{name}，由上级党组织单独评定（缺：{sources}）"
    return f"{name}，定为{quoted_level(level)}"


def cn_date(value: str | dt.date | dt.datetime) -> str:
    """A day as people write it: 2012年6月30日 (a time: its day in county time; an ISO text:
    its first ten characters, as the API gives times in county time)."""
    if isinstance(value, str):
        day = dt.date.fromisoformat(value[:10])
    elif isinstance(value, dt.datetime):
        day = value.astimezone(COUNTY_TIME).date()
    else:
        day = value
    return f"{day.year}年{day.month}月{day.day}日"


def answer_text(escalation: Mapping[str, Any]) -> str:
    """The superior's answer to an escalated problem (the card's `escalation` as JSON), or
    that it is awaited — past its day when escalation_overdue named it."""
    answer = escalation.get("answer")
    if answer is None:
        due = escalation.get("answer_due")
        return f"待答复（应于{cn_date(due)}前答复，已逾期）" if due else "待答复"
    if answer == "accepted":
        due = escalation.get("due")
        said = str(escalation.get("action") or "")
        if due:
            said += f"，{cn_date(due)}前完成"
    elif answer == "resolved":
        said = str(escalation.get("evidence") or "")
    else:
        said = str(escalation.get("reason") or "")
    when = escalation.get("answered_at")
    text = (
        f"{label('escalation_answer', str(answer))}：{said}"
        if said
        else label("escalation_answer", str(answer))
    )
    return f"{text}（{cn_date(when)}答复）" if when else text


def review_text(review: Mapping[str, Any]) -> str:
    """A review decision on a plan revision: the decision, who reviewed and when, the
    guidance given and why uncovered prominent problems were approved anyway."""
    who = review.get("reviewer_name") or review["reviewer_org_id"]
    text = f"{label('review', str(review['decision']))}（{who}，{cn_date(review['reviewed_at'])}）"
    if review.get("guidance"):
        text += f"，指导意见：{review['guidance']}"
    if review.get("uncovered_reason"):
        text += f"，突出问题未纳入整改的说明：{review['uncovered_reason']}"
    return text
