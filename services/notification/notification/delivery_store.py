"""The SQL of deliveries (planned, claimed, finished) and of the organisations' inbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from grassroots.plumbing import database

WAKE_CHANNEL = "notification_deliveries"  # NOTIFY on commit wakes the delivery worker


class NewDelivery(NamedTuple):
    notification_id: str
    cause_source: str
    cause_event_id: str
    recipient: str
    channel: str
    kind: str
    county_code: str
    campaign_id: str | None
    branch_id: str | None
    address: str | None
    subject: str
    body: str
    html: str | None


class InboxMessageRow(NamedTuple):
    message_id: str  # the notification_id
    org_id: str
    county_code: str
    campaign_id: str | None
    kind: str
    subject: str
    body: str
    created_at: dt.datetime  # on the service clock


CLAIMED = """notification_id, cause_event_id, recipient, channel, kind, county_code,
             campaign_id, branch_id, address, subject, body, html, attempts, planned_at"""


class DeliveryStore:
    """The SQL of deliveries and of the inbox, on one unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> set[str]:
        """Plan deliveries, each (cause, recipient, channel) once: return the ids new here. Inbox
        deliveries are written delivered (the inbox row is written in the same transaction)."""
        if not rows:
            return set()
        columns = list(zip(*rows, strict=True))
        inserted = await self.conn.fetch(
            """INSERT INTO deliveries (notification_id, cause_source, cause_event_id, recipient,
                   channel, kind, county_code, campaign_id, branch_id, address, subject, body, html,
                   status, attempts, finished_at)
               SELECT n, s, e, r, ch, k, cc, ca, b, a, su, bo, h,
                      CASE WHEN ch = 'inbox' THEN 'delivered' ELSE 'pending' END,
                      CASE WHEN ch = 'inbox' THEN 1 ELSE 0 END,
                      CASE WHEN ch = 'inbox' THEN clock_timestamp() END
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                           $13::text[]) AS t(n, s, e, r, ch, k, cc, ca, b, a, su, bo, h)
               ON CONFLICT DO NOTHING
               RETURNING notification_id, channel""",
            *[list(column) for column in columns],
        )
        if any(row["channel"] != "inbox" for row in inserted):
            await self.conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
        return {row["notification_id"] for row in inserted}

    async def insert_inbox_messages(
        self, rows: Sequence[NewDelivery], created_at: dt.datetime
    ) -> None:
        """The inbox messages of inbox deliveries (each once: a message is never rewritten)."""
        messages = [
            InboxMessageRow(
                r.notification_id,
                r.recipient,
                r.county_code,
                r.campaign_id,
                r.kind,
                r.subject,
                r.body,
                created_at,
            )
            for r in rows
        ]
        await database.upsert(self.conn, "inbox_messages", messages, key=("message_id",), update=())

    async def release_claims_of_previous_run(self, instance: str, token_prefix: str) -> int:
        """Deliveries a previous run of this instance was sending when it died: due now, not when
        their lease would expire. (One instance id runs once at a time: static membership.)"""
        released: str = await self.conn.execute(
            """UPDATE deliveries SET lease_until = now()
               WHERE status = 'sending' AND claimed_by = $1 AND claim_token NOT LIKE $2""",
            instance,
            f"{token_prefix}%",
        )
        return int(released.split()[-1])

    async def claim(
        self,
        *,
        channel: str,
        address: str | None,
        limit: int,
        lease_seconds: float,
        instance: str,
        token: str,
    ) -> list[asyncpg.Record]:
        """Take up to `limit` due deliveries of one lane (a channel; for webhooks one URL):
        pending ones whose time has come, and sending ones whose lease expired (their sender died).
        Each attempt is counted here, before it is made."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            # Two index scans that stop at the limit (deliveries_leased, deliveries_due): one
            # scan with OR sorted every due delivery of a backlog at each claim.
            f"""WITH expired AS (
                    SELECT notification_id FROM deliveries
                    WHERE channel = $1 AND status = 'sending' AND lease_until <= now()
                      AND ($2::text IS NULL OR address = $2)
                    ORDER BY lease_until LIMIT $3
                    FOR UPDATE SKIP LOCKED),
                pending AS (
                    SELECT notification_id FROM deliveries
                    WHERE channel = $1 AND status = 'pending' AND next_attempt_at <= now()
                      AND ($2::text IS NULL OR address = $2)
                    ORDER BY next_attempt_at LIMIT $3
                    FOR UPDATE SKIP LOCKED),
                due AS (
                    (SELECT notification_id FROM expired)
                    UNION ALL (SELECT notification_id FROM pending) LIMIT $3)
                UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1,
                    lease_until = now() + make_interval(secs => $4), claimed_by = $5, claim_token = $6
                FROM due WHERE d.notification_id = due.notification_id
                RETURNING {", ".join("d." + c.strip() for c in CLAIMED.split(","))}""",
            channel,
            address,
            limit,
            lease_seconds,
            instance,
            token,
        )
        return rows

    async def finish(
        self, notification_id: str, token: str, status: str, error: str | None
    ) -> asyncpg.Record | None:
        """Record the final outcome if the claim is still ours; the row, with its latency."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            f"""UPDATE deliveries SET status = $3, finished_at = clock_timestamp(),
                    lease_until = NULL, last_error = $4
                WHERE notification_id = $1 AND status = 'sending' AND claim_token = $2
                RETURNING {CLAIMED}, extract(epoch FROM finished_at - planned_at) AS latency""",
            notification_id,
            token,
            status,
            error,
        )
        return row

    async def reschedule(self, notification_id: str, token: str, delay: float, error: str) -> bool:
        done = await self.conn.fetchval(
            """UPDATE deliveries SET status = 'pending', lease_until = NULL, last_error = $4,
                   next_attempt_at = clock_timestamp() + make_interval(secs => $3)
               WHERE notification_id = $1 AND status = 'sending' AND claim_token = $2
               RETURNING true""",
            notification_id,
            token,
            delay,
            error,
        )
        return bool(done)

    async def fail_unconfigured_webhooks(
        self, urls: Sequence[str], error: str
    ) -> list[asyncpg.Record]:
        """Webhook deliveries to a URL no longer configured will never be claimed: fail them."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"""UPDATE deliveries SET status = 'failed', attempts = GREATEST(attempts, 1),
                    finished_at = clock_timestamp(), lease_until = NULL, last_error = $2
                WHERE channel = 'webhook' AND status IN ('pending', 'sending')
                  AND NOT (address = ANY($1::text[]))
                RETURNING {CLAIMED}""",
            list(urls),
            error,
        )
        return rows

    async def backlog(self) -> int:
        count: int = await self.conn.fetchval(  # two counts: each is answered by its partial index
            """SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending')
                    + (SELECT count(*) FROM deliveries WHERE status = 'sending')"""
        )
        return count

    # -------------------------------------------------------------- the inbox API

    async def inbox_page(
        self, org_id: str, *, state: str, limit: int, offset: int
    ) -> tuple[list[asyncpg.Record], int, int]:
        """A page of the organisation's messages, newest first; the total shown and unread."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT message_id, kind, campaign_id, subject, body, created_at, read_at
               FROM inbox_messages
               WHERE org_id = $1 AND ($2 = 'all' OR ($2 = 'unread') = (read_at IS NULL))
               ORDER BY seq DESC LIMIT $3 OFFSET $4""",
            org_id,
            state,
            limit,
            offset,
        )
        counts = await self.conn.fetchrow(
            """SELECT count(*) FILTER (WHERE $2 = 'all' OR ($2 = 'unread') = (read_at IS NULL))
                          AS total,
                      count(*) FILTER (WHERE read_at IS NULL) AS unread
               FROM inbox_messages WHERE org_id = $1""",
            org_id,
            state,
        )
        return rows, counts["total"], counts["unread"]

    async def mark_read(self, org_id: str, message_id: str, at: dt.datetime) -> dt.datetime | None:
        read_at: dt.datetime | None = await self.conn.fetchval(
            """UPDATE inbox_messages SET read_at = COALESCE(read_at, $3)
               WHERE org_id = $1 AND message_id = $2 RETURNING read_at""",
            org_id,
            message_id,
            at,
        )
        return read_at
