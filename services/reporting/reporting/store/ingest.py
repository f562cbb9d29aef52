"""Writing the read models; counters kept by deltas, summed over a batch and written once."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from grassroots.plumbing import database
from grassroots.plumbing.handling import HandlerContext
from reporting.domain import CARD_COLUMNS, Card, Task

TaskKey = tuple[str, str, str]
"""campaign_id, branch_id, task_id"""


class CounterDeltas:
    """Summary counter changes of a batch, per campaign; written in one statement."""

    def __init__(self) -> None:
        self.changes: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, campaign_id: str, changes: Mapping[str, int]) -> None:
        self.changes[campaign_id].update(changes)

    async def flush(self, ctx: HandlerContext) -> None:
        rows = [
            (campaign_id, name, value)
            for campaign_id, counts in self.changes.items()
            for name, value in counts.items()
            if value
        ]
        if rows:
            await ctx.conn.execute(
                """INSERT INTO counters (campaign_id, name, value)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
                   ON CONFLICT (campaign_id, name)
                   DO UPDATE SET value = counters.value + EXCLUDED.value""",
                *map(list, zip(*rows, strict=True)),
            )
        self.changes.clear()


class CampaignTouches:
    """Campaigns seen in a batch, with the latest event time of each; written once."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[str, dt.datetime]] = {}

    def add(self, campaign_id: str, county_code: str, at: dt.datetime) -> None:
        known = self.latest.get(campaign_id)
        if known is None or at > known[1]:
            self.latest[campaign_id] = (known[0] if known else county_code, at)

    async def flush(self, ctx: HandlerContext) -> None:
        if self.latest:
            await ctx.conn.execute(
                """INSERT INTO campaigns (campaign_id, county_code, updated_at)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
                   ON CONFLICT (campaign_id) DO UPDATE
                   SET updated_at = greatest(campaigns.updated_at, EXCLUDED.updated_at)""",
                list(self.latest),
                [county for county, _ in self.latest.values()],
                [at for _, at in self.latest.values()],
            )
        self.latest.clear()


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


async def save_branches(conn: asyncpg.Connection, branches: Sequence[Mapping[str, Any]]) -> None:
    """Upsert organisations (one per branch_id: the caller keeps the latest) and keep each
    county's count of gradable branches right."""
    old = await conn.fetch(
        "SELECT county_code, kind FROM branches WHERE branch_id = ANY($1) FOR UPDATE",
        [branch["branch_id"] for branch in branches],
    )
    columns = (
        "branch_id",
        "county_code",
        "kind",
        "name",
        "unit",
        "township",
        "parent_id",
        "secretary_name",
        "member_count",
    )
    await conn.execute(
        """INSERT INTO branches (branch_id, county_code, kind, name, unit, township, parent_id,
               secretary_name, member_count)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
               $6::text[], $7::text[], $8::text[], $9::int[])
           ON CONFLICT (branch_id) DO UPDATE SET county_code = EXCLUDED.county_code,
               kind = EXCLUDED.kind, name = EXCLUDED.name, unit = EXCLUDED.unit,
               township = EXCLUDED.township, parent_id = EXCLUDED.parent_id,
               secretary_name = EXCLUDED.secretary_name, member_count = EXCLUDED.member_count""",
        *([branch[column] for branch in branches] for column in columns),
    )
    changes: Counter[str] = Counter()
    changes.subtract(row["county_code"] for row in old if row["kind"] != "committee")
    changes.update(b["county_code"] for b in branches if b["kind"] != "committee")
    counted = [(county, delta) for county, delta in changes.items() if delta]
    if counted:
        await conn.execute(
            """INSERT INTO county_counts (county_code, branches)
               SELECT * FROM unnest($1::text[], $2::int[])
               ON CONFLICT (county_code)
               DO UPDATE SET branches = county_counts.branches + EXCLUDED.branches""",
            [county for county, _ in counted],
            [delta for _, delta in counted],
        )


CardKey = tuple[str, str]
"""campaign_id, branch_id"""

# The card columns an event may set, each a constant of reporting.domain.card_columns.
SETTABLE = frozenset(
    {
        *(
            f"{round_}_{column}"
            for round_ in ("initial", "final")
            for column in ("level", "total", "scores", "basis", "missing")
        ),
        "moved_up",
        "commitment_id",
        "commitment_revision",
        "review",
        "guidance",
        "commitment_missing",
        "commendations",
        "settled_rate",
        "assessment_score",
    }
)


async def lock_cards(conn: asyncpg.Connection, keys: Iterable[CardKey]) -> dict[CardKey, Card]:
    """The cards of `keys`, created when missing, locked until the transaction ends."""
    wanted = sorted(set(keys))
    campaigns, branches = [k[0] for k in wanted], [k[1] for k in wanted]
    await conn.execute(
        """INSERT INTO cards (campaign_id, branch_id)
           SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING""",
        campaigns,
        branches,
    )
    rows = await conn.fetch(
        f"""SELECT campaign_id, branch_id, {", ".join(sorted(CARD_COLUMNS))} FROM cards
            WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            ORDER BY campaign_id, branch_id FOR UPDATE""",
        campaigns,
        branches,
    )
    return {
        (row["campaign_id"], row["branch_id"]): Card().with_columns(
            {name: row[name] for name in CARD_COLUMNS}
        )
        for row in rows
    }


async def update_cards(
    conn: asyncpg.Connection, changes: Mapping[CardKey, Mapping[str, Any]]
) -> None:
    """Set columns on locked cards: one statement per set of columns changed together."""
    by_columns: defaultdict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for (campaign_id, branch_id), columns in changes.items():
        names = tuple(sorted(columns))
        by_columns[names].append((campaign_id, branch_id, *(columns[n] for n in names)))
    for names, rows in by_columns.items():
        unknown = set(names) - SETTABLE
        assert not unknown, f"not a settable card column: {unknown}"
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
        await conn.executemany(
            f"UPDATE cards SET {assignments} WHERE campaign_id = $1 AND branch_id = $2", rows
        )


async def save_problems(conn: asyncpg.Connection, problems: Sequence[Mapping[str, Any]]) -> None:
    """Upsert problems (one per key: the caller keeps the latest)."""
    columns = ("campaign_id", "branch_id", "problem_id", "description", "source", "needs_superior")
    await conn.execute(
        """INSERT INTO problems (campaign_id, branch_id, problem_id, description, source,
               needs_superior)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
               $6::bool[])
           ON CONFLICT (campaign_id, branch_id, problem_id) DO UPDATE SET
               description = EXCLUDED.description, source = EXCLUDED.source,
               needs_superior = EXCLUDED.needs_superior""",
        *([problem[column] for problem in problems] for column in columns),
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


TASK_COLUMNS = tuple(Task.__dataclass_fields__)


def _tasks(rows: Iterable[asyncpg.Record]) -> dict[TaskKey, Task]:
    return {
        (row["campaign_id"], row["branch_id"], row["task_id"]): Task(
            **{column: row[column] for column in TASK_COLUMNS}
        )
        for row in rows
    }


async def _lock_tasks(
    conn: asyncpg.Connection, keys: Iterable[tuple[str, ...]]
) -> dict[TaskKey, Task]:
    """The tasks matching `keys` — (campaign_id, branch_id[, task_id]) — locked until the
    transaction ends."""
    wanted = sorted(set(keys))
    width = len(wanted[0]) if wanted else 3
    matched = ", ".join(("campaign_id", "branch_id", "task_id")[:width])
    arrays = ", ".join(f"${i}::text[]" for i in range(1, width + 1))
    rows = await conn.fetch(
        f"""SELECT campaign_id, branch_id, task_id, {", ".join(TASK_COLUMNS)} FROM tasks
            WHERE ({matched}) IN (SELECT * FROM unnest({arrays}))
            ORDER BY campaign_id, branch_id, task_id FOR UPDATE""",
        *database.columns(wanted, width),
    )
    return _tasks(rows)


async def lock_tasks_by_key(
    conn: asyncpg.Connection, keys: Iterable[TaskKey]
) -> dict[TaskKey, Task]:
    """The tasks that exist among `keys`, locked until the transaction ends."""
    return await _lock_tasks(conn, keys)


async def lock_tasks_of(
    conn: asyncpg.Connection, branches: Iterable[CardKey]
) -> dict[TaskKey, Task]:
    """Every task of the branches' cards, locked until the transaction ends."""
    return await _lock_tasks(conn, branches)


async def save_tasks(conn: asyncpg.Connection, tasks: Mapping[TaskKey, Task]) -> None:
    """Write tasks as locked and changed by the caller (a task not there yet, e.g. overdue
    before its plan arrived, is created outside the plan)."""
    if not tasks:
        return
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in TASK_COLUMNS)
    await conn.executemany(
        f"""INSERT INTO tasks (campaign_id, branch_id, task_id, {", ".join(TASK_COLUMNS)})
            VALUES ({", ".join(f"${i}" for i in range(1, len(TASK_COLUMNS) + 4))})
            ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET {assignments}""",
        [
            (*key, *(getattr(task, column) for column in TASK_COLUMNS))
            for key, task in tasks.items()
        ],
    )


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


async def add_activities(
    conn: asyncpg.Connection, counters: CounterDeltas, activities: Sequence[tuple[Any, ...]]
) -> None:
    """Record activities (campaign_id, branch_id, event_id, kind, title, held_on) and count
    each new one on its branch's card and its campaign's summary."""
    added = await conn.fetch(
        """INSERT INTO activities (campaign_id, branch_id, event_id, kind, title, held_on)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
               $6::date[])
           ON CONFLICT DO NOTHING RETURNING campaign_id, branch_id""",
        *database.columns(activities, 6),
    )
    per_card = Counter((row["campaign_id"], row["branch_id"]) for row in added)
    if not per_card:
        return
    await conn.execute(
        """INSERT INTO cards (campaign_id, branch_id, activities)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
           ON CONFLICT (campaign_id, branch_id)
           DO UPDATE SET activities = cards.activities + EXCLUDED.activities""",
        [campaign_id for campaign_id, _ in per_card],
        [branch_id for _, branch_id in per_card],
        list(per_card.values()),
    )
    for (campaign_id, _), count in per_card.items():
        counters.add(campaign_id, {"activities": count})
