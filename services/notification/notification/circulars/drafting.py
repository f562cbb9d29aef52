"""What a circular's draft names, and how each item reads — pure rules, no I/O, no clock.

Criticism (通报批评): every organisation lagging, one item per reason the service knows — its
latest inspection's critical findings, the lagging facts of rectification and grading, a
progress report missing. Praise (通报表扬): commendable inspection findings and the committee's
commendations not yet in a signed circular. Each item is one sentence naming the organisation;
its id is `<section>-<org_id>-<basis>` (unique in the circular: one item per organisation and
basis).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grassroots.contract.labels import label
from grassroots.contract.supervision import CRITICAL_FINDINGS, FindingKind, Section
from notification.domain import REASON_ORDER, LaggingFact, lagging_branches

PROGRESS_REPORT_MISSING = "progress_report_missing"
COMMENDED = "commended"
ADDED = "added"  # the basis of an item the office added
# The order of an organisation's criticism items: what inspectors found first.
CRITICISM_ORDER: tuple[str, ...] = (
    FindingKind.LEADERSHIP_ATTENTION.value,
    FindingKind.INEFFECTIVE_MEASURES.value,
    FindingKind.LAGGING.value,
    *(reason.value for reason in REASON_ORDER),
    PROGRESS_REPORT_MISSING,
)
PRAISE_ORDER: tuple[str, ...] = (COMMENDED, FindingKind.COMMENDABLE.value)
MAX_TEXT = 4000  # an item's text (LongText)
MAX_TITLE = 200


@dataclass(frozen=True)
class Source:
    """What a praise item names, so that a signed circular marks it praised: an inspection or a
    commendation, by its event."""

    table: str  # "inspections" | "commendations"
    cause_source: str
    cause_event_id: str


@dataclass(frozen=True)
class InspectionSeen:
    org_id: str
    org_name: str
    inspected_on: dt.date
    findings: tuple[tuple[str, str], ...]  # (kind, text)
    source: Source


@dataclass(frozen=True)
class CommendationSeen:
    org_id: str
    org_name: str
    awarded_by_name: str
    awarded_on: dt.date
    honour: str
    title: str
    member_name: str | None
    source: Source


@dataclass(frozen=True)
class ReportMissing:
    org_id: str
    org_name: str
    due: dt.date


@dataclass(frozen=True)
class DraftItem:
    item_id: str
    section: Section
    org_id: str
    basis: str
    text: str
    sources: tuple[Source, ...] = ()


def item_id(section: Section, org_id: str, basis: str) -> str:
    return f"{section.value}-{org_id}-{basis}"


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _sentence(text: str) -> str:
    """A clause without its closing punctuation, to be joined into one sentence."""
    return text.strip().rstrip("。；;，,.！!")


def _item(
    section: Section, org_id: str, basis: str, text: str, sources: Iterable[Source] = ()
) -> DraftItem:
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 2] + "…。"
    return DraftItem(item_id(section, org_id, basis), section, org_id, basis, text, tuple(sources))


# ------------------------------------------------------------------ criticism (通报批评)


def _fact_clause(reason: str, details: Sequence[Mapping[str, Any]]) -> str:
    """A lagging reason with its facts, as the weekly circular has always said it."""
    name = label("lagging_reason", reason)
    if reason == "task_overdue":
        listed = "；".join(f"{d['title']}，{_day(d['deadline'])}到期" for d in details)
        return f"{name}{len(details)}项（{listed}）"
    if reason == "commitment_missing":
        return f"{name}（应于{_day(details[0]['due'])}前公开）"
    if reason == "grading_incomplete":
        listed = "；".join(
            f"{label('round', d['round'])}缺"
            + "、".join(label("missing_input", m) for m in d["missing"])
            for d in details
        )
        return f"{name}（{listed}）"
    if reason == "escalation_unanswered":
        listed = "；".join(
            f"{d['branch_name']}“{d.get('description') or d['problem_id']}”，"
            f"应于{_day(d['due'])}前答复"
            for d in details
        )
        return f"{name}{len(details)}项（{listed}）"
    if reason == "review_overdue":
        listed = "；".join(
            f"{d['branch_name']}第{d['revision']}版，应于{_day(d['due'])}前审核" for d in details
        )
        return f"{name}{len(details)}项（{listed}）"
    return name


def _day(value: str | dt.date) -> str:
    return cn_date(dt.date.fromisoformat(value) if isinstance(value, str) else value)


def finding_text(org_name: str, inspected_on: dt.date, kind: str, texts: Sequence[str]) -> str:
    """城关中学党支部在2012年5月18日督查中被发现领导重视不够：支部书记未按期主持专题研究。"""
    found = "；".join(_sentence(t) for t in texts)
    if kind == FindingKind.COMMENDABLE:
        return f"{org_name}在{cn_date(inspected_on)}督查中工作值得肯定：{found}。"
    return f"{org_name}在{cn_date(inspected_on)}督查中被发现{label('finding', kind)}：{found}。"


def criticism(
    lagging: Sequence[LaggingFact],
    latest_inspections: Sequence[InspectionSeen],
    missing: Sequence[ReportMissing],
) -> list[DraftItem]:
    """One item per lagging organisation and reason: the critical findings of its latest
    inspection, its lagging facts (each once), a progress report missing."""
    items: list[DraftItem] = []
    for inspection in latest_inspections:
        by_kind: dict[str, list[str]] = {}
        for kind, text in inspection.findings:
            if kind in CRITICAL_FINDINGS:
                by_kind.setdefault(kind, []).append(text)
        for kind, texts in by_kind.items():
            text = finding_text(inspection.org_name, inspection.inspected_on, kind, texts)
            items.append(_item(Section.CRITICISM, inspection.org_id, kind, text))
    for branch in lagging_branches(lagging):
        for reason in branch.reasons:
            clause = _fact_clause(reason.reason.value, reason.details)
            text = f"{branch.branch_name}{clause}。"
            items.append(_item(Section.CRITICISM, branch.branch_id, reason.reason.value, text))
    for report in missing:
        text = f"{report.org_name}未按时报送工作进展情况（应于{cn_date(report.due)}前报送）。"
        items.append(_item(Section.CRITICISM, report.org_id, PROGRESS_REPORT_MISSING, text))
    return sorted(items, key=lambda i: (i.org_id, CRITICISM_ORDER.index(i.basis)))


# ------------------------------------------------------------------ praise (通报表扬)


def commendation_clause(c: CommendationSeen) -> str:
    honoured = f"{c.org_name}{c.member_name}同志" if c.member_name else c.org_name
    honour = label("honour", c.honour)
    return f"{c.awarded_by_name}于{cn_date(c.awarded_on)}授予{honoured}“{honour}”称号（{c.title}）"


def praise(
    commendable: Sequence[InspectionSeen], commended: Sequence[CommendationSeen]
) -> list[DraftItem]:
    """One item per organisation for the committee's commendations of it (organisation first,
    then its members), one for its commendable inspection findings."""
    items: list[DraftItem] = []
    by_org: dict[str, list[CommendationSeen]] = {}
    for c in commended:
        by_org.setdefault(c.org_id, []).append(c)
    for org_id, listed in by_org.items():
        listed.sort(
            key=lambda c: (c.member_name is not None, c.member_name or "", c.awarded_on, c.title)
        )
        text = "；".join(commendation_clause(c) for c in listed) + "。"
        items.append(_item(Section.PRAISE, org_id, COMMENDED, text, (c.source for c in listed)))
    inspections_of: dict[str, list[InspectionSeen]] = {}
    for inspection in commendable:
        inspections_of.setdefault(inspection.org_id, []).append(inspection)
    for org_id, seen in inspections_of.items():
        seen.sort(key=lambda i: (i.inspected_on, i.source.cause_event_id))
        sentences = [
            finding_text(
                i.org_name,
                i.inspected_on,
                FindingKind.COMMENDABLE,
                [text for kind, text in i.findings if kind == FindingKind.COMMENDABLE],
            )
            for i in seen
        ]
        # several inspections: one sentence, each inspection's clause in turn
        text = "；".join(_sentence(s) for s in sentences) + "。"
        basis = FindingKind.COMMENDABLE.value
        items.append(_item(Section.PRAISE, org_id, basis, text, (i.source for i in seen)))
    return sorted(items, key=lambda i: (i.org_id, PRAISE_ORDER.index(i.basis)))


def draft_items(
    *,
    lagging: Sequence[LaggingFact] = (),
    latest_inspections: Sequence[InspectionSeen] = (),
    missing: Sequence[ReportMissing] = (),
    commendable: Sequence[InspectionSeen] = (),
    commended: Sequence[CommendationSeen] = (),
) -> list[DraftItem]:
    """The items of a draft: praise first, then criticism."""
    return praise(commendable, commended) + criticism(lagging, latest_inspections, missing)


# ------------------------------------------------------------------ ids and titles


def weekly_circular_id(campaign_id: str, day: dt.date) -> str:
    return f"circular-{campaign_id}-{day.isoformat()}"


def close_circular_id(campaign_id: str, phase: str) -> str:
    return f"circular-{campaign_id}-close-{phase}"


def requested_circular_id(campaign_id: str, request_id: str) -> str:
    return f"circular-{campaign_id}-{request_id}"


def commendation_circular_id(campaign_id: str, awarded_by: str, day: dt.date, n: int) -> str:
    return f"circular-{campaign_id}-commendation-{awarded_by}-{day.isoformat()}-{n}"


def _title(text: str) -> str:
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 4] + "…的通报"


def supervision_title(campaign_name: str | None, phase: str | None = None) -> str:
    """关于基层组织建设年督查情况的通报; at a phase's close, naming the phase."""
    name = campaign_name or "基层组织建设年"
    if phase:
        return _title(f"关于{name}“{label('phase', phase)}”阶段督查情况的通报")
    return _title(f"关于{name}督查情况的通报")


def commendation_title(titles: Sequence[str]) -> str:
    """关于局党委“七一”创先争优专项表彰的通报."""
    return _title(f"关于{'、'.join(dict.fromkeys(titles))}的通报")
