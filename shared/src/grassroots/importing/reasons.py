"""The contract's refusals in the office's words: a pydantic error of the contract's own models
(the validation the consumers and the intake apply) becomes a Chinese reason, put on the
column of the field it names."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from grassroots.importing.columns import DATE_EXAMPLE, Column, Kind

# What a rule of the contract says, in the words of the office (by the English message).
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"override_reason is required"), "填写了调整认定等次，必须写明调整认定理由"),
    (
        re.compile(r"member_name is required"),
        "表彰优秀共产党员、优秀党务工作者，必须填写受表彰人姓名",
    ),
    (re.compile(r"task_id repeated"), "同一整改方案（同一版次）中任务编号重复"),
    (re.compile(r"not an email address"), "电子邮箱格式不正确，应如 name@example.org"),
    (re.compile(r"only the superior"), "只有上级党组织评定可以调整认定等次或一票否决"),
)
ID_RULE = "编号只能由字母、数字和 . _ : / - 组成，以字母或数字开头，不超过128个字符"


def _rule(message: str) -> str | None:
    for pattern, reason in _RULES:
        if pattern.search(message):
            return reason
    return None


def reason_of(problem: ErrorDetails, column: Column | None) -> str:
    """One pydantic error as the office reads it."""
    kind = problem["type"]
    context: dict[str, Any] = dict(problem.get("ctx") or {})
    if kind == "missing":
        return "必填，不能为空"
    if kind == "string_too_short":
        return "不能为空"
    if kind == "string_too_long":
        return f"不能超过{context.get('max_length')}个字"
    if kind == "string_pattern_mismatch":
        if column is not None and column.kind is Kind.ID:
            return ID_RULE
        if column is not None and column.field.endswith("phone"):
            return "电话号码格式不正确（5–20位数字，可含空格、-、+）"
        return "格式不正确"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于{_number(context.get('ge', context.get('gt')))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于{_number(context.get('le', context.get('lt')))}"
    if kind == "too_short":
        return "至少要有一项"
    if kind == "too_long":
        return f"不能超过{context.get('max_length')}项"
    if kind == "enum":
        return "不是可选的值" + (
            f"：{'、'.join(column.options)}" if column and column.options else ""
        )
    if kind.startswith("date"):
        return f"日期格式应为 {DATE_EXAMPLE}"
    if kind.startswith(("int", "float", "decimal")):
        return "应为数字"
    if kind == "bool_type" or kind == "bool_parsing":
        return "应填“是”或“否”"
    if kind == "value_error":
        message = str(context.get("error", problem["msg"]))
        return _rule(message) or f"不符合数据规范：{message}"
    return f"不符合数据规范：{problem['msg']}"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_of(problem: ErrorDetails, fields: list[str]) -> str | None:
    """The field a problem is about: its location (`scores.leadership`), or for a rule of the
    whole model (no location), the first field its message names."""
    location = ".".join(str(part) for part in problem["loc"])
    if location:
        for field in fields:
            if location == field or location.startswith(field + "."):
                return field
        head = location.split(".")[0]
        for field in fields:
            if field.split(".")[0] == head:
                return field
    message = str(problem["msg"])
    for field in sorted(fields, key=len, reverse=True):
        if field and field.split(".")[-1] in message:
            return field
    return None


def problems(error: ValidationError) -> list[ErrorDetails]:
    return error.errors(include_url=False, include_input=False)
