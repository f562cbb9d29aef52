"""The SQL of a committee's commendations waiting to be announced to the county (通报表扬), and
of each group's announcement (`store.commendations`).

A group is (campaign, awarding committee, day awarded). Its row in `commendation_announcements`
is `waiting` while it has commendations not named yet, `issued` once they are; a commendation
arriving after that opens the group's next announcement (number + 1). Saving a commendation
touches (and so locks) the group's row, and the announcement locks it before it reads the
commendations: one that commits while a group is being announced is named by it or by the next
one, never by none.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import asyncpg


class CommendationRow(NamedTuple):
    """A commendation by a committee (emulation.commended), kept until announced."""

    cause_source: str
    cause_event_id: str
    campaign_id: str
    county_code: str
    awarded_by: str
    awarded_on: dt.date
    branch_id: str
    honour: str
    title: str
    member_name: str | None


class AnnouncementKey(NamedTuple):
    """A group announced as one notice: the campaign, the committee and the day it awarded."""

    campaign_id: str
    awarded_by: str
    awarded_on: dt.date


class CommendationStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save(self, row: CommendationRow, at: dt.datetime) -> bool:
        """Keep a commendation (each event once) and make its group's announcement wait for
        it; False when the event was seen before (nothing changes)."""
        new = await self.conn.fetchval(
            """INSERT INTO commendations (cause_source, cause_event_id, campaign_id, county_code,
                   awarded_by, awarded_on, branch_id, honour, title, member_name)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT DO NOTHING RETURNING true""",
            *row,
        )
        if not new:
            return False
        await self.conn.execute(
            """INSERT INTO commendation_announcements AS a (campaign_id, awarded_by, awarded_on,
                   county_code, number, status, triggered_at)
               VALUES ($1, $2, $3, $4, 1, 'waiting', $5)
               ON CONFLICT (campaign_id, awarded_by, awarded_on) DO UPDATE SET
                   number = CASE WHEN a.status = 'issued' THEN a.number + 1 ELSE a.number END,
                   end_offsets = CASE WHEN a.status = 'issued' THEN NULL ELSE a.end_offsets END,
                   triggered_at = CASE WHEN a.status = 'issued' THEN EXCLUDED.triggered_at
                                       ELSE a.triggered_at END,
                   issued_at = CASE WHEN a.status = 'issued' THEN NULL ELSE a.issued_at END,
                   named = CASE WHEN a.status = 'issued' THEN NULL ELSE a.named END,
                   status = 'waiting'""",
            row.campaign_id,
            row.awarded_by,
            row.awarded_on,
            row.county_code,
            at,
        )
        return True

    async def waiting(self) -> list[tuple[AnnouncementKey, dict[str, int] | None]]:
        """The groups with commendations to announce, with their barrier snapshot."""
        rows = await self.conn.fetch(
            """SELECT campaign_id, awarded_by, awarded_on, end_offsets
               FROM commendation_announcements WHERE status = 'waiting' ORDER BY triggered_at"""
        )
        return [
            (AnnouncementKey(r["campaign_id"], r["awarded_by"], r["awarded_on"]), r["end_offsets"])
            for r in rows
        ]

    async def save_offsets(self, key: AnnouncementKey, offsets: dict[str, int]) -> None:
        await self.conn.execute(
            """UPDATE commendation_announcements SET end_offsets = $4
               WHERE campaign_id = $1 AND awarded_by = $2 AND awarded_on = $3
                 AND status = 'waiting'""",
            *key,
            offsets,
        )

    async def lock_waiting(self, key: AnnouncementKey) -> asyncpg.Record | None:
        """The group's announcement if it is still to be issued, locked until the end of the
        unit of work (a commendation of the group saved meanwhile waits for it)."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            """SELECT * FROM commendation_announcements
               WHERE campaign_id = $1 AND awarded_by = $2 AND awarded_on = $3
                 AND status = 'waiting' FOR UPDATE""",
            *key,
        )
        return row

    async def name_in(self, key: AnnouncementKey, number: int) -> list[asyncpg.Record]:
        """The group's commendations not announced yet, now named by announcement `number`."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """UPDATE commendations SET announcement = $4
               WHERE campaign_id = $1 AND awarded_by = $2 AND awarded_on = $3
                 AND announcement IS NULL
               RETURNING *""",
            *key,
            number,
        )
        return rows

    async def mark_issued(self, key: AnnouncementKey, named: int, at: dt.datetime) -> None:
        await self.conn.execute(
            """UPDATE commendation_announcements SET status = 'issued', issued_at = $4,
                   named = $5
               WHERE campaign_id = $1 AND awarded_by = $2 AND awarded_on = $3""",
            *key,
            at,
            named,
        )
