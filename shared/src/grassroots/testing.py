"""For tests that apply events as a service's consumer does, straight from memory: the same
events cut into batches of any size, into a scratch schema of the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiokafka import ConsumerRecord

from grassroots.contract import EVENTS
from grassroots.plumbing import database
from grassroots.plumbing.consumer import BatchApplier
from grassroots.plumbing.service import ServiceDefinition
from grassroots.plumbing.unit_of_work import open_unit_of_work

S = TypeVar("S")


def as_records(
    events: Iterable[dict[str, Any]], *, partitions: int = 3
) -> list[ConsumerRecord[bytes, bytes]]:
    """Each event on its topic, in the partition of its subject, in order."""
    offsets: dict[tuple[str, int], int] = {}
    found = []
    for event in events:
        topic = EVENTS[event["type"]].topic
        partition = zlib.crc32(event["subject"].encode()) % partitions
        offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
        value = json.dumps(event).encode()
        found.append(
            ConsumerRecord(topic, partition, offset, 0, 0, None, value, None, 0, len(value), [])
        )
    return found


async def apply_in_batches(
    pool: asyncpg.Pool,
    definition: ServiceDefinition[S],
    records: Sequence[ConsumerRecord[bytes, bytes]],
    size: int,
    *,
    now: dt.datetime,
) -> None:
    """Apply records as the service's consumer does, `size` at a time, each batch in its own
    unit of work (size 1: every event on its own)."""
    applier = BatchApplier(service=definition.name, handlers=definition.handlers)
    for start in range(0, len(records), size):
        async with open_unit_of_work(
            pool, definition.store, service=definition.name, now=now
        ) as uow:
            await applier.apply(uow, records[start : start + size])


async def rows_of(pool: asyncpg.Pool, tables: Iterable[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table, sorted: what two ways of applying must agree on."""
    async with pool.acquire() as conn:
        return {
            table: sorted(
                (tuple(row) for row in await conn.fetch(f"SELECT * FROM {table}")), key=repr
            )
            for table in tables
        }


@asynccontextmanager
async def scratch_schemas(
    prefix: str, migrations: Path, count: int
) -> AsyncIterator[list[asyncpg.Pool]]:
    """`count` fresh schemas with a service's migrations (as GRASSROOTS_ADMIN_DSN), dropped
    afterwards."""
    admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
    names = [f"{prefix}_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    pools: list[asyncpg.Pool] = []
    try:
        for name in names:
            await admin.execute(f"CREATE SCHEMA {name}")
            await database.migrate(admin, name, migrations)
            pools.append(await database.create_pool(os.environ["GRASSROOTS_ADMIN_DSN"], name))
        yield pools
    finally:
        for pool in pools:
            await pool.close()
        for name in names:
            await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()
