"""Publishing pre-serialised records fast, and watching consumer groups catch up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from grassroots.contract import CONTENT_TYPE, EVENTS
from grassroots.plumbing.kafka import (
    auth_options,
    ensure_topics,
    make_admin,
    make_consumer,
    platform_topics,
)

HEADERS = [("content-type", CONTENT_TYPE.encode())]


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes


def serialise(events: Iterable[dict[str, Any]]) -> list[Record]:
    return [
        Record(
            EVENTS[e["type"]].topic,
            e["subject"].encode(),
            json.dumps(e, ensure_ascii=False).encode(),
        )
        for e in events
    ]


def producer(bootstrap: str) -> AIOKafkaProducer:
    """The idempotent producer a county system would use (acks=all), batching allowed."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **auth_options(),
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=5 * 1024 * 1024,
    )


async def publish(bootstrap: str, records: Sequence[Record]) -> float:
    """Publish everything as fast as the broker takes it; return the seconds it took."""
    started = time.perf_counter()
    out = producer(bootstrap)
    await out.start()
    try:
        pending = []
        for record in records:
            pending.append(
                await out.send(record.topic, value=record.value, key=record.key, headers=HEADERS)
            )
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await out.stop()
    return time.perf_counter() - started


async def create_topics(bootstrap: str, extra: Iterable[str] = ()) -> None:
    """Every topic of the platform (and `extra`), then wait until each partition has a leader,
    so that the first records do not meet NotLeaderForPartition on a fresh broker."""
    topics = [*platform_topics(), *extra]
    await ensure_topics(bootstrap, topics, partitions=4)
    consumer = make_consumer(bootstrap)
    await consumer.start()
    try:
        for _ in range(100):
            cluster = await consumer._client.fetch_all_metadata()
            if all(
                (cluster.partitions_for_topic(topic) or set())
                and all(
                    cluster.leader_for_partition(TopicPartition(topic, p)) not in (None, -1)
                    for p in cluster.partitions_for_topic(topic) or ()
                )
                for topic in topics
            ):
                return
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()


class Watcher:
    """End offsets of topics and a group's committed offsets on them."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = make_consumer(bootstrap, enable_auto_commit=False)
        self.admin = make_admin(bootstrap)

    async def __aenter__(self) -> Watcher:
        await self.consumer.start()
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        cluster = await self.consumer._client.fetch_all_metadata()
        return [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(cluster.partitions_for_topic(topic) or ())
        ]

    async def ends(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        found: dict[TopicPartition, int] = await self.consumer.end_offsets(
            await self.partitions(topics)
        )
        return found

    async def committed(self, group: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
        wanted = set(topics)
        try:
            offsets = await self.admin.list_consumer_group_offsets(group)
        except KafkaError:  # no coordinator yet (a fresh broker): nothing committed
            return {}
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic in wanted}

    async def remaining(self, group: str, ends: dict[TopicPartition, int]) -> int:
        """Records up to `ends` that the group has not committed yet."""
        done = await self.committed(group, {tp.topic for tp in ends})
        return sum(max(0, end - max(0, done.get(tp, 0))) for tp, end in ends.items())

    async def wait_caught_up(
        self,
        group: str,
        ends: dict[TopicPartition, int],
        *,
        within: float,
        poll: float = 0.1,
    ) -> float | None:
        """Seconds until the group committed up to `ends`; None if not `within` seconds."""
        started = time.perf_counter()
        while time.perf_counter() - started < within:
            if await self.remaining(group, ends) == 0:
                return time.perf_counter() - started
            await asyncio.sleep(poll)
        return None
