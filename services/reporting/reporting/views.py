"""Shaping read-model rows into the contract's JSON (English codes; labels are for pages)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from grassroots.contract.calendar import COUNTY_TIME
from grassroots.contract.labels import label
from reporting import supervision_views
from reporting.domain import (
    COVERAGE_ACTIVITIES,
    FOUR_ONES,
    LEVELS,
    PROBLEM_STATUSES,
    ROUNDS,
    Marks,
    awarding_body_order,
    current_phase,
    lagging_reasons,
    parent_lagging_reasons,
    rank_lagging,
    rate,
    satisfaction,
    task_status,
)
from reporting.wording import NOT_STATED, answer_text, review_text, rule_text


def number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def county_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(COUNTY_TIME).isoformat()


def day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


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
        "problems": {k: counters.get(f"problems:{k}", 0) for k in ("total", *PROBLEM_STATUSES)},
        "prominent_problems": {k: counters.get(f"prominent:{k}", 0) for k in ("total", "resolved")},
        "escalations": {
            k: counters.get(f"escalations:{k}", 0)
            for k in ("total", "answered", "waiting", "overdue")
        },
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
    *,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """A branch's card; `today` (the county's day) judges a progress report missing."""
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
        "problems": [problem(p) for p in lists["problems"]],
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
        "plan_history": plan_history(
            lists["revisions"], lists["reviews"], lists["reviews_overdue"]
        ),
        "completion_rate": number(card.get("settled_rate")),
        "settlement": settlement(card),
        "assessment_score": number(card.get("assessment_score")),
        "activities": [
            {**dict(a), "held_on": a["held_on"].isoformat()} for a in lists["activities"]
        ],
        **emulation_on_card(lists),
        **supervision_views.on_card(lists, today),
    }


def problem(p: Mapping[str, Any]) -> dict[str, Any]:
    """A problem with where it stands (as rectification published it) and, once escalated,
    where it went and the superior's answer — or that it is awaited."""
    status = p["status"] or "open"
    escalation = None
    if p["escalated_to"] is not None:
        escalation = {
            "to_org_id": p["escalated_to"],
            "to_org_name": p["escalated_to_name"],
            "answer": p["answer"],
            "answer_label": label("escalation_answer", p["answer"]) if p["answer"] else "待答复",
            "action": p["answer_action"],
            "due": day(p["answer_due"]),
            "evidence": p["answer_evidence"],
            "reason": p["answer_reason"],
            "answered_at": county_time(p["answered_at"]),
            "overdue": p["overdue_to"] is not None and p["answer"] is None,
            "answer_due": day(p["overdue_due"]) if p["answer"] is None else None,
        }
        escalation["text"] = answer_text(escalation)
    return {
        "problem_id": p["problem_id"],
        "description": p["description"],
        "source": p["source"],
        "source_label": label("problem_source", p["source"]),
        "needs_superior": p["needs_superior"],
        "escalated_to": p["escalated_to"],
        "status": status,
        "status_label": label("problem_status", status),
        "task_id": p["task_id"],
        "task_title": p["task_title"],
        "evidence": p["evidence"],
        "reason": p["deferral_reason"],
        "escalation": escalation,
        "updated_at": county_time(p["updated_at"]),
    }


PLAN_TASK_FIELDS = (
    "task_id",
    "problem_id",
    "title",
    "responsible",
    "requirement",
    "measures",
    "deadline",
    "kind",
)


def plan_history(
    revisions: Sequence[Mapping[str, Any]],
    reviews: Sequence[Mapping[str, Any]],
    overdue: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Every revision of the plan, oldest first, each with its tasks as published and every
    review decision of it in order (a review whose revision is not in the history — kept
    before the history was — still shows, under its revision)."""
    by_revision: dict[int, dict[str, Any]] = {
        r["revision"]: {
            "revision": r["revision"],
            "commitment_id": r["commitment_id"],
            "published_at": county_time(r["published_at"]),
            "task_count": len(r["tasks"]),
            "tasks": [
                {name: task.get(name) for name in PLAN_TASK_FIELDS}
                | {"kind_label": label("task_kind", task["kind"])}
                for task in r["tasks"]
            ],
            "reviews": [],
            "review_overdue": None,
        }
        for r in revisions
    }
    for review in reviews:
        entry = by_revision.setdefault(
            review["revision"],
            {
                "revision": review["revision"],
                "commitment_id": review["commitment_id"],
                "published_at": None,
                "task_count": None,
                "tasks": [],
                "reviews": [],
                "review_overdue": None,
            },
        )
        shown = {
            "decision": review["decision"],
            "decision_label": label("review", review["decision"]),
            "reviewer_org_id": review["reviewer_org_id"],
            "reviewer_name": review["reviewer_name"],
            "reviewed_at": county_time(review["reviewed_at"]),
            "guidance": review["guidance"],
            "uncovered_reason": review["uncovered_reason"],
        }
        entry["reviews"].append(shown | {"text": review_text(shown)})
    for waiting in overdue:
        if waiting["revision"] in by_revision:
            by_revision[waiting["revision"]]["review_overdue"] = {
                "reviewer_org_id": waiting["reviewer_org_id"],
                "due": day(waiting["due"]),
            }
    return [by_revision[revision] for revision in sorted(by_revision)]


def settlement(card: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the settlement said: completed, overdue and gradual tasks on track (逐步整改, not
    yet due: neither completed nor failed, left out of the rate)."""
    if card.get("settled_rate") is None:
        return None
    return {
        "tasks_total": card.get("settled_total"),
        "tasks_completed": card.get("settled_completed"),
        "tasks_overdue": card.get("settled_overdue"),
        "tasks_on_track": card.get("settled_on_track") or 0,
        "completion_rate": number(card["settled_rate"]),
    }


RULE_FIELDS = (
    "reason",
    "criterion",
    "score",
    "threshold",
    "completion_rate",
    "missing",
    "weight",
    "previous_total",
)


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


def lagging(
    rows: Sequence[Mapping[str, Any]],
    parents: Sequence[Mapping[str, Any]] = (),
    supervised: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Lagging organisations, ranked: branches with their reasons, superiors with their own
    (an escalation unanswered, a plan unreviewed past its days), and organisations lagging for
    supervision (`supervision_views.lagging`: critical findings of the latest inspection, a
    progress report missing) — an organisation that is several shows once, with every reason."""
    items: dict[str, dict[str, Any]] = {}
    for row in rows:
        reasons = lagging_reasons(
            overdue_tasks=row["tasks_overdue"],
            commitment_missing=row["commitment_missing"],
            commitment_published=row["commitment_id"] is not None,
            grading_missing=bool(row["initial_missing"] or row["final_missing"]),
        )
        if reasons:
            items[row["branch_id"]] = {
                "branch_id": row["branch_id"],
                "name": row["name"],
                "township": row["township"],
                "reasons": reasons,
                "overdue_tasks": row["tasks_overdue"],
                "escalations_unanswered": 0,
                "reviews_overdue": 0,
                "level": row["final_level"] or row["initial_level"],
            }
    for parent in parents:
        reasons = parent_lagging_reasons(
            escalations_unanswered=parent["escalations_unanswered"],
            reviews_overdue=parent["reviews_overdue"],
        )
        if not reasons:
            continue
        item = items.setdefault(
            parent["org_id"],
            {
                "branch_id": parent["org_id"],
                "name": parent["name"] or parent["org_id"],
                "township": parent["township"],
                "reasons": [],
                "overdue_tasks": 0,
                "level": parent["final_level"] or parent["initial_level"],
            },
        )
        item["reasons"] = item["reasons"] + reasons
        item["escalations_unanswered"] = parent["escalations_unanswered"]
        item["reviews_overdue"] = parent["reviews_overdue"]
    for found in supervised:
        item = items.setdefault(
            found["org_id"],
            {
                "branch_id": found["org_id"],
                "name": found["name"],
                "township": found["township"],
                "reasons": [],
                "overdue_tasks": 0,
                "escalations_unanswered": 0,
                "reviews_overdue": 0,
                "level": found["level"],
            },
        )
        item["reasons"] = item["reasons"] + found["reasons"]
        item["progress_report_due"] = found["progress_report_due"]
    return {"items": [dict(item) for item in rank_lagging(items.values())]}


# Phases 3 and 4 (issue 15).


def four_ones(marks: Marks) -> dict[str, bool]:
    """The four marks of the "four ones" (四个一) and whether all four are there."""
    return {mark: getattr(marks, mark) for mark in FOUR_ONES} | {"all_four": marks.all_four}


def coverage(marks: Marks) -> dict[str, bool]:
    return {kind: getattr(marks, kind) for kind in COVERAGE_ACTIVITIES}


def four_ones_row(row: Mapping[str, Any]) -> dict[str, Any]:
    marks = Marks.of(row)
    return {
        "branch_id": row["branch_id"],
        "name": row["name"],
        "kind": row["kind"],
        "unit": row["unit"],
        **four_ones(marks),
        **coverage(marks),
    }


def emulation(
    campaign_id: str, counts: Mapping[str, int], uncovered: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Phase 3 at a glance: the share of organisations with all four ones, the coverage of
    each activity with the organisations not covered (`uncovered`: those missing one or more,
    with a flag per activity), and how many commendations, publicity items and learning
    meetings there are."""
    organisations = counts["organisations"]
    return {
        "campaign_id": campaign_id,
        "organisations": organisations,
        "four_ones": {
            "all_four": counts["all_four"],
            "share": rate(counts["all_four"], organisations),
        },
        "coverage": [
            {
                "activity": kind,
                "label": label("activity", kind),
                "covered": counts[kind],
                "share": rate(counts[kind], organisations),
                "not_covered": [
                    {"branch_id": row["branch_id"], "name": row["name"], "kind": row["kind"]}
                    for row in uncovered
                    if not row[kind]
                ],
            }
            for kind in COVERAGE_ACTIVITIES
        ],
        "commendations": counts["commendations"],
        "publicity": counts["publicity"],
        "learning_meetings": counts["learning_meetings"],
    }


def commendations(campaign_id: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The campaign's commendations by awarding body (`domain.awarding_body_order`), each
    body's items by awarded_on then branch_id (as the rows come)."""
    bodies: dict[str | None, dict[str, Any]] = {}
    for row in rows:
        awarded_by, name = row["awarded_by"], row["awarded_by_name"]  # name: where registered
        body = bodies.setdefault(
            awarded_by,
            {
                "awarded_by": awarded_by,
                "awarded_by_name": name or NOT_STATED,
                "order": awarding_body_order(row["awarded_by_kind"], name),
                "items": [],
            },
        )
        body["items"].append(
            {
                "branch_id": row["branch_id"],
                "branch_name": row["branch_name"] or row["branch_id"],
                "honour": row["honour"],
                "honour_label": label("honour", row["honour"]),
                "title": row["title"],
                "member_name": row["member_name"],
                "awarded_on": day(row["awarded_on"]),
            }
        )
    ordered = sorted(bodies.values(), key=lambda body: (body["order"], body["awarded_by"] or ""))
    return {
        "campaign_id": campaign_id,
        "total": len(rows),
        "by_awarding_body": [
            {key: body[key] for key in ("awarded_by", "awarded_by_name", "items")}
            for body in ordered
        ],
    }


def appraisal(groups: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """An organisation's appraisal (评议) over its rater groups, with both rates; None when it
    was not appraised."""
    if not groups:
        return None
    counted = satisfaction(groups)
    return {
        "satisfied": counted.satisfied,
        "basically_satisfied": counted.basically_satisfied,
        "dissatisfied": counted.dissatisfied,
        "total": counted.total,
        "satisfied_rate": counted.satisfied_rate,
        "satisfied_or_basically_rate": counted.satisfied_or_basically_rate,
        "groups": [
            {
                "group": g["rater_group"],
                "group_label": label("rater_group", g["rater_group"]),
                "satisfied": g["satisfied"],
                "basically_satisfied": g["basically_satisfied"],
                "dissatisfied": g["dissatisfied"],
            }
            for g in groups
        ],
    }


def three_level_review(
    campaign_id: str, facts: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, Any]:
    """三级联述联评联考: per organisation shown, its duty reports (专项述职), its appraisal
    (评议) and its annual review (年度考核)."""
    reports: dict[str, list[dict[str, Any]]] = {}
    for r in facts["duty_reports"]:
        reports.setdefault(r["org_id"], []).append(
            {
                "reporter_name": r["reporter_name"],
                "reported_to": r["reported_to"],
                "reported_on": day(r["reported_on"]),
                "document_ref": r["document_ref"],
            }
        )
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for g in facts["appraisals"]:
        groups.setdefault(g["org_id"], []).append(g)
    annual = {r["org_id"]: r for r in facts["annual_reviews"]}
    items = []
    for org in facts["organisations"]:
        org_id = org["org_id"]
        review = annual.get(org_id)
        items.append(
            {
                "org_id": org_id,
                "name": org["name"] or org_id,
                "kind": org["kind"],
                "duty_reports": reports.get(org_id, []),
                "duty_reported": org_id in reports,
                "appraisal": appraisal(groups.get(org_id, [])),
                "annual_review": None
                if review is None
                else {
                    "year": review["year"],
                    "grade": review["grade"],
                    "grade_label": label("annual_grade", review["grade"]),
                    "comment": review["comment"],
                },
            }
        )
    return {"campaign_id": campaign_id, "items": items}


def standing_rules(campaign_id: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Good practices made standing rules (巩固深化, 建章立制)."""
    return {
        "campaign_id": campaign_id,
        "items": [
            {
                "org_id": r["org_id"],
                "name": r["name"] or r["org_id"],
                "title": r["title"],
                "adopted_on": day(r["adopted_on"]),
                "document_ref": r["document_ref"],
                "summary": r["summary"],
            }
            for r in rows
        ],
    }


SUMMARY_QUESTIONS = (
    ("process_solid", "process"),
    ("problems_solved", "problems"),
    ("advance_evident", "advance"),
)
"""The summary review's three questions and their columns (`<column>_answer`, `_text`)."""


def summary_review(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The branch's summary review (评估小结): each question's answer and text."""
    if row is None:
        return None
    shown: dict[str, Any] = {
        question: {
            "answer": row[f"{column}_answer"],
            "answer_label": label("answer", row[f"{column}_answer"]),
            "text": row[f"{column}_text"],
        }
        for question, column in SUMMARY_QUESTIONS
    }
    return shown | {"reviewed_at": county_time(row["reviewed_at"])}


def committee_assessment(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The committee's assessment of the branch (局党委评估)."""
    if row is None:
        return None
    return {
        "score": number(row["score"]),
        "level": row["level"],
        "level_label": label("level", row["level"]) if row["level"] else None,
        "comment": row["comment"],
        "assessed_at": county_time(row["assessed_at"]),
    }


def emulation_on_card(lists: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """What a card shows of phases 3 and 4 besides its activities."""
    marks = Marks.of(lists["marks"][0]) if lists["marks"] else Marks()
    return {
        "four_ones": four_ones(marks),
        "coverage": coverage(marks),
        "commendations": [
            {
                "honour": c["honour"],
                "title": c["title"],
                "member_name": c["member_name"],
                "awarded_by": c["awarded_by"],
                "awarded_by_name": c["awarded_by_name"] or NOT_STATED,
                "awarded_on": day(c["awarded_on"]),
            }
            for c in lists["commendations"]
        ],
        "publicity": [
            {
                "title": p["title"],
                "channel": p["channel"],
                "channel_label": label("publicity_channel", p["channel"]),
                "channel_name": p["channel_name"],
                "published_on": day(p["published_on"]),
                "member_name": p["member_name"],
                "url": p["url"],
            }
            for p in lists["publicity"]
        ],
        "learning_meetings": [
            {
                "held_on": day(m["held_on"]),
                "target_level": m["target_level"],
                "target_level_label": label("level", m["target_level"]),
                "learned_from": list(m["learned_from"]),
                "summary": m["summary"],
            }
            for m in lists["learning_meetings"]
        ],
        "summary_review": summary_review(first(lists["summary_review"])),
        "committee_assessment": committee_assessment(first(lists["committee_assessment"])),
    }


def first(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return rows[0] if rows else None
