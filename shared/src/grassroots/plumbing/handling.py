"""Handlers typed by the event they take, in one table per service, and how one refuses.

    HANDLERS = HandlerTable(
        each(CampaignLaunchedEvent, on_campaign_launched),        # one event at a time
        batch(OrgBranchRegisteredEvent, on_branches_registered),  # set-based, many at once
    )

`each(kind, handler)` checks with mypy that `handler` takes `kind`; `batch(kind, handler)` that
it takes a sequence of them — and derives its one-at-a-time handler (a batch of one), so both
ways run the same code. The service refuses to start when a key is not a consumed contract type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from grassroots.contract import EVENTS, AnyEvent
from grassroots.plumbing.unit_of_work import UnitOfWork

S = TypeVar("S")
E = TypeVar("E", bound=AnyEvent)


class Rejected(Exception):
    """Raised by a handler, before it writes anything, to dead-letter the event with a reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Handler = Callable[[UnitOfWork[S], E], Awaitable[None]]
"""async def on_<event>(uow, event: <Type>Event) -> None"""

BatchHandler = Callable[[UnitOfWork[S], Sequence[E]], Awaitable[None]]
"""async def on_<events>(uow, events: Sequence[<Type>Event]) -> None: the same effect as one
event at a time in list order, in fewer statements. It may raise; the batch is then applied
one event at a time."""


@dataclass(frozen=True)
class Registration(Generic[S]):
    """One event class and what handles it (erased: the table holds many event classes)."""

    event_class: type[AnyEvent]
    one: Handler[S, Any]
    many: BatchHandler[S, Any] | None = None

    @property
    def event_type(self) -> str:
        return self.event_class.event_type


def each(kind: type[E], handler: Handler[S, E]) -> Registration[S]:
    """`handler` takes one event of `kind` at a time."""
    return Registration(kind, handler)


def batch(kind: type[E], handler: BatchHandler[S, E]) -> Registration[S]:
    """`handler` takes a sequence of `kind` (and of the other types registered to it)."""

    async def one_at_a_time(uow: UnitOfWork[S], event: E) -> None:
        await handler(uow, [event])

    return Registration(kind, one_at_a_time, handler)


class HandlerTable(Generic[S]):
    """A service's handlers keyed by event type; each type once."""

    def __init__(self, *registrations: Registration[S]) -> None:
        self._by_type: dict[str, Registration[S]] = {}
        for registration in registrations:
            event_type = registration.event_type
            if EVENTS.get(event_type) is None or (
                EVENTS[event_type].envelope_model is not registration.event_class
            ):
                raise ValueError(f"{registration.event_class.__name__} is not a contract type")
            if event_type in self._by_type:
                raise ValueError(f"two handlers for {event_type}")
            self._by_type[event_type] = registration

    def __iter__(self) -> Iterator[Registration[S]]:
        return iter(self._by_type.values())

    def get(self, event_type: str) -> Registration[S] | None:
        return self._by_type.get(event_type)

    def check_consumed(self, service: str, topics: Sequence[str]) -> None:
        """Refuse a handler for a type whose topic the service does not consume."""
        wrong = sorted(
            f"{r.event_type} (on {r.event_class.topic})"
            for r in self
            if r.event_class.topic not in topics
        )
        if wrong:
            raise ValueError(
                f"{service} has handlers for types on topics it does not consume: "
                + ", ".join(wrong)
            )
