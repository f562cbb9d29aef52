"""The circulars as the API gives them (English codes, times in county time) with their
history in Chinese sentences: who drafted, edited, signed, discarded and issued, and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grassroots.contract.labels import LABELS, label
from reporting.views import county_time


def basis_label(basis: str) -> str:
    """Why an item is there, for people: a lagging reason, a finding, commended or added."""
    for table in ("lagging_reason", "finding", "reporting_circular_basis"):
        if basis in LABELS[table]:
            return label(table, basis)
    return basis


def list_item(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "circular_id": row["circular_id"],
        "title": row["title"],
        "trigger": row["trigger"],
        "status": row["status"],
        "status_label": label("circular_status", row["status"]),
        "drafted_at": county_time(row["drafted_at"]),
        "items": row["items"],
        "document_number": row["document_number"],
        "signed_by": row["signed_by"],
        "signed_at": county_time(row["signed_at"]),
        "issued_at": county_time(row["issued_at"]),
    }


def circular(
    row: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    decisions: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    return {
        "circular_id": row["circular_id"],
        "title": row["title"],
        "trigger": row["trigger"],
        "status": row["status"],
        "status_label": label("circular_status", row["status"]),
        "items": [
            {
                "item_id": item["item_id"],
                "section": item["section"],
                "section_label": label("circular_section", item["section"]),
                "org_id": item["org_id"],
                "org_name": item["org_name"],
                "basis": item["basis"],
                "text": item["text"],
            }
            for item in items
        ],
        "history": history(row, decisions),
        "issuing_body": row["issuing_body"],
        "document_number": row["document_number"],
        "number": row["number"],
        "recipients": row["recipients"],
    }


def history(row: Mapping[str, Any], decisions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Drafted, every decision in the order made, issued."""
    found = [
        {
            "at": county_time(row["drafted_at"]),
            "action": "drafted",
            "by": None,
            "detail": f"{label('circular_trigger', row['trigger'])}起草，共{row['drafted_items']}条",
        },
        *(
            {
                "at": county_time(decision["decided_at"]),
                "action": decision["action"],
                "by": decision["decided_by"],
                "detail": decision_text(decision["action"], decision["data"], decision["org_name"]),
            }
            for decision in decisions
        ),
    ]
    if row["issued_at"] is not None:
        found.append(
            {
                "at": county_time(row["issued_at"]),
                "action": "issued",
                "by": row["issuing_body"],
                "detail": f"印发{row['document_number']}，发送{row['recipients']}个党组织",
            }
        )
    return found


def decision_text(action: str, data: Mapping[str, Any], org_name: str | None = None) -> str:
    """A decision as a sentence naming the item's organisation and quoting its texts:
    修改…的条目：原为“…”，改为“…”; 删除…的条目“…”，理由：…; 增加…; 签发; 作废，理由：…"""
    if action == "signed":
        return "签发"
    if action == "discarded":
        return f"作废，理由：{data['reason']}"
    seen = data.get("seen", {})
    org = org_name or data.get("org_id") or seen.get("org_id") or data["item_id"]
    if data["action"] == "edit":
        return f"修改{org}的条目：原为“{seen.get('was', '')}”，改为“{data['text']}”"
    if data["action"] == "remove":
        return f"删除{org}的条目“{seen.get('was', '')}”，理由：{data['reason']}"
    section = label("circular_section", data["section"])
    return f"增加{section}条目（{org}）：“{data['text']}”，理由：{data['reason']}"
