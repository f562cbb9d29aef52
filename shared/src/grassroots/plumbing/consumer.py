"""Applying a consumed batch exactly once in effect: parse, dead-letter, inbox, handle, outbox.

One database transaction per batch; the caller commits Kafka offsets only after it returns.
The fresh events are applied together first (batch handlers where a service has them, no
savepoint per event); if anything refuses or fails, that attempt is rolled back and the batch
is applied one event at a time, each in a savepoint, so only the bad event is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import ConsumerRecord

from grassroots.contract import CloudEvent, ContractViolation, RejectionCode, dlq_topic, parse_event
from grassroots.plumbing import metrics, outbox
from grassroots.plumbing.handling import BatchHandler, Clock, Handler, HandlerContext, Rejected
from grassroots.plumbing.kafka import dead_letter_owner
from grassroots.plumbing.outbox import OutgoingRecord

log = logging.getLogger(__name__)


MAX_REASON_CHARS = 1000


@dataclass(frozen=True)
class Parsed:
    record: ConsumerRecord[bytes, bytes]
    event: CloudEvent
    content_hash: bytes


def dead_letter(
    record: ConsumerRecord[bytes, bytes],
    code: RejectionCode,
    reason: str,
    *,
    service: str,
    now: dt.datetime,
) -> OutgoingRecord:
    """The original record, bytes unchanged, to `<topic>.dlq` with why in its headers."""
    metrics.DLQ_RECORDS.labels(service, record.topic, code.value).inc()
    headers = [
        *record.headers,
        ("dlq-reason", reason[:MAX_REASON_CHARS].encode("utf-8", "replace")),
        ("dlq-reason-code", code.value.encode()),
        ("dlq-service", service.encode()),
        ("dlq-topic", record.topic.encode()),
        ("dlq-partition", str(record.partition).encode()),
        ("dlq-offset", str(record.offset).encode()),
        ("dlq-at", now.isoformat().encode()),
    ]
    return OutgoingRecord(dlq_topic(record.topic), record.key, record.value or b"", headers)


TRANSIENT = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)


def runs(items: Sequence[Parsed], group: Callable[[Parsed], Hashable]) -> list[list[Parsed]]:
    """Cut a batch into runs of one group each, keeping every partition's order.

    Records of different partitions have no order between them, so a run takes the leading
    records of its group from every partition: runs stay long when partitions interleave."""
    queues: dict[tuple[str, int], deque[Parsed]] = {}
    for item in items:
        queues.setdefault((item.record.topic, item.record.partition), deque()).append(item)
    result: list[list[Parsed]] = []
    while queues:
        wanted = group(next(iter(queues.values()))[0])
        run: list[Parsed] = []
        for key, queue in list(queues.items()):
            while queue and group(queue[0]) == wanted:
                run.append(queue.popleft())
            if not queue:
                del queues[key]
        result.append(run)
    return result


class BatchApplier:
    """Applies batches of records for one service with its handlers."""

    def __init__(
        self,
        *,
        service: str,
        handlers: Mapping[str, Handler],
        clock: Clock,
        batch_handlers: Mapping[str, BatchHandler] | None = None,
    ) -> None:
        self.service = service
        self.handlers = handlers
        self.batch_handlers = batch_handlers or {}
        self.clock = clock

    def _parse(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], now: dt.datetime
    ) -> tuple[list[Parsed], list[OutgoingRecord]]:
        parsed: list[Parsed] = []
        dead: list[OutgoingRecord] = []
        for record in records:
            try:
                event = parse_event(record.value or b"", topic=record.topic)
            except ContractViolation as violation:
                if dead_letter_owner(record.topic) != self.service:
                    metrics.EVENTS_CONSUMED.labels(self.service, "unknown", "invalid_skipped").inc()
                    continue
                metrics.EVENTS_CONSUMED.labels(self.service, "unknown", "dead_lettered").inc()
                dead.append(
                    dead_letter(
                        record, violation.code, violation.reason, service=self.service, now=now
                    )
                )
                continue
            digest = hashlib.sha256(event.model_dump_json().encode()).digest()
            parsed.append(Parsed(record, event, digest))
        return parsed, dead

    async def apply(
        self, conn: asyncpg.Connection, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> list[OutgoingRecord]:
        """Apply records in one transaction; return what was written to the outbox."""
        now = self.clock()
        parsed, out = self._parse(records, now)
        async with conn.transaction():
            fresh = await self._record_in_inbox(conn, parsed, out, now)
            try:
                async with conn.transaction():  # a savepoint: undone if the fast way fails
                    emitted = await self._apply_together(conn, fresh, now)
            except TRANSIENT:
                raise  # the whole batch is retried
            except Exception as error:
                log.info("batch of %d applied one by one: %r", len(fresh), error)
                metrics.BATCHES_ONE_BY_ONE.labels(self.service).inc()
                emitted = []
                for item in fresh:
                    emitted.extend(await self._handle(conn, item, now))
            else:
                for item in fresh:
                    metrics.EVENTS_CONSUMED.labels(self.service, item.event.type, "applied").inc()
            out.extend(emitted)
            await outbox.append(conn, out)
        return out

    def _group(self, item: Parsed) -> Hashable:
        """Events of one batch handler form a run; the others a run of per-event handling."""
        return self.batch_handlers.get(item.event.type)

    async def _apply_together(
        self, conn: asyncpg.Connection, fresh: list[Parsed], now: dt.datetime
    ) -> list[OutgoingRecord]:
        ctx = HandlerContext(conn=conn, service=self.service, now=now)
        for run in runs(fresh, self._group):
            batch_handler = self.batch_handlers.get(run[0].event.type)
            if batch_handler is not None:
                await batch_handler(ctx, [item.event for item in run])
                continue
            for item in run:
                handler = self.handlers.get(item.event.type)
                if handler is not None:
                    await handler(ctx, item.event)
        await ctx.flush()
        return ctx.emitted

    async def _record_in_inbox(
        self,
        conn: asyncpg.Connection,
        parsed: list[Parsed],
        out: list[OutgoingRecord],
        now: dt.datetime,
    ) -> list[Parsed]:
        if not parsed:
            return []
        inserted = await conn.fetch(
            """INSERT INTO inbox (source, event_id, type, subject, content_hash, topic,
                                  kafka_partition, kafka_offset)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],
                                    $6::text[], $7::int[], $8::bigint[])
               ON CONFLICT DO NOTHING
               RETURNING source, event_id""",
            [p.event.source for p in parsed],
            [p.event.id for p in parsed],
            [p.event.type for p in parsed],
            [p.event.subject for p in parsed],
            [p.content_hash for p in parsed],
            [p.record.topic for p in parsed],
            [p.record.partition for p in parsed],
            [p.record.offset for p in parsed],
        )
        new_keys = {(row["source"], row["event_id"]) for row in inserted}
        fresh: list[Parsed] = []
        seen: set[tuple[str, str]] = set()
        repeated: list[Parsed] = []
        for item in parsed:
            key = (item.event.source, item.event.id)
            if key in new_keys and key not in seen:
                fresh.append(item)
            else:
                repeated.append(item)
            seen.add(key)
        if repeated:
            known = {
                (row["source"], row["event_id"]): bytes(row["content_hash"])
                for row in await conn.fetch(
                    "SELECT source, event_id, content_hash FROM inbox"
                    " WHERE (source, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
                    [p.event.source for p in repeated],
                    [p.event.id for p in repeated],
                )
            }
            for item in repeated:
                if known.get((item.event.source, item.event.id)) == item.content_hash:
                    metrics.EVENTS_CONSUMED.labels(self.service, item.event.type, "duplicate").inc()
                    continue
                if dead_letter_owner(item.record.topic) != self.service:
                    metrics.EVENTS_CONSUMED.labels(
                        self.service, item.event.type, "invalid_skipped"
                    ).inc()
                    continue
                metrics.EVENTS_CONSUMED.labels(self.service, item.event.type, "dead_lettered").inc()
                out.append(
                    dead_letter(
                        item.record,
                        RejectionCode.CONFLICTING_DUPLICATE,
                        f"({item.event.source}, {item.event.id}) was already received with"
                        " different content; send corrections with a new id",
                        service=self.service,
                        now=now,
                    )
                )
        return fresh

    async def _handle(
        self, conn: asyncpg.Connection, item: Parsed, now: dt.datetime
    ) -> list[OutgoingRecord]:
        handler = self.handlers.get(item.event.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self.service, item.event.type, "applied").inc()
            return []
        ctx = HandlerContext(conn=conn, service=self.service, now=now)
        try:
            async with conn.transaction():  # a savepoint: a refusal undoes only this event
                await handler(ctx, item.event)
                await ctx.flush()
        except Rejected as refusal:
            return await self._refuse(
                conn, item, RejectionCode.REJECTED_BY_RULE, refusal.reason, now
            )
        except TRANSIENT:
            raise  # the whole batch is retried
        except Exception as error:
            log.exception("handler for %s failed on %s", item.event.type, item.event.id)
            return await self._refuse(
                conn,
                item,
                RejectionCode.HANDLER_ERROR,
                f"{type(error).__name__}: {error}"[:1000],
                now,
            )
        metrics.EVENTS_CONSUMED.labels(self.service, item.event.type, "applied").inc()
        return ctx.emitted

    async def _refuse(
        self,
        conn: asyncpg.Connection,
        item: Parsed,
        code: RejectionCode,
        reason: str,
        now: dt.datetime,
    ) -> list[OutgoingRecord]:
        await conn.execute(
            "UPDATE inbox SET outcome = 'rejected', reason = $3 WHERE source = $1 AND event_id = $2",
            item.event.source,
            item.event.id,
            reason,
        )
        metrics.EVENTS_CONSUMED.labels(self.service, item.event.type, "rejected").inc()
        return [dead_letter(item.record, code, reason, service=self.service, now=now)]
