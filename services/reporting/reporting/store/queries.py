"""Reading the read models for the API, the exports and the dashboard."""

from __future__ import annotations

from typing import Any

import asyncpg

from reporting.domain import LEVELS

LAGGING_WHERE = """(c.commitment_missing AND c.commitment_id IS NULL)
    OR cardinality(c.initial_missing) > 0 OR cardinality(c.final_missing) > 0
    OR EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = c.campaign_id
               AND t.branch_id = c.branch_id AND t.overdue AND NOT t.completed AND t.in_plan)"""


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
            "SELECT problem_id, description, source, needs_superior, escalated_to FROM problems"
            " WHERE campaign_id = $1 AND branch_id = $2 ORDER BY problem_id",
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
