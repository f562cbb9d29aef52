"""Turning a Kafka record's bytes into a validated event, or into a precise reason why not."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from pydantic import TypeAdapter, ValidationError

from grassroots.contract.registry import EVENTS, AnyEvent, any_event_schema

MAX_RECORD_BYTES = 256 * 1024

_ANY_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(any_event_schema())


class RejectionCode(StrEnum):
    TOO_LARGE = "too_large"
    INVALID_JSON = "invalid_json"
    INVALID_ENVELOPE = "invalid_envelope"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_DATA = "invalid_data"
    WRONG_TOPIC = "wrong_topic"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    REJECTED_BY_RULE = "rejected_by_rule"
    HANDLER_ERROR = "handler_error"


@dataclass(frozen=True)
class ContractViolation(Exception):
    code: RejectionCode
    reason: str

    def __str__(self) -> str:
        return f"{self.code.value}: {self.reason}"


def _task_label(raw: bytes, index: str) -> str:
    """`tasks.3` becomes `tasks.3 (task t-4)` so the county system finds the task by its id."""
    try:
        task_id = json.loads(raw)["data"]["tasks"][int(index)]["task_id"]
    except (ValueError, KeyError, IndexError, TypeError):
        return index
    return f"{index} (task {str(task_id)[:64]})"


def _describe(error: ValidationError, raw: bytes) -> tuple[RejectionCode, str]:
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    if first["type"] == "json_invalid":
        return RejectionCode.INVALID_JSON, f"not valid JSON: {first['msg']}"
    if first["type"] == "union_tag_invalid":
        tag = first.get("ctx", {}).get("tag", "?")
        return RejectionCode.UNKNOWN_TYPE, f"unknown event type {str(tag)[:100]!r}"
    if first["type"] == "union_tag_not_found":
        return RejectionCode.INVALID_ENVELOPE, "type: missing"
    if first["type"] in {"model_type", "dict_type"} and not first["loc"]:
        return RejectionCode.INVALID_ENVELOPE, "the record is not a JSON object"
    messages = []
    code = RejectionCode.INVALID_ENVELOPE
    for problem in problems[:5]:
        # loc starts with the union member (the type); drop it to name the field as sent.
        loc = [str(part) for part in problem["loc"][1:]]
        if loc[:2] == ["data", "tasks"] and len(loc) > 2:
            loc[2] = _task_label(raw, loc[2])
        if loc[:1] == ["data"]:
            code = RejectionCode.INVALID_DATA
        messages.append(f"{'.'.join(loc) or '(envelope)'}: {problem['msg']}")
    if len(problems) > 5:
        messages.append(f"… and {len(problems) - 5} more")
    return code, "; ".join(messages)


def parse_event(raw: bytes, *, topic: str | None = None) -> AnyEvent:
    """Validate one record's value; raise ContractViolation naming exactly what is wrong."""
    if len(raw) > MAX_RECORD_BYTES:
        raise ContractViolation(
            RejectionCode.TOO_LARGE, f"record of {len(raw)} bytes exceeds {MAX_RECORD_BYTES}"
        )
    try:
        event = _ANY_EVENT.validate_json(raw)
    except ValidationError as error:
        raise ContractViolation(*_describe(error, raw)) from None
    if topic is not None and EVENTS[event.type].topic != topic:
        raise ContractViolation(
            RejectionCode.WRONG_TOPIC,
            f"{event.type} belongs on {EVENTS[event.type].topic}, not {topic}",
        )
    return event
