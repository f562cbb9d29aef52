"""The outbox: records written in the handler's transaction, published later by the relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2
from opentelemetry.trace import SpanKind

from grassroots.contract import AnyEvent, kafka_record
from grassroots.plumbing import metrics, tracing
from grassroots.plumbing.kafka import make_consumer

log = logging.getLogger(__name__)
_COPY_FROM = 50  # rows; below this, one executemany is cheaper than a COPY


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)

    @classmethod
    def for_event(cls, event: AnyEvent) -> OutgoingRecord:
        """The event's record (topic, key, value, headers: `grassroots.contract.kafka_record`)."""
        return cls(*kafka_record(event))


async def append(conn: asyncpg.Connection, records: Sequence[OutgoingRecord]) -> None:
    """Write records to the outbox inside the caller's transaction (COPY when there are many)."""
    if not records:
        return
    rows = [
        (r.topic, r.key, r.value, [h[0] for h in r.headers], [h[1] for h in r.headers])
        for r in records
    ]
    if len(rows) >= _COPY_FROM:
        await conn.copy_records_to_table(
            "outbox",
            records=rows,
            columns=["topic", "key", "value", "header_names", "header_values"],
        )
        return
    await conn.executemany(
        "INSERT INTO outbox (topic, key, value, header_names, header_values)"
        " VALUES ($1, $2, $3, $4, $5)",
        rows,
    )


def _headers(row: asyncpg.Record) -> list[tuple[str, bytes]]:
    return list(zip(row["header_names"], row["header_values"], strict=True))


OUTBOX_ID_HEADER = "outbox-id"
OUTBOX_SERVICE_HEADER = "outbox-service"


def partition_for(key: bytes | None, partitions: int, row_id: int) -> int:
    """Kafka's default partition for a key (murmur2), chosen here so the relay knows it."""
    if key is None:
        return row_id % partitions
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class OutboxRelay:
    """Publishes unsent outbox rows in id order with the idempotent producer, then marks them.

    One relay per schema publishes at a time (an advisory lock), so records leave in the
    order they were written and per-key order holds even with several replicas.

    Each record carries its outbox id. After a crash or a failed send — when records may be on
    the topic but not marked sent — the relay first reads the tail of each partition it is about
    to write to and marks what is already there, so nothing is published twice.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        service: str,
        batch_size: int,
        bootstrap_servers: str,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._service = service
        self._batch_size = batch_size
        self._bootstrap_servers = bootstrap_servers
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._uncertain = True  # until proven otherwise, a previous run may have died mid-send
        # The oldest unsent row's age when last measured, and when (monotonic): its age is
        # worked out at each scrape, so it keeps growing while the relay cannot publish.
        self._oldest: tuple[float, float] | None = None
        metrics.OUTBOX_OLDEST_SECONDS.labels(service).set_function(self._oldest_age)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._service}-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                published = await self.publish_pending()
                delay = 0.1
                if published < self._batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                    self._wake.clear()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._uncertain = True
                metrics.TRANSIENT_RETRIES.labels(self._service, "outbox").inc()
                log.warning("outbox relay failed, retrying in %.1fs: %r", delay, error)
                # Rows may have been written since the last measure (the broker is down).
                with contextlib.suppress(Exception):
                    async with self._pool.acquire() as conn:
                        await self._measure(conn)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; return how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext('outbox-relay:' || current_schema()))"
            )
            if not locked:
                return 0
            rows = await conn.fetch(
                "SELECT id, topic, key, value, header_names, header_values FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id LIMIT $1",
                self._batch_size,
            )
            targets = {row["id"]: await self._partition(row) for row in rows}
            if rows:
                if self._uncertain:
                    already = await self._already_published(
                        {r["id"]: (targets[r["id"]], bytes(r["value"])) for r in rows}
                    )
                    rows = [r for r in rows if r["id"] not in already]
                with tracing.span(  # linked to the traces of the events it publishes
                    f"{self._service} outbox publish",
                    kind=SpanKind.PRODUCER,
                    links=(tracing.header_context(_headers(r)) for r in rows),
                    attributes={"messaging.batch.message_count": len(rows)},
                ):
                    futures = [
                        await self._producer.send(
                            row["topic"],
                            value=row["value"],
                            key=row["key"],
                            partition=targets[row["id"]][1],
                            headers=[
                                *zip(row["header_names"], row["header_values"], strict=True),
                                (OUTBOX_ID_HEADER, str(row["id"]).encode()),
                                (OUTBOX_SERVICE_HEADER, self._service.encode()),
                            ],
                        )
                        for row in rows
                    ]
                    await asyncio.gather(*futures)
                await conn.execute(
                    "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                    list(targets),
                )
                for topic, sent in Counter(row["topic"] for row in rows).items():
                    metrics.OUTBOX_PUBLISHED.labels(self._service, topic).inc(sent)
            self._uncertain = False
            await self._measure(conn)  # after the UPDATE: the rows just sent are not counted
            return len(targets)

    async def _measure(self, conn: asyncpg.Connection) -> None:
        row = await conn.fetchrow(
            "SELECT count(*) AS waiting,"
            " extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS age"
            " FROM outbox WHERE sent_at IS NULL"
        )
        metrics.OUTBOX_BACKLOG.labels(self._service).set(row["waiting"])
        self._oldest = None if row["age"] is None else (max(0.0, row["age"]), time.monotonic())

    def _oldest_age(self) -> float:
        if self._oldest is None:
            return 0.0
        age, measured = self._oldest
        return age + time.monotonic() - measured

    async def _partition(self, row: asyncpg.Record) -> tuple[str, int]:
        partitions = await self._producer.partitions_for(row["topic"])
        return row["topic"], partition_for(row["key"], len(partitions), row["id"])

    async def _already_published(
        self, pending: dict[int, tuple[tuple[str, int], bytes]]
    ) -> set[int]:
        """The pending rows (id: (topic, partition), value) already at the tail of their
        partitions: a record of ours with the row's id and the row's very bytes. The id alone
        is not enough: a topic outlives a database restored or created anew, whose ids start
        again below those already on it (a relay that trusted the highest id there marked a
        whole round's results published, and they never were)."""
        consumer = make_consumer(self._bootstrap_servers, enable_auto_commit=False)
        await consumer.start()
        try:
            found: set[int] = set()
            assignment = [TopicPartition(t, p) for t, p in {tp for tp, _ in pending.values()}]
            consumer.assign(assignment)
            ends = await consumer.end_offsets(assignment)
            for tp in assignment:
                if ends[tp] == 0:
                    continue
                # One batch is the most that can be in flight unmarked; read a margin more.
                consumer.seek(tp, max(0, ends[tp] - 2 * self._batch_size))
                while await consumer.position(tp) < ends[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=1000)
                    for record in batch.get(tp, []):
                        headers = dict(record.headers)
                        if headers.get(OUTBOX_SERVICE_HEADER) != self._service.encode():
                            continue
                        row_id = int(headers[OUTBOX_ID_HEADER])
                        if row_id in pending and pending[row_id] == (
                            (tp.topic, tp.partition),
                            record.value,
                        ):
                            found.add(row_id)
            return found
        finally:
            await consumer.stop()
