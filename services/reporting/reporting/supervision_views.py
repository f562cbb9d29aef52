"""Supervision as the API, the dashboard and the annual sheet show it (issue 16): inspections
with their findings labelled, progress reports per organisation with the due date missed, the
card's two sections, and who is lagging for supervision — decided on read, with the service's
clock, so the order inspections and reports came in never matters. The response models are here
too (`schemas.Card` takes the card's two)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import Request
from pydantic import BaseModel, Field

from grassroots.contract.calendar import (
    DEFAULT_PROGRESS_REPORT_EVERY_DAYS,
    county_today,
    progress_report_due,
    progress_report_missing,
)
from grassroots.contract.labels import label
from reporting.store import supervision as store
from reporting.store.supervision import CRITICAL

PROGRESS_REPORT_MISSING = "progress_report_missing"


@dataclass(frozen=True)
class Schedule:
    """When progress reports are due (工作进展情况): every `every_days` from the campaign's
    first day (its plan's first phase opening) to its last (the last phase closing)."""

    first_day: dt.date
    last_day: dt.date
    every_days: int

    def due(self, today: dt.date) -> dt.date | None:
        """The latest due date passed by `today`."""
        return progress_report_due(self.first_day, self.last_day, self.every_days, today)

    def missing(self, today: dt.date, last_reported_on: dt.date | None) -> dt.date | None:
        """The due date an organisation whose latest report is `last_reported_on` missed."""
        return progress_report_missing(
            self.first_day, self.last_day, self.every_days, today, last_reported_on
        )


def every_days(rules: Mapping[str, Any] | None) -> int:
    """The campaign rule `progress_report_every_days` (absent: the default, 14)."""
    found = (rules or {}).get("progress_report_every_days")
    return DEFAULT_PROGRESS_REPORT_EVERY_DAYS if found is None else int(found)


def schedule(
    plan: Sequence[Mapping[str, Any]] | None, rules: Mapping[str, Any] | None
) -> Schedule | None:
    """The campaign's schedule from its launch (not launched yet: none, nothing is due)."""
    if not plan:
        return None
    return Schedule(
        dt.date.fromisoformat(str(plan[0]["opens_on"])),
        dt.date.fromisoformat(str(plan[-1]["closes_on"])),
        every_days(rules),
    )


def campaign_schedule(campaign: Mapping[str, Any]) -> Schedule | None:
    return schedule(campaign["plan"], campaign["rules"])


def county_day(request: Request) -> dt.date:
    """Today in the county by the service's clock (the test clock file when set)."""
    return county_today(request.app.state.runtime.clock())


def day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def critical_reasons(kinds: Sequence[str]) -> list[str]:
    """The critical finding kinds as lagging reasons, in the contract's order."""
    return [kind for kind in CRITICAL if kind in kinds]


def findings(found: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    return [
        {"kind": f["kind"], "kind_label": label("finding", f["kind"]), "text": f["text"]}
        for f in found
    ]


def inspection(row: Mapping[str, Any]) -> dict[str, Any]:
    """An inspection as the card shows it."""
    return {
        "inspection_id": row["inspection_id"],
        "mode": row["mode"],
        "mode_label": label("inspection_mode", row["mode"]),
        "inspected_on": day(row["inspected_on"]),
        "inspectors": list(row["inspectors"]),
        "checked": row["checked"],
        "findings": findings(row["findings"]),
    }


def listed_inspection(row: Mapping[str, Any]) -> dict[str, Any]:
    """An inspection in the campaign's list: with the organisation."""
    return {"org_id": row["org_id"], "name": row["name"] or row["org_id"], **inspection(row)}


def progress_item(row: Mapping[str, Any], plan: Schedule | None, today: dt.date) -> dict[str, Any]:
    """An organisation's progress reports: how many, the latest, the due date it missed."""
    last = row["last_reported_on"]
    return {
        "org_id": row["org_id"],
        "name": row["name"],
        "reports": row["reports"],
        "last_reported_on": day(last),
        "missing_due": day(plan.missing(today, last) if plan else None),
    }


def on_card(
    lists: Mapping[str, Sequence[Mapping[str, Any]]], today: dt.date | None
) -> dict[str, Any]:
    """What a card shows of supervision: its inspections newest first, and its progress reports
    newest first with the due date missed by `today` (None: not judged)."""
    reports = lists["progress_reports"]
    campaign = lists["schedule"][0] if lists["schedule"] else None
    plan = schedule(campaign["plan"], campaign["rules"]) if campaign else None
    last = reports[0]["reported_on"] if reports else None
    missing = plan.missing(today, last) if plan and today else None
    return {
        "inspections": [inspection(row) for row in lists["inspections"]],
        "progress_reports": {
            "every_days": plan.every_days if plan else every_days(None),
            "last_reported_on": day(last),
            "missing_due": day(missing),
            "items": [
                {
                    "reported_on": day(r["reported_on"]),
                    "summary": r["summary"],
                    "document_ref": r["document_ref"],
                }
                for r in reports
            ],
        },
    }


def supervised_lagging(
    rows: Sequence[Mapping[str, Any]], plan: Schedule | None, today: dt.date
) -> list[dict[str, Any]]:
    """The organisations lagging for supervision with their reasons: the critical findings of
    the latest inspection, and progress_report_missing with the due date missed."""
    items = []
    for row in rows:
        reasons = critical_reasons(row["critical"])
        missing = (
            plan.missing(today, row["last_reported_on"])
            if plan and row["kind"] not in (None, "committee")
            else None
        )
        if missing is not None:
            reasons.append(PROGRESS_REPORT_MISSING)
        if reasons:
            items.append(
                {
                    "org_id": row["org_id"],
                    "name": row["name"] or row["org_id"],
                    "township": row["township"],
                    "level": row["final_level"] or row["initial_level"],
                    "reasons": reasons,
                    "progress_report_due": day(missing),
                }
            )
    return items


async def lagging(
    conn: asyncpg.Connection, campaign: Mapping[str, Any], today: dt.date
) -> list[dict[str, Any]]:
    """Who is lagging for supervision in the campaign `today` (`views.lagging` merges them)."""
    plan = campaign_schedule(campaign)
    rows = await store.lagging(
        conn,
        campaign["campaign_id"],
        campaign["county_code"],
        plan.due(today) if plan else None,
    )
    return supervised_lagging(rows, plan, today)


async def inspections_view(
    conn: asyncpg.Connection, campaign: Mapping[str, Any], *, limit: int | None, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    total, rows = await store.inspections(conn, campaign["campaign_id"], limit=limit, offset=offset)
    return total, [listed_inspection(row) for row in rows]


async def progress_view(
    conn: asyncpg.Connection,
    campaign: Mapping[str, Any],
    today: dt.date,
    *,
    limit: int | None,
    offset: int,
) -> tuple[int, int, list[dict[str, Any]]]:
    """How often reports are due, how many organisations there are, and a page of them."""
    plan = campaign_schedule(campaign)
    total, rows = await store.progress_reports(
        conn, campaign["campaign_id"], campaign["county_code"], limit=limit, offset=offset
    )
    days = plan.every_days if plan else every_days(campaign["rules"])
    return days, total, [progress_item(row, plan, today) for row in rows]


# Response models.


class Finding(BaseModel):
    kind: str = Field(
        description="leadership_attention, ineffective_measures, lagging (critical: the "
        "organisation is lagging while its latest inspection has one) or commendable."
    )
    kind_label: str = Field(description="领导重视不够, 措施不力, 工作滞后, 值得肯定.")
    text: str


class CardInspection(BaseModel):
    inspection_id: str
    mode: str = Field(description="scheduled or unannounced.")
    mode_label: str = Field(description="定期督查 or 不定期督查.")
    inspected_on: str
    inspectors: list[str]
    checked: str = Field(description="What was checked.")
    findings: list[Finding]


class Inspection(CardInspection):
    org_id: str
    name: str


class Inspections(BaseModel):
    items: list[Inspection] = Field(description="Newest first (inspected_on, then event time).")
    page: int
    page_size: int
    total: int


class ProgressReport(BaseModel):
    reported_on: str
    summary: str
    document_ref: str | None


class CardProgressReports(BaseModel):
    every_days: int = Field(description="Reports are due every this many days (default 14).")
    last_reported_on: str | None
    missing_due: str | None = Field(
        description="The due date passed without a report of its period (the organisation is "
        "lagging: progress_report_missing); null when none."
    )
    items: list[ProgressReport] = Field(description="Newest first.")


class ProgressItem(BaseModel):
    org_id: str
    name: str
    reports: int = Field(description="Progress reports made in the campaign.")
    last_reported_on: str | None
    missing_due: str | None = Field(
        description="The due date it missed (progress_report_missing); null when none."
    )


class ProgressReports(BaseModel):
    every_days: int = Field(description="Reports are due every this many days (default 14).")
    items: list[ProgressItem] = Field(description="The campaign's organisations, by org_id.")
    page: int
    page_size: int
    total: int
