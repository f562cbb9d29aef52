"""Every SQL statement of the grading service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from grading.domain import CRITERIA, BranchInputs, Grade, Incomplete, Input
from grassroots.plumbing import database


async def save_campaign(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    county_code: str,
    name: str,
    rules: dict[str, Any] | None,
    launched_at: dt.datetime,
) -> None:
    await conn.execute(
        """INSERT INTO campaigns (campaign_id, county_code, name, rules, launched_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (campaign_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               name = EXCLUDED.name, rules = EXCLUDED.rules, launched_at = EXCLUDED.launched_at""",
        campaign_id,
        county_code,
        name,
        rules,
        launched_at,
    )


async def get_campaign_rules(conn: asyncpg.Connection, campaign_id: str) -> dict[str, Any] | None:
    rules: dict[str, Any] | None = await conn.fetchval(
        "SELECT rules FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    return rules


BranchRow = tuple[str, str, str, str, str | None]
"""branch_id, county_code, kind, name, parent_id"""

InputRow = tuple[Any, ...]
"""campaign_id, round, branch_id, source, the five criteria (Decimal), raters, rater_org_id,
override_level, override_reason, veto_reason, event_id, event_time"""

LateInputRow = tuple[str, str, str, str, str, dict[str, Any]]
"""campaign_id, round, branch_id, event_type, event_id, payload"""


async def save_branches(conn: asyncpg.Connection, branches: Sequence[BranchRow]) -> None:
    """Upsert organisations (one row per branch_id: the caller keeps the latest)."""
    await conn.execute(
        """INSERT INTO branches (branch_id, county_code, kind, name, parent_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
           ON CONFLICT (branch_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               kind = EXCLUDED.kind, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id""",
        *database.columns(branches, 5),
    )


async def lock_round_for_input(conn: asyncpg.Connection, campaign_id: str, round_: str) -> str:
    """The round's status, holding a share lock so it cannot be computed under our feet."""
    statuses = await lock_rounds_for_inputs(conn, [(campaign_id, round_)])
    return statuses[(campaign_id, round_)]


async def lock_rounds_for_inputs(
    conn: asyncpg.Connection, rounds: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Each round's status, share-locked so none can be computed under our feet."""
    keys = sorted(set(rounds))
    campaigns, round_names = [k[0] for k in keys], [k[1] for k in keys]
    await conn.execute(
        """INSERT INTO rounds (campaign_id, round)
           SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING""",
        campaigns,
        round_names,
    )
    rows = await conn.fetch(
        """SELECT campaign_id, round, status FROM rounds
           WHERE (campaign_id, round) IN (SELECT * FROM unnest($1::text[], $2::text[]))
           ORDER BY campaign_id, round FOR SHARE""",
        campaigns,
        round_names,
    )
    return {(row["campaign_id"], row["round"]): row["status"] for row in rows}


async def save_inputs(conn: asyncpg.Connection, inputs: Sequence[InputRow]) -> None:
    """The current input of each kind; a later one replaces it (one row per key: the caller
    keeps the latest)."""
    await conn.execute(
        """INSERT INTO inputs (campaign_id, round, branch_id, source, leadership, membership,
               mechanism, performance, reputation, raters, rater_org_id, override_level,
               override_reason, veto_reason, event_id, event_time)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[],
               $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::int[],
               $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
               $16::timestamptz[])
           ON CONFLICT (campaign_id, round, branch_id, source) DO UPDATE SET
               leadership = EXCLUDED.leadership, membership = EXCLUDED.membership,
               mechanism = EXCLUDED.mechanism, performance = EXCLUDED.performance,
               reputation = EXCLUDED.reputation, raters = EXCLUDED.raters,
               rater_org_id = EXCLUDED.rater_org_id, override_level = EXCLUDED.override_level,
               override_reason = EXCLUDED.override_reason, veto_reason = EXCLUDED.veto_reason,
               event_id = EXCLUDED.event_id, event_time = EXCLUDED.event_time""",
        *database.columns(inputs, 16),
    )


async def save_late_inputs(conn: asyncpg.Connection, inputs: Sequence[LateInputRow]) -> None:
    await conn.executemany(
        """INSERT INTO late_inputs (campaign_id, round, branch_id, event_type, event_id, payload)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        inputs,
    )


async def save_settlements(
    conn: asyncpg.Connection, settlements: Sequence[tuple[str, str, Decimal]]
) -> None:
    """Completion rates (campaign_id, branch_id, rate), in order (executemany: one round trip)."""
    await conn.executemany(
        """INSERT INTO settlements (campaign_id, branch_id, completion_rate) VALUES ($1, $2, $3)
           ON CONFLICT (campaign_id, branch_id)
           DO UPDATE SET completion_rate = EXCLUDED.completion_rate""",
        settlements,
    )


async def close_round(
    conn: asyncpg.Connection,
    *,
    campaign_id: str,
    round_: str,
    county_code: str,
    close_event_id: str,
    closed_at: dt.datetime,
) -> str:
    """Mark an open round closing; return the status it had (closing/computed: unchanged)."""
    await conn.execute(
        "INSERT INTO rounds (campaign_id, round) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        campaign_id,
        round_,
    )
    previous: str = await conn.fetchval(
        "SELECT status FROM rounds WHERE campaign_id = $1 AND round = $2 FOR UPDATE",
        campaign_id,
        round_,
    )
    if previous == "open":
        await conn.execute(
            """UPDATE rounds SET status = 'closing', county_code = $3, close_event_id = $4,
                   closed_at = $5 WHERE campaign_id = $1 AND round = $2""",
            campaign_id,
            round_,
            county_code,
            close_event_id,
            closed_at,
        )
    return previous


async def closing_rounds(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT campaign_id, round, county_code, end_offsets FROM rounds"
        " WHERE status = 'closing' ORDER BY closed_at"
    )
    return rows


async def save_end_offsets(
    conn: asyncpg.Connection, campaign_id: str, round_: str, offsets: dict[str, int]
) -> None:
    await conn.execute(
        "UPDATE rounds SET end_offsets = $3 WHERE campaign_id = $1 AND round = $2",
        campaign_id,
        round_,
        offsets,
    )


async def lock_round_for_computing(
    conn: asyncpg.Connection, campaign_id: str, round_: str
) -> asyncpg.Record | None:
    """The round, locked, if it is still waiting to be computed."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT campaign_id, round, county_code FROM rounds"
        " WHERE campaign_id = $1 AND round = $2 AND status = 'closing' FOR UPDATE",
        campaign_id,
        round_,
    )
    return row


async def refresh_statistics(conn: asyncpg.Connection, tables: Sequence[str]) -> None:
    """Inputs and registrations may have arrived in bulk just now: ANALYZE the tables that
    changed by a tenth since their statistics were taken, so the round is planned well (and a
    hundred rounds computed in a row do not each analyze everything again)."""
    stale = await conn.fetch(
        """SELECT relname FROM pg_stat_user_tables
           WHERE schemaname = current_schema() AND relname = ANY($1)
             AND n_mod_since_analyze > 0.1 * greatest(n_live_tup, 1000)""",
        list(tables),
    )
    if stale:
        await conn.execute("ANALYZE " + ", ".join(row["relname"] for row in stale))


async def load_round(
    conn: asyncpg.Connection, campaign_id: str, round_: str, county_code: str
) -> list[BranchInputs]:
    """Every gradable branch of the county and every branch with inputs, in one query."""
    await refresh_statistics(conn, ("branches", "inputs", "results", "settlements"))
    rows = await conn.fetch(
        """WITH everyone AS (
               SELECT branch_id, bool_or(registered) AS registered FROM (
                   SELECT branch_id, true AS registered FROM branches
                   WHERE county_code = $3 AND kind <> 'committee'
                   UNION ALL
                   SELECT DISTINCT i.branch_id, false FROM inputs i
                   WHERE i.campaign_id = $1 AND i.round = $2 AND NOT EXISTS (
                       SELECT 1 FROM branches c WHERE c.branch_id = i.branch_id
                       AND c.kind = 'committee')
               ) candidates GROUP BY branch_id
           )
           SELECT e.branch_id, e.registered, i.source,
                  i.leadership, i.membership, i.mechanism, i.performance, i.reputation,
                  i.override_level, i.override_reason, i.veto_reason,
                  initial.level AS initial_level, s.completion_rate
           FROM everyone e
           LEFT JOIN inputs i
                  ON i.campaign_id = $1 AND i.round = $2 AND i.branch_id = e.branch_id
           LEFT JOIN results initial ON initial.campaign_id = $1 AND initial.round = 'initial'
                  AND initial.branch_id = e.branch_id
           LEFT JOIN settlements s ON s.campaign_id = $1 AND s.branch_id = e.branch_id
           ORDER BY e.branch_id""",
        campaign_id,
        round_,
        county_code,
    )
    branches: list[BranchInputs] = []
    current: dict[str, Any] | None = None
    for row in rows:
        if current is None or current["branch_id"] != row["branch_id"]:
            if current is not None:
                branches.append(BranchInputs(**current))
            current = {
                "branch_id": row["branch_id"],
                "registered": row["registered"],
                "by_source": {},
                "initial_level": row["initial_level"],
                "completion_rate": row["completion_rate"],
            }
        if row["source"] is not None:
            current["by_source"][row["source"]] = Input(
                scores={c: row[c] for c in CRITERIA},
                override_level=row["override_level"],
                override_reason=row["override_reason"],
                veto_reason=row["veto_reason"],
            )
    if current is not None:
        branches.append(BranchInputs(**current))
    return branches


async def save_results(
    conn: asyncpg.Connection,
    campaign_id: str,
    round_: str,
    outcomes: Sequence[tuple[Grade | Incomplete, str]],
) -> None:
    """The round's results with the id of the event that published each (bulk COPY)."""
    records: list[tuple[Any, ...]] = []
    for outcome, event_id in outcomes:
        if isinstance(outcome, Grade):
            scores = {c: float(v) for c, v in outcome.scores.items()}
            records.append(
                (
                    campaign_id,
                    round_,
                    outcome.branch_id,
                    outcome.level,
                    outcome.total,
                    scores,
                    None,
                    outcome.basis,
                    event_id,
                )
            )
        else:
            records.append(
                (
                    campaign_id,
                    round_,
                    outcome.branch_id,
                    None,
                    None,
                    None,
                    list(outcome.missing),
                    None,
                    event_id,
                )
            )
    await conn.copy_records_to_table(
        "results",
        records=records,
        columns=[
            "campaign_id",
            "round",
            "branch_id",
            "level",
            "total",
            "scores",
            "missing",
            "basis",
            "event_id",
        ],
    )


async def mark_computed(
    conn: asyncpg.Connection, campaign_id: str, round_: str, *, seconds: float
) -> None:
    await conn.execute(
        """UPDATE rounds SET status = 'computed', computed_at = now(), compute_seconds = $3
           WHERE campaign_id = $1 AND round = $2""",
        campaign_id,
        round_,
        seconds,
    )


async def get_result(
    conn: asyncpg.Connection, campaign_id: str, round_: str, branch_id: str
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT level, total, scores, basis FROM results"
        " WHERE campaign_id = $1 AND round = $2 AND branch_id = $3",
        campaign_id,
        round_,
        branch_id,
    )
    return row


async def correct_result(
    conn: asyncpg.Connection,
    campaign_id: str,
    round_: str,
    branch_id: str,
    *,
    level: str,
    event_id: str,
) -> None:
    await conn.execute(
        """UPDATE results SET level = $4, basis = 'override', event_id = $5
           WHERE campaign_id = $1 AND round = $2 AND branch_id = $3""",
        campaign_id,
        round_,
        branch_id,
        level,
        event_id,
    )
