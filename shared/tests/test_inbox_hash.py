"""The inbox's content hash: what makes a record sent again a repeat, not a conflict."""

from __future__ import annotations

import datetime as dt
import json

from grassroots.contract.examples import envelope
from grassroots.contract.parsing import parse_event
from grassroots.plumbing.inbox import content_hash

SENT = envelope(
    "grading.self_evaluated",
    event_id="self-0100-initial",
    time=dt.datetime(2012, 3, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
)


def hash_of(event: dict[str, object]) -> str:
    return content_hash(parse_event(json.dumps(event).encode())).hex()


def test_the_hash_of_an_event_is_the_one_stored_by_earlier_versions() -> None:
    """Inboxes keep the hashes of every event received; a county system that sends an event
    again after an upgrade must find it a repeat, so the hash of the same content never
    changes (this value was computed by the version that stored the first hashes)."""
    assert hash_of(SENT) == "0fc4d8717ad8d0ad6d55f9cc1d342ab58f46f7beb9811d4d360bc14c13eece9f"


def test_the_trace_context_and_the_layout_of_the_json_are_not_content() -> None:
    traced = {
        **SENT,
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": "congo=t61rcWkgMzE",
    }
    reordered = dict(reversed(list(SENT.items())))
    assert hash_of(traced) == hash_of(reordered) == hash_of(SENT)
    changed = {
        **SENT,
        "data": {**SENT["data"], "scores": {**SENT["data"]["scores"], "reputation": 60}},
    }
    assert hash_of(changed) != hash_of(SENT)
