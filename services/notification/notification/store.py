"""The SQL of what the service knows: campaigns, organisations, tasks, lagging facts, reminders
and circulars. The SQL of deliveries and the inbox is in delivery_store.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

# ------------------------------------------------------------------ campaigns and phases


async def save_campaign(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    county_code: str,
    name: str,
    reminder_days: list[int] | None,
    commitment_due_days: int,
    windows: Sequence[tuple[str, dt.date, dt.date]],
) -> None:
    await conn.execute(
        """INSERT INTO campaigns (campaign_id, county_code, name, reminder_days, commitment_due_days)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (campaign_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               name = EXCLUDED.name, reminder_days = EXCLUDED.reminder_days,
               commitment_due_days = EXCLUDED.commitment_due_days""",
        campaign_id,
        county_code,
        name,
        reminder_days,
        commitment_due_days,
    )
    await conn.executemany(
        """INSERT INTO phases (campaign_id, phase, opens_on, closes_on) VALUES ($1, $2, $3, $4)
           ON CONFLICT (campaign_id, phase) DO UPDATE SET opens_on = EXCLUDED.opens_on,
               closes_on = EXCLUDED.closes_on""",
        [(campaign_id, phase, opens_on, closes_on) for phase, opens_on, closes_on in windows],
    )


async def ensure_campaign(conn: asyncpg.Connection, campaign_id: str, county_code: str) -> None:
    """A campaign known only from its events so far (its launch may come later)."""
    await conn.execute(
        "INSERT INTO campaigns (campaign_id, county_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        campaign_id,
        county_code,
    )


async def campaign_names(
    conn: asyncpg.Connection, campaign_ids: Sequence[str]
) -> dict[str, str | None]:
    rows = await conn.fetch(
        "SELECT campaign_id, name FROM campaigns WHERE campaign_id = ANY($1)", list(campaign_ids)
    )
    return {row["campaign_id"]: row["name"] for row in rows}


async def campaign(conn: asyncpg.Connection, campaign_id: str | None) -> asyncpg.Record | None:
    if campaign_id is None:
        return None
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    return row


async def mark_phase(
    conn: asyncpg.Connection,
    campaign_id: str,
    county_code: str,
    phase: str,
    *,
    opened_at: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
) -> asyncpg.Record:
    """Record a phase's actual opening or closing (the first one counts); return the phase,
    with `was_opened` / `was_closed`: whether it already was before."""
    await ensure_campaign(conn, campaign_id, county_code)
    row: asyncpg.Record = await conn.fetchrow(
        """WITH before AS MATERIALIZED (SELECT opened_at, closed_at FROM phases
                                        WHERE campaign_id = $1 AND phase = $2)
           INSERT INTO phases (campaign_id, phase, opened_at, closed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (campaign_id, phase) DO UPDATE SET
               opened_at = COALESCE(phases.opened_at, EXCLUDED.opened_at),
               closed_at = COALESCE(phases.closed_at, EXCLUDED.closed_at)
           RETURNING *,
               (SELECT opened_at IS NOT NULL FROM before) IS TRUE AS was_opened,
               (SELECT closed_at IS NOT NULL FROM before) IS TRUE AS was_closed""",
        campaign_id,
        phase,
        opened_at,
        closed_at,
    )
    return row


async def open_phases(conn: asyncpg.Connection, today: dt.date) -> list[asyncpg.Record]:
    """Phases opened and not closed whose planned end (or, for rectification, commitment due
    day) has not passed by `today`: the ones a reminder may still be due for."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT p.campaign_id, p.phase, p.opened_at, p.closes_on, c.county_code, c.name,
                  c.reminder_days, c.commitment_due_days
           FROM phases p JOIN campaigns c USING (campaign_id)
           WHERE p.opened_at IS NOT NULL AND p.closed_at IS NULL
             AND (p.closes_on >= $1
                  OR (p.phase = 'rectification'
                      AND p.opened_at + c.commitment_due_days * interval '1 day'
                          >= $1 - interval '1 day'))""",
        today,
    )
    return rows


async def running_campaigns(
    conn: asyncpg.Connection, not_ended_before: dt.date
) -> list[asyncpg.Record]:
    """Campaigns with a phase opened and a phase not yet closed, whose plan (if known) does not
    end before the day given: when they began, when their plan ends, and the last periodic
    circular issued."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT c.campaign_id, c.county_code, c.name,
                  min(p.opened_at) AS started_at, max(p.closes_on) AS planned_end,
                  (SELECT max(substr(circular_key, 8)::int) FROM circulars x
                   WHERE x.campaign_id = c.campaign_id AND x.circular_key LIKE 'period:%')
                      AS last_period
           FROM campaigns c JOIN phases p USING (campaign_id)
           GROUP BY c.campaign_id
           HAVING min(p.opened_at) IS NOT NULL AND bool_or(p.closed_at IS NULL)
              AND (max(p.closes_on) IS NULL OR max(p.closes_on) >= $1)""",
        not_ended_before,
    )
    return rows


# ------------------------------------------------------------------ organisations


async def save_orgs(conn: asyncpg.Connection, orgs: Sequence[tuple[Any, ...]]) -> None:
    """Upsert organisations: (org_id, county_code, kind, name, parent_id, secretary_name,
    secretary_email), in order (executemany: one round trip)."""
    await conn.executemany(
        """INSERT INTO orgs (org_id, county_code, kind, name, parent_id, secretary_name,
               secretary_email) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (org_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               kind = EXCLUDED.kind, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id,
               secretary_name = EXCLUDED.secretary_name,
               secretary_email = EXCLUDED.secretary_email""",
        orgs,
    )


async def org(conn: asyncpg.Connection, org_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM orgs WHERE org_id = $1", org_id)
    return row


async def orgs(conn: asyncpg.Connection, org_ids: Sequence[str]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM orgs WHERE org_id = ANY($1)", list(org_ids)
    )
    return rows


async def committees(conn: asyncpg.Connection, county_code: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM orgs WHERE county_code = $1 AND kind = 'committee' ORDER BY org_id",
        county_code,
    )
    return rows


async def branches_of_county(conn: asyncpg.Connection, county_code: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM orgs WHERE county_code = $1 AND kind <> 'committee' ORDER BY org_id",
        county_code,
    )
    return rows


async def branches_without_commitment(
    conn: asyncpg.Connection, campaign_id: str, county_code: str
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT o.* FROM orgs o
           WHERE o.county_code = $2 AND o.kind <> 'committee'
             AND NOT EXISTS (SELECT 1 FROM commitments m
                             WHERE m.campaign_id = $1 AND m.branch_id = o.org_id)
           ORDER BY o.org_id""",
        campaign_id,
        county_code,
    )
    return rows


# ------------------------------------------------------------------ commitments and tasks


async def save_commitment(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    county_code: str,
    revision: int,
    tasks: Sequence[tuple[str, str, str, dt.date]],
    at: dt.datetime,
) -> None:
    """A published revision: the branch has a commitment; its tasks' titles and deadlines."""
    await conn.execute(
        """INSERT INTO commitments (campaign_id, branch_id, revision) VALUES ($1, $2, $3)
           ON CONFLICT (campaign_id, branch_id) DO UPDATE
           SET revision = GREATEST(commitments.revision, EXCLUDED.revision)""",
        campaign_id,
        branch_id,
        revision,
    )
    await conn.executemany(
        """INSERT INTO tasks (campaign_id, branch_id, task_id, county_code, title, responsible,
               deadline) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET title = EXCLUDED.title,
               responsible = EXCLUDED.responsible, deadline = EXCLUDED.deadline,
               -- a new deadline gives the task a new chance, as rectification decides
               overdue = tasks.overdue AND tasks.deadline = EXCLUDED.deadline""",
        [(campaign_id, branch_id, t[0], county_code, t[1], t[2], t[3]) for t in tasks],
    )
    await resolve_fact(conn, campaign_id, branch_id, "commitment_missing", "", at)


async def mark_task_overdue(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    task_id: str,
    county_code: str,
    responsible: str,
    deadline: dt.date,
) -> asyncpg.Record:
    """The task as known now (its title if the commitment was seen)."""
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO tasks (campaign_id, branch_id, task_id, county_code, responsible, deadline,
               overdue) VALUES ($1, $2, $3, $4, $5, $6, true)
           ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET overdue = true,
               responsible = EXCLUDED.responsible, deadline = EXCLUDED.deadline
           RETURNING *""",
        campaign_id,
        branch_id,
        task_id,
        county_code,
        responsible,
        deadline,
    )
    return row


async def complete_tasks(
    conn: asyncpg.Connection, tasks: Sequence[tuple[str, str, str]], at: dt.datetime
) -> None:
    """Mark tasks (campaign_id, branch_id, task_id) completed, and their overdue facts
    resolved (executemany: one round trip each)."""
    await conn.executemany(
        """UPDATE tasks SET completed_at = COALESCE(completed_at, $4)
           WHERE campaign_id = $1 AND branch_id = $2 AND task_id = $3""",
        [(*task, at) for task in tasks],
    )
    await conn.executemany(
        """UPDATE lagging_facts SET resolved_at = $4
           WHERE campaign_id = $1 AND branch_id = $2 AND reason = 'task_overdue'
             AND fact_key = $3 AND resolved_at IS NULL""",
        [(*task, at) for task in tasks],
    )


async def tasks_to_escalate(
    conn: asyncpg.Connection, deadline_before: dt.date, at: dt.datetime
) -> list[asyncpg.Record]:
    """Mark overdue tasks still open whose deadline is before the day given, once; return them."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE tasks SET escalated_at = $2
           WHERE overdue AND completed_at IS NULL AND escalated_at IS NULL AND deadline < $1
           RETURNING *""",
        deadline_before,
        at,
    )
    return rows


# ------------------------------------------------------------------ lagging facts


async def note_fact(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    reason: str,
    fact_key: str,
    detail: dict[str, Any],
    at: dt.datetime,
) -> None:
    """A fact is noted once; noting it again (a re-sent event) changes nothing."""
    await conn.execute(
        """INSERT INTO lagging_facts (campaign_id, branch_id, reason, fact_key, detail, noted_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        campaign_id,
        branch_id,
        reason,
        fact_key,
        detail,
        at,
    )


async def resolve_fact(
    conn: asyncpg.Connection,
    campaign_id: str,
    branch_id: str,
    reason: str,
    fact_key: str,
    at: dt.datetime,
) -> None:
    await conn.execute(
        """UPDATE lagging_facts SET resolved_at = $5
           WHERE campaign_id = $1 AND branch_id = $2 AND reason = $3 AND fact_key = $4
             AND resolved_at IS NULL""",
        campaign_id,
        branch_id,
        reason,
        fact_key,
        at,
    )


async def open_facts(conn: asyncpg.Connection, campaign_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT f.branch_id, COALESCE(o.name, f.branch_id) AS branch_name, f.reason,
                  f.fact_key, f.detail
           FROM lagging_facts f LEFT JOIN orgs o ON o.org_id = f.branch_id
           WHERE f.campaign_id = $1 AND f.resolved_at IS NULL
           ORDER BY f.branch_id, f.reason, f.fact_key""",
        campaign_id,
    )
    return rows


# ------------------------------------------------------------------ reminders and circulars


async def lock_sweep(conn: asyncpg.Connection) -> bool:
    """One sweep at a time per schema, across replicas."""
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtext('sweep:' || current_schema()))"
    )
    return locked


async def reminders_decided(conn: asyncpg.Connection, campaign_id: str, prefix: str) -> set[int]:
    """The offsets (days) already decided for reminders whose key starts with `prefix`."""
    rows = await conn.fetch(
        "SELECT reminder_key FROM reminders WHERE campaign_id = $1 AND reminder_key LIKE $2",
        campaign_id,
        f"{prefix}%",
    )
    return {int(row["reminder_key"][len(prefix) :]) for row in rows}


async def decide_reminders(
    conn: asyncpg.Connection,
    campaign_id: str,
    decided: Sequence[tuple[str, bool]],
    at: dt.datetime,
) -> None:
    await conn.executemany(
        """INSERT INTO reminders (campaign_id, reminder_key, sent, decided_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        [(campaign_id, key, sent, at) for key, sent in decided],
    )


async def trigger_circular(
    conn: asyncpg.Connection, campaign_id: str, circular_key: str, at: dt.datetime
) -> bool:
    """Record that a circular is due; False when it already was."""
    inserted = await conn.fetchval(
        """INSERT INTO circulars (campaign_id, circular_key, status, triggered_at)
           VALUES ($1, $2, 'waiting', $3) ON CONFLICT DO NOTHING RETURNING true""",
        campaign_id,
        circular_key,
        at,
    )
    return bool(inserted)


async def waiting_circulars(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT campaign_id, circular_key, end_offsets FROM circulars WHERE status = 'waiting'"
        " ORDER BY triggered_at"
    )
    return rows


async def save_circular_offsets(
    conn: asyncpg.Connection, campaign_id: str, circular_key: str, offsets: dict[str, int]
) -> None:
    await conn.execute(
        "UPDATE circulars SET end_offsets = $3 WHERE campaign_id = $1 AND circular_key = $2",
        campaign_id,
        circular_key,
        offsets,
    )


async def lock_waiting_circular(
    conn: asyncpg.Connection, campaign_id: str, circular_key: str
) -> bool:
    found = await conn.fetchval(
        """SELECT true FROM circulars WHERE campaign_id = $1 AND circular_key = $2
             AND status = 'waiting' FOR UPDATE""",
        campaign_id,
        circular_key,
    )
    return bool(found)


async def mark_circular_issued(
    conn: asyncpg.Connection, campaign_id: str, circular_key: str, named: int, at: dt.datetime
) -> None:
    await conn.execute(
        """INSERT INTO circulars (campaign_id, circular_key, status, triggered_at, issued_at, named)
           VALUES ($1, $2, 'issued', $4, $4, $3)
           ON CONFLICT (campaign_id, circular_key) DO UPDATE SET status = 'issued',
               issued_at = EXCLUDED.issued_at, named = EXCLUDED.named""",
        campaign_id,
        circular_key,
        named,
        at,
    )
