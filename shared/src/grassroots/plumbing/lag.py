"""Consumer lag per partition, in records and in seconds, measured beside the consumer.

Measured from outside the consuming loop (the topics' end offsets and the group's committed
offsets, as the phase-close barrier reads them) so the gauges keep moving while the consumer is
stuck — a handler retrying through a database outage is exactly when lag matters. Offsets are
committed only after the database transaction, so the lag counts records not yet applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from grassroots.plumbing import metrics
from grassroots.plumbing.kafka import make_consumer
from grassroots.plumbing.offsets import OffsetsProbe

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0
# Reading one record per lagging partition for its timestamp: a small fetch is enough (Kafka
# still returns a larger record batch whole).
_FETCH_BYTES = 64 * 1024
_TIMESTAMP_WAIT_SECONDS = 2.0


class LagMeter:
    """Sets `grassroots_consumer_lag_records` and `_seconds` for one group's partitions."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        group: str,
        topics: Sequence[str],
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._group = group
        self._topics = list(topics)
        self._interval = interval

    async def run_forever(self) -> None:
        probe = OffsetsProbe(self._bootstrap_servers, group_id=self._group)
        reader = make_consumer(
            self._bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=_FETCH_BYTES,
        )
        started = False
        try:
            while True:
                try:
                    if not started:
                        await probe.start()
                        await reader.start()
                        started = True
                    await self.measure(probe, reader)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # the gauges keep their last values; try again
                    log.warning("%s: measuring consumer lag failed: %r", self._group, error)
                await asyncio.sleep(self._interval)
        finally:
            with contextlib.suppress(Exception):
                await probe.stop()
            with contextlib.suppress(Exception):
                await reader.stop()

    async def measure(self, probe: OffsetsProbe, reader: AIOKafkaConsumer) -> None:
        ends = await probe.end_offsets(self._topics)
        committed = {
            key: offset for key, offset in (await probe.committed()).items() if offset >= 0
        }
        partitions = {key: _partition(key) for key in ends}
        uncommitted = [tp for key, tp in partitions.items() if key not in committed]
        # A partition the group never committed on is read from its beginning.
        beginnings = await reader.beginning_offsets(uncommitted) if uncommitted else {}
        behind: dict[TopicPartition, int] = {}
        for key, end in ends.items():
            tp = partitions[key]
            position = committed.get(key, beginnings.get(tp, 0))
            records = max(0, end - position)
            metrics.CONSUMER_LAG_RECORDS.labels(self._group, tp.topic, str(tp.partition)).set(
                records
            )
            if records:
                behind[tp] = position
            else:
                metrics.CONSUMER_LAG_SECONDS.labels(self._group, tp.topic, str(tp.partition)).set(0)
        if not behind:
            return
        now = time.time()
        for tp, timestamp_ms in (await _first_timestamps(reader, behind)).items():
            age = max(0.0, now - timestamp_ms / 1000)
            metrics.CONSUMER_LAG_SECONDS.labels(self._group, tp.topic, str(tp.partition)).set(age)


def measure_lag(
    bootstrap_servers: str, group: str, topics: Sequence[str]
) -> list[asyncio.Task[None]]:
    """The lag meter's task for a consuming service (none for one that consumes nothing)."""
    if not topics:
        return []
    meter = LagMeter(bootstrap_servers, group=group, topics=topics)
    return [asyncio.create_task(meter.run_forever(), name=f"{group}-lag-meter")]


def _partition(key: str) -> TopicPartition:
    topic, _, partition = key.rpartition(":")
    return TopicPartition(topic, int(partition))


async def _first_timestamps(
    reader: AIOKafkaConsumer, positions: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The Kafka timestamp of the record at each position: the oldest one not applied yet."""
    reader.assign(list(positions))
    for tp, offset in positions.items():
        reader.seek(tp, offset)
    found: dict[TopicPartition, int] = {}
    deadline = time.monotonic() + _TIMESTAMP_WAIT_SECONDS
    try:
        while len(found) < len(positions) and time.monotonic() < deadline:
            wanted = [tp for tp in positions if tp not in found]
            batch = await reader.getmany(*wanted, timeout_ms=500)
            for tp, records in batch.items():
                if records and tp not in found:
                    found[tp] = records[0].timestamp
                    reader.pause(tp)
    finally:
        # No prefetching between measurements.
        reader.pause(*reader.assignment())
    return found
