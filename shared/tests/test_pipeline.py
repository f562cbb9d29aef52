"""The consumer's pipeline: a batch is read while the previous one is in its transaction, the
transactions keep their order, offsets are committed only after a batch's own transaction, and
a batch whose work failed is read again with the one read after it."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from grassroots.contract import ContractViolation, RejectionCode
from grassroots.plumbing.consumer import ParsedBatch
from grassroots.plumbing.pipeline import BatchPipeline, DrainOnRevoke, next_offsets, read_first


def record(topic: str, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"{}", None, 1, 2, [])


VIOLATION = ContractViolation(RejectionCode.INVALID_JSON, "not read in these tests")


class Consumer:
    """What the pipeline uses of aiokafka's consumer: commit, seek, assignment."""

    def __init__(self, *partitions: TopicPartition, commit_fails: bool = False) -> None:
        self.assigned = set(partitions)
        self.committed: list[dict[TopicPartition, int]] = []
        self.seeks: dict[TopicPartition, int] = {}
        self.commit_fails = commit_fails
        self.log: list[str] = []

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_fails:
            raise CommitFailedError("rebalanced")
        self.committed.append(offsets)
        self.log.append(f"commit {sorted(offsets.values())}")


A0, A1 = TopicPartition("a", 0), TopicPartition("a", 1)


async def submit(
    pipeline: BatchPipeline, consumer: Consumer, records: list[ConsumerRecord[bytes, bytes]]
) -> None:
    await pipeline.submit(records, cast(AIOKafkaConsumer, consumer))


class Applier:
    """Records what happens and when: reads, transactions begun and ended."""

    def __init__(self, consumer: Consumer, *, fail_on: int | None = None) -> None:
        self.consumer = consumer
        self.fail_on = fail_on
        self.release: asyncio.Event = asyncio.Event()

    def parse(self, records: Any) -> ParsedBatch:
        self.consumer.log.append(f"read {records[0].offset}")
        # every record as refused: the fake applier only needs to see them
        return ParsedBatch(len(records), [], [(r, VIOLATION) for r in records], Counter())

    async def apply(self, batch: ParsedBatch) -> None:
        first = batch.refused[0][0].offset
        self.consumer.log.append(f"begin {first}")
        await self.release.wait()
        if first == self.fail_on:
            self.consumer.log.append(f"failed {first}")
            raise RuntimeError("the plumbing failed")
        self.consumer.log.append(f"end {first}")


async def test_the_next_batch_is_read_while_the_previous_one_is_in_its_transaction() -> None:
    consumer = Consumer(A0)
    applier = Applier(consumer)
    pipeline = BatchPipeline(applier.parse, applier.apply)
    await submit(pipeline, consumer, [record("a", 0, 0), record("a", 0, 1)])
    await asyncio.sleep(0)
    second = asyncio.create_task(submit(pipeline, consumer, [record("a", 0, 2)]))
    await asyncio.sleep(0.01)
    # read while the first is in its transaction; nothing committed before it ends
    assert consumer.log == ["read 0", "begin 0", "read 2"]
    assert consumer.committed == []
    applier.release.set()
    await second
    await pipeline.drain()
    assert consumer.log == [
        "read 0", "begin 0", "read 2", "end 0", "commit [2]", "begin 2", "end 2", "commit [3]"
    ]  # fmt: skip


async def test_a_failed_batch_is_read_again_with_the_one_read_after_it() -> None:
    consumer = Consumer(A0, A1)
    applier = Applier(consumer, fail_on=5)
    applier.release.set()
    pipeline = BatchPipeline(applier.parse, applier.apply)
    await submit(pipeline, consumer, [record("a", 0, 5), record("a", 0, 6)])
    with pytest.raises(RuntimeError):
        await submit(pipeline, consumer, [record("a", 0, 7), record("a", 1, 3)])
    # nothing committed; both partitions back to the first record not applied
    assert consumer.committed == []
    assert consumer.seeks == {A0: 5, A1: 3}
    assert "begin 7" not in consumer.log


async def test_a_partition_taken_away_is_not_sought() -> None:
    consumer = Consumer(A0)
    applier = Applier(consumer, fail_on=1)
    applier.release.set()
    pipeline = BatchPipeline(applier.parse, applier.apply)
    await submit(pipeline, consumer, [record("a", 0, 1), record("a", 1, 9)])
    with pytest.raises(RuntimeError):
        await pipeline.drain()
    assert consumer.seeks == {A0: 1}


async def test_revoking_partitions_finishes_the_batch_in_flight_and_commits_it() -> None:
    consumer = Consumer(A0)
    applier = Applier(consumer)
    pipeline = BatchPipeline(applier.parse, applier.apply)
    await submit(pipeline, consumer, [record("a", 0, 0)])
    revoked = asyncio.create_task(DrainOnRevoke(pipeline).on_partitions_revoked({A0}))
    await asyncio.sleep(0.01)
    assert not revoked.done()  # waits for the transaction
    applier.release.set()
    await revoked
    assert consumer.committed == [{A0: 1}]


async def test_a_commit_refused_after_the_transaction_is_not_a_failure() -> None:
    """The batch is applied; whoever reads it again finds it in the inbox."""
    consumer = Consumer(A0, commit_fails=True)
    applier = Applier(consumer)
    applier.release.set()
    pipeline = BatchPipeline(applier.parse, applier.apply)
    await submit(pipeline, consumer, [record("a", 0, 0)])
    await pipeline.drain()
    assert consumer.seeks == {}


def test_offsets_to_commit_are_past_the_last_record_of_each_partition() -> None:
    records = [record("a", 0, 4), record("a", 1, 8), record("a", 0, 5)]
    assert next_offsets(records) == {A0: 6, A1: 9}


async def test_a_batch_read_before_a_rebalance_is_left_to_be_read_again() -> None:
    """After a rebalance the consumer reads every partition again from its committed offset:
    applying what was read before would apply it twice (here or at the new owner)."""
    consumer = Consumer(A0)
    applier = Applier(consumer)
    pipeline = BatchPipeline(applier.parse, applier.apply)
    await submit(pipeline, consumer, [record("a", 0, 0)])
    second = asyncio.create_task(submit(pipeline, consumer, [record("a", 0, 1)]))
    await asyncio.sleep(0.01)
    revoked = asyncio.create_task(DrainOnRevoke(pipeline).on_partitions_revoked({A0}))
    await asyncio.sleep(0.01)
    applier.release.set()
    await asyncio.gather(second, revoked)
    await pipeline.drain()
    assert consumer.committed == [{A0: 1}]
    assert "begin 1" not in consumer.log


class Positions(Consumer):
    """A consumer that knows how far each partition is read and where it ends."""

    def __init__(self, read: dict[TopicPartition, int], ends: dict[TopicPartition, int]) -> None:
        super().__init__(*read)
        self.read, self.ends = read, ends
        self.paused_now: set[TopicPartition] = set()

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends.get(tp)

    async def position(self, tp: TopicPartition) -> int:
        return self.read[tp]

    def pause(self, *tps: TopicPartition) -> None:
        self.paused_now |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused_now -= set(tps)

    def paused(self) -> set[TopicPartition]:
        return set(self.paused_now)


REG0, REG1 = TopicPartition("org.branches", 0), TopicPartition("org.branches", 1)
INPUTS = TopicPartition("supervision.inputs", 0)


async def test_registrations_are_read_before_the_rest_while_the_consumer_is_behind_on_them() -> (
    None
):
    consumer = Positions({REG0: 10, REG1: 3, INPUTS: 0}, {REG0: 10, REG1: 8, INPUTS: 500})
    await read_first(cast(AIOKafkaConsumer, consumer), "org.branches")
    assert consumer.paused_now == {INPUTS}  # registrations 3..7 of partition 1 come first
    consumer.read[REG1] = 8
    await read_first(cast(AIOKafkaConsumer, consumer), "org.branches")
    assert consumer.paused_now == set()  # caught up on them: everything is read again


async def test_nothing_waits_before_the_first_fetch_tells_where_registrations_end() -> None:
    consumer = Positions({REG0: 0, INPUTS: 0}, {INPUTS: 500})
    await read_first(cast(AIOKafkaConsumer, consumer), "org.branches")
    assert consumer.paused_now == set()
