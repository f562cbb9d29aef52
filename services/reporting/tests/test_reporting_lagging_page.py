"""The lagging page's filters, without a database."""

from __future__ import annotations

from typing import Any

from reporting.lagging_page import REASONS, filtered

ITEMS: list[dict[str, Any]] = [
    {"branch_id": "a", "township": "城关镇", "reasons": ["task_overdue", "commitment_missing"]},
    {"branch_id": "b", "township": None, "reasons": ["escalation_unanswered"]},
    {"branch_id": "c", "township": "河口乡", "reasons": ["commitment_missing"]},
]


def ids(items: list[dict[str, Any]]) -> list[Any]:
    return [item["branch_id"] for item in items]


def test_no_filter_keeps_everyone_in_order() -> None:
    assert ids(filtered(ITEMS, None, None)) == ["a", "b", "c"]


def test_a_reason_keeps_those_with_it_among_their_reasons() -> None:
    assert ids(filtered(ITEMS, "commitment_missing", None)) == ["a", "c"]
    assert ids(filtered(ITEMS, "progress_report_missing", None)) == []


def test_a_township_and_a_reason_together() -> None:
    assert ids(filtered(ITEMS, "commitment_missing", "河口乡")) == ["c"]
    assert ids(filtered(ITEMS, None, "城关镇")) == ["a"]


def test_every_reason_of_the_list_can_be_chosen() -> None:
    assert {"task_overdue", "escalation_unanswered", "progress_report_missing"} <= set(REASONS)
