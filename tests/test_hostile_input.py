"""Hostile input through the real broker: 10,000 records a broken or malicious county system
could send. Every one ends in its topic's dead-letter topic, once, with the reason the contract
gives; no service crashes; nothing of them reaches any inbox, read model or report."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from functools import partial
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings

from grassroots.contract import dlq_topic
from grassroots.plumbing.consumer import MAX_REASON_CHARS
from grassroots.plumbing.kafka import auth_options
from tests.harness import CONSUMERS, Platform, TopicWatcher, bootstrap, header
from tests.hostile import HOSTILE_COUNTY, hostile_record, huge_records, refused

RECORDS = 10_000


def value_in(values: set[bytes], record: Any) -> bool:
    return bool(record.value in values)


def generate(marker: str) -> list[tuple[str, bytes]]:
    collected: list[tuple[str, bytes]] = []

    @settings(
        max_examples=RECORDS, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(hostile_record(marker))
    def collect(pair: tuple[str, bytes]) -> None:
        collected.append(pair)

    collect()
    return collected + [("org.branches", raw) for raw in huge_records(3)]


async def test_ten_thousand_hostile_records_are_dead_lettered_and_change_nothing(
    platform: Platform, admin: asyncpg.Connection
) -> None:
    marker = uuid.uuid4().hex[:8]
    records = generate(marker)
    assert len(records) >= RECORDS
    expected = Counter(records)
    topics = sorted({topic for topic, _ in records})
    pids = {
        name: service.process.pid for name, service in platform.services.items() if service.process
    }

    watchers = {topic: TopicWatcher(dlq_topic(topic)) for topic in topics}
    for watcher in watchers.values():
        await watcher.__aenter__()
    try:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap(),
            **auth_options(),
            enable_idempotence=True,
            max_request_size=5 * 1024 * 1024,
            linger_ms=20,
        )
        await producer.start()
        try:
            sent = [await producer.send(topic, value=raw) for topic, raw in records]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()
        dead: Counter[tuple[str, bytes]] = Counter()
        for topic, watcher in watchers.items():
            wanted = {raw for t, raw in expected if t == topic}
            count = sum(n for (t, _), n in expected.items() if t == topic)
            await watcher.wait_for(partial(value_in, wanted), count=count, within=180)
            await watcher.drain()
            for record in watcher.seen:
                if record.value not in wanted:
                    continue
                dead[(topic, record.value)] += 1
                violation = refused(record.value, topic)
                assert violation is not None
                assert header(record, "dlq-reason-code") == violation.code.value
                assert header(record, "dlq-reason") == violation.reason[:MAX_REASON_CHARS]
    finally:
        for watcher in watchers.values():
            await watcher.__aexit__(None, None, None)

    assert dead == expected, "every hostile record is dead-lettered exactly once"
    async with httpx.AsyncClient(timeout=5) as client:
        for name, running in platform.services.items():
            assert running.process and running.process.pid == pids[name], f"{name} restarted"
            assert (await client.get(f"{running.url}/healthz")).status_code == 200
    for schema in CONSUMERS:
        inbox_rows = await admin.fetchval(
            f"SELECT count(*) FROM {schema}.inbox WHERE source LIKE $1", f"/hostile/{marker}%"
        )
        assert inbox_rows == 0, f"a hostile record reached the {schema} inbox"
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM reporting.branches WHERE county_code = $1", HOSTILE_COUNTY
        )
        == 0
    )
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM reporting.campaigns WHERE campaign_id = $1", f"hostile-{marker}"
        )
        == 0
    )
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM grading.inputs WHERE campaign_id = $1", f"hostile-{marker}"
        )
        == 0
    )
