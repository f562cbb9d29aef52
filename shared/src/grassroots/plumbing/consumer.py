"""Applying a consumed batch exactly once in effect: parse, dead-letter, inbox, handle, outbox.

One database transaction per batch; the caller commits Kafka offsets only after it returns.
The fresh events are applied together first (batch handlers where a service has them, no
savepoint per event); if anything refuses or fails, that attempt is rolled back and the batch is
applied run by run (a run: consecutive events of one batch handler, or of per-event handlers),
each in a savepoint; a run that fails again is applied in slices of 64 events, and a slice
that fails one event at a time, each in a savepoint, so only the bad event is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter, deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import asyncpg
from aiokafka import ConsumerRecord

from grassroots.contract import ContractViolation, RejectionCode, Topic, dlq_topic, parse_event
from grassroots.contract.envelope import valid_traceparent
from grassroots.contract.parsing import MAX_RECORD_BYTES
from grassroots.contract.registry import EVENTS
from grassroots.plumbing import inbox, metrics, tracing
from grassroots.plumbing.handling import BatchHandler, HandlerTable, Rejected
from grassroots.plumbing.inbox import Received
from grassroots.plumbing.kafka import dead_letter_owner
from grassroots.plumbing.logs import event_fields
from grassroots.plumbing.outbox import OutgoingRecord
from grassroots.plumbing.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


MAX_REASON_CHARS = 1000
SLICE = 64  # events of a failed run applied together again (see _apply_in_slices)


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


# The topic whose events the others name: registrations are applied first within a batch.
# Different topics have no order between them, and a consumer catching up on a backlog fetches
# them together; this keeps an input naming an organisation registered in the same batch from
# being judged before that registration; across batches, the consumer reads the registrations'
# partitions before the others while it is behind on them (pipeline.read_first). (Only
# registrations: moving a phase's closing ahead of inputs sent before it would change what
# counts in the phase.)
NAMED_FIRST = Topic.ORG_BRANCHES


def named_first(items: Sequence[Received]) -> list[Received]:
    """The batch with registrations first, otherwise in received order (a stable sort: every
    partition keeps its order)."""
    return sorted(items, key=lambda item: item.record.topic != NAMED_FIRST)


def runs(items: Sequence[Received], group: Callable[[Received], Hashable]) -> list[list[Received]]:
    """Cut a batch into runs of one group each, keeping every partition's order.

    Records of different partitions have no order between them, so a run takes the leading
    records of its group from every partition: runs stay long when partitions interleave."""
    queues: dict[tuple[str, int], deque[Received]] = {}
    for item in items:
        queues.setdefault((item.record.topic, item.record.partition), deque()).append(item)
    result: list[list[Received]] = []
    while queues:
        wanted = group(next(iter(queues.values()))[0])
        run: list[Received] = []
        for key, queue in list(queues.items()):
            while queue and group(queue[0]) == wanted:
                run.append(queue.popleft())
            if not queue:
                del queues[key]
        result.append(run)
    return result


@dataclass(frozen=True)
class BatchSummary:
    """What a batch was, for its one log line: how many records, their outcomes, the event
    types and campaigns it touched, and its first event's id."""

    records: int
    outcomes: dict[str, int]
    event_types: list[str]
    campaigns: list[str]
    first_event_id: str | None
    trace_ids: list[str]  # of the events that came with a trace context

    @classmethod
    def of(cls, records: int, received: Sequence[Received], outcomes: dict[str, int]) -> Self:
        types = sorted({item.event.type for item in received})
        campaigns = sorted({c for item in received if (c := item.event.campaignid)})
        first = received[0].event.id if received else None
        traces = {
            parent.split("-")[1]
            for item in received
            if valid_traceparent(parent := item.event.traceparent) and parent
        }
        return cls(records, dict(outcomes), types, campaigns, first, sorted(traces))

    def log_fields(self) -> dict[str, Any]:
        """`extra=` of the batch's line (a single type or campaign is named as for one event)."""
        fields: dict[str, Any] = {"records": self.records, **self.outcomes}
        if self.first_event_id is not None:
            fields["event_id"] = self.first_event_id
        if len(self.event_types) == 1:
            fields["event_type"] = self.event_types[0]
        elif self.event_types:
            fields["event_types"] = self.event_types[:20]
        if len(self.campaigns) == 1:
            fields["campaign"] = self.campaigns[0]
        elif self.campaigns:
            fields["campaigns"] = self.campaigns[:20]
        if self.trace_ids:  # the batch's own span is another trace, linked to these
            fields["event_trace_ids"] = self.trace_ids[:20]
        return fields


@dataclass(frozen=True)
class ParsedBatch:
    """A consumed batch read against the contract: the events that passed, and the records
    that did not with the reason (dead-lettered in the batch's transaction)."""

    records: int
    received: list[Received]
    refused: list[tuple[ConsumerRecord[bytes, bytes], ContractViolation]]
    passed_by: Counter[str]  # records of types this service does not handle: type -> count


class BatchApplier:
    """Applies batches of records for one service with its handler table."""

    def __init__(self, *, service: str, handlers: HandlerTable[Any]) -> None:
        self.service = service
        self.handlers = handlers
        self._tally: dict[str, int] = {}
        # Per topic: the quoted names of the types handled here and the contract's other types
        # on it (None: every record is read).
        self._passing: dict[str, tuple[tuple[bytes, ...], frozenset[str]] | None] = {}

    def _not_handled(self, record: ConsumerRecord[bytes, bytes]) -> str | None:
        """The type of a record this service has no handler for, known without reading the
        record against the contract, or None: read it. Such a record changes nothing here, so
        it costs neither validation, nor a content hash, nor an inbox row (of a simulated
        county's inputs: a third of those notification consumes, a seventh of reporting's, a
        ninth of grading's). Only on a topic whose dead letters
        another service owns (that one reads every record and refuses the bad ones), and only
        when no type this service handles is named anywhere in the record and its top-level
        `type` (read by json.loads) is not one: exact, not a guess from the bytes."""
        if record.topic not in self._passing:
            on_topic = [t for t, spec in EVENTS.items() if spec.topic == record.topic]
            handled = [t for t in on_topic if self.handlers.get(t) is not None]
            self._passing[record.topic] = (
                # Every record is read: its dead letters are this service's, or it handles
                # every type of the topic (nothing to pass by, nothing to look for).
                None
                if dead_letter_owner(record.topic) == self.service or len(handled) == len(on_topic)
                else (
                    tuple(f'"{event_type}"'.encode() for event_type in handled),
                    frozenset(on_topic) - frozenset(handled),
                )
            )
        passing = self._passing[record.topic]
        raw = record.value or b""
        if passing is None or len(raw) > MAX_RECORD_BYTES or any(n in raw for n in passing[0]):
            return None
        try:
            event_type = json.loads(raw).get("type")
        except (ValueError, AttributeError, RecursionError):
            return None
        # A type the contract does not place on this topic is read, and refused, as before.
        return event_type if isinstance(event_type, str) and event_type in passing[1] else None

    def _count(self, event_type: str, outcome: str, amount: int = 1) -> None:
        metrics.EVENTS_CONSUMED.labels(self.service, event_type, outcome).inc(amount)
        self._tally[outcome] = self._tally.get(outcome, 0) + amount

    def parse(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> ParsedBatch:
        """Read the records against the contract (no database needed: done while the previous
        batch's transaction runs)."""
        received: list[Received] = []
        refused: list[tuple[ConsumerRecord[bytes, bytes], ContractViolation]] = []
        passed_by: Counter[str] = Counter()
        for record in records:
            if (event_type := self._not_handled(record)) is not None:
                passed_by[event_type] += 1
                continue
            try:
                event = parse_event(record.value or b"", topic=record.topic)
            except ContractViolation as violation:
                refused.append((record, violation))
                continue
            received.append(Received.of(record, event))
        return ParsedBatch(len(records), received, refused, passed_by)

    def _dead_letter(
        self,
        uow: UnitOfWork[Any],
        record: ConsumerRecord[bytes, bytes],
        event_type: str,
        code: RejectionCode,
        reason: str,
    ) -> None:
        # One owner per topic dead-letters a bad record, so it lands in the DLQ once.
        if dead_letter_owner(record.topic) != self.service:
            self._count(event_type, "invalid_skipped")
            return
        self._count(event_type, "dead_lettered")
        uow.send(dead_letter(record, code, reason, service=self.service, now=uow.now))

    async def apply(
        self, uow: UnitOfWork[Any], records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> BatchSummary:
        """Apply records within the unit of work (one transaction; the caller commits)."""
        return await self.apply_parsed(uow, self.parse(records))

    async def apply_parsed(self, uow: UnitOfWork[Any], batch: ParsedBatch) -> BatchSummary:
        """Apply a parsed batch within the unit of work: the records that failed the contract
        are dead-lettered by their topic's owner, the others go through the inbox to their
        handlers."""
        self._tally = {}
        for event_type, amount in batch.passed_by.items():
            self._count(event_type, "unhandled", amount)
        for record, violation in batch.refused:
            self._dead_letter(uow, record, "unknown", violation.code, violation.reason)
        await self._apply_received(uow, batch.received)
        return BatchSummary.of(batch.records, batch.received, self._tally)

    async def _apply_received(self, uow: UnitOfWork[Any], received: list[Received]) -> None:
        sorted_ = await inbox.record(uow.connection, received)
        for item in sorted_.duplicates:
            self._count(item.event.type, "duplicate")
        for item in sorted_.conflicting:
            self._dead_letter(
                uow,
                item.record,
                item.event.type,
                RejectionCode.CONFLICTING_DUPLICATE,
                f"({item.event.source}, {item.event.id}) was already received with"
                " different content; send corrections with a new id",
            )
        fresh = named_first(sorted_.fresh)
        failed = 0  # the run that failed, if one does
        try:
            async with uow.savepoint() as together:  # undone if the fast way fails
                for index, run in enumerate(runs(fresh, self._group)):
                    failed = index
                    await self._apply_together(together, run)
        except TRANSIENT:
            raise  # the whole batch is retried
        except Exception as error:
            log.info(
                "batch of %d applied run by run: %r",
                len(fresh),
                error,
                extra={"records": len(fresh), "error": f"{type(error).__name__}: {error}"[:500]},
            )
            metrics.BATCHES_ONE_BY_ONE.labels(self.service).inc()
            await self._apply_run_by_run(uow, fresh, failed)
            return
        self._count_applied(fresh)

    async def _apply_run_by_run(
        self, uow: UnitOfWork[Any], fresh: list[Received], failed: int
    ) -> None:
        """The batch again after its run `failed` failed: the runs before it together (they
        went through), that run in slices, each later run together in a savepoint of its own,
        in slices if it fails too. A refused progress report costs its own slice, not the
        batch's two thousand events."""
        all_runs = runs(fresh, self._group)
        if failed:
            async with uow.savepoint() as together:
                for run in all_runs[:failed]:
                    await self._apply_together(together, run)
            self._count_applied([item for run in all_runs[:failed] for item in run])
        await self._apply_in_slices(uow, all_runs[failed])
        for run in all_runs[failed + 1 :]:
            if await self._applied_together(uow, run):
                continue
            await self._apply_in_slices(uow, run)

    async def _applied_together(self, uow: UnitOfWork[Any], run: list[Received]) -> bool:
        """The run together in a savepoint of its own; False (and nothing of it kept) when it
        fails for another reason than a transient one."""
        try:
            async with uow.savepoint() as together:
                await self._apply_together(together, run)
        except TRANSIENT:
            raise
        except Exception:
            return False
        self._count_applied(run)
        return True

    async def _apply_in_slices(self, uow: UnitOfWork[Any], run: list[Received]) -> None:
        """A run that failed: slices of SLICE events in order, each together in a savepoint,
        a slice that fails one event at a time — so one refused event among a batch handler's
        two thousand costs its slice's events one by one, not all of them."""
        for start in range(0, len(run), SLICE):
            part = run[start : start + SLICE]
            # A run no longer than a slice just failed as it is: straight to one at a time.
            if len(run) > SLICE and await self._applied_together(uow, part):
                continue
            for item in part:
                await self._apply_one(uow, item)

    def _count_applied(self, items: list[Received]) -> None:
        # One counter step per type, not per event (a labelled counter costs a lock and a lookup).
        for event_type, amount in Counter(item.event.type for item in items).items():
            handled = self.handlers.get(event_type) is not None
            self._count(event_type, "applied" if handled else "unhandled", amount)

    def _group(self, item: Received) -> Hashable:
        """Events of one batch handler form a run; the others a run of per-event handling."""
        registration = self.handlers.get(item.event.type)
        return registration.many if registration is not None else None

    async def _apply_together(self, uow: UnitOfWork[Any], run: list[Received]) -> None:
        """A run without a savepoint per event: its batch handler, or each event's handler."""
        registration = self.handlers.get(run[0].event.type)
        if registration is not None and registration.many is not None:
            await self._apply_run(uow, registration.many, run)
            return
        for item in run:
            found = self.handlers.get(item.event.type)
            if found is not None:
                with tracing.consumed(self.service, item.event):
                    await found.one(uow, item.event)

    async def _apply_run(
        self, uow: UnitOfWork[Any], handler: BatchHandler[Any, Any], run: list[Received]
    ) -> None:
        """A batch handler's run: each traced event's span covers it, and what is emitted about
        an event's subject continues that event's trace."""
        spans = [(item, tracing.start_consumed(self.service, item.event)) for item in run]
        uow.trace_causes = {
            item.event.subject: tracing.carrier_of(span) for item, span in spans if span
        }
        try:
            await handler(uow, [item.event for item in run])
        finally:
            uow.trace_causes = {}
            for _, span in spans:
                if span is not None:
                    span.end()

    async def _apply_one(self, uow: UnitOfWork[Any], item: Received) -> None:
        registration = self.handlers.get(item.event.type)
        if registration is None:
            self._count(item.event.type, "unhandled")
            return
        try:
            with tracing.consumed(self.service, item.event):
                async with uow.savepoint() as one:  # a refusal undoes only this event
                    await registration.one(one, item.event)
        except Rejected as refusal:
            await self._refuse(uow, item, RejectionCode.REJECTED_BY_RULE, refusal.reason)
            return
        except TRANSIENT:
            raise  # the whole batch is retried
        except Exception as error:
            log.exception(
                "handler for %s failed on %s",
                item.event.type,
                item.event.id,
                extra=event_fields(item.event),
            )
            reason = f"{type(error).__name__}: {error}"[:1000]
            await self._refuse(uow, item, RejectionCode.HANDLER_ERROR, reason)
            return
        self._count(item.event.type, "applied")

    async def _refuse(
        self, uow: UnitOfWork[Any], item: Received, code: RejectionCode, reason: str
    ) -> None:
        await inbox.mark_rejected(uow.connection, item, reason)
        self._count(item.event.type, "rejected")
        uow.send(dead_letter(item.record, code, reason, service=self.service, now=uow.now))
