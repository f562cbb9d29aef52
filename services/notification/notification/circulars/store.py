"""The SQL of supervision and circulars (`store.circulars`): inspections and progress reports
kept, what a draft is made of, the drafts and their items as the office edits them, and the
document numbers.

A number is taken under its (county, year) row's lock in the transaction that issues the
circular: a second sign-off waits for the first to commit and gets the next number; a
transaction that rolls back used none. The drafts' decisions lock the draft's row first, so two
decisions about one circular are applied one after the other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg

from grassroots.plumbing import database
from notification.circulars.drafting import Source


class InspectionRow(NamedTuple):
    """An inspection (supervision.inspected), kept once per event."""

    cause_source: str
    cause_event_id: str
    campaign_id: str
    county_code: str
    org_id: str
    inspection_id: str
    mode: str
    inspected_on: dt.date
    event_time: dt.datetime
    findings: list[dict[str, str]]


class ProgressReportRow(NamedTuple):
    """A progress report (supervision.progress_reported), kept once per event."""

    cause_source: str
    cause_event_id: str
    campaign_id: str
    county_code: str
    org_id: str
    reported_on: dt.date


class CircularRow(NamedTuple):
    """A drafted circular."""

    circular_id: str
    campaign_id: str
    county_code: str
    trigger: str
    title: str
    as_of: dt.date
    drafted_at: dt.datetime


class ItemRow(NamedTuple):
    """An item of a circular: as drafted, or added by the office."""

    circular_id: str
    item_id: str
    section: str
    org_id: str
    basis: str
    text: str
    sources: list[dict[str, str]]


class Issue(NamedTuple):
    """What a sign-off decided: who signed, when, and the document's number."""

    signed_by: str
    signed_at: dt.datetime
    issuing_body: str
    year: int
    number: int
    document_number: str
    recipients: int
    issued_at: dt.datetime


def source_dict(source: Source) -> dict[str, str]:
    return {"table": source.table, "source": source.cause_source, "id": source.cause_event_id}


class CircularStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # -------------------------------------------------------------- inspections and reports

    async def save_inspections(self, rows: Sequence[InspectionRow]) -> None:
        """Keep inspections, each once per event (one kept before is left as it is)."""
        width = len(InspectionRow._fields)
        await self.conn.execute(
            """INSERT INTO inspections (cause_source, cause_event_id, campaign_id, county_code,
                   org_id, inspection_id, mode, inspected_on, event_time, findings)
               SELECT s, e, ca, cc, o, i, m, d, t, f::jsonb
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                           $6::text[], $7::text[], $8::date[], $9::timestamptz[], $10::text[])
                    AS r(s, e, ca, cc, o, i, m, d, t, f)
               ON CONFLICT DO NOTHING""",
            *database.columns(rows, width - 1),
            # as text: a list of lists would be taken for a two-dimensional array
            [json.dumps(row.findings, ensure_ascii=False) for row in rows],
        )

    async def save_progress_reports(self, rows: Sequence[ProgressReportRow]) -> None:
        """Keep progress reports, each once per event (one kept before is left as it is)."""
        await database.upsert(
            self.conn, "progress_reports", rows, key=("cause_source", "cause_event_id"), update=()
        )

    async def latest_inspections(self, campaign_id: str) -> list[asyncpg.Record]:
        """Each organisation's latest inspection in the campaign (greatest inspected_on, then
        event time, then id), with its name."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT DISTINCT ON (i.org_id) i.*, COALESCE(o.name, i.org_id) AS org_name
               FROM inspections i LEFT JOIN orgs o ON o.org_id = i.org_id
               WHERE i.campaign_id = $1
               ORDER BY i.org_id, i.inspected_on DESC, i.event_time DESC,
                        i.cause_event_id DESC""",
            campaign_id,
        )
        return rows

    async def commendable_inspections(self, campaign_id: str) -> list[asyncpg.Record]:
        """Inspections with a commendable finding not yet praised in a signed circular."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT i.*, COALESCE(o.name, i.org_id) AS org_name
               FROM inspections i LEFT JOIN orgs o ON o.org_id = i.org_id
               WHERE i.campaign_id = $1 AND i.praised_in IS NULL
                 AND i.findings @> '[{"kind": "commendable"}]'
               ORDER BY i.org_id, i.inspected_on, i.cause_event_id""",
            campaign_id,
        )
        return rows

    async def commendations_to_praise(
        self, campaign_id: str, *, announcement: tuple[str, dt.date, int] | None = None
    ) -> list[asyncpg.Record]:
        """The committee's commendations not yet praised in a signed circular (or only those
        of one group's announcement: committee, day, number), with the names."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT c.*, COALESCE(o.name, c.branch_id) AS org_name,
                      COALESCE(a.name, c.awarded_by) AS awarded_by_name
               FROM commendations c
               LEFT JOIN orgs o ON o.org_id = c.branch_id
               LEFT JOIN orgs a ON a.org_id = c.awarded_by
               WHERE c.campaign_id = $1 AND c.praised_in IS NULL
                 AND ($2::text IS NULL
                      OR (c.awarded_by = $2 AND c.awarded_on = $3 AND c.announcement = $4))
               ORDER BY c.branch_id, c.cause_source, c.cause_event_id""",
            campaign_id,
            *(announcement or (None, None, None)),
        )
        return rows

    async def last_reports(self, campaign_id: str, county_code: str) -> list[asyncpg.Record]:
        """The branches and general branches of the county, each with its latest progress
        report's day in the campaign (NULL: none yet)."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT o.org_id, o.name,
                      (SELECT max(r.reported_on) FROM progress_reports r
                       WHERE r.campaign_id = $1 AND r.org_id = o.org_id) AS last_reported_on
               FROM orgs o
               WHERE o.county_code = $2 AND o.kind IN ('branch', 'general_branch')
               ORDER BY o.org_id""",
            campaign_id,
            county_code,
        )
        return rows

    async def campaign_window(self, campaign_id: str) -> tuple[dt.date, dt.date] | None:
        """The first phase's opening and the last phase's closing day of the launch's plan."""
        row = await self.conn.fetchrow(
            "SELECT min(opens_on) AS first, max(closes_on) AS last FROM phases"
            " WHERE campaign_id = $1",
            campaign_id,
        )
        if row is None or row["first"] is None or row["last"] is None:
            return None
        return row["first"], row["last"]

    # -------------------------------------------------------------- drafts

    async def save_draft(self, circular: CircularRow, items: Sequence[ItemRow]) -> bool:
        """Keep a draft with its items; False when a circular of that id exists (nothing
        changes: a draft is made once)."""
        new = await self.conn.fetchval(
            """INSERT INTO circular_documents (circular_id, campaign_id, county_code, trigger,
                   title, as_of, drafted_at, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft')
               ON CONFLICT DO NOTHING RETURNING true""",
            *circular,
        )
        if not new:
            return False
        await self.conn.executemany(
            """INSERT INTO circular_items (circular_id, item_id, section, org_id, basis, text,
                   sources, position, drafted_text)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6)""",
            [(*item, position) for position, item in enumerate(items, start=1)],
        )
        return True

    async def lock(self, circular_id: str) -> asyncpg.Record | None:
        """The circular, locked until the end of the unit of work."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT * FROM circular_documents WHERE circular_id = $1 FOR UPDATE", circular_id
        )
        return row

    async def items(self, circular_id: str) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM circular_items WHERE circular_id = $1 ORDER BY position", circular_id
        )
        return rows

    async def edit_item(
        self, circular_id: str, item_id: str, text: str, by: str, at: dt.datetime
    ) -> None:
        await self.conn.execute(
            """UPDATE circular_items SET text = $3, changed_by = $4, changed_at = $5
               WHERE circular_id = $1 AND item_id = $2""",
            circular_id,
            item_id,
            text,
            by,
            at,
        )

    async def remove_item(
        self, circular_id: str, item_id: str, reason: str, by: str, at: dt.datetime
    ) -> None:
        await self.conn.execute(
            """UPDATE circular_items SET removed_reason = $3, changed_by = $4, changed_at = $5
               WHERE circular_id = $1 AND item_id = $2""",
            circular_id,
            item_id,
            reason,
            by,
            at,
        )

    async def add_item(self, item: ItemRow, reason: str, by: str, at: dt.datetime) -> None:
        """An item the office added, after the others."""
        await self.conn.execute(
            """INSERT INTO circular_items (circular_id, item_id, section, org_id, basis, text,
                   sources, added_reason, changed_by, changed_at, position)
               SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE(max(position), 0) + 1
               FROM circular_items WHERE circular_id = $1""",
            *item,
            reason,
            by,
            at,
        )

    # -------------------------------------------------------------- sign-off and discard

    async def take_number(self, county_code: str, year: int) -> int:
        """The next document number of the county and year, under the row's lock until the
        unit of work ends."""
        number: int = await self.conn.fetchval(
            """INSERT INTO circular_numbers (county_code, year, last_number) VALUES ($1, $2, 1)
               ON CONFLICT (county_code, year)
               DO UPDATE SET last_number = circular_numbers.last_number + 1
               RETURNING last_number""",
            county_code,
            year,
        )
        return number

    async def mark_issued(self, circular_id: str, issue: Issue) -> None:
        await self.conn.execute(
            """UPDATE circular_documents SET status = 'issued', signed_by = $2, signed_at = $3,
                   issuing_body = $4, year = $5, number = $6, document_number = $7,
                   recipients = $8, issued_at = $9
               WHERE circular_id = $1""",
            circular_id,
            *issue,
        )

    async def mark_praised(self, circular_id: str, sources: Sequence[dict[str, Any]]) -> None:
        """The inspections and commendations a signed circular's praise named (kept or removed:
        the office decided on them) are not praised again."""
        for table in ("inspections", "commendations"):
            keys = [(s["source"], s["id"]) for s in sources if s["table"] == table]
            if keys:
                await self.conn.execute(
                    f"""UPDATE {table} SET praised_in = $1
                        WHERE (cause_source, cause_event_id) IN
                              (SELECT * FROM unnest($2::text[], $3::text[]))
                          AND praised_in IS NULL""",
                    circular_id,
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                )

    async def mark_discarded(self, circular_id: str, by: str, reason: str, at: dt.datetime) -> None:
        await self.conn.execute(
            """UPDATE circular_documents SET status = 'discarded', discarded_by = $2,
                   discard_reason = $3, discarded_at = $4
               WHERE circular_id = $1""",
            circular_id,
            by,
            reason,
            at,
        )

    # -------------------------------------------------------------- the office, reminded

    async def drafts_to_remind(self, now: dt.datetime, default_days: int) -> list[asyncpg.Record]:
        """Drafts neither signed nor discarded their campaign's `circular_sign_off_days` (else
        the default) after they were drafted, not reminded yet: marked reminded, returned."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """WITH due AS (
                   SELECT d.circular_id,
                          COALESCE((SELECT c.circular_sign_off_days FROM campaigns c
                                    WHERE c.campaign_id = d.campaign_id), $2) AS days
                   FROM circular_documents d
                   WHERE d.status = 'draft' AND d.reminded_at IS NULL)
               UPDATE circular_documents d SET reminded_at = $1
               FROM due
               WHERE d.circular_id = due.circular_id
                 AND d.drafted_at + due.days * interval '1 day' <= $1
               RETURNING d.*, due.days""",
            now,
            default_days,
        )
        return rows

    async def refused_sign_offs(self) -> list[asyncpg.Record]:
        """Sign-offs refused because the county has no issuing body, whose office was not told
        yet (a notice caused by the refused event is planned once it is told)."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT i.source, i.event_id, i.reason, d.circular_id, d.campaign_id,
                      d.county_code, d.title, d.trigger
               FROM inbox i JOIN circular_documents d ON d.circular_id = i.subject
               WHERE i.type = 'supervision.circular_signed' AND i.outcome = 'rejected'
                 AND i.reason LIKE '%has no issuing body configured%'
                 AND NOT EXISTS (SELECT 1 FROM deliveries x
                                 WHERE x.cause_source = i.source
                                   AND x.cause_event_id = i.event_id)
               ORDER BY i.received_at"""
        )
        return rows
