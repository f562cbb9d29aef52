"""Every SQL statement about circulars (a part of the reporting store).

Each change of a circular is conditional on `status = 'draft'`, so of two sign-offs racing the
second finds no row to change (PostgreSQL re-reads the row once the first commits); the office's
API also locks the row first (`lock_circular`) so that its checks and its change see one state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg

from grassroots.plumbing import database
from grassroots.plumbing.store import Store

Seen = dict[str, str]
"""What an edit found (the item's organisation, its former text): kept with the decision (as
`seen`) for its history, as the item may be gone since."""


class CircularRow(NamedTuple):
    """A drafted circular, as notification drafted it."""

    circular_id: str
    campaign_id: str
    county_code: str
    title: str
    trigger: str
    drafted_at: dt.datetime
    drafted_items: int


class ItemRow(NamedTuple):
    circular_id: str
    item_id: str
    position: int
    section: str
    org_id: str
    basis: str
    text: str


class DecisionRow(NamedTuple):
    """One decision of the office (its event's data as `data`)."""

    event_id: str
    campaign_id: str
    circular_id: str
    action: str
    decided_by: str
    decided_at: dt.datetime
    data: dict[str, Any]
    applied: bool


class IssueRow(NamedTuple):
    circular_id: str
    issued_at: dt.datetime
    issuing_body: str
    year: int
    number: int
    document_number: str
    recipients: int
    signed_by: str


class CircularStore(Store):
    """The circulars' read model and the office's decisions."""

    # Writes: drafts, decisions, issues.

    async def add_draft(self, circular: CircularRow, items: Sequence[ItemRow]) -> bool:
        """Keep a draft once (a circular's id is drafted once); False when it was there."""
        inserted = await self.conn.fetchval(
            f"""INSERT INTO circulars ({", ".join(CircularRow._fields)})
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (circular_id) DO NOTHING RETURNING true""",
            *circular,
        )
        if not inserted:
            return False
        # An item id repeated in one draft keeps its first item.
        await database.upsert(
            self.conn, "circular_items", items, key=("circular_id", "item_id"), update=()
        )
        return True

    async def record_decision(self, decision: DecisionRow) -> bool:
        """Keep a decision once per event id; False when it was kept already (the API
        recorded it in the transaction that published it)."""
        inserted = await self.conn.fetchval(
            f"""INSERT INTO circular_decisions ({", ".join(DecisionRow._fields)})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (event_id) DO NOTHING RETURNING true""",
            *decision,
        )
        return bool(inserted)

    async def mark_applied(self, event_id: str, seen: Seen) -> None:
        """Applied, with what it found (if anything) as `seen`: kept as the API keeps it."""
        await self.conn.execute(
            """UPDATE circular_decisions
               SET applied = true,
                   data = CASE WHEN $2::jsonb = '{}' THEN data
                               ELSE data || jsonb_build_object('seen', $2::jsonb) END
               WHERE event_id = $1""",
            event_id,
            seen,
        )

    async def waiting_decisions(self, circular_id: str) -> list[asyncpg.Record]:
        """Decisions kept before their circular's draft was read (a rebuild replays the
        decisions' topic first), in the order they were made (kept)."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT event_id, action, decided_at, data FROM circular_decisions
               WHERE circular_id = $1 AND NOT applied AND action <> 'requested'
               ORDER BY seq""",
            circular_id,
        )
        return rows

    async def lock_circular(self, circular_id: str) -> asyncpg.Record | None:
        """The circular's row, locked until the transaction ends (the office's writes)."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT circular_id, campaign_id, county_code, status FROM circulars"
            " WHERE circular_id = $1 FOR UPDATE",
            circular_id,
        )
        return row

    async def circular_known(self, circular_id: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT true FROM circulars WHERE circular_id = $1", circular_id
            )
        )

    async def edit_item(self, circular_id: str, item_id: str, text: str) -> Seen | None:
        """The item's new text; its organisation and former text (None: not changed)."""
        row = await self.conn.fetchrow(
            """UPDATE circular_items i SET text = $3
               FROM circulars c, circular_items former
               WHERE c.circular_id = i.circular_id AND c.status = 'draft'
                 AND i.circular_id = $1 AND i.item_id = $2
                 AND former.circular_id = i.circular_id AND former.item_id = i.item_id
               RETURNING i.org_id, former.text AS was""",
            circular_id,
            item_id,
            text,
        )
        return None if row is None else {"org_id": row["org_id"], "was": row["was"]}

    async def remove_item(self, circular_id: str, item_id: str) -> Seen | None:
        """Remove the item; its organisation and text (None: not changed)."""
        row = await self.conn.fetchrow(
            """DELETE FROM circular_items i USING circulars c
               WHERE c.circular_id = i.circular_id AND c.status = 'draft'
                 AND i.circular_id = $1 AND i.item_id = $2
               RETURNING i.org_id, i.text AS was""",
            circular_id,
            item_id,
        )
        return None if row is None else {"org_id": row["org_id"], "was": row["was"]}

    async def add_item(
        self, circular_id: str, item_id: str, section: str, org_id: str, text: str
    ) -> bool:
        """An item the office adds, after every other (basis `added`)."""
        status: str = await self.conn.execute(
            """INSERT INTO circular_items
                   (circular_id, item_id, position, section, org_id, basis, text)
               SELECT c.circular_id, $2,
                      (SELECT coalesce(max(position), 0) + 1 FROM circular_items
                       WHERE circular_id = $1),
                      $3, $4, 'added', $5
               FROM circulars c WHERE c.circular_id = $1 AND c.status = 'draft'
               ON CONFLICT (circular_id, item_id) DO NOTHING""",
            circular_id,
            item_id,
            section,
            org_id,
            text,
        )
        return status.endswith(" 1")

    async def sign(self, circular_id: str, signed_by: str, signed_at: dt.datetime) -> bool:
        status: str = await self.conn.execute(
            """UPDATE circulars SET status = 'signed', signed_by = $2, signed_at = $3
               WHERE circular_id = $1 AND status = 'draft'""",
            circular_id,
            signed_by,
            signed_at,
        )
        return status.endswith(" 1")

    async def discard(
        self, circular_id: str, discarded_by: str, discarded_at: dt.datetime, reason: str
    ) -> bool:
        status: str = await self.conn.execute(
            """UPDATE circulars
               SET status = 'discarded', discarded_by = $2, discarded_at = $3, discard_reason = $4
               WHERE circular_id = $1 AND status = 'draft'""",
            circular_id,
            discarded_by,
            discarded_at,
            reason,
        )
        return status.endswith(" 1")

    async def issue(self, issued: IssueRow) -> None:
        """Issued: the last word on a circular (its signer as notification read it when the
        sign-off decision itself was not read here)."""
        await self.conn.execute(
            """UPDATE circulars SET status = 'issued', issued_at = $2, issuing_body = $3,
                   year = $4, number = $5, document_number = $6, recipients = $7,
                   signed_by = coalesce(signed_by, $8)
               WHERE circular_id = $1""",
            *issued,
        )

    # Reads: the API's and the dashboard's.

    async def item_ids(self, circular_id: str) -> set[str]:
        rows = await self.conn.fetch(
            "SELECT item_id FROM circular_items WHERE circular_id = $1", circular_id
        )
        return {row["item_id"] for row in rows}

    async def is_organisation_of(self, org_id: str, county_code: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT true FROM branches WHERE branch_id = $1 AND county_code = $2",
                org_id,
                county_code,
            )
        )

    async def circulars_of(self, campaign_id: str) -> list[asyncpg.Record]:
        """A campaign's circulars, newest draft first, with their item counts."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT c.*, (SELECT count(*) FROM circular_items i
                            WHERE i.circular_id = c.circular_id) AS items
               FROM circulars c WHERE c.campaign_id = $1
               ORDER BY c.drafted_at DESC, c.circular_id DESC""",
            campaign_id,
        )
        return rows

    async def circular(self, circular_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT * FROM circulars WHERE circular_id = $1", circular_id
        )
        return row

    async def items(self, circular_id: str) -> list[asyncpg.Record]:
        """The circular's items as edited, in order, with their organisations' names."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT i.item_id, i.section, i.org_id, b.name AS org_name, i.basis, i.text
               FROM circular_items i LEFT JOIN branches b ON b.branch_id = i.org_id
               WHERE i.circular_id = $1 ORDER BY i.position, i.item_id""",
            circular_id,
        )
        return rows

    async def decisions(self, circular_id: str) -> list[asyncpg.Record]:
        """The office's decisions that changed the circular, in the order they were made."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT d.action, d.decided_by, d.decided_at, d.data, b.name AS org_name
               FROM circular_decisions d
               LEFT JOIN branches b
                      ON b.branch_id = coalesce(d.data ->> 'org_id', d.data -> 'seen' ->> 'org_id')
               WHERE d.circular_id = $1 AND d.applied AND d.action <> 'requested'
               ORDER BY d.seq""",
            circular_id,
        )
        return rows

    async def waiting_requests(self, campaign_id: str) -> list[asyncpg.Record]:
        """The office's requests for a draft that no draft answers yet."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT d.data ->> 'request_id' AS request_id, d.decided_by, d.decided_at
               FROM circular_decisions d
               WHERE d.campaign_id = $1 AND d.action = 'requested'
                 AND NOT EXISTS (SELECT 1 FROM circulars c WHERE c.circular_id = d.circular_id)
               ORDER BY d.seq DESC""",
            campaign_id,
        )
        return rows
