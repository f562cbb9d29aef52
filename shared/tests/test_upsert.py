"""The one upsert helper: every column type a row may carry reaches PostgreSQL as it was, and
a conflict updates or keeps the row as asked."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

import asyncpg
import pytest

from grassroots.plumbing import database

CST = dt.timezone(dt.timedelta(hours=8))


class Row(NamedTuple):
    branch_id: str
    name: str | None
    score: Decimal | None
    rate: float | None
    tasks: int | None
    kafka_offset: Annotated[int, database.SqlType("bigint")]
    passed: bool | None
    due: dt.date | None
    at: dt.datetime | None
    digest: bytes | None
    payload: dict[str, Any] | None
    members: list[Any] | None


@pytest.fixture
async def conn() -> AsyncIterator[asyncpg.Connection]:
    """A service's pooled connection (its codecs: jsonb as Python values) on a schema of its own."""
    schema = f"upsert_test_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
    await admin.execute(f"CREATE SCHEMA {schema}")
    await admin.execute(
        f"""CREATE TABLE {schema}.kept (branch_id text PRIMARY KEY, name text, score numeric,
               rate float8, tasks int, kafka_offset bigint, passed bool, due date,
               at timestamptz, digest bytea, payload jsonb, members jsonb)"""
    )
    pool = await database.create_pool(os.environ["GRASSROOTS_ADMIN_DSN"], schema, size=2)
    try:
        async with pool.acquire() as connection:
            yield connection
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


FULL = Row(
    "610526-edu-0007",
    '苏坊中学党支部 "一支部" \\ 附\n二行',
    Decimal("87.50"),
    0.1 + 0.2,
    12,
    2**40,
    True,
    dt.date(2012, 5, 2),
    dt.datetime(2012, 3, 15, 9, 30, 0, 123456, tzinfo=CST),
    bytes(range(256)),
    {"奖": ["先进基层党组织"], "n": 1.5, "none": None},
    ["a", 2],
)
EMPTY = Row("610526-edu-0008", None, None, None, None, 0, None, None, None, None, None, None)


async def test_every_column_type_reaches_the_table_as_it_was(conn: asyncpg.Connection) -> None:
    await database.upsert(conn, "kept", [FULL, EMPTY], key=("branch_id",))
    rows = {row["branch_id"]: row for row in await conn.fetch("SELECT * FROM kept")}
    assert tuple(rows[FULL.branch_id].values()) == FULL
    assert str(rows[FULL.branch_id]["score"]) == "87.50"  # the decimal as written, its scale too
    assert tuple(rows[EMPTY.branch_id].values()) == EMPTY


async def test_a_conflict_updates_the_columns_asked_or_keeps_the_row(
    conn: asyncpg.Connection,
) -> None:
    await database.upsert(conn, "kept", [FULL], key=("branch_id",))
    await database.upsert(
        conn, "kept", [FULL._replace(name="改名", tasks=13)], key=("branch_id",), update=("tasks",)
    )
    kept = await conn.fetchrow("SELECT name, tasks FROM kept")
    assert (kept["name"], kept["tasks"]) == (FULL.name, 13)
    await database.upsert(conn, "kept", [FULL._replace(tasks=99)], key=("branch_id",), update=())
    assert await conn.fetchval("SELECT tasks FROM kept") == 13
    await database.upsert(
        conn, "kept", [FULL], key=("branch_id",), update=(), assign={"tasks": "kept.tasks + 1"}
    )
    assert await conn.fetchval("SELECT tasks FROM kept") == 14
