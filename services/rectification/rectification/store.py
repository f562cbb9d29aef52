"""Every SQL statement of the rectification service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from rectification.domain import CurrentCommitment, Settlement


async def save_campaign(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    county_code: str,
    starts_on: dt.date,
    ends_on: dt.date,
    commitment_due_days: int,
) -> None:
    await conn.execute(
        """INSERT INTO campaigns (campaign_id, county_code, starts_on, ends_on, commitment_due_days)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (campaign_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on,
               commitment_due_days = EXCLUDED.commitment_due_days""",
        campaign_id,
        county_code,
        starts_on,
        ends_on,
        commitment_due_days,
    )


async def ensure_campaign(conn: asyncpg.Connection, campaign_id: str, county_code: str) -> None:
    """A campaign known only from its events so far (its launch may come later)."""
    await conn.execute(
        "INSERT INTO campaigns (campaign_id, county_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        campaign_id,
        county_code,
    )


async def open_rectification(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, opened_at: dt.datetime
) -> None:
    await ensure_campaign(conn, campaign_id, county_code)
    await conn.execute(
        "UPDATE campaigns SET rectification_opened_at = $2 WHERE campaign_id = $1",
        campaign_id,
        opened_at,
    )


async def close_rectification(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, closed_at: dt.datetime
) -> str:
    """Mark the campaign's rectification closing; return the state it had."""
    await ensure_campaign(conn, campaign_id, county_code)
    previous: str = await conn.fetchval(
        "SELECT settlement FROM campaigns WHERE campaign_id = $1 FOR UPDATE", campaign_id
    )
    if previous == "open":
        await conn.execute(
            "UPDATE campaigns SET settlement = 'closing', closed_at = $2 WHERE campaign_id = $1",
            campaign_id,
            closed_at,
        )
    return previous


async def campaign_window(
    conn: asyncpg.Connection, campaign_id: str
) -> tuple[dt.date, dt.date] | None:
    row = await conn.fetchrow(
        "SELECT starts_on, ends_on FROM campaigns WHERE campaign_id = $1 AND starts_on IS NOT NULL",
        campaign_id,
    )
    return (row["starts_on"], row["ends_on"]) if row else None


async def save_branch(
    conn: asyncpg.Connection,
    *,
    branch_id: str,
    county_code: str,
    kind: str,
    name: str,
    parent_id: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO branches (branch_id, county_code, kind, name, parent_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (branch_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               kind = EXCLUDED.kind, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id""",
        branch_id,
        county_code,
        kind,
        name,
        parent_id,
    )


async def parent_of(conn: asyncpg.Connection, branch_id: str) -> str | None:
    parent: str | None = await conn.fetchval(
        "SELECT parent_id FROM branches WHERE branch_id = $1", branch_id
    )
    return parent


async def save_level(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, round_: str, level: str
) -> None:
    await conn.execute(
        """INSERT INTO levels (campaign_id, branch_id, round, level) VALUES ($1, $2, $3, $4)
           ON CONFLICT (campaign_id, branch_id, round) DO UPDATE SET level = EXCLUDED.level""",
        campaign_id,
        branch_id,
        round_,
        level,
    )


async def save_problem(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    county_code: str,
    problem_id: str,
    description: str,
    source: str,
    needs_superior: bool,
    listed_at: dt.datetime,
) -> None:
    await conn.execute(
        """INSERT INTO problems (campaign_id, branch_id, county_code, problem_id, description,
               source, needs_superior, listed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (campaign_id, branch_id, problem_id) DO UPDATE SET
               description = EXCLUDED.description, source = EXCLUDED.source,
               needs_superior = EXCLUDED.needs_superior""",
        campaign_id,
        branch_id,
        county_code,
        problem_id,
        description,
        source,
        needs_superior,
        listed_at,
    )


async def escalate_waiting_problems(
    conn: asyncpg.Connection, branch_id: str, to_org_id: str
) -> list[asyncpg.Record]:
    """Mark the branch's problems that need the superior and were not escalated yet."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE problems SET escalated_to = $2
           WHERE branch_id = $1 AND needs_superior AND escalated_to IS NULL
           RETURNING campaign_id, branch_id, county_code, problem_id, escalated_to""",
        branch_id,
        to_org_id,
    )
    return rows


async def listed_problems(conn: asyncpg.Connection, campaign_id: str, branch_id: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT problem_id FROM problems WHERE campaign_id = $1 AND branch_id = $2",
        campaign_id,
        branch_id,
    )
    return {row["problem_id"] for row in rows}


async def current_commitment(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str
) -> CurrentCommitment | None:
    row = await conn.fetchrow(
        "SELECT commitment_id, revision FROM commitments"
        " WHERE campaign_id = $1 AND branch_id = $2 FOR UPDATE",
        campaign_id,
        branch_id,
    )
    return CurrentCommitment(row["commitment_id"], row["revision"]) if row else None


async def publish_commitment(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    county_code: str,
    commitment_id: str,
    revision: int,
    tasks: Sequence[dict[str, Any]],
    event_id: str,
    published_at: dt.datetime,
) -> None:
    """The new revision replaces the plan: its tasks are upserted (progress kept for tasks it
    keeps), tasks it drops are deleted, and the review starts again."""
    await conn.execute(
        """INSERT INTO commitments (campaign_id, branch_id, commitment_id, revision, published_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (campaign_id, branch_id) DO UPDATE SET revision = EXCLUDED.revision,
               published_at = EXCLUDED.published_at, review = 'pending'""",
        campaign_id,
        branch_id,
        commitment_id,
        revision,
        published_at,
    )
    await conn.execute(
        """INSERT INTO commitment_history (campaign_id, branch_id, commitment_id, revision, action,
               tasks, event_id, happened_at)
           VALUES ($1, $2, $3, $4, 'published', $5, $6, $7)""",
        campaign_id,
        branch_id,
        commitment_id,
        revision,
        list(tasks),
        event_id,
        published_at,
    )
    await conn.execute(
        "DELETE FROM tasks WHERE campaign_id = $1 AND branch_id = $2 AND NOT task_id = ANY($3)",
        campaign_id,
        branch_id,
        [t["task_id"] for t in tasks],
    )
    await conn.executemany(
        """INSERT INTO tasks (campaign_id, branch_id, county_code, task_id, commitment_id,
               revision, problem_id, title, responsible, requirement, measures, deadline, kind)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET
               revision = EXCLUDED.revision, problem_id = EXCLUDED.problem_id,
               title = EXCLUDED.title, responsible = EXCLUDED.responsible,
               requirement = EXCLUDED.requirement, measures = EXCLUDED.measures,
               kind = EXCLUDED.kind, deadline = EXCLUDED.deadline,
               -- a new deadline gives the task a new chance to be on time
               overdue_at = CASE WHEN tasks.deadline = EXCLUDED.deadline THEN tasks.overdue_at END""",
        [
            (
                campaign_id,
                branch_id,
                county_code,
                t["task_id"],
                commitment_id,
                revision,
                t.get("problem_id"),
                t["title"],
                t["responsible"],
                t["requirement"],
                t["measures"],
                dt.date.fromisoformat(t["deadline"]),
                t["kind"],
            )
            for t in tasks
        ],
    )


async def record_review(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    commitment_id: str,
    revision: int,
    decision: str,
    guidance: str | None,
    reviewer_org_id: str,
    event_id: str,
    reviewed_at: dt.datetime,
) -> None:
    await conn.execute(
        "UPDATE commitments SET review = $3 WHERE campaign_id = $1 AND branch_id = $2",
        campaign_id,
        branch_id,
        decision,
    )
    await conn.execute(
        """INSERT INTO commitment_history (campaign_id, branch_id, commitment_id, revision, action,
               actor, guidance, event_id, happened_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        campaign_id,
        branch_id,
        commitment_id,
        revision,
        decision,
        reviewer_org_id,
        guidance,
        event_id,
        reviewed_at,
    )


async def task_for_update(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, task_id: str
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT percent, completed_at FROM tasks"
        " WHERE campaign_id = $1 AND branch_id = $2 AND task_id = $3 FOR UPDATE",
        campaign_id,
        branch_id,
        task_id,
    )
    return row


async def record_progress(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    task_id: str,
    percent: int,
    note: str | None,
    event_id: str,
    reported_at: dt.datetime,
) -> None:
    await conn.execute(
        "UPDATE tasks SET percent = $4 WHERE campaign_id = $1 AND branch_id = $2 AND task_id = $3",
        campaign_id,
        branch_id,
        task_id,
        percent,
    )
    await conn.execute(
        """INSERT INTO task_progress (campaign_id, branch_id, task_id, percent, note, event_id,
               reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        campaign_id,
        branch_id,
        task_id,
        percent,
        note,
        event_id,
        reported_at,
    )


async def complete_task(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    branch_id: str,
    task_id: str,
    evidence: str,
    completed_at: dt.datetime,
) -> None:
    await conn.execute(
        """UPDATE tasks SET percent = 100, evidence = $4, completed_at = $5
           WHERE campaign_id = $1 AND branch_id = $2 AND task_id = $3 AND completed_at IS NULL""",
        campaign_id,
        branch_id,
        task_id,
        evidence,
        completed_at,
    )


async def lock_sweep(conn: asyncpg.Connection) -> bool:
    """One sweep at a time per schema, across replicas."""
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtext('sweep:' || current_schema()))"
    )
    return locked


async def mark_overdue(
    conn: asyncpg.Connection,
    *,
    deadline_before: dt.date,
    marked_at: dt.datetime,
    campaign_id: str | None = None,
) -> list[asyncpg.Record]:
    """Flag open tasks whose deadline is before the day given, once; return them."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE tasks t SET overdue_at = $2
           FROM campaigns c
           WHERE c.campaign_id = t.campaign_id AND c.settlement <> 'settled'
             AND t.completed_at IS NULL AND t.overdue_at IS NULL AND t.deadline < $1
             AND ($3::text IS NULL OR t.campaign_id = $3)
           RETURNING t.campaign_id, t.branch_id, t.county_code, t.task_id, t.deadline,
                     t.responsible""",
        deadline_before,
        marked_at,
        campaign_id,
    )
    return rows


async def branches_without_commitment(
    conn: asyncpg.Connection, now: dt.datetime
) -> list[asyncpg.Record]:
    """Branches of open campaigns whose commitment is due by `now` and was never published
    nor named missing, with the campaign's opening, due days and the branch's initial level."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT c.campaign_id, c.county_code, c.rectification_opened_at, c.commitment_due_days,
                  b.branch_id, l.level
           FROM campaigns c
           JOIN branches b ON b.county_code = c.county_code AND b.kind <> 'committee'
           LEFT JOIN levels l ON l.campaign_id = c.campaign_id AND l.branch_id = b.branch_id
                             AND l.round = 'initial'
           WHERE c.settlement = 'open' AND c.rectification_opened_at IS NOT NULL
             AND c.rectification_opened_at + c.commitment_due_days * interval '1 day' <= $1
             AND NOT EXISTS (SELECT 1 FROM commitments m WHERE m.campaign_id = c.campaign_id
                             AND m.branch_id = b.branch_id)
             AND NOT EXISTS (SELECT 1 FROM missing_commitments n
                             WHERE n.campaign_id = c.campaign_id AND n.branch_id = b.branch_id)""",
        now,
    )
    return rows


async def save_missing(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, str, dt.date]], named_at: dt.datetime
) -> None:
    await conn.executemany(
        "INSERT INTO missing_commitments (campaign_id, branch_id, due, named_at)"
        " VALUES ($1, $2, $3, $4)",
        [(*row, named_at) for row in rows],
    )


async def closing_campaigns(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT campaign_id, end_offsets FROM campaigns WHERE settlement = 'closing'"
        " ORDER BY closed_at"
    )
    return rows


async def save_end_offsets(
    conn: asyncpg.Connection, campaign_id: str, offsets: dict[str, int]
) -> None:
    await conn.execute(
        "UPDATE campaigns SET end_offsets = $2 WHERE campaign_id = $1", campaign_id, offsets
    )


async def lock_campaign_for_settling(
    conn: asyncpg.Connection, campaign_id: str
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT campaign_id, county_code, closed_at FROM campaigns"
        " WHERE campaign_id = $1 AND settlement = 'closing' FOR UPDATE",
        campaign_id,
    )
    return row


async def tasks_to_settle(
    conn: asyncpg.Connection, campaign_id: str, county_code: str
) -> list[asyncpg.Record]:
    """Every registered branch of the county (with or without tasks) and every branch with
    tasks in the campaign, with its tasks' deadlines and completion."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """WITH settled AS (
               SELECT branch_id FROM branches WHERE county_code = $2 AND kind <> 'committee'
               UNION
               SELECT branch_id FROM tasks WHERE campaign_id = $1
           )
           SELECT s.branch_id, t.task_id, t.deadline, t.completed_at IS NOT NULL AS completed
           FROM settled s
           LEFT JOIN tasks t ON t.campaign_id = $1 AND t.branch_id = s.branch_id
           ORDER BY s.branch_id""",
        campaign_id,
        county_code,
    )
    return rows


async def save_settlements(
    conn: asyncpg.Connection, campaign_id: str, settlements: Sequence[tuple[str, Settlement]]
) -> None:
    await conn.copy_records_to_table(
        "settlements",
        records=[
            (
                campaign_id,
                branch_id,
                s.tasks_total,
                s.tasks_completed,
                s.tasks_overdue,
                s.completion_rate,
            )
            for branch_id, s in settlements
        ],
        columns=[
            "campaign_id",
            "branch_id",
            "tasks_total",
            "tasks_completed",
            "tasks_overdue",
            "completion_rate",
        ],
    )


async def mark_settled(conn: asyncpg.Connection, campaign_id: str, at: dt.datetime) -> None:
    await conn.execute(
        "UPDATE campaigns SET settlement = 'settled', settled_at = $2 WHERE campaign_id = $1",
        campaign_id,
        at,
    )
