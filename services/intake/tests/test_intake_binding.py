"""The CloudEvents HTTP binding, pure: each mode gives the events' JSON the contract then
validates; what cannot be read is refused with its status and a reason."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from grassroots.contract import parse_event
from grassroots.contract.examples import envelope
from intake.api import _in_trace
from intake.binding import BATCHED, STRUCTURED, BindingError, Mode, read


def headers_of(event: dict[str, object]) -> dict[str, list[str]]:
    return {
        f"ce-{name}": [quote(str(value), safe="")]
        for name, value in event.items()
        if name not in {"data", "datacontenttype"}
    }


def test_structured_mode_passes_the_body_byte_for_byte() -> None:
    body = json.dumps(envelope("grading.self_evaluated")).encode()
    request = read(f"{STRUCTURED}; charset=utf-8", {}, body)
    assert (request.mode, list(request.events)) == (Mode.STRUCTURED, [body])


def test_batched_mode_gives_one_event_per_element() -> None:
    events = [envelope("grading.self_evaluated"), envelope("org.branch_registered")]
    request = read(BATCHED, {}, json.dumps(events, ensure_ascii=False).encode())
    assert request.mode is Mode.BATCHED
    assert [parse_event(raw).id for raw in request.events] == [e["id"] for e in events]


def test_binary_mode_rebuilds_the_event_from_its_headers_and_body() -> None:
    event = envelope("org.branch_registered")  # Chinese in data, and in a header below
    event["source"] = "/counties/610526/教育局"
    request = read("application/json", headers_of(event), json.dumps(event["data"]).encode("utf-8"))
    assert request.mode is Mode.BINARY
    parsed = parse_event(request.events[0])
    assert parsed.source == "/counties/610526/教育局"
    assert parsed.dump()["data"] == event["data"]


@pytest.mark.parametrize(
    ("content_type", "headers", "body", "status", "words"),
    [
        ("text/plain", {}, b"{}", 415, "is not accepted"),
        (None, {}, b"{}", 415, "(none)"),
        (f"{STRUCTURED}; charset=latin-1", {}, b"{}", 415, "UTF-8"),
        (BATCHED, {}, b"{", 400, "not valid JSON"),
        (BATCHED, {}, b"{}", 400, "JSON array"),
        (BATCHED, {}, b"[]", 400, "empty"),
        (BATCHED, {}, b"[" * 100_000, 400, "nested too deeply"),
        ("text/plain", {"ce-specversion": ["1.0"]}, b"{}", 415, "binary mode"),
        ("application/json", {"ce-specversion": ["1.0", "1.0"]}, b"{}", 400, "repeated"),
        ("application/json", {"ce-specversion": ["1.0"], "ce-id": ["%ff"]}, b"{}", 400, "UTF-8"),
        ("application/json", {"ce-specversion": ["1.0"], "ce-data": ["x"]}, b"{}", 400, "body"),
        ("application/json", {"ce-specversion": ["1.0"]}, b"\xff", 400, "not valid JSON"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(
    content_type: str | None,
    headers: dict[str, list[str]],
    body: bytes,
    status: int,
    words: str,
) -> None:
    with pytest.raises(BindingError) as refused:
        read(content_type, headers, body)
    assert refused.value.status == status
    assert words in refused.value.reason


def test_an_event_without_trace_context_continues_the_requests_trace() -> None:
    raw = json.dumps(envelope("grading.self_evaluated")).encode()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event, traced = _in_trace(parse_event(raw), raw, {"traceparent": parent})
    assert event.traceparent == parent
    assert parse_event(traced).traceparent == parent
    assert parse_event(traced).dump() == {**parse_event(raw).dump(), "traceparent": parent}
