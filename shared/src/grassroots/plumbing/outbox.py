"""The outbox: records written in the handler's transaction, published later by the relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaProducer

from grassroots.contract import CONTENT_TYPE, EVENTS, CloudEvent
from grassroots.plumbing import metrics

log = logging.getLogger(__name__)
_COPY_FROM = 50  # rows; below this, one executemany is cheaper than a COPY


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)

    @classmethod
    def for_event(cls, event: CloudEvent) -> OutgoingRecord:
        return cls(
            topic=EVENTS[event.type].topic,
            key=event.subject.encode(),
            value=event.to_json_bytes(),
            headers=(("content-type", CONTENT_TYPE.encode()),),
        )


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


class OutboxRelay:
    """Publishes unsent outbox rows in id order with the idempotent producer, then marks them.

    One relay per schema publishes at a time (an advisory lock), so records leave in the
    order they were written and per-key order holds even with several replicas.
    """

    def __init__(
        self, pool: asyncpg.Pool, producer: AIOKafkaProducer, *, service: str, batch_size: int
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._service = service
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

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
                metrics.TRANSIENT_RETRIES.labels(self._service, "outbox").inc()
                log.warning("outbox relay failed, retrying in %.1fs: %r", delay, error)
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
            if rows:
                futures = [
                    await self._producer.send(
                        row["topic"],
                        value=row["value"],
                        key=row["key"],
                        headers=list(zip(row["header_names"], row["header_values"], strict=True)),
                    )
                    for row in rows
                ]
                await asyncio.gather(*futures)
                await conn.execute(
                    "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                    [row["id"] for row in rows],
                )
                for row in rows:
                    metrics.OUTBOX_PUBLISHED.labels(self._service, row["topic"]).inc()
            backlog = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            metrics.OUTBOX_BACKLOG.labels(self._service).set(backlog - len(rows))
            return len(rows)
