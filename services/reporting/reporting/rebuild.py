"""Rebuilding the read models by replaying every topic from its beginning.

The replay runs the live handlers through the same batch applier, inside ONE transaction: the
API keeps answering from the old read models until the new ones commit (readers and the live
consumer wait on the table locks meanwhile; the live consumer then skips, by its inbox, what the
replay already applied). Each batch is one unit of work on that connection. API tokens are kept.
Refusals found again are not dead-lettered twice: the replay drops its dead letters.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from rich.progress import Progress

from grassroots.contract import ALL_TOPICS
from grassroots.plumbing.clock import system_clock
from grassroots.plumbing.consumer import BatchApplier
from grassroots.plumbing.garbage import collect_garbage_for_throughput
from grassroots.plumbing.kafka import make_consumer
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.handlers import HANDLERS
from reporting.store.ingest import ReportingStore

READ_MODELS = (
    "campaigns",
    "branches",
    "county_counts",
    "cards",
    "counters",
    "problems",
    "tasks",
    "commendations",
    "activities",
    "published_rounds",
    "plan_revisions",
    "plan_reviews",
    "publicity",
    "learning_meetings",
    "summary_reviews",
    "committee_assessments",
    "duty_reports",
    "appraisals",
    "annual_reviews",
    "standing_rules",
    "reviews_overdue",
    "circulars",
    "circular_items",
    "circular_decisions",
    "inspections",
    "progress_reports",
    "inbox",
)
BATCH = 1000


async def _apply(
    applier: BatchApplier,
    conn: asyncpg.Connection,
    records: Sequence[ConsumerRecord[bytes, bytes]],
) -> None:
    """One batch as a unit of work within the replay's transaction. What it sends to the
    outbox (dead letters only: reporting emits no events) is dropped, not written: the live
    consumer dead-lettered these records already."""
    uow = UnitOfWork(ReportingStore(conn), service="reporting", now=system_clock(), connection=conn)
    await applier.apply(uow, records)
    await uow.flush()


async def rebuild(
    conn: asyncpg.Connection, bootstrap_servers: str, *, show_progress: bool = True
) -> int:
    """Replay every topic up to its current end into fresh read models; return events read."""
    collect_garbage_for_throughput()  # as a service does: the replay is parsing, mostly
    consumer = make_consumer(
        bootstrap_servers, enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024
    )
    await consumer.start()
    applier = BatchApplier(service="reporting", handlers=HANDLERS)
    read = 0
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topic, p)
            for topic in ALL_TOPICS
            for p in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions)
        total = sum(ends.values())
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        async with conn.transaction():
            await conn.execute(f"TRUNCATE {', '.join(READ_MODELS)}")
            with Progress(disable=not show_progress) as progress:
                bar = progress.add_task("replaying", total=total)
                for tp in partitions:  # topic by topic; order within a partition is kept
                    while await consumer.position(tp) < ends[tp]:
                        batch = (
                            await consumer.getmany(tp, timeout_ms=2000, max_records=BATCH)
                        ).get(tp, [])
                        batch = [r for r in batch if r.offset < ends[tp]]
                        await _apply(applier, conn, batch)
                        read += len(batch)
                        progress.advance(bar, len(batch))
    finally:
        await consumer.stop()
    return read
