"""asyncpg pool bound to the service's own schema, and the migration runner."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin, get_type_hints

import asyncpg

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as `width` column arrays, the arguments of `unnest($1::type[], $2::type[], …)`."""
    return [[row[i] for row in rows] for i in range(width)]


@dataclass(frozen=True)
class SqlType:
    """A column's SQL type where the Python type does not say it: Annotated[int, SqlType("bigint")]."""

    name: str


_SQL_TYPES: dict[Any, str] = {
    str: "text",
    int: "int",
    bool: "bool",
    float: "float8",
    Decimal: "numeric",
    dt.datetime: "timestamptz",
    dt.date: "date",
    bytes: "bytea",
    dict: "jsonb",
    list: "jsonb",
}


def _sql_type(annotation: Any) -> str:
    if get_origin(annotation) is Annotated:
        found = [m for m in get_args(annotation)[1:] if isinstance(m, SqlType)]
        if found:
            return found[0].name
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    annotation = get_origin(annotation) or annotation
    if annotation not in _SQL_TYPES:
        raise TypeError(f"no SQL type for {annotation!r}: annotate it with SqlType")
    return _SQL_TYPES[annotation]


@functools.cache
def _row_columns(row_type: type[Any]) -> tuple[tuple[str, str], ...]:
    """(column, SQL type) of a NamedTuple row type, from its field annotations."""
    hints = get_type_hints(row_type, include_extras=True)
    return tuple((name, _sql_type(hints[name])) for name in row_type._fields)


def _json_value(value: Any) -> Any:
    """What json.dumps cannot write itself, as the text PostgreSQL reads for the column."""
    if isinstance(value, Decimal):
        return str(value)  # as sent: 87.5 stays 87.5
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.astimezone()).isoformat()  # asyncpg's reading
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()  # bytea's hex input
    raise TypeError(f"no JSON form for {type(value).__name__}")


def rows_json(rows: Sequence[Sequence[Any]]) -> str:
    """Rows as one JSON array of arrays: the argument of `row_select`'s statement."""
    return json.dumps(rows, default=_json_value, ensure_ascii=False, allow_nan=False)


def _field(index: int, sql: str) -> str:
    if sql == "jsonb":
        return f"NULLIF(row_->{index}, 'null')"  # None is SQL NULL, as before
    if sql == "text":
        return f"row_->>{index}"
    return f"(row_->>{index})::{sql}"


@functools.cache
def row_select(row_type: type[tuple[Any, ...]], parameter: int = 1) -> str:
    """`SELECT <each column, typed> FROM` the JSON array of `rows_json` (parameter $n): how a
    batch of rows reaches a statement. One text argument, not one array per column: asyncpg
    checks every element of an array argument (an isinstance against collections.abc, a Python
    call each: 6 % of grading's busy time at ingest); the JSON is written by json.dumps in C and
    read by PostgreSQL as fast as the arrays were (2,000 rows of 16 columns: 17 → 6 ms of the
    service's CPU, 32 → 31 ms of PostgreSQL's)."""
    fields = ", ".join(_field(i, sql) for i, (_, sql) in enumerate(_row_columns(row_type)))
    return f"SELECT {fields} FROM jsonb_array_elements(${parameter}::text::jsonb) AS row_"


async def upsert(
    conn: asyncpg.Connection,
    table: str,
    rows: Sequence[NamedTuple],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    assign: Mapping[str, str] | None = None,
) -> None:
    """Insert rows (one NamedTuple type; its fields are the columns) in one statement (the rows
    as one JSON argument, `row_select`); on a conflict on `key`, set `update` (default: every
    other column) from the new row, or the SQL of `assign` ({column: expression}); with
    `update=()` and no `assign`, keep the row there. The caller keeps one row per key."""
    if not rows:
        return
    row_type = type(rows[0])
    names = list(row_type._fields)
    changes = [
        f"{c} = EXCLUDED.{c}" for c in (update if update is not None else names) if c not in key
    ]
    changes += [f"{c} = {expression}" for c, expression in (assign or {}).items()]
    action = f"DO UPDATE SET {', '.join(changes)}" if changes else "DO NOTHING"
    await conn.execute(
        f"""INSERT INTO {table} ({", ".join(names)}) {row_select(row_type)}
            ON CONFLICT ({", ".join(key)}) {action}""",
        rows_json(rows),
    )


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, ensure_ascii=False).encode()  # format version 1


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary jsonb, so that COPY (which is binary) can write jsonb columns too.
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, schema: str, *, size: int = 5) -> asyncpg.Pool:
    """A pool whose every connection works in `schema` (search_path as a server setting)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=_init_connection,
        server_settings={"search_path": schema, "application_name": f"grassroots-{schema}"},
        command_timeout=60,
        reset=_keep_session,
    )
    assert pool is not None
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool without asyncpg's reset query (advisory unlocks,
    CLOSE ALL, UNLISTEN, RESET ALL): one round trip per unit of work and per API request saved
    (the reporting API's statements per request halved). asyncpg still rolls back a transaction
    left open. It holds because no service keeps session state on a pooled connection: the
    search_path is a connection setting, migrations and triggers set what they need per
    transaction (SET LOCAL, set_config(…, true)), the notification service LISTENs on a
    connection of its own, and advisory locks are per transaction. Keep it so."""


def _migration_files(directory: Path, prefix: str) -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        if not _MIGRATION_NAME.match(path.name):
            raise ValueError(f"migration file name must look like 0001_what_it_does.sql: {path}")
        sql = path.read_text(encoding="utf-8")
        found.append((f"{prefix}:{path.stem}", sql, hashlib.sha256(sql.encode()).hexdigest()))
    return found


async def migrate(conn: asyncpg.Connection, schema: str, service_migrations: Path) -> list[str]:
    """Apply the shared then the service's numbered SQL files not yet recorded; return them."""
    pending = _migration_files(SHARED_MIGRATIONS, "shared") + _migration_files(
        service_migrations, schema
    )
    applied: list[str] = []
    async with conn.transaction():
        # One migrator at a time per schema, even with several replicas starting together.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                   version text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch(f"SELECT version, checksum FROM {schema}.schema_migrations")
        done = {row["version"]: row["checksum"] for row in rows}
        for version, sql, checksum in pending:
            if version in done:
                if done[version] != checksum:
                    raise RuntimeError(f"migration {version} changed after it was applied")
                continue
            await conn.execute(f"SET LOCAL search_path TO {schema}")
            await conn.execute(sql)
            await conn.execute(
                f"INSERT INTO {schema}.schema_migrations (version, checksum) VALUES ($1, $2)",
                version,
                checksum,
            )
            applied.append(version)
    return applied


async def ping(pool: asyncpg.Pool) -> bool:
    try:
        async with pool.acquire(timeout=2) as conn:
            value: Any = await conn.fetchval("SELECT 1", timeout=2)
            return bool(value == 1)
    except Exception:
        return False
