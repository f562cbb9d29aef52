"""Consumed batches applied one transaction after another, each read (parsed and validated)
while the transaction of the batch before it still runs.

A service's process waited about a third of its time for PostgreSQL while applying a backlog
(bench, ingest profiles): reading the next batch is CPU work that needs no database, so it is
done in that wait. The order of the transactions does not change — a batch's transaction starts
only after the previous one committed — and a batch's offsets are committed only after its
own transaction did ("committed means applied", which the phase-close barrier relies on).

When a transaction fails for good (not a passing outage, which `Runtime.apply_parsed` waits
out), the consumer is sent back to the first record of that batch and of the one read after it,
so nothing read is skipped: both are read and applied again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError, KafkaError

from grassroots.plumbing.consumer import ParsedBatch

log = logging.getLogger(__name__)

Records = Sequence[ConsumerRecord[bytes, bytes]]


def next_offsets(records: Records) -> dict[TopicPartition, int]:
    """What to commit once the records are applied: past the last one of each partition."""
    found: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        found[tp] = max(found.get(tp, 0), record.offset + 1)
    return found


def rewind(consumer: AIOKafkaConsumer, records: Records) -> None:
    """Read these records again: each partition back to its first one among them."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(first.get(tp, record.offset), record.offset)
    assigned = consumer.assignment()
    for tp, offset in first.items():
        if tp in assigned:  # a partition taken away meanwhile is read again by its new owner
            consumer.seek(tp, offset)


async def read_first(consumer: AIOKafkaConsumer, topic: str) -> None:
    """While a partition of `topic` has records this consumer has not read yet, the others wait
    (paused): a service catching up on a backlog of several topics — after an outage, or when a
    county's whole year arrives at once — reads them in no particular order, and an input
    naming an organisation whose registration comes in a later batch would be refused. In
    step with the live flow nothing waits: the registrations are read as they come."""
    assigned = consumer.assignment()
    behind = False
    try:
        for tp in assigned:
            if tp.topic != topic:
                continue
            highwater = consumer.highwater(tp)  # as of the last fetch; None before one
            if highwater is not None and await consumer.position(tp) < highwater:
                behind = True
                break
    except IllegalStateError:  # a rebalance took the partition meanwhile
        return
    if behind:
        consumer.pause(*(tp for tp in assigned if tp.topic != topic))
    elif consumer.paused():
        consumer.resume(*consumer.paused())


class BatchPipeline:
    """One batch in its transaction while the next is read. `submit` is the consumer loop's
    handler; `drain` waits for the batch in flight (on a rebalance and before stopping)."""

    def __init__(
        self,
        parse: Callable[[Records], ParsedBatch],
        apply: Callable[[ParsedBatch], Awaitable[object]],
        *,
        read_first: str | None = None,
    ) -> None:
        self._parse = parse
        self._apply = apply
        self._read_first = read_first
        self._in_flight: tuple[asyncio.Task[None], Records] | None = None
        self._rebalances = 0

    async def submit(self, records: Records, consumer: AIOKafkaConsumer) -> None:
        rebalances = self._rebalances
        batch = self._parse(records)  # while the previous batch's transaction runs
        previous = self._in_flight
        try:
            await self.drain()
        except Exception:
            assert previous is not None
            rewind(consumer, [*previous[1], *records])
            raise
        if rebalances != self._rebalances:
            # Partitions were assigned anew meanwhile, and the consumer reads each one again
            # from its committed offset: these records come again (to this replica or another).
            return
        task = asyncio.create_task(self._apply_and_commit(batch, records, consumer))
        self._in_flight = (task, records)
        if self._read_first is not None:
            await read_first(consumer, self._read_first)

    async def drain(self) -> None:
        """Wait for the batch in its transaction and its offsets' commit; raise what made the
        transaction fail (its records are then read again). A waiter cancelled (the consumer
        stopping) leaves the transaction to finish."""
        in_flight = self._in_flight
        if in_flight is None:
            return
        try:
            await asyncio.shield(in_flight[0])
        finally:
            if self._in_flight is in_flight and in_flight[0].done():
                self._in_flight = None

    def rebalancing(self) -> None:
        """Partitions are being taken away: the batch being read is not to be applied."""
        self._rebalances += 1

    async def _apply_and_commit(
        self, batch: ParsedBatch, records: Records, consumer: AIOKafkaConsumer
    ) -> None:
        try:
            await self._apply(batch)
        except Exception:
            rewind(consumer, records)  # read again even if no other batch comes to notice
            raise
        try:
            await consumer.commit(next_offsets(records))
        except KafkaError as error:
            # Applied already: whoever reads these records again (this consumer after a
            # rejoin, or a partition's new owner) finds them in the inbox and skips them.
            log.warning("offsets of an applied batch not committed: %r", error)


class DrainOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions go to another replica, the batch in flight is finished and its offsets
    committed, so the new owner starts after it instead of applying it a second time."""

    def __init__(self, pipeline: BatchPipeline) -> None:
        self.pipeline = pipeline

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.pipeline.rebalancing()
        try:
            await self.pipeline.drain()
        except Exception:
            log.exception("the batch in flight failed while partitions were revoked")

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass
