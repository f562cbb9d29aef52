"""One unit of work: a database transaction, the service's store on it, the events it emits
and the work deferred to its end. Everything that writes — the consumer's batches, rounds,
sweeps, settlements, the delivery worker — goes through `Runtime.unit_of_work()`:

    async with runtime.unit_of_work() as uow:
        await uow.store.save_something(...)
        uow.emit(BranchSettledEvent, BranchSettled(...), countycode=..., campaignid=...)

On leaving the block the deferred work is flushed, what was emitted is written to the outbox,
the transaction commits and the relay is woken. An exception rolls all of it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
from pydantic import BaseModel

from grassroots.contract import AnyEvent, CloudEvent, new_event, parse_event
from grassroots.plumbing import outbox, tracing
from grassroots.plumbing.outbox import OutgoingRecord

S = TypeVar("S")  # the service's store: its SQL, bound to this unit's connection
DataT = TypeVar("DataT", bound=BaseModel)


class Deferred(Protocol):
    """Work that many events of a batch add to and that is done once, at its end (before the
    transaction commits): summed counters, notices to plan."""

    async def flush(self, uow: UnitOfWork[Any]) -> None: ...


D = TypeVar("D", bound=Deferred)


class UnitOfWork(Generic[S]):
    """What a handler or a job works with: `store` (its service's SQL), `now` (the service's
    clock when the unit began), `emit` (to the outbox) and `deferred` (once, at the end)."""

    def __init__(
        self,
        store: S,
        *,
        service: str,
        now: dt.datetime,
        connection: asyncpg.Connection | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.now = now
        self._connection = connection
        self.outgoing: list[OutgoingRecord] = []  # for the outbox, in order
        self._deferred: dict[type[Any], Deferred] = {}
        # While a batch handler runs: the trace context of each consumed event by its subject,
        # so what is emitted about a branch continues the trace of the event about it.
        self.trace_causes: dict[str, tracing.Carrier] = {}

    @property
    def connection(self) -> asyncpg.Connection:
        """The transaction's connection, for the plumbing (inbox, savepoints, outbox)."""
        if self._connection is None:
            raise RuntimeError("this unit of work is in memory: it has no connection")
        return self._connection

    def deferred(self, kind: type[D], make: Callable[[], D] | None = None) -> D:
        """The unit's one instance of `kind` (made by `make`, or `kind()`), flushed before the
        transaction commits."""
        found = self._deferred.get(kind)
        if found is None:
            found = self._deferred[kind] = (make or kind)()
        assert isinstance(found, kind)
        return found

    async def flush(self) -> None:
        """Do the deferred work; what it emits or defers in turn is done too."""
        while self._deferred:
            pending = list(self._deferred.values())
            self._deferred.clear()
            for work in pending:
                await work.flush(self)

    def emit(
        self,
        kind: type[CloudEvent[DataT]],
        data: DataT,
        *,
        countycode: str,
        campaignid: str | None,
        event_id: str | None = None,
        time: dt.datetime | None = None,
    ) -> CloudEvent[DataT]:
        """Append an event of ours to the outbox (committed with the unit's transaction). It
        carries the trace context of the event that caused it (the one being handled, or in a
        batch the one about the same subject), else of the current span (a job, a batch)."""
        cause = self.trace_causes.get(getattr(data, kind.subject_field, ""))
        trace = cause or tracing.current_carrier()
        event = new_event(
            kind,
            data,
            source=f"/grassroots/{self.service}",
            countycode=countycode,
            campaignid=campaignid,
            event_id=event_id,
            time=time or self.now,
            traceparent=trace.get("traceparent"),
            tracestate=trace.get("tracestate"),
        )
        self.outgoing.append(OutgoingRecord.for_event(event))
        return event

    def send(self, record: OutgoingRecord) -> None:
        """Append a record as it is (a dead letter) to the outbox."""
        self.outgoing.append(record)

    @property
    def events(self) -> list[AnyEvent]:
        """What was emitted so far, read back from the outbox records (for tests: kept as
        bytes only, so a round of many thousand results holds no second copy)."""
        return [parse_event(r.value) for r in self.outgoing if not r.topic.endswith(".dlq")]

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[UnitOfWork[S]]:
        """A nested unit: its writes, events and deferred work are undone together when the
        block raises; on success they are flushed and become the outer unit's."""
        inner = UnitOfWork(self.store, service=self.service, now=self.now)
        inner._connection = self._connection
        inner.trace_causes = self.trace_causes
        if self._connection is None:
            yield inner
            await inner.flush()
        else:
            async with self._connection.transaction():
                yield inner
                await inner.flush()
        self.outgoing.extend(inner.outgoing)


@asynccontextmanager
async def open_unit_of_work(
    pool: asyncpg.Pool,
    make_store: Callable[[asyncpg.Connection], S],
    *,
    service: str,
    now: dt.datetime,
    committed: Callable[[UnitOfWork[S]], None] | None = None,
) -> AsyncIterator[UnitOfWork[S]]:
    """The transaction of one unit of work; `committed` runs after the commit."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            uow = UnitOfWork(make_store(conn), service=service, now=now, connection=conn)
            yield uow
            await uow.flush()
            await outbox.append(conn, uow.outgoing)
        if committed is not None:
            committed(uow)
