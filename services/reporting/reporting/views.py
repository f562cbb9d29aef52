"""Shaping read-model rows into the contract's JSON (English codes; labels are for pages)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from grassroots.contract.calendar import COUNTY_TIME
from grassroots.contract.labels import label
from reporting.domain import (
    LEVELS,
    ROUNDS,
    current_phase,
    lagging_reasons,
    rank_lagging,
    task_status,
)
from reporting.wording import rule_text


def number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def county_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(COUNTY_TIME).isoformat()


def summary(
    campaign: Mapping[str, Any], counters: Mapping[str, int], branches: int
) -> dict[str, Any]:
    phases = campaign["phases"] or {}
    return {
        "campaign_id": campaign["campaign_id"],
        "county_code": campaign["county_code"],
        "name": campaign["name"],
        "phase": current_phase(phases),
        "phases": phases,
        "branches": branches,
        "levels": {r: {lv: counters.get(f"level:{r}:{lv}", 0) for lv in LEVELS} for r in ROUNDS},
        "incomplete": {r: counters.get(f"incomplete:{r}", 0) for r in ROUNDS},
        "moved_up": counters.get("moved_up", 0),
        "commitments": {
            k: counters.get(f"commitments:{k}", 0)
            for k in ("published", "approved", "returned", "missing")
        },
        "tasks": {k: counters.get(f"tasks:{k}", 0) for k in ("total", "completed", "overdue")},
        "commendations": counters.get("commendations", 0),
        "activities": counters.get("activities", 0),
        "updated_at": county_time(campaign["updated_at"]),
    }


def branch_row(row: Mapping[str, Any], round_: str) -> dict[str, Any]:
    return {
        "branch_id": row["branch_id"],
        "name": row["name"],
        "unit": row["unit"],
        "township": row["township"],
        "round": round_,
        "level": row[f"{round_}_level"],
        "total": number(row[f"{round_}_total"]),
        "initial_level": row["initial_level"],
        "final_level": row["final_level"],
        "moved_up": row["moved_up"],
        "commitment": row["review"] if row["commitment_id"] else None,
        "tasks": {
            "total": row["tasks_total"],
            "completed": row["tasks_completed"],
            "overdue": row["tasks_overdue"],
        },
        "completion_rate": number(row["settled_rate"]),
        "commendations": row["commendations"],
    }


def card(
    branch: Mapping[str, Any],
    card: Mapping[str, Any] | None,
    lists: Mapping[str, Sequence[Mapping[str, Any]]],
    campaign_id: str,
) -> dict[str, Any]:
    card = card or {}

    def grade(round_: str) -> dict[str, Any] | None:
        if not card.get(f"{round_}_level"):
            return None
        return {
            "level": card[f"{round_}_level"],
            "total": number(card[f"{round_}_total"]),
            "basis": card[f"{round_}_basis"],
            "scores": card[f"{round_}_scores"],
            "computed_level": card.get(f"{round_}_computed_level"),
            "override_reason": card.get(f"{round_}_override_reason"),
            "veto_reason": card.get(f"{round_}_veto_reason"),
            "quota_limited": bool(card.get(f"{round_}_quota_limited")),
            "upgrade_capped": bool(card.get(f"{round_}_upgrade_capped")),
            "completion_rate": number(card.get(f"{round_}_completion_rate")),
            "settled": card.get(f"{round_}_settled"),
            "supplementary": bool(card.get(f"{round_}_supplementary")),
            "corrected": bool(card.get(f"{round_}_corrected")),
            "rules": rule_lines(card.get(f"{round_}_rules")),
        }

    commitment = None
    if card.get("commitment_id"):
        commitment = {
            "commitment_id": card["commitment_id"],
            "revision": card["commitment_revision"],
            "review": card["review"],
            "guidance": card["guidance"],
        }
    return {
        "campaign_id": campaign_id,
        "branch_id": branch["branch_id"],
        "name": branch["name"],
        "unit": branch["unit"],
        "township": branch["township"],
        "secretary": branch["secretary_name"],
        "grades": {"initial": grade("initial"), "final": grade("final")},
        "incomplete": {
            "initial": list(card.get("initial_missing") or []),
            "final": list(card.get("final_missing") or []),
        },
        "moved_up": bool(card.get("moved_up")),
        "problems": [
            {
                "problem_id": p["problem_id"],
                "description": p["description"],
                "source": p["source"],
                "needs_superior": p["needs_superior"],
                "escalated_to": p["escalated_to"],
            }
            for p in lists["problems"]
        ],
        "commitment": commitment,
        "commitment_missing": bool(card.get("commitment_missing")) and commitment is None,
        "tasks": [
            {
                "task_id": t["task_id"],
                "title": t["title"],
                "responsible": t["responsible"],
                "deadline": t["deadline"].isoformat() if t["deadline"] else None,
                "kind": t["kind"],
                "percent": t["percent"],
                "status": task_status(completed=t["completed"], overdue=t["overdue"]),
            }
            for t in lists["tasks"]
        ],
        "completion_rate": number(card.get("settled_rate")),
        "assessment_score": number(card.get("assessment_score")),
        "commendations": [dict(c) for c in lists["commendations"]],
        "activities": [
            {**dict(a), "held_on": a["held_on"].isoformat()} for a in lists["activities"]
        ],
    }


RULE_FIELDS = ("reason", "criterion", "score", "threshold", "completion_rate", "missing")


def rule_lines(rules: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The rules applied, as kept, each with its sentence (none kept: no lines)."""
    return [
        {
            "rule": rule["rule"],
            "level": rule["level"],
            **{name: rule.get(name) for name in RULE_FIELDS},
            "text": rule_text(rule),
        }
        for rule in rules or ()
    ]


def announced(
    campaign: Mapping[str, Any],
    round_: str,
    published_at: dt.datetime,
    rows: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The announced list (公示): names and levels, never scores or reasons."""
    counts = dict.fromkeys(LEVELS, 0)
    for row in rows:
        counts[row["level"]] += 1
    return {
        "campaign_id": campaign["campaign_id"],
        "county_code": campaign["county_code"],
        "round": round_,
        "title": f"{label('round', round_)}结果公示",
        "published_at": county_time(published_at),
        "counts": counts,
        "items": [
            {
                "branch_id": row["branch_id"],
                "name": row["name"],
                "unit": row["unit"],
                "kind": row["kind"],
                "kind_label": label("org_kind", row["kind"]),
                "level": row["level"],
                "level_label": label("level", row["level"]),
            }
            for row in rows
        ],
    }


def lagging(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    items = []
    for row in rows:
        reasons = lagging_reasons(
            overdue_tasks=row["tasks_overdue"],
            commitment_missing=row["commitment_missing"],
            commitment_published=row["commitment_id"] is not None,
            grading_missing=bool(row["initial_missing"] or row["final_missing"]),
        )
        if reasons:
            items.append(
                {
                    "branch_id": row["branch_id"],
                    "name": row["name"],
                    "township": row["township"],
                    "reasons": reasons,
                    "overdue_tasks": row["tasks_overdue"],
                    "level": row["final_level"] or row["initial_level"],
                }
            )
    return {"items": [dict(item) for item in rank_lagging(items)]}
