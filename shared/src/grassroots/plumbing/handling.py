"""What a service's event handler receives, and how it refuses an event."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import asyncpg
from pydantic import BaseModel

from grassroots.contract import EVENTS, CloudEvent
from grassroots.plumbing.outbox import OutgoingRecord


class Rejected(Exception):
    """Raised by a handler, before it writes anything, to dead-letter the event with a reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def file_clock(path: Path) -> Clock:
    """A clock that reads 'now' from a file (RFC 3339): the system clock while there is no
    file; the last value read while the file is being rewritten (never a jump to real time)."""
    last: list[dt.datetime] = []

    def now() -> dt.datetime:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return system_clock()
        except OSError:
            text = ""
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return last[-1] if last else system_clock()
        last[:] = [value]
        return value

    return now


class Deferred(Protocol):
    """Work that many events of a batch add to and that is done once, at its end (before the
    transaction commits): summed counters, notices to plan."""

    async def flush(self, ctx: HandlerContext) -> None: ...


D = TypeVar("D", bound=Deferred)


@dataclass
class HandlerContext:
    """The unit of work of an event (or of a batch of them): the open transaction, the clock,
    what to emit, and what is deferred to the end of the transaction."""

    conn: asyncpg.Connection
    service: str
    now: dt.datetime
    emitted: list[OutgoingRecord] = field(default_factory=list)
    deferred_writes: dict[type[Any], Deferred] = field(default_factory=dict)

    def deferred(self, kind: type[D], make: Callable[[], D] | None = None) -> D:
        """The batch's one instance of `kind` (made by `make`, or `kind()`), flushed before
        the transaction commits."""
        found = self.deferred_writes.get(kind)
        if found is None:
            found = self.deferred_writes[kind] = (make or kind)()
        assert isinstance(found, kind)
        return found

    async def flush(self) -> None:
        """Do the deferred work; what it emits or defers in turn is handled too."""
        while self.deferred_writes:
            pending = list(self.deferred_writes.values())
            self.deferred_writes.clear()
            for work in pending:
                await work.flush(self)

    def emit(
        self,
        event_type: str,
        data: BaseModel,
        *,
        countycode: str,
        campaignid: str | None,
        event_id: str | None = None,
        time: dt.datetime | None = None,
    ) -> CloudEvent:
        """Append an event of ours to the outbox (committed with the handler's transaction)."""
        envelope_model: type[CloudEvent] = EVENTS[event_type].envelope_model
        subject = getattr(data, envelope_model.subject_field)
        event = envelope_model(
            specversion="1.0",
            id=event_id or str(uuid.uuid4()),
            source=f"/grassroots/{self.service}",
            type=event_type,
            time=time or self.now,
            subject=subject,
            countycode=countycode,
            campaignid=campaignid,
            datacontenttype="application/json",
            data=data,
        )
        self.emitted.append(OutgoingRecord.for_event(event))
        return event


Handler = Callable[[HandlerContext, Any], Awaitable[None]]
"""async def on_<event>(ctx, event) -> None; the event is the type's envelope model."""

BatchHandler = Callable[[HandlerContext, list[Any]], Awaitable[None]]
"""async def on_<events>(ctx, events) -> None: the same effect as the per-event handlers applied
in list order, in fewer statements. It may raise; the batch is then applied one event at a time."""


def one_at_a_time(batch_handler: BatchHandler) -> Handler:
    """The per-event handler of a set-based one: a batch of one (one code path for both)."""

    async def handle(ctx: HandlerContext, event: Any) -> None:
        await batch_handler(ctx, [event])

    return handle
