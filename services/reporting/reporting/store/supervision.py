"""Every SQL statement about supervision (issue 16): the writes of inspections, progress reports
and the launch's rules (`SupervisionStore`, a part of the reporting store), and the reads of the
API, the dashboard and the annual sheet (functions on a connection, as in `queries`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import asyncpg

from grassroots.contract.supervision import CRITICAL_FINDINGS, FindingKind
from grassroots.plumbing import database
from grassroots.plumbing.store import Store
from reporting.store import queries  # its `marks` (queries reads the card's lists here)

CRITICAL = [kind.value for kind in FindingKind if kind in CRITICAL_FINDINGS]
"""The critical finding kinds in the contract's order (the order of the lagging reasons)."""


class InspectionRow(NamedTuple):
    """supervision.inspected: one inspection as sent (findings as JSON)."""

    campaign_id: str
    org_id: str
    event_id: str
    event_time: dt.datetime
    inspection_id: str
    mode: str
    inspected_on: dt.date
    inspectors: list[str]
    checked: str
    findings: list[dict[str, Any]]


class ProgressReportRow(NamedTuple):
    """supervision.progress_reported: one report as sent."""

    campaign_id: str
    org_id: str
    event_id: str
    reported_on: dt.date
    summary: str
    document_ref: str | None


class SupervisionStore(Store):
    """The writes of supervision's read models."""

    async def save_campaign_rules(self, campaign_id: str, rules: dict[str, Any]) -> None:
        """The launch's rules as sent (a later launch replaces them, as it replaces the plan)."""
        await self.conn.execute(
            "UPDATE campaigns SET rules = $2 WHERE campaign_id = $1", campaign_id, rules
        )

    async def add_inspections(self, inspections: list[InspectionRow]) -> None:
        """Record inspections, each once per event."""
        await self.conn.executemany(  # one by one: a text array and a JSON list per row
            f"""INSERT INTO inspections ({", ".join(InspectionRow._fields)})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
            inspections,
        )

    async def add_progress_reports(self, reports: list[ProgressReportRow]) -> None:
        """Record progress reports, each once per event."""
        await database.upsert(
            self.conn,
            "progress_reports",
            reports,
            key=("campaign_id", "org_id", "event_id"),
            update=(),
        )


# Reads. The latest inspection of an organisation: greatest inspected_on, then event time,
# then event id (byte-wise) — whatever order they came in.

LATEST_INSPECTION = """SELECT DISTINCT ON (i.org_id) i.org_id, i.findings
    FROM inspections i WHERE i.campaign_id = $1
    ORDER BY i.org_id, i.inspected_on DESC, i.event_time DESC, i.event_id COLLATE "C" DESC"""
"""Per organisation inspected in campaign $1: the findings of its latest inspection."""

CRITICAL_KINDS = """ARRAY(SELECT DISTINCT f ->> 'kind' FROM jsonb_array_elements(l.findings) f
    WHERE f ->> 'kind' = ANY($2::text[]))"""
"""The critical kinds ($2) among the findings of `l`."""

REPORTED = """SELECT org_id, count(*) AS reports, max(reported_on) AS last_reported_on
    FROM progress_reports WHERE campaign_id = $1 GROUP BY org_id"""
"""Per organisation that reported in campaign $1: how many reports, the latest day."""

INSPECTION_COLUMNS = """i.org_id, b.name, i.inspection_id, i.mode, i.inspected_on,
    i.inspectors, i.checked, i.findings"""
NEWEST_FIRST = 'i.inspected_on DESC, i.event_time DESC, i.event_id COLLATE "C" DESC'


async def lagging(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, progress_due: dt.date | None
) -> list[asyncpg.Record]:
    """The organisations of the county that may be lagging for supervision: those whose latest
    inspection has critical findings, and — when a progress report was due by `progress_due` —
    the branches and general branches that have not reported since (the caller applies the
    rule to their latest report; a report after the due date always counts). Each with its
    name, kind, township and levels, its critical kinds and its latest report."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""WITH flagged AS (
                SELECT l.org_id, {CRITICAL_KINDS} AS critical FROM ({LATEST_INSPECTION}) l
            ), reported AS ({REPORTED})
            SELECT b.branch_id AS org_id, b.name, b.kind, b.township, c.initial_level,
                c.final_level, coalesce(f.critical, '{{}}') AS critical, r.last_reported_on
            FROM branches b
            LEFT JOIN flagged f ON f.org_id = b.branch_id
            LEFT JOIN reported r ON r.org_id = b.branch_id
            LEFT JOIN cards c ON c.campaign_id = $1 AND c.branch_id = b.branch_id
            WHERE b.county_code = $3 AND (
                cardinality(f.critical) > 0
                OR ($4::date IS NOT NULL AND b.kind <> 'committee'
                    AND (r.last_reported_on IS NULL OR r.last_reported_on <= $4::date)))
            ORDER BY b.branch_id""",
        campaign_id,
        CRITICAL,
        county_code,
        progress_due,
    )
    return rows


async def inspections(
    conn: asyncpg.Connection, campaign_id: str, *, limit: int | None, offset: int
) -> tuple[int, list[asyncpg.Record]]:
    """A page of the campaign's inspections, newest first, with the organisation's name; and
    how many there are."""
    total: int = await conn.fetchval(
        "SELECT count(*) FROM inspections WHERE campaign_id = $1", campaign_id
    )
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {INSPECTION_COLUMNS} FROM inspections i
            LEFT JOIN branches b ON b.branch_id = i.org_id
            WHERE i.campaign_id = $1 ORDER BY {NEWEST_FIRST}, i.org_id LIMIT $2 OFFSET $3""",
        campaign_id,
        limit,
        offset,
    )
    return total, rows


async def progress_reports(
    conn: asyncpg.Connection,
    campaign_id: str,
    county_code: str,
    *,
    limit: int | None,
    offset: int,
) -> tuple[int, list[asyncpg.Record]]:
    """A page of the campaign's organisations by org_id (every one: limit None), each with how
    many progress reports it made and its latest day; and how many organisations there are."""
    total: int = await conn.fetchval(
        "SELECT count(*) FROM branches WHERE county_code = $1 AND kind <> 'committee'",
        county_code,
    )
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""WITH o AS (
                SELECT b.branch_id, b.name FROM branches b WHERE {queries.ORGANISATIONS}
                ORDER BY b.branch_id LIMIT $3 OFFSET $4
            )
            SELECT o.branch_id AS org_id, o.name, count(p.event_id) AS reports,
                max(p.reported_on) AS last_reported_on
            FROM o LEFT JOIN progress_reports p
                ON p.campaign_id = $1 AND p.org_id = o.branch_id
            GROUP BY o.branch_id, o.name ORDER BY o.branch_id""",
        campaign_id,
        county_code,
        limit,
        offset,
    )
    return total, rows


async def card_lists(
    conn: asyncpg.Connection, campaign_id: str, org_id: str
) -> dict[str, list[asyncpg.Record]]:
    """What a card shows of supervision: its inspections newest first, its progress reports
    newest first, and the campaign's schedule (plan and rules)."""
    return {
        "inspections": await conn.fetch(
            f"""SELECT {INSPECTION_COLUMNS} FROM inspections i
                LEFT JOIN branches b ON b.branch_id = i.org_id
                WHERE i.campaign_id = $1 AND i.org_id = $2 ORDER BY {NEWEST_FIRST}""",
            campaign_id,
            org_id,
        ),
        "progress_reports": await conn.fetch(
            """SELECT reported_on, summary, document_ref FROM progress_reports
               WHERE campaign_id = $1 AND org_id = $2
               ORDER BY reported_on DESC, event_id COLLATE "C" DESC""",
            campaign_id,
            org_id,
        ),
        "schedule": await conn.fetch(
            "SELECT plan, rules FROM campaigns WHERE campaign_id = $1", campaign_id
        ),
    }


async def annual_rows(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, year: int | None
) -> list[asyncpg.Record]:
    """Every organisation of the campaign (by branch_id) with what the annual sheet shows:
    levels, moved up, tasks, completion rate, problems, commendations, the four marks and
    coverage (the county's `marks`, one aggregate each), the summary review's answers, the
    committee's assessment, duty reports, appraisal counts, the annual review (of the
    campaign's year, else the latest), inspections and their critical findings, and progress
    reports. Set-based: one aggregate per fact, hash-joined by organisation."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""WITH {queries.MARKS_OF_COUNTY},
            planned AS (
                SELECT branch_id, count(*) AS total,
                    count(*) FILTER (WHERE completed) AS completed,
                    count(*) FILTER (WHERE overdue AND NOT completed) AS overdue
                FROM tasks WHERE campaign_id = $1 AND in_plan GROUP BY branch_id
            ), listed AS (
                SELECT branch_id, count(*) AS total,
                    count(*) FILTER (WHERE status = 'resolved') AS resolved
                FROM problems WHERE campaign_id = $1 AND listed GROUP BY branch_id
            ), duty AS (
                SELECT org_id, count(*) AS reports FROM duty_reports WHERE campaign_id = $1
                GROUP BY org_id
            ), appraised AS (
                SELECT org_id, sum(satisfied)::int AS satisfied,
                    sum(basically_satisfied)::int AS basically_satisfied,
                    sum(dissatisfied)::int AS dissatisfied
                FROM appraisals WHERE campaign_id = $1 GROUP BY org_id
            ), annual AS (
                SELECT DISTINCT ON (org_id) org_id, year, grade FROM annual_reviews
                WHERE campaign_id = $1
                ORDER BY org_id, year IS NOT DISTINCT FROM $3 DESC, year DESC
            ), inspected AS (
                SELECT i.org_id, count(*) AS inspections, sum((
                    SELECT count(*) FROM jsonb_array_elements(i.findings) f
                    WHERE f ->> 'kind' = ANY($4::text[])))::int AS criticised
                FROM inspections i WHERE i.campaign_id = $1 GROUP BY i.org_id
            ), reported AS ({REPORTED})
            SELECT m.*, c.initial_level, c.final_level, coalesce(c.moved_up, false) AS moved_up,
                c.settled_rate, coalesce(c.commendations, 0) AS commendations,
                coalesce(t.total, 0) AS tasks_total, coalesce(t.completed, 0) AS tasks_completed,
                coalesce(t.overdue, 0) AS tasks_overdue,
                coalesce(p.total, 0) AS problems_total,
                coalesce(p.resolved, 0) AS problems_resolved,
                s.process_answer, s.problems_answer, s.advance_answer,
                a.score AS assessment_score, a.level AS assessment_level,
                coalesce(d.reports, 0) AS duty_reports,
                g.satisfied, g.basically_satisfied, g.dissatisfied,
                y.year AS annual_year, y.grade AS annual_grade,
                coalesce(i.inspections, 0) AS inspections,
                coalesce(i.criticised, 0) AS criticised,
                coalesce(r.reports, 0) AS progress_reports, r.last_reported_on
            FROM marks m
            LEFT JOIN cards c ON c.campaign_id = $1 AND c.branch_id = m.branch_id
            LEFT JOIN planned t ON t.branch_id = m.branch_id
            LEFT JOIN listed p ON p.branch_id = m.branch_id
            LEFT JOIN summary_reviews s ON s.campaign_id = $1 AND s.branch_id = m.branch_id
            LEFT JOIN committee_assessments a
                ON a.campaign_id = $1 AND a.branch_id = m.branch_id
            LEFT JOIN duty d ON d.org_id = m.branch_id
            LEFT JOIN appraised g ON g.org_id = m.branch_id
            LEFT JOIN annual y ON y.org_id = m.branch_id
            LEFT JOIN inspected i ON i.org_id = m.branch_id
            LEFT JOIN reported r ON r.org_id = m.branch_id
            ORDER BY m.branch_id""",
        campaign_id,
        county_code,
        year,
        CRITICAL,
    )
    return rows
