"""Reading the read models for the API, the exports and the dashboard."""

from __future__ import annotations

from typing import Any

import asyncpg

from reporting.domain import LEVELS

LAGGING_WHERE = """(c.commitment_missing AND c.commitment_id IS NULL)
    OR cardinality(c.initial_missing) > 0 OR cardinality(c.final_missing) > 0
    OR EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = c.campaign_id
               AND t.branch_id = c.branch_id AND t.overdue AND NOT t.completed AND t.in_plan)"""


REVIEW_WAITING = """NOT EXISTS (SELECT 1 FROM plan_reviews r WHERE r.campaign_id = d.campaign_id
    AND r.branch_id = d.branch_id AND r.revision >= d.revision)"""
"""A revision named by review_overdue (`d`) still waits: no review of it or of a newer one."""


async def campaign(conn: asyncpg.Connection, campaign_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT campaign_id, county_code, name, year, plan, phases, updated_at FROM campaigns"
        " WHERE campaign_id = $1",
        campaign_id,
    )
    return row


async def campaigns_of_county(conn: asyncpg.Connection, county_code: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT campaign_id, name, year, phases FROM campaigns WHERE county_code = $1"
        " ORDER BY year DESC, campaign_id",
        county_code,
    )
    return rows


async def counters(conn: asyncpg.Connection, campaign_id: str) -> dict[str, int]:
    rows = await conn.fetch("SELECT name, value FROM counters WHERE campaign_id = $1", campaign_id)
    return {row["name"]: row["value"] for row in rows}


async def branch_count(conn: asyncpg.Connection, county_code: str) -> int:
    count: int | None = await conn.fetchval(
        "SELECT branches FROM county_counts WHERE county_code = $1", county_code
    )
    return count or 0


BRANCH_ROW = """SELECT b.branch_id, b.name, b.unit, b.township, c.initial_level, c.initial_total,
       c.final_level, c.final_total, c.initial_scores, c.final_scores,
       coalesce(c.moved_up, false) AS moved_up,
       c.commitment_id, c.review, coalesce(c.commitment_missing, false) AS commitment_missing,
       c.settled_rate, coalesce(c.commendations, 0) AS commendations,
       coalesce(c.initial_missing, '{}') AS initial_missing,
       coalesce(c.final_missing, '{}') AS final_missing,
       (SELECT count(*) FILTER (WHERE t.in_plan) FROM tasks t
        WHERE t.campaign_id = $1 AND t.branch_id = b.branch_id) AS tasks_total,
       (SELECT count(*) FILTER (WHERE t.in_plan AND t.completed) FROM tasks t
        WHERE t.campaign_id = $1 AND t.branch_id = b.branch_id) AS tasks_completed,
       (SELECT count(*) FILTER (WHERE t.in_plan AND t.overdue AND NOT t.completed) FROM tasks t
        WHERE t.campaign_id = $1 AND t.branch_id = b.branch_id) AS tasks_overdue
FROM branches b
LEFT JOIN cards c ON c.campaign_id = $1 AND c.branch_id = b.branch_id"""


async def branch_rows(
    conn: asyncpg.Connection,
    campaign_id: str,
    county_code: str,
    *,
    round_: str,
    level: str | None,
    township: str | None,
    limit: int | None,
    offset: int,
) -> tuple[int, list[asyncpg.Record]]:
    """A page of the county's gradable branches, filtered, with the total that matched."""
    level_column = "c.initial_level" if round_ == "initial" else "c.final_level"
    where = ["b.county_code = $2", "b.kind <> 'committee'"]
    args: list[Any] = [campaign_id, county_code]
    if level is not None:
        args.append(level)
        where.append(f"{level_column} = ${len(args)}")
    if township is not None:
        args.append(township)
        where.append(f"b.township = ${len(args)}")
    condition = " AND ".join(where)
    total: int = await conn.fetchval(
        f"SELECT count(*) FROM branches b LEFT JOIN cards c ON c.campaign_id = $1"
        f" AND c.branch_id = b.branch_id WHERE {condition}",
        *args,
    )
    args += [limit, offset]
    rows: list[asyncpg.Record] = await conn.fetch(
        f"{BRANCH_ROW} WHERE {condition} ORDER BY b.branch_id"
        f" LIMIT ${len(args) - 1} OFFSET ${len(args)}",
        *args,
    )
    return total, rows


async def branch(conn: asyncpg.Connection, branch_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT branch_id, county_code, kind, name, unit, township, parent_id, secretary_name,"
        " member_count FROM branches WHERE branch_id = $1",
        branch_id,
    )
    return row


async def card(conn: asyncpg.Connection, campaign_id: str, branch_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM cards WHERE campaign_id = $1 AND branch_id = $2", campaign_id, branch_id
    )
    return row


async def card_lists(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str
) -> dict[str, list[asyncpg.Record]]:
    args = (campaign_id, branch_id)
    return {
        "problems": await conn.fetch(
            """SELECT p.*, t.title AS task_title, o.name AS escalated_to_name
               FROM problems p
               LEFT JOIN tasks t ON t.campaign_id = p.campaign_id AND t.branch_id = p.branch_id
                   AND t.task_id = p.task_id
               LEFT JOIN branches o ON o.branch_id = p.escalated_to
               WHERE p.campaign_id = $1 AND p.branch_id = $2 ORDER BY p.problem_id""",
            *args,
        ),
        "revisions": await conn.fetch(
            "SELECT revision, commitment_id, published_at, tasks FROM plan_revisions"
            " WHERE campaign_id = $1 AND branch_id = $2 ORDER BY revision",
            *args,
        ),
        "reviews": await conn.fetch(
            """SELECT r.revision, r.commitment_id, r.decision, r.reviewer_org_id,
                   o.name AS reviewer_name, r.reviewed_at, r.guidance, r.uncovered_reason
               FROM plan_reviews r LEFT JOIN branches o ON o.branch_id = r.reviewer_org_id
               WHERE r.campaign_id = $1 AND r.branch_id = $2
               ORDER BY r.revision, r.reviewed_at, r.event_id""",
            *args,
        ),
        "reviews_overdue": await conn.fetch(
            f"""SELECT d.revision, d.commitment_id, d.reviewer_org_id, d.due
                FROM reviews_overdue d WHERE d.campaign_id = $1 AND d.branch_id = $2
                AND {REVIEW_WAITING} ORDER BY d.revision""",
            *args,
        ),
        "tasks": await conn.fetch(
            "SELECT task_id, title, responsible, deadline, kind, percent, completed, overdue"
            " FROM tasks WHERE campaign_id = $1 AND branch_id = $2 AND in_plan"
            " ORDER BY deadline, task_id",
            *args,
        ),
        "commendations": await conn.fetch(
            "SELECT honour, title, member_name FROM commendations"
            " WHERE campaign_id = $1 AND branch_id = $2 ORDER BY event_id",
            *args,
        ),
        "activities": await conn.fetch(
            "SELECT kind, title, held_on FROM activities"
            " WHERE campaign_id = $1 AND branch_id = $2 ORDER BY held_on, event_id",
            *args,
        ),
    }


async def lagging(
    conn: asyncpg.Connection, campaign_id: str, county_code: str
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""{BRANCH_ROW.replace("LEFT JOIN cards", "JOIN cards")}
            WHERE b.county_code = $2 AND b.kind <> 'committee' AND ({LAGGING_WHERE})""",
        campaign_id,
        county_code,
    )
    return rows


async def lagging_parents(conn: asyncpg.Connection, campaign_id: str) -> list[asyncpg.Record]:
    """The superiors lagging in the campaign, with how many escalations they let wait past
    their answer days unanswered and how many plan revisions past their review days
    unreviewed; their name, township and levels where they are registered and graded."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""WITH waiting AS (
                SELECT p.overdue_to AS org_id, count(*) AS escalations, 0 AS reviews
                FROM problems p
                WHERE p.campaign_id = $1 AND p.overdue_to IS NOT NULL AND p.answer IS NULL
                GROUP BY p.overdue_to
                UNION ALL
                SELECT d.reviewer_org_id, 0, count(*) FROM reviews_overdue d
                WHERE d.campaign_id = $1 AND {REVIEW_WAITING}
                GROUP BY d.reviewer_org_id
            )
            SELECT w.org_id, sum(w.escalations)::int AS escalations_unanswered,
                sum(w.reviews)::int AS reviews_overdue, b.name, b.township,
                c.initial_level, c.final_level
            FROM waiting w
            LEFT JOIN branches b ON b.branch_id = w.org_id
            LEFT JOIN cards c ON c.campaign_id = $1 AND c.branch_id = w.org_id
            GROUP BY w.org_id, b.name, b.township, c.initial_level, c.final_level""",
        campaign_id,
    )
    return rows


async def published_rounds(conn: asyncpg.Connection, campaign_id: str) -> dict[str, Any]:
    """round → when its results were published (rounds not published are absent)."""
    rows = await conn.fetch(
        "SELECT round, published_at FROM published_rounds WHERE campaign_id = $1", campaign_id
    )
    return {row["round"]: row["published_at"] for row in rows}


async def announced(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, round_: str
) -> list[asyncpg.Record]:
    """The county's organisations graded in the round, with their level only (公示): by
    level, strongest first, then by name."""
    level_column = "c.initial_level" if round_ == "initial" else "c.final_level"
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT b.branch_id, b.name, b.unit, b.kind, {level_column} AS level
            FROM cards c JOIN branches b ON b.branch_id = c.branch_id
            WHERE c.campaign_id = $1 AND b.county_code = $2 AND b.kind <> 'committee'
              AND {level_column} IS NOT NULL
            ORDER BY array_position($3::text[], {level_column}), b.name COLLATE "C",
                b.branch_id""",
        campaign_id,
        county_code,
        list(LEVELS),
    )
    return rows
