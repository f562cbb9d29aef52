"""What the office may do with a circular, and why not: each refusal has its HTTP status, the
API's English reason and the dashboard's Chinese one. Pure: no I/O, no clock."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from pydantic import ValidationError

from grassroots.contract.calendar import COUNTY_TIME
from grassroots.contract.labels import label
from grassroots.contract.supervision import CircularEdited, EditAction

ADDED = "added"
"""The basis of an item the office added."""

FIELDS = {
    "action": "操作",
    "item_id": "条目编号",
    "section": "栏目",
    "org_id": "党组织",
    "text": "内容",
    "reason": "理由",
}
_NEEDS = re.compile(r"(\w+) needs (.+)")


class Refused(Exception):
    """A write the office's API refuses before anything changes."""

    def __init__(self, status: int, detail: str, message: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail  # the API's reason
        self.message = message  # the dashboard's


def unknown_circular(circular_id: str) -> Refused:
    return Refused(404, f"circular {circular_id} is not known", f"通报 {circular_id} 不存在")


def not_a_draft(circular_id: str, status: str) -> Refused | None:
    """Only a draft is edited, signed off or discarded (rule 4: the same words as notification
    dead-letters a late decision with)."""
    if status in ("signed", "issued"):
        return Refused(
            409, f"circular {circular_id} is already signed", "该通报已签发，不能再修改、签发或作废"
        )
    if status == "discarded":
        return Refused(
            409, f"circular {circular_id} was discarded", "该通报已作废，不能再修改或签发"
        )
    return None


def edit_refusal(edit: CircularEdited, items: Collection[str]) -> Refused | None:
    """An edit or removal names an item of the circular; an addition a new id."""
    if edit.action is EditAction.ADD:
        if edit.item_id in items:
            return Refused(
                409,
                f"circular {edit.circular_id} already has an item {edit.item_id}",
                f"条目 {edit.item_id} 已在该通报中",
            )
        return None
    if edit.item_id not in items:
        return Refused(
            404,
            f"circular {edit.circular_id} has no item {edit.item_id}",
            f"该通报没有条目 {edit.item_id}",
        )
    return None


def not_registered(org_id: str, county_code: str) -> Refused:
    return Refused(
        422,
        f"{org_id} is not a registered organisation of county {county_code}",
        f"{org_id} 不是本县已登记的党组织",
    )


def contract_refusal(error: ValidationError) -> Refused:
    """422 with the contract's reasons (`body.<field>: …`), and the same in Chinese."""
    reasons: list[str] = []
    messages: list[str] = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        reasons.append(f"body.{field}: {problem['msg']}" if field else problem["msg"])
        messages.append(_in_chinese(field, problem["type"], problem["msg"], problem.get("ctx")))
    return Refused(422, "; ".join(reasons), "；".join(messages))


def _in_chinese(field: str, kind: str, text: str, ctx: dict[str, object] | None) -> str:
    needs = _NEEDS.search(text)
    if needs:  # the contract's rule of what each action needs
        action, names = needs.groups()
        wanted = "、".join(FIELDS.get(name.strip(), name.strip()) for name in names.split(","))
        return f"{label('edit_action', action)}条目须填写{wanted}"
    name = FIELDS.get(field, field)
    if kind in ("missing", "string_too_short"):
        return f"须填写{name}"
    if kind == "string_too_long" and ctx is not None:
        return f"{name}过长（最多{ctx.get('max_length')}字）"
    return f"{name}无效"


def added_item_id(section: str, org_id: str, items: Collection[str]) -> str:
    """The id of an item the dashboard adds: as the platform names items
    (`<section>-<org_id>-<basis>`, basis `added`), numbered when taken already."""
    first = f"{section}-{org_id}-{ADDED}"
    if first not in items:
        return first
    n = 2
    while f"{first}-{n}" in items:
        n += 1
    return f"{first}-{n}"


def request_id(now: dt.datetime, suffix: str) -> str:
    """A request's id: its time in county time and a random suffix (the draft's id follows it:
    `circular-<campaign_id>-<request_id>`)."""
    return f"req-{now.astimezone(COUNTY_TIME):%Y%m%d-%H%M%S}-{suffix}"
