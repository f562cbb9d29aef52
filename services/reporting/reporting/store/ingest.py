"""Writing the read models, one fact at a time, counters kept by deltas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from reporting.domain import CardFacts, TaskFacts, deltas

CARD_FACTS = """SELECT initial_level, final_level,
       cardinality(initial_missing) > 0 AS initial_incomplete,
       cardinality(final_missing) > 0 AS final_incomplete,
       moved_up, commitment_id IS NOT NULL AS commitment_published, review,
       commitment_missing, commendations
FROM cards WHERE campaign_id = $1 AND branch_id = $2"""


async def touch_campaign(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, at: dt.datetime
) -> None:
    """Known from any of its events; `updated_at` is the latest event time seen."""
    await conn.execute(
        """INSERT INTO campaigns (campaign_id, county_code, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (campaign_id) DO UPDATE
           SET updated_at = greatest(campaigns.updated_at, EXCLUDED.updated_at)""",
        campaign_id,
        county_code,
        at,
    )


async def launch_campaign(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    county_code: str,
    name: str,
    year: int,
    plan: list[dict[str, Any]],
) -> None:
    await conn.execute(
        """UPDATE campaigns SET county_code = $2, name = $3, year = $4, plan = $5
           WHERE campaign_id = $1""",
        campaign_id,
        county_code,
        name,
        year,
        plan,
    )


async def mark_phase(
    conn: asyncpg.Connection, campaign_id: str, phase: str, moment: str, at: dt.datetime
) -> None:
    """Record when a phase opened or closed (moment: opened_at | closed_at)."""
    await conn.execute(
        """UPDATE campaigns SET phases = jsonb_set(phases, ARRAY[$2],
               coalesce(phases -> $2, '{}'::jsonb) || jsonb_build_object($3::text, $4::text))
           WHERE campaign_id = $1""",
        campaign_id,
        phase,
        moment,
        at.isoformat(),
    )


async def save_branch(conn: asyncpg.Connection, branch: Mapping[str, Any]) -> None:
    """Upsert an organisation and keep its county's count of gradable branches right."""
    old = await conn.fetchrow(
        "SELECT county_code, kind FROM branches WHERE branch_id = $1 FOR UPDATE",
        branch["branch_id"],
    )
    await conn.execute(
        """INSERT INTO branches (branch_id, county_code, kind, name, unit, township, parent_id,
               secretary_name, member_count)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (branch_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               kind = EXCLUDED.kind, name = EXCLUDED.name, unit = EXCLUDED.unit,
               township = EXCLUDED.township, parent_id = EXCLUDED.parent_id,
               secretary_name = EXCLUDED.secretary_name, member_count = EXCLUDED.member_count""",
        branch["branch_id"],
        branch["county_code"],
        branch["kind"],
        branch["name"],
        branch["unit"],
        branch["township"],
        branch["parent_id"],
        branch["secretary_name"],
        branch["member_count"],
    )
    changes: dict[str, int] = {}
    if old is not None and old["kind"] != "committee":
        changes[old["county_code"]] = changes.get(old["county_code"], 0) - 1
    if branch["kind"] != "committee":
        changes[branch["county_code"]] = changes.get(branch["county_code"], 0) + 1
    for county_code, delta in changes.items():
        if delta:
            await conn.execute(
                """INSERT INTO county_counts (county_code, branches) VALUES ($1, $2)
                   ON CONFLICT (county_code) DO UPDATE
                   SET branches = county_counts.branches + EXCLUDED.branches""",
                county_code,
                delta,
            )


async def card_facts(
    conn: asyncpg.Connection,
    campaign_id: str,
    branch_id: str,
) -> CardFacts | None:
    row = await conn.fetchrow(CARD_FACTS + " FOR UPDATE", campaign_id, branch_id)
    return CardFacts(**dict(row)) if row else None


async def change_card(
    conn: asyncpg.Connection,
    campaign_id: str,
    branch_id: str,
    assignments: str,
    *values: Any,
) -> None:
    """Apply `SET <assignments>` to the card ($3… are `values`) and move the counters by the
    difference it makes. `assignments` is always a constant of this module's callers."""
    old = await card_facts(conn, campaign_id, branch_id)
    if old is None:
        await conn.execute(
            "INSERT INTO cards (campaign_id, branch_id) VALUES ($1, $2)", campaign_id, branch_id
        )
    await conn.execute(
        f"UPDATE cards SET {assignments} WHERE campaign_id = $1 AND branch_id = $2",
        campaign_id,
        branch_id,
        *values,
    )
    new = await card_facts(conn, campaign_id, branch_id)
    assert new is not None
    await add_to_counters(conn, campaign_id, deltas(old or CardFacts(), new))


async def add_to_counters(
    conn: asyncpg.Connection, campaign_id: str, changes: Mapping[str, int]
) -> None:
    if not changes:
        return
    await conn.execute(
        """INSERT INTO counters (campaign_id, name, value)
           SELECT $1, name, value FROM unnest($2::text[], $3::bigint[]) AS c(name, value)
           ON CONFLICT (campaign_id, name) DO UPDATE SET value = counters.value + EXCLUDED.value""",
        campaign_id,
        list(changes),
        list(changes.values()),
    )


async def save_problem(
    conn: asyncpg.Connection, campaign_id: str, problem: Mapping[str, Any]
) -> None:
    await conn.execute(
        """INSERT INTO problems (campaign_id, branch_id, problem_id, description, source,
               needs_superior) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (campaign_id, branch_id, problem_id) DO UPDATE SET
               description = EXCLUDED.description, source = EXCLUDED.source,
               needs_superior = EXCLUDED.needs_superior""",
        campaign_id,
        problem["branch_id"],
        problem["problem_id"],
        problem["description"],
        problem["source"],
        problem["needs_superior"],
    )


async def mark_escalated(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, problem_id: str, to_org_id: str
) -> None:
    await conn.execute(
        """INSERT INTO problems (campaign_id, branch_id, problem_id, description, source,
               needs_superior, escalated_to) VALUES ($1, $2, $3, '', 'self', true, $4)
           ON CONFLICT (campaign_id, branch_id, problem_id)
           DO UPDATE SET escalated_to = EXCLUDED.escalated_to""",
        campaign_id,
        branch_id,
        problem_id,
        to_org_id,
    )


async def lock_tasks(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT task_id, percent, in_plan, completed, overdue FROM tasks"
        " WHERE campaign_id = $1 AND branch_id = $2 FOR UPDATE",
        campaign_id,
        branch_id,
    )
    return {row["task_id"]: row for row in rows}


def _facts(row: Mapping[str, Any] | None) -> TaskFacts | None:
    if row is None:
        return None
    return TaskFacts(in_plan=row["in_plan"], completed=row["completed"], overdue=row["overdue"])


async def replace_plan(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, tasks: Sequence[Mapping[str, Any]]
) -> None:
    """The latest revision's tasks are the plan; tasks it dropped leave it (history stays)."""
    existing = await lock_tasks(conn, campaign_id, branch_id)
    planned = {task["task_id"] for task in tasks}
    changes: dict[str, int] = {}
    for task_id, row in existing.items():
        if task_id not in planned and row["in_plan"]:
            for name, delta in deltas(
                _facts(row), TaskFacts(False, row["completed"], row["overdue"])
            ).items():
                changes[name] = changes.get(name, 0) + delta
    for task in tasks:
        row = existing.get(task["task_id"])
        old = _facts(row)
        new = TaskFacts(True, bool(row and row["completed"]), bool(row and row["overdue"]))
        for name, delta in deltas(old, new).items():
            changes[name] = changes.get(name, 0) + delta
    await conn.execute(
        "UPDATE tasks SET in_plan = false WHERE campaign_id = $1 AND branch_id = $2"
        " AND NOT task_id = ANY($3)",
        campaign_id,
        branch_id,
        list(planned),
    )
    await conn.executemany(
        """INSERT INTO tasks (campaign_id, branch_id, task_id, title, responsible, deadline, kind,
               in_plan) VALUES ($1, $2, $3, $4, $5, $6, $7, true)
           ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET title = EXCLUDED.title,
               responsible = EXCLUDED.responsible, deadline = EXCLUDED.deadline,
               kind = EXCLUDED.kind, in_plan = true""",
        [
            (
                campaign_id,
                branch_id,
                t["task_id"],
                t["title"],
                t["responsible"],
                dt.date.fromisoformat(t["deadline"]),
                t["kind"],
            )
            for t in tasks
        ],
    )
    await add_to_counters(conn, campaign_id, changes)


async def change_task(
    conn: asyncpg.Connection,
    campaign_id: str,
    branch_id: str,
    task_id: str,
    *,
    percent: int | None = None,
    completed: bool | None = None,
    overdue: bool | None = None,
    deadline: dt.date | None = None,
    responsible: str | None = None,
) -> None:
    """Set a task's progress or flags (creating it if its plan has not arrived yet)."""
    row = await conn.fetchrow(
        "SELECT task_id, percent, in_plan, completed, overdue FROM tasks"
        " WHERE campaign_id = $1 AND branch_id = $2 AND task_id = $3 FOR UPDATE",
        campaign_id,
        branch_id,
        task_id,
    )
    old = _facts(row)
    new_completed = completed if completed is not None else bool(row and row["completed"])
    new_overdue = overdue if overdue is not None else bool(row and row["overdue"])
    new = TaskFacts(bool(row and row["in_plan"]), new_completed, new_overdue)
    await conn.execute(
        """INSERT INTO tasks (campaign_id, branch_id, task_id, percent, completed, overdue,
               deadline, responsible)
           VALUES ($1, $2, $3, coalesce($4, 0), $5, $6, $7, $8)
           ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET
               percent = coalesce($4, tasks.percent), completed = $5, overdue = $6,
               deadline = coalesce(tasks.deadline, $7),
               responsible = coalesce(tasks.responsible, $8)""",
        campaign_id,
        branch_id,
        task_id,
        percent,
        new_completed,
        new_overdue,
        deadline,
        responsible,
    )
    await add_to_counters(conn, campaign_id, deltas(old, new))


async def task_state(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, task_id: str
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT percent, completed, in_plan FROM tasks"
        " WHERE campaign_id = $1 AND branch_id = $2 AND task_id = $3",
        campaign_id,
        branch_id,
        task_id,
    )
    return row


async def add_commendation(
    conn: asyncpg.Connection, campaign_id: str, event_id: str, data: Mapping[str, Any]
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO commendations (campaign_id, branch_id, event_id, honour, title,
               member_name) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT DO NOTHING RETURNING true""",
        campaign_id,
        data["branch_id"],
        event_id,
        data["honour"],
        data["title"],
        data.get("member_name"),
    )
    return bool(inserted)


async def add_activity(
    conn: asyncpg.Connection, campaign_id: str, event_id: str, data: Mapping[str, Any]
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO activities (campaign_id, branch_id, event_id, kind, title, held_on)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
        campaign_id,
        data["branch_id"],
        event_id,
        data["kind"],
        data["title"],
        dt.date.fromisoformat(data["held_on"]),
    )
    return bool(inserted)


async def current_revision(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str
) -> int | None:
    revision: int | None = await conn.fetchval(
        "SELECT commitment_revision FROM cards WHERE campaign_id = $1 AND branch_id = $2",
        campaign_id,
        branch_id,
    )
    return revision


# The card changes the handlers make; each is a constant assignment list for change_card.
_GRADE = {
    round_: (
        f"{round_}_level = $3, {round_}_total = $4, {round_}_scores = $5, "
        f"{round_}_basis = $6, {round_}_missing = '{{}}'"
    )
    for round_ in ("initial", "final")
}
_INCOMPLETE = {
    round_: f"{round_}_missing = $3, {round_}_level = NULL, {round_}_total = NULL"
    for round_ in ("initial", "final")
}


async def set_grade(
    conn: asyncpg.Connection,
    campaign_id: str,
    branch_id: str,
    round_: str,
    *,
    level: str,
    total: float,
    scores: Mapping[str, float],
    basis: str,
    moved_up: bool | None,
) -> None:
    if round_ == "final":
        await change_card(
            conn,
            campaign_id,
            branch_id,
            _GRADE[round_] + ", moved_up = $7",
            level,
            total,
            dict(scores),
            basis,
            bool(moved_up),
        )
    else:
        await change_card(
            conn, campaign_id, branch_id, _GRADE[round_], level, total, dict(scores), basis
        )


async def set_incomplete(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, round_: str, missing: list[str]
) -> None:
    await change_card(conn, campaign_id, branch_id, _INCOMPLETE[round_], missing)


async def set_commitment(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, commitment_id: str, revision: int
) -> None:
    await change_card(
        conn,
        campaign_id,
        branch_id,
        "commitment_id = $3, commitment_revision = $4, review = 'pending', guidance = NULL",
        commitment_id,
        revision,
    )


async def set_review(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, decision: str, guidance: str | None
) -> None:
    await change_card(
        conn, campaign_id, branch_id, "review = $3, guidance = $4", decision, guidance
    )


async def set_commitment_missing(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str
) -> None:
    await change_card(conn, campaign_id, branch_id, "commitment_missing = true")


async def set_settled(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, completion_rate: float
) -> None:
    await change_card(conn, campaign_id, branch_id, "settled_rate = $3", completion_rate)


async def count_commendation(conn: asyncpg.Connection, campaign_id: str, branch_id: str) -> None:
    await change_card(conn, campaign_id, branch_id, "commendations = commendations + 1")


async def count_activity(conn: asyncpg.Connection, campaign_id: str, branch_id: str) -> None:
    await change_card(conn, campaign_id, branch_id, "activities = activities + 1")
    await add_to_counters(conn, campaign_id, {"activities": 1})


async def set_assessment(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str, score: float
) -> None:
    await change_card(conn, campaign_id, branch_id, "assessment_score = $3", score)
