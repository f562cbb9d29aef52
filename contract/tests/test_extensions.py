"""CloudEvents extension attributes and the distributed-tracing extension, as a county engineer
checks them: what is kept, what is refused and why; and the change is compatible with 1.0.0."""

from __future__ import annotations

import json
from typing import Any

import pytest

from grassroots.contract import ContractViolation, RejectionCode, parse_event
from grassroots.contract.compatibility import Direction, incompatibilities
from grassroots.contract.examples import envelope

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def parsed(**attributes: Any) -> Any:
    return parse_event(json.dumps({**envelope("grading.superior_rated"), **attributes}).encode())


def refusal(**attributes: Any) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        parsed(**attributes)
    return caught.value


def test_trace_context_and_extension_attributes_are_kept_as_sent() -> None:
    event = parsed(
        traceparent=TRACEPARENT,
        tracestate="congo=t61rcWkgMzE, rojo=00f067aa0ba902b7",
        priority="high",
        attempt=3,
        urgent=True,
    )
    assert event.traceparent == TRACEPARENT
    assert event.tracestate == "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"
    assert event.extensions == {"priority": "high", "attempt": 3, "urgent": True}
    again = json.loads(event.to_json_bytes())
    assert again["priority"] == "high" and again["urgent"] is True
    assert again["tracestate"] == "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"campaign_id": "x"}, "unknown attribute 'campaign_id'"),
        ({"campaignId": "x"}, "unknown attribute 'campaignId'"),
        ({"averyveryverylongname": "x"}, "1 to 20 lowercase letters or digits"),
        ({"ratio": 1.5}, "a 32-bit integer or a boolean"),
        ({"nested": {"a": 1}}, "a 32-bit integer or a boolean"),
        ({"big": 2**31}, "a 32-bit integer or a boolean"),
        ({"tracestate": "not a state"}, "not a W3C tracestate"),
    ],
)
def test_a_bad_extension_is_refused_naming_it(attributes: dict[str, Any], reason: str) -> None:
    violation = refusal(**attributes)
    assert violation.code is RejectionCode.INVALID_ENVELOPE
    assert reason in violation.reason


def test_data_stays_closed_to_unknown_fields() -> None:
    example = envelope("grading.superior_rated")
    example["data"] = {**example["data"], "ratres": 3}
    with pytest.raises(ContractViolation) as caught:
        parse_event(json.dumps(example).encode())
    assert caught.value.code is RejectionCode.INVALID_DATA


def test_allowing_extensions_is_compatible_but_refusing_a_sent_name_is_not() -> None:
    released = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "Data": {"type": "string"}},
        "additionalProperties": False,
    }
    names = {"pattern": "^[a-z0-9]{1,20}$", "maxLength": 20}
    extended = {
        **released,
        "properties": {"id": {"type": "string"}},
        "additionalProperties": {"type": ["string", "integer", "boolean"]},
        "propertyNames": names,
    }
    problems = incompatibilities("x.y", Direction.INPUT, released, extended)
    # "Data" was a declared name: a record that sent it is no longer taken.
    assert [(p.path, p.reason.split(" (")[0]) for p in problems] == [
        ("Data", "a name the reader no longer accepts")
    ]
    kept = {**released, "properties": {"id": {"type": "string"}}}
    assert incompatibilities("x.y", Direction.INPUT, kept, {**extended}) == []
