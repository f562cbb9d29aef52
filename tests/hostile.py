"""What a broken or malicious county system could send: hypothesis strategies of raw records
that the contract must refuse, each with the reason code the platform should give."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from grassroots.contract import EVENTS, ContractViolation, parse_event
from grassroots.contract.envelope import EXTENSION_NAME
from grassroots.contract.examples import envelope

INPUT_TYPES = sorted(
    t
    for t, spec in EVENTS.items()
    if spec.topic.endswith(".inputs") or spec.topic in ("campaign.lifecycle", "org.branches")
)
HOSTILE_COUNTY = "999990"
NASTY_TEXT = st.sampled_from(
    [
        "'; DROP TABLE inbox; --",
        '" OR 1=1 --',
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "=cmd|' /C calc'!A0",
        "\x00\x01",
        "../../etc/passwd",
        "${jndi:ldap://x}",
        "{{7*7}}",
        "😀" * 50,
    ]
) | st.text(min_size=1, max_size=40)
WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    NASTY_TEXT,
)


def base_event(event_type: str, marker: str) -> dict[str, Any]:
    return envelope(
        event_type,
        county=HOSTILE_COUNTY,
        campaign_id=f"hostile-{marker}",
        source=f"/hostile/{marker}",
    )


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def set_path(value: Any, path: tuple[Any, ...], new: Any) -> None:
    for part in path[:-1]:
        value = value[part]
    value[path[-1]] = new


def delete_path(value: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        value = value[part]
    del value[path[-1]]


@st.composite
def mutated_json(draw: st.DrawFn, marker: str) -> bytes:
    event = base_event(draw(st.sampled_from(INPUT_TYPES)), marker)
    mutation = draw(
        st.sampled_from(["wrong_type", "missing", "extra", "score", "type", "identifier"])
    )
    all_paths = paths(event)
    if mutation == "wrong_type":
        set_path(event, draw(st.sampled_from(all_paths)), draw(WRONG_VALUES))
    elif mutation == "missing":
        path = draw(st.sampled_from(all_paths))
        if isinstance(path[-1], str):
            delete_path(event, path)
    elif mutation == "extra":
        target = draw(st.sampled_from([event, event["data"]]))
        name = draw(st.text(min_size=1, max_size=12))
        if target is event and EXTENSION_NAME.match(name):
            name = f"_{name}"  # a well-named extension attribute is accepted: not this one
        target[name] = draw(WRONG_VALUES)
    elif mutation == "score":
        score_paths = [p for p in all_paths if "scores" in p and len(p) == 3]
        if score_paths:
            set_path(
                event,
                draw(st.sampled_from(score_paths)),
                draw(
                    st.one_of(
                        st.floats(min_value=100.000001, max_value=1e12),
                        st.floats(max_value=-1e-6),
                        st.just("NaN"),
                        st.just("1e400"),
                    )
                ),
            )
    elif mutation == "type":
        event["type"] = draw(st.text(max_size=30) | st.sampled_from(["grading.v2", ""]))
    else:
        event["subject"] = event["data"].get("branch_id") or event["subject"]
        id_paths = [p for p in all_paths if str(p[-1]).endswith("_id") and p[0] == "data"]
        if id_paths:
            nasty = draw(NASTY_TEXT)
            path = draw(st.sampled_from(id_paths))
            set_path(event, path, nasty)
    return json.dumps(event, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def raw_garbage(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "utf8", "nested", "array", "truncated"]))
    if kind == "bytes":
        return draw(st.binary(min_size=1, max_size=300))
    if kind == "utf8":
        return b"\xff\xfe" + draw(st.binary(max_size=50))
    if kind == "nested":
        depth = draw(st.integers(600, 5000))
        return b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "huge":
        return json.dumps(
            {"specversion": "1.0", "data": "x" * draw(st.integers(1_050_000, 1_200_000))}
        ).encode()
    if kind == "array":
        return json.dumps(draw(st.lists(st.integers(), max_size=5))).encode()
    return b'{"specversion": "1.0", "id": "' + draw(st.binary(max_size=20))


def huge_records(count: int) -> list[bytes]:
    """Records of 1 MB and more: a handful is enough to prove they are refused unread."""
    return [
        json.dumps({"specversion": "1.0", "data": "x" * (1_048_576 + n)}).encode()
        for n in range(count)
    ]


def refused(raw: bytes, topic: str) -> ContractViolation | None:
    """The violation the platform must report for this record, or None if it is valid."""
    try:
        parse_event(raw, topic=topic)
    except ContractViolation as violation:
        return violation
    return None


def hostile_record(marker: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """(topic, value) pairs that break the contract."""
    topics = sorted({EVENTS[t].topic for t in INPUT_TYPES})
    return st.tuples(st.sampled_from(topics), mutated_json(marker) | raw_garbage()).filter(
        lambda pair: refused(pair[1], pair[0]) is not None
    )
