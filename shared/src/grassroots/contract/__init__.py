"""The public contract: envelope, event models, topics, labels."""

from grassroots.contract.envelope import CONTENT_TYPE, CloudEvent
from grassroots.contract.parsing import ContractViolation, RejectionCode, parse_event
from grassroots.contract.registry import (
    ALL_TOPICS,
    EVENT_CLASSES,
    EVENTS,
    AnyEvent,
    EventSpec,
    Topic,
    dlq_topic,
)

__all__ = [
    "ALL_TOPICS",
    "CONTENT_TYPE",
    "EVENTS",
    "EVENT_CLASSES",
    "AnyEvent",
    "CloudEvent",
    "ContractViolation",
    "EventSpec",
    "RejectionCode",
    "Topic",
    "dlq_topic",
    "parse_event",
]
