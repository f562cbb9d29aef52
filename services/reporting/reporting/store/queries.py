"""Reading the read models for the API, the exports and the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from reporting.domain import (
    COVERAGE_ACTIVITIES,
    FOUR_ONES,
    FOUR_ONES_ACTIVITIES,
    FOUR_ONES_HONOURS,
    LEVELS,
    RATER_GROUPS,
)
from reporting.store import supervision

LAGGING_WHERE = """(c.commitment_missing AND c.commitment_id IS NULL)
    OR cardinality(c.initial_missing) > 0 OR cardinality(c.final_missing) > 0
    OR EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = c.campaign_id
               AND t.branch_id = c.branch_id AND t.overdue AND NOT t.completed AND t.in_plan)"""


REVIEW_WAITING = """NOT EXISTS (SELECT 1 FROM plan_reviews r WHERE r.campaign_id = d.campaign_id
    AND r.branch_id = d.branch_id AND r.revision >= d.revision)"""
"""A revision named by review_overdue (`d`) still waits: no review of it or of a newer one."""


async def campaign(conn: asyncpg.Connection, campaign_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT campaign_id, county_code, name, year, plan, phases, rules, updated_at"
        " FROM campaigns"
        " WHERE campaign_id = $1",
        campaign_id,
    )
    return row


async def campaign_facts(
    conn: asyncpg.Connection, campaign_id: str, token_hash: str
) -> asyncpg.Record:
    """In one round trip: the scope of the bearer token (`token_*`, null when unknown or
    revoked) and, for a live token, the campaign (`campaign_id` null when not known), its
    summary counters (name → value), its county's gradable branches, and the read models'
    version (migration 0008) they were read at. The token is checked in the statement that
    reads the facts, so a revocation is seen by the next request, as with tokens.find."""
    row: asyncpg.Record = await conn.fetchrow(
        "SELECT t.county_code AS token_county_code, t.branch_id AS token_branch_id,"
        " t.label AS token_label, t.role AS token_role,"
        " (SELECT version FROM read_model_version) AS version,"
        " c.campaign_id, c.county_code, c.name, c.year, c.plan, c.phases, c.rules, c.updated_at,"
        " coalesce((SELECT jsonb_object_agg(name, value) FROM counters"
        "           WHERE campaign_id = c.campaign_id), '{}') AS counters,"
        " coalesce((SELECT branches FROM county_counts WHERE county_code = c.county_code), 0)"
        " AS branches"
        " FROM (SELECT $2::text AS token_hash) asked"
        " LEFT JOIN api_tokens t ON t.token_hash = asked.token_hash AND t.revoked_at IS NULL"
        " LEFT JOIN campaigns c ON t.token_hash IS NOT NULL AND c.campaign_id = $1",
        campaign_id,
        token_hash,
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
       n.tasks_total, n.tasks_completed, n.tasks_overdue
FROM branches b
LEFT JOIN cards c ON c.campaign_id = $1 AND c.branch_id = b.branch_id
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE t.in_plan) AS tasks_total,
           count(*) FILTER (WHERE t.in_plan AND t.completed) AS tasks_completed,
           count(*) FILTER (WHERE t.in_plan AND t.overdue AND NOT t.completed) AS tasks_overdue
    FROM tasks t WHERE t.campaign_id = $1 AND t.branch_id = b.branch_id
) n"""
"""A branch's row of the list and the exports; its task counts read in one pass over its tasks
(was three subqueries, each reading them again)."""


PAGE_ROW = BRANCH_ROW.replace("c.initial_scores, c.final_scores,", "")
"""BRANCH_ROW without the criteria's scores: a page of the API does not show them (the
exports do), and decoding them was a tenth of a page's time."""


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
    known_total: int | None = None,
    after: str | None = None,
) -> tuple[int, list[asyncpg.Record]]:
    """A page of the county's gradable branches, filtered, with the total that matched
    (`known_total`: counted before, at the same version of the read models); with `after`,
    the page starts after that branch_id (a keyset: no row before it is read)."""
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
    total: int = (
        known_total
        if known_total is not None
        else await conn.fetchval(
            f"SELECT count(*) FROM branches b LEFT JOIN cards c ON c.campaign_id = $1"
            f" AND c.branch_id = b.branch_id WHERE {condition}",
            *args,
        )
    )
    if after is not None:
        args.append(after)
        condition += f" AND b.branch_id > ${len(args)}"
    args += [limit, offset]
    # The page's ids first (index-only scans, nothing computed for the rows skipped), then
    # their rows.
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""WITH page AS (
                SELECT b.branch_id FROM branches b
                LEFT JOIN cards c ON c.campaign_id = $1 AND c.branch_id = b.branch_id
                WHERE {condition} ORDER BY b.branch_id
                LIMIT ${len(args) - 1} OFFSET ${len(args)}
            )
            {
            (BRANCH_ROW if limit is None else PAGE_ROW).replace(
                "FROM branches b", "FROM page p JOIN branches b USING (branch_id)"
            )
        }
            ORDER BY b.branch_id""",
        *args,
    )
    return total, rows


async def every_branch(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, *, batch: int = 2_000
) -> AsyncIterator[list[asyncpg.Record]]:
    """Every row of the branch table (initial round, by branch_id), `batch` rows at a time from
    one server-side cursor: an export of 100,000 branches never holds more than a batch."""
    async with conn.transaction(readonly=True):
        cursor = await conn.cursor(
            f"{BRANCH_ROW} WHERE b.county_code = $2 AND b.kind <> 'committee' ORDER BY b.branch_id",
            campaign_id,
            county_code,
        )
        while rows := await cursor.fetch(batch):
            yield rows


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
            """SELECT c.honour, c.title, c.member_name, c.awarded_by, a.name AS awarded_by_name,
                   c.awarded_on
               FROM commendations c LEFT JOIN branches a ON a.branch_id = c.awarded_by
               WHERE c.campaign_id = $1 AND c.branch_id = $2
               ORDER BY c.awarded_on NULLS LAST, c.event_id""",
            *args,
        ),
        "publicity": await conn.fetch(
            "SELECT title, channel, channel_name, published_on, member_name, url FROM publicity"
            " WHERE campaign_id = $1 AND branch_id = $2 ORDER BY published_on, event_id",
            *args,
        ),
        "learning_meetings": await conn.fetch(
            "SELECT held_on, target_level, learned_from, summary FROM learning_meetings"
            " WHERE campaign_id = $1 AND branch_id = $2 ORDER BY held_on, event_id",
            *args,
        ),
        "summary_review": await conn.fetch(
            "SELECT * FROM summary_reviews WHERE campaign_id = $1 AND branch_id = $2", *args
        ),
        "marks": [marks] if (marks := await marks_of(conn, campaign_id, branch_id)) else [],
        "committee_assessment": await conn.fetch(
            "SELECT score, level, comment, assessed_at FROM committee_assessments"
            " WHERE campaign_id = $1 AND branch_id = $2",
            *args,
        ),
        "activities": await conn.fetch(
            "SELECT kind, title, held_on FROM activities"
            " WHERE campaign_id = $1 AND branch_id = $2 ORDER BY held_on, event_id",
            *args,
        ),
        **await supervision.card_lists(conn, *args),
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


# Phases 3 and 4 (issue 15). The organisations of a campaign are its county's registered
# branches and general branches (as in the branch list). Each has four marks and its coverage
# (`domain.Marks`): the campaign's activities it reported, and the commendations of it and of
# the organisations directly under it (it cultivates those: 一批先进党组织, 一批优秀共产党员).
# One rule, two shapes of the same SQL, so both stay fast at 100,000 organisations: for a page
# or a card, from the organisations outward (primary-key probes); for the whole county, from
# the campaign's facts inward (one aggregate each, hash-joined). Both give the CTE `marks`.

ORGANISATIONS = "b.county_code = $2 AND b.kind <> 'committee'"
MARK_KINDS = (*FOUR_ONES_ACTIVITIES, *COVERAGE_ACTIVITIES)
KIND_FLAGS = ", ".join(f"bool_or(a.kind = '{k}') AS {k}" for k in MARK_KINDS)
HONOUR_FLAGS = ", ".join(f"bool_or(c.honour = '{h}') AS {h}" for h in FOUR_ONES_HONOURS)
HONOURS = ", ".join(f"'{h}'" for h in FOUR_ONES_HONOURS)
MARK_COLUMNS = ", ".join(
    [f"coalesce(d.{k}, false) AS {k}" for k in MARK_KINDS]
    + [f"coalesce(h.{h}, false) AS {h}" for h in FOUR_ONES_HONOURS]
)
ALL_FOUR = " AND ".join(FOUR_ONES)

MARKS_OF_SOME = f"""done AS (
    SELECT a.branch_id, {KIND_FLAGS}
    FROM o JOIN activities a ON a.campaign_id = $1 AND a.branch_id = o.branch_id
    GROUP BY a.branch_id
), named AS (
    SELECT o.branch_id AS org_id, o.branch_id AS member_id FROM o
    UNION ALL
    SELECT ch.parent_id, ch.branch_id FROM branches ch JOIN o ON ch.parent_id = o.branch_id
), honoured AS (
    SELECT n.org_id, {HONOUR_FLAGS}
    FROM named n JOIN commendations c ON c.campaign_id = $1 AND c.branch_id = n.member_id
        AND c.honour IN ({HONOURS})
    GROUP BY n.org_id
), marks AS (
    SELECT o.*, {MARK_COLUMNS} FROM o
    LEFT JOIN done d ON d.branch_id = o.branch_id
    LEFT JOIN honoured h ON h.org_id = o.branch_id
)"""
"""`marks` of the organisations of the CTE `o` (a page, one card): $1 is the campaign."""

MARKS_OF_COUNTY = f"""done AS (
    SELECT a.branch_id, {KIND_FLAGS} FROM activities a WHERE a.campaign_id = $1
    GROUP BY a.branch_id
), honoured AS (
    SELECT c.org_id, {HONOUR_FLAGS}
    FROM (
        SELECT c.branch_id AS org_id, c.honour FROM commendations c
        WHERE c.campaign_id = $1 AND c.honour IN ({HONOURS})
        UNION ALL
        SELECT cb.parent_id, c.honour FROM commendations c
        JOIN branches cb ON cb.branch_id = c.branch_id
        WHERE c.campaign_id = $1 AND c.honour IN ({HONOURS}) AND cb.parent_id IS NOT NULL
    ) c
    GROUP BY c.org_id
), marks AS (
    SELECT b.branch_id, b.name, b.kind, b.unit, {MARK_COLUMNS} FROM branches b
    LEFT JOIN done d ON d.branch_id = b.branch_id
    LEFT JOIN honoured h ON h.org_id = b.branch_id
    WHERE {ORGANISATIONS}
)"""
"""`marks` of every organisation of the county $2 in the campaign $1."""


async def marks_page(
    conn: asyncpg.Connection,
    campaign_id: str,
    county_code: str,
    *,
    limit: int | None,
    offset: int,
) -> tuple[int, list[asyncpg.Record]]:
    """A page of the campaign's organisations by branch_id (every one: limit None), each with
    its four marks and its coverage, and how many organisations there are."""
    total: int = await conn.fetchval(
        "SELECT count(*) FROM branches WHERE county_code = $1 AND kind <> 'committee'",
        county_code,
    )
    if limit is None:
        rows: list[asyncpg.Record] = await conn.fetch(
            f"WITH {MARKS_OF_COUNTY} SELECT * FROM marks ORDER BY branch_id",
            campaign_id,
            county_code,
        )
        return total, rows[offset:]
    rows = await conn.fetch(
        f"""WITH o AS (
                SELECT b.branch_id, b.name, b.kind, b.unit FROM branches b
                WHERE {ORGANISATIONS} ORDER BY b.branch_id LIMIT $3 OFFSET $4
            ), {MARKS_OF_SOME}
            SELECT * FROM marks ORDER BY branch_id""",
        campaign_id,
        county_code,
        limit,
        offset,
    )
    return total, rows


async def marks_of(
    conn: asyncpg.Connection, campaign_id: str, branch_id: str
) -> asyncpg.Record | None:
    """One organisation's four marks and coverage (its card)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""WITH o AS (SELECT b.branch_id FROM branches b WHERE b.branch_id = $2),
            {MARKS_OF_SOME}
            SELECT * FROM marks""",
        campaign_id,
        branch_id,
    )
    return row


async def emulation_counts(
    conn: asyncpg.Connection, campaign_id: str, county_code: str
) -> asyncpg.Record:
    """How many organisations the campaign has, how many have all four marks and how many are
    covered by each activity; and the campaign's commendations, publicity items and meetings."""
    covered = ", ".join(f"count(*) FILTER (WHERE {k}) AS {k}" for k in COVERAGE_ACTIVITIES)
    row: asyncpg.Record = await conn.fetchrow(
        f"""WITH {MARKS_OF_COUNTY}
            SELECT count(*) AS organisations, count(*) FILTER (WHERE {ALL_FOUR}) AS all_four,
                {covered},
                (SELECT count(*) FROM commendations WHERE campaign_id = $1) AS commendations,
                (SELECT count(*) FROM publicity WHERE campaign_id = $1) AS publicity,
                (SELECT count(*) FROM learning_meetings WHERE campaign_id = $1)
                    AS learning_meetings
            FROM marks""",
        campaign_id,
        county_code,
    )
    return row


async def not_covered(
    conn: asyncpg.Connection, campaign_id: str, county_code: str
) -> list[asyncpg.Record]:
    """The organisations missing at least one of the activities to cover (全覆盖), by
    branch_id, with which they have."""
    every = " AND ".join(COVERAGE_ACTIVITIES)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""WITH {MARKS_OF_COUNTY}
            SELECT branch_id, name, kind, {", ".join(COVERAGE_ACTIVITIES)} FROM marks
            WHERE NOT ({every}) ORDER BY branch_id""",
        campaign_id,
        county_code,
    )
    return rows


async def commendations(conn: asyncpg.Connection, campaign_id: str) -> list[asyncpg.Record]:
    """The campaign's commendations with the names (and kind) of who was commended and who
    awarded them, where registered; by awarded_on then branch_id."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT c.branch_id, b.name AS branch_name, c.honour, c.title, c.member_name,
               c.awarded_on, c.awarded_by, a.name AS awarded_by_name, a.kind AS awarded_by_kind
           FROM commendations c
           LEFT JOIN branches b ON b.branch_id = c.branch_id
           LEFT JOIN branches a ON a.branch_id = c.awarded_by
           WHERE c.campaign_id = $1
           ORDER BY c.awarded_on NULLS LAST, c.branch_id, c.event_id""",
        campaign_id,
    )
    return rows


async def three_level(
    conn: asyncpg.Connection, campaign_id: str, county_code: str, year: int | None
) -> dict[str, list[asyncpg.Record]]:
    """三级联述联评联考: the organisations shown (every committee of the county, then every
    other organisation with a duty report, appraisal or annual review in the campaign;
    committees first, then by org_id), and those facts. The annual review shown is the one of
    the campaign's year, else the latest year reviewed."""
    return {
        "organisations": await conn.fetch(
            """WITH shown AS (
                   SELECT b.branch_id AS org_id FROM branches b
                   WHERE b.county_code = $2 AND b.kind = 'committee'
                   UNION SELECT org_id FROM duty_reports WHERE campaign_id = $1
                   UNION SELECT org_id FROM appraisals WHERE campaign_id = $1
                   UNION SELECT org_id FROM annual_reviews WHERE campaign_id = $1
               )
               SELECT s.org_id, b.name, b.kind FROM shown s
               LEFT JOIN branches b ON b.branch_id = s.org_id
               ORDER BY coalesce(b.kind = 'committee', false) DESC, s.org_id""",
            campaign_id,
            county_code,
        ),
        "duty_reports": await conn.fetch(
            "SELECT org_id, reporter_name, reported_to, reported_on, document_ref"
            " FROM duty_reports WHERE campaign_id = $1 ORDER BY org_id, reported_on, event_id",
            campaign_id,
        ),
        "appraisals": await conn.fetch(
            "SELECT org_id, rater_group, satisfied, basically_satisfied, dissatisfied"
            " FROM appraisals WHERE campaign_id = $1"
            " ORDER BY org_id, array_position($2::text[], rater_group)",
            campaign_id,
            list(RATER_GROUPS),
        ),
        "annual_reviews": await conn.fetch(
            "SELECT DISTINCT ON (org_id) org_id, year, grade, comment FROM annual_reviews"
            " WHERE campaign_id = $1"
            " ORDER BY org_id, year IS NOT DISTINCT FROM $2 DESC, year DESC",
            campaign_id,
            year,
        ),
    }


async def standing_rules(conn: asyncpg.Connection, campaign_id: str) -> list[asyncpg.Record]:
    """Good practices made standing rules (巩固深化), by adopted_on then org_id."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT r.org_id, b.name, r.title, r.adopted_on, r.document_ref, r.summary
           FROM standing_rules r LEFT JOIN branches b ON b.branch_id = r.org_id
           WHERE r.campaign_id = $1 ORDER BY r.adopted_on, r.org_id, r.event_id""",
        campaign_id,
    )
    return rows
