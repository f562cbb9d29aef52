"""Every SQL statement of the rectification service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from grassroots.plumbing import database
from rectification.domain import Commitment, PlannedTask, Settlement, TaskProgress


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


async def save_branches(conn: asyncpg.Connection, branches: Sequence[Sequence[Any]]) -> None:
    """Upsert organisations: (branch_id, county_code, kind, name, parent_id), one per branch."""
    await conn.execute(
        """INSERT INTO branches (branch_id, county_code, kind, name, parent_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
           ON CONFLICT (branch_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               kind = EXCLUDED.kind, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id""",
        *database.columns(branches, 5),
    )


async def save_problems(conn: asyncpg.Connection, problems: Sequence[Sequence[Any]]) -> None:
    """Upsert problems: (campaign_id, branch_id, county_code, problem_id, description, source,
    needs_superior, listed_at), one per key; a new listing keeps when it was first listed."""
    await conn.execute(
        """INSERT INTO problems (campaign_id, branch_id, county_code, problem_id, description,
               source, needs_superior, listed_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
               $6::text[], $7::bool[], $8::timestamptz[])
           ON CONFLICT (campaign_id, branch_id, problem_id) DO UPDATE SET
               description = EXCLUDED.description, source = EXCLUDED.source,
               needs_superior = EXCLUDED.needs_superior""",
        *database.columns(problems, 8),
    )


async def escalate_waiting_problems(
    conn: asyncpg.Connection, branch_ids: Sequence[str]
) -> list[asyncpg.Record]:
    """Mark the branches' problems that need the superior and were not escalated yet, for
    those whose parent is known."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE problems SET escalated_to = branches.parent_id FROM branches
           WHERE problems.branch_id = ANY($1) AND branches.branch_id = problems.branch_id
             AND branches.parent_id IS NOT NULL
             AND problems.needs_superior AND problems.escalated_to IS NULL
           RETURNING problems.campaign_id, problems.branch_id, problems.county_code,
                     problems.problem_id, problems.escalated_to""",
        list(branch_ids),
    )
    return rows


async def save_levels(
    conn: asyncpg.Connection, levels: Sequence[tuple[str, str, str, str]]
) -> None:
    """Levels (campaign_id, branch_id, round, level), in order (executemany: one round trip)."""
    await conn.executemany(
        """INSERT INTO levels (campaign_id, branch_id, round, level) VALUES ($1, $2, $3, $4)
           ON CONFLICT (campaign_id, branch_id, round) DO UPDATE SET level = EXCLUDED.level""",
        levels,
    )


BranchKey = tuple[str, str]
"""campaign_id, branch_id"""

TASK_COLUMNS = tuple(PlannedTask.__dataclass_fields__)


async def campaign_windows(
    conn: asyncpg.Connection, campaign_ids: Sequence[str]
) -> dict[str, tuple[dt.date, dt.date]]:
    rows = await conn.fetch(
        "SELECT campaign_id, starts_on, ends_on FROM campaigns"
        " WHERE campaign_id = ANY($1) AND starts_on IS NOT NULL",
        sorted(set(campaign_ids)),
    )
    return {row["campaign_id"]: (row["starts_on"], row["ends_on"]) for row in rows}


async def listed_problems(
    conn: asyncpg.Connection, branches: Sequence[BranchKey]
) -> dict[BranchKey, set[str]]:
    rows = await conn.fetch(
        """SELECT campaign_id, branch_id, problem_id FROM problems
           WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
        *database.columns(sorted(set(branches)), 2),
    )
    listed: dict[BranchKey, set[str]] = {}
    for row in rows:
        listed.setdefault((row["campaign_id"], row["branch_id"]), set()).add(row["problem_id"])
    return listed


async def lock_commitments(
    conn: asyncpg.Connection, branches: Sequence[BranchKey]
) -> dict[BranchKey, Commitment]:
    rows = await conn.fetch(
        """SELECT campaign_id, branch_id, commitment_id, revision, published_at, review
           FROM commitments
           WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
           ORDER BY campaign_id, branch_id FOR UPDATE""",
        *database.columns(sorted(set(branches)), 2),
    )
    return {
        (row["campaign_id"], row["branch_id"]): Commitment(
            row["commitment_id"], row["revision"], row["published_at"], row["review"]
        )
        for row in rows
    }


async def lock_plans(
    conn: asyncpg.Connection, branches: Sequence[BranchKey]
) -> dict[BranchKey, dict[str, PlannedTask]]:
    """The branches' planned tasks (task_id → task), locked until the transaction ends."""
    rows = await conn.fetch(
        f"""SELECT campaign_id, branch_id, task_id, {", ".join(TASK_COLUMNS)} FROM tasks
            WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            ORDER BY campaign_id, branch_id, task_id FOR UPDATE""",
        *database.columns(sorted(set(branches)), 2),
    )
    plans: dict[BranchKey, dict[str, PlannedTask]] = {key: {} for key in branches}
    for row in rows:
        plans[(row["campaign_id"], row["branch_id"])][row["task_id"]] = PlannedTask(
            **{column: row[column] for column in TASK_COLUMNS}
        )
    return plans


async def save_commitments(
    conn: asyncpg.Connection,
    commitments: Mapping[BranchKey, Commitment],
    history: Sequence[tuple[Any, ...]],
) -> None:
    """Commitments as they now stand, and what happened to them: (campaign_id, branch_id,
    commitment_id, revision, action, actor, guidance, tasks, event_id, happened_at)."""
    keys, values = list(commitments), list(commitments.values())
    await conn.execute(
        """INSERT INTO commitments (campaign_id, branch_id, commitment_id, revision,
               published_at, review)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[],
               $5::timestamptz[], $6::text[])
           ON CONFLICT (campaign_id, branch_id) DO UPDATE SET revision = EXCLUDED.revision,
               published_at = EXCLUDED.published_at, review = EXCLUDED.review""",
        *database.columns(keys, 2),
        [c.commitment_id for c in values],
        [c.revision for c in values],
        [c.published_at for c in values],
        [c.review for c in values],
    )
    await conn.executemany(
        """INSERT INTO commitment_history (campaign_id, branch_id, commitment_id, revision,
               action, actor, guidance, tasks, event_id, happened_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        history,
    )


async def save_plans(
    conn: asyncpg.Connection, plans: Mapping[BranchKey, Mapping[str, PlannedTask]]
) -> None:
    """The branches' plans as they now stand: tasks no longer planned are deleted."""
    if not plans:
        return
    rows = [
        (*key, task_id, *(getattr(task, column) for column in TASK_COLUMNS))
        for key, plan in plans.items()
        for task_id, task in plan.items()
    ]
    await conn.execute(
        """DELETE FROM tasks
           WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
             AND (campaign_id, branch_id, task_id)
                 NOT IN (SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))""",
        *database.columns(list(plans), 2),
        *database.columns(rows, 3),
    )
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in TASK_COLUMNS)
    await conn.executemany(
        f"""INSERT INTO tasks (campaign_id, branch_id, task_id, {", ".join(TASK_COLUMNS)})
            VALUES ({", ".join(f"${i}" for i in range(1, len(TASK_COLUMNS) + 4))})
            ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET {assignments}""",
        rows,
    )


TaskKey = tuple[str, str, str]
"""campaign_id, branch_id, task_id"""


async def lock_tasks(
    conn: asyncpg.Connection, keys: Sequence[TaskKey]
) -> dict[TaskKey, TaskProgress]:
    """The tasks of the latest commitments among `keys`, locked until the transaction ends."""
    wanted = sorted(set(keys))
    rows = await conn.fetch(
        """SELECT campaign_id, branch_id, task_id, percent, completed_at, evidence FROM tasks
           WHERE (campaign_id, branch_id, task_id)
                 IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
           ORDER BY campaign_id, branch_id, task_id FOR UPDATE""",
        *database.columns(wanted, 3),
    )
    return {
        (row["campaign_id"], row["branch_id"], row["task_id"]): TaskProgress(
            row["percent"], row["completed_at"], row["evidence"]
        )
        for row in rows
    }


async def save_task_progress(
    conn: asyncpg.Connection,
    tasks: Mapping[TaskKey, TaskProgress],
    reports: Sequence[tuple[str, str, str, int, str | None, str, dt.datetime]],
) -> None:
    """Tasks' new percent and completion, and the progress reports (campaign_id, branch_id,
    task_id, percent, note, event_id, reported_at) that led there."""
    if tasks:
        keys, states = list(tasks), list(tasks.values())
        await conn.execute(
            """UPDATE tasks SET percent = u.percent, completed_at = u.completed_at,
                   evidence = u.evidence
               FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[],
                   $6::text[]) AS u(campaign_id, branch_id, task_id, percent, completed_at,
                   evidence)
               WHERE tasks.campaign_id = u.campaign_id AND tasks.branch_id = u.branch_id
                 AND tasks.task_id = u.task_id""",
            *database.columns(keys, 3),
            [state.percent for state in states],
            [state.completed_at for state in states],
            [state.evidence for state in states],
        )
    if reports:
        await conn.execute(
            """INSERT INTO task_progress (campaign_id, branch_id, task_id, percent, note,
                   event_id, reported_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[],
                   $6::text[], $7::timestamptz[])""",
            *database.columns(reports, 7),
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
