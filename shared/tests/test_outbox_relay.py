"""The outbox relay against the real broker and database: after a crash between sending and
marking, what is already on the topic is marked, not published a second time."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from grassroots.plumbing import database
from grassroots.plumbing.kafka import auth_options, ensure_topics, make_consumer, make_producer
from grassroots.plumbing.outbox import (
    OUTBOX_ID_HEADER,
    OUTBOX_SERVICE_HEADER,
    OutboxRelay,
    OutgoingRecord,
    append,
    partition_for,
)

SERVICE = "relay-test"


@pytest.fixture
async def scratch(tmp_path: Path) -> AsyncIterator[tuple[asyncpg.Pool, str, str]]:
    """A schema with the shared inbox/outbox tables and a topic, both used by this test only."""
    schema = f"relay_test_{uuid.uuid4().hex[:8]}"
    topic = f"test.relay.{schema}"
    admin_dsn = os.environ["GRASSROOTS_ADMIN_DSN"]
    bootstrap = os.environ["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"]
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    await database.migrate(admin, schema, tmp_path)
    await ensure_topics(bootstrap, [topic], partitions=3)
    pool = await database.create_pool(admin_dsn, schema, size=2)
    try:
        yield pool, topic, bootstrap
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def read_all(bootstrap: str, topic: str) -> list[tuple[bytes, int]]:
    consumer = make_consumer(bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        assignment = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(assignment)
        ends = await consumer.end_offsets(assignment)
        found = []
        for tp in assignment:
            while await consumer.position(tp) < ends[tp]:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    found.append((record.value, int(dict(record.headers)[OUTBOX_ID_HEADER])))
        return found  # partition by partition, in offset order
    finally:
        await consumer.stop()


def outbox_headers(row_id: int) -> list[tuple[str, bytes]]:
    """The headers a relay of SERVICE puts on the record of outbox row `row_id`."""
    return [(OUTBOX_ID_HEADER, str(row_id).encode()), (OUTBOX_SERVICE_HEADER, SERVICE.encode())]


async def relay_passes(pool: asyncpg.Pool, bootstrap: str, passes: int) -> list[int]:
    """What a relay starting afresh publishes in each of its first passes."""
    producer = make_producer(bootstrap, client_id="relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(
            pool, producer, service=SERVICE, batch_size=100, bootstrap_servers=bootstrap
        )
        return [await relay.publish_pending() for _ in range(passes)]
    finally:
        await producer.stop()


async def test_rows_sent_before_a_crash_are_marked_not_published_twice(
    scratch: tuple[asyncpg.Pool, str, str],
) -> None:
    pool, topic, bootstrap = scratch
    records = [OutgoingRecord(topic, f"b{i}".encode(), f"event {i}".encode()) for i in range(6)]
    async with pool.acquire() as conn:
        await append(conn, records)
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM outbox ORDER BY id")]

    # The previous relay sent the first four, then died before marking them sent.
    crashed = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth_options())
    await crashed.start()
    for row_id, record in zip(ids[:4], records, strict=False):
        await crashed.send_and_wait(
            topic,
            record.value,
            key=record.key,
            partition=partition_for(record.key, 3, row_id),
            headers=outbox_headers(row_id),
        )
    await crashed.stop()

    assert await relay_passes(pool, bootstrap, 2) == [6, 0]

    on_topic = sorted(await read_all(bootstrap, topic), key=lambda item: item[1])
    assert on_topic == [(f"event {i}".encode(), row_id) for i, row_id in enumerate(ids)]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_a_database_made_anew_under_an_old_topic_still_publishes_its_rows(
    scratch: tuple[asyncpg.Pool, str, str],
) -> None:
    """A topic outlives its database (restored, or created again): records of an earlier
    outbox, with ids above today's, sit at its tail. A relay starting without knowing what it
    sent last must not take them for its own rows: every row is published, once."""
    pool, topic, bootstrap = scratch
    records = [OutgoingRecord(topic, f"b{i}".encode(), f"event {i}".encode()) for i in range(6)]
    async with pool.acquire() as conn:
        await append(conn, records)
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM outbox ORDER BY id")]
    earlier = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth_options())
    await earlier.start()
    for partition in range(3):  # the earlier database's rows, sent long ago
        await earlier.send_and_wait(
            topic,
            b"an earlier campaign's event",
            key=b"old",
            partition=partition,
            headers=outbox_headers(ids[-1] + 1000),
        )
    await earlier.stop()

    assert await relay_passes(pool, bootstrap, 2) == [6, 0]
    ours = sorted(
        (found for found in await read_all(bootstrap, topic) if found[1] in ids),
        key=lambda item: item[1],
    )
    assert ours == [(f"event {i}".encode(), row_id) for i, row_id in enumerate(ids)]


async def test_records_keep_per_key_order_across_batches(
    scratch: tuple[asyncpg.Pool, str, str],
) -> None:
    pool, topic, bootstrap = scratch
    records = [OutgoingRecord(topic, b"same-branch", f"step {i}".encode()) for i in range(25)]
    async with pool.acquire() as conn:
        await append(conn, records)
    producer = make_producer(bootstrap, client_id="relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(
            pool, producer, service=SERVICE, batch_size=10, bootstrap_servers=bootstrap
        )
        while await relay.publish_pending():
            pass
    finally:
        await producer.stop()
    assert [value for value, _ in await read_all(bootstrap, topic)] == [
        f"step {i}".encode() for i in range(25)
    ]
