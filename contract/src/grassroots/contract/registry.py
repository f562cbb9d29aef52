"""One registry of every event type: its topic, its payload model, its envelope class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from grassroots.contract import events
from grassroots.contract.envelope import CloudEvent
from grassroots.contract.topics import ALL_TOPICS, Topic, dlq_topic

AnyEvent = CloudEvent[BaseModel]
"""Any event of the contract (every declared event class is one)."""

__all__ = ["ALL_TOPICS", "EVENTS", "AnyEvent", "EventSpec", "Topic", "dlq_topic", "events_on"]


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    topic: str
    data_model: type[BaseModel]
    envelope_model: type[AnyEvent]
    description: str


def _spec(envelope: type[AnyEvent]) -> EventSpec:
    data_model = envelope.model_fields["data"].annotation
    assert isinstance(data_model, type) and issubclass(data_model, BaseModel)
    return EventSpec(
        envelope.event_type,
        envelope.topic,
        data_model,
        envelope,
        (envelope.__doc__ or "").strip(),
    )


EVENT_CLASSES: tuple[type[AnyEvent], ...] = tuple(
    value
    for value in vars(events).values()
    if isinstance(value, type) and issubclass(value, CloudEvent) and value.event_type
)
EVENTS: dict[str, EventSpec] = {cls.event_type: _spec(cls) for cls in EVENT_CLASSES}


def events_on(topic: str) -> list[EventSpec]:
    return [spec for spec in EVENTS.values() if spec.topic == topic]


def any_event_schema() -> Any:
    """The discriminated union of every envelope, for one-pass parsing."""
    from typing import Annotated, Union

    members = tuple(spec.envelope_model for spec in EVENTS.values())
    return Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007
