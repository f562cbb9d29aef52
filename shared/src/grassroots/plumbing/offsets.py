"""Where topics end and how far a consumer group has committed: the phase-close barrier.

A service that must apply "every event acknowledged before the close" snapshots the end
offsets of the topics its results depend on, then waits until its own group has committed
past them. Offsets are committed only after the database transaction, so committed means applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiokafka import TopicPartition

from grassroots.plumbing.kafka import make_admin, make_consumer


class OffsetsProbe:
    def __init__(self, bootstrap_servers: str, *, group_id: str) -> None:
        self._group_id = group_id
        self._consumer = make_consumer(bootstrap_servers, enable_auto_commit=False)
        self._admin = make_admin(bootstrap_servers)

    async def start(self) -> None:
        await self._consumer.start()
        await self._admin.start()

    async def stop(self) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def end_offsets(self, topics: Iterable[str]) -> dict[str, int]:
        """{"topic:partition": offset of the next record} for every partition of the topics."""
        cluster = await self._consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        ends = await self._consumer.end_offsets(partitions)
        return {f"{tp.topic}:{tp.partition}": offset for tp, offset in ends.items()}

    async def committed(self) -> dict[str, int]:
        """{"topic:partition": the group's committed offset} for the partitions it committed."""
        committed = await self._admin.list_consumer_group_offsets(self._group_id)
        return {f"{tp.topic}:{tp.partition}": meta.offset for tp, meta in committed.items()}

    async def caught_up(self, snapshot: Mapping[str, int]) -> bool:
        """True when the group has committed at least up to every offset of the snapshot."""
        positions = await self.committed()
        return all(end == 0 or positions.get(key, -1) >= end for key, end in snapshot.items())
