"""The public contract: envelope, event models, topics, labels, the county calendar; parsing
(`parse_event`), building and publishing events (`grassroots.contract.publishing`) and the
generated JSON Schemas (`grassroots.contract.json_schemas`). Depends on pydantic only."""

from grassroots.contract.envelope import CONTENT_TYPE, CloudEvent
from grassroots.contract.parsing import ContractViolation, RejectionCode, parse_event
from grassroots.contract.publishing import KafkaRecord, kafka_record, new_event
from grassroots.contract.registry import (
    ALL_TOPICS,
    EVENT_CLASSES,
    EVENTS,
    AnyEvent,
    EventSpec,
    Topic,
    dlq_topic,
)
from grassroots.contract.topics import INPUT_TOPICS

CONTRACT_VERSION = "1.0.0"
"""The contract's version: the AsyncAPI document's and the grassroots-contract package's."""

__all__ = [
    "ALL_TOPICS",
    "CONTENT_TYPE",
    "CONTRACT_VERSION",
    "EVENTS",
    "EVENT_CLASSES",
    "INPUT_TOPICS",
    "AnyEvent",
    "CloudEvent",
    "ContractViolation",
    "EventSpec",
    "KafkaRecord",
    "RejectionCode",
    "Topic",
    "dlq_topic",
    "kafka_record",
    "new_event",
    "parse_event",
]
