"""The Chinese sentences shown to people about a level, built from the one label table: each
rule that set or changed a level says what it did, with its numbers (rates as percentages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    if code == "supplementary":
        missing = rule.get("missing") or []
        if not missing:
            return name
        sources = "、".join(label("missing_input", m) for m in missing)
        return f"{name}，由上级党组织单独评定（缺：{sources}）"
    return f"{name}，定为{quoted_level(level)}"
