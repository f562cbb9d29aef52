"""Hostile input on the HTTP path: 5,000 requests a broken or malicious county system could
send — broken JSON, wrong content types, deeply nested and huge bodies, bad and repeated ce-*
headers, unknown types, mutated events. Every one is answered 4xx with a reason, the intake
never crashes, and not one event reaches Kafka."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
from aiokafka import TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grassroots.contract import INPUT_TOPICS
from grassroots.plumbing.kafka import make_consumer
from tests.harness import Platform, bootstrap
from tests.hostile import mutated_json, raw_garbage
from tests.intake_client import BATCHED, STRUCTURED, credential
from tests.scenario import County

REQUESTS = 5_000
CONTENT_TYPES = st.sampled_from(
    [
        STRUCTURED,
        BATCHED,
        f"{STRUCTURED}; charset=utf-8",
        f"{STRUCTURED}; charset=latin-1",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/cloudevents+xml",
        "",
        "application/cloudevents-batch+json;;;",
    ]
)
NASTY_HEADER_VALUES = st.sampled_from(
    ["%0d%0aX-Injected: 1", "%ff%fe", "%E4%B8", "a%00b", "%", "%%%", "1.0%0a", "é".encode().hex()]
) | st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


@st.composite
def hostile_request(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    body = draw(mutated_json("http") | raw_garbage())
    mode = draw(st.sampled_from(["as_is", "batch", "binary", "headers"]))
    headers = {"Content-Type": draw(CONTENT_TYPES)}
    if mode == "batch":
        try:
            element: Any = json.loads(body)
        except (ValueError, RecursionError):  # broken or nested too deeply to read here
            return {"Content-Type": BATCHED}, b"[" + body + b"]"
        return {"Content-Type": BATCHED}, json.dumps([element] * draw(st.integers(1, 3))).encode()
    if mode in {"binary", "headers"}:
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):  # broken or nested too deeply to read here
            event = {}
        if not isinstance(event, dict):
            event = {"specversion": "1.0"}
        headers = {
            f"ce-{name}": quote(str(value), safe="")[:200]
            for name, value in event.items()
            if name != "data" and isinstance(name, str) and name.isascii() and name.isalnum()
        }
        headers["ce-specversion"] = headers.get("ce-specversion", "1.0")
        if mode == "headers":
            headers[f"ce-{draw(st.sampled_from(['id', 'type', 'time', 'x', 'data']))}"] = draw(
                NASTY_HEADER_VALUES
            )
        headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain", ""]))
        data = event.get("data", body) if isinstance(event, dict) else body
        return headers, json.dumps(data).encode() if not isinstance(data, bytes) else data
    return headers, body


def generate() -> list[tuple[dict[str, str], bytes]]:
    """The requests, drawn first and sent afterwards (hypothesis as a generator)."""
    collected: list[tuple[dict[str, str], bytes]] = []

    @settings(
        max_examples=REQUESTS, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(hostile_request())
    def collect(request: tuple[dict[str, str], bytes]) -> None:
        collected.append(request)

    collect()
    return collected


async def end_offsets() -> dict[TopicPartition, int]:
    consumer = make_consumer(bootstrap(), enable_auto_commit=False)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topic, p)
            for topic in INPUT_TOPICS
            for p in cluster.partitions_for_topic(topic) or ()
        ]
        assert len(partitions) >= len(INPUT_TOPICS)
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


def test_five_thousand_hostile_requests_are_refused_and_publish_nothing(
    platform: Platform,
) -> None:
    c = County()  # the credential's county; the hostile events name another one
    client = httpx.Client(
        base_url=platform.services["intake"].url,
        headers={
            "Authorization": f"Bearer {credential(c.county, f'敌意测试-{c.county}', rate='100000/second')}"
        },
        timeout=30,
    )
    intake = platform.services["intake"]
    assert intake.process is not None
    pid = intake.process.pid
    before = asyncio.run(end_offsets())
    statuses: list[int] = []
    wrong: list[tuple[int, str, dict[str, str], bytes]] = []

    for headers, body in generate():
        try:
            answer = client.post("/v1/events", content=body, headers=headers)
            reply = answer.json()
        except Exception as error:  # reported below with the request
            wrong.append((0, repr(error)[:300], headers, body[:300]))
            continue
        statuses.append(answer.status_code)
        reasoned = reply.get("detail") or all(
            r.get("reason") for r in reply["results"] if r["status"] == "refused"
        )
        if not (400 <= answer.status_code < 500 and reasoned):
            wrong.append((answer.status_code, answer.text[:300], headers, body[:300]))
    assert not wrong, f"{len(wrong)} answers not 4xx with a reason, e.g. {wrong[:3]}"
    for size in (1_048_577, 2 * 1024 * 1024, 8 * 1024 * 1024):  # over the limit, in each mode
        for content_type in (STRUCTURED, BATCHED, "application/json"):
            answer = client.post(
                "/v1/events",
                content=b"[" + b" " * size + b"]",
                headers={"Content-Type": content_type, "ce-specversion": "1.0"},
            )
            statuses.append(answer.status_code)
            assert answer.status_code == 413, answer.text
    assert len(statuses) >= REQUESTS
    assert intake.process.poll() is None and intake.process.pid == pid  # no crash, no restart
    assert client.get("/healthz").status_code == 200
    assert asyncio.run(end_offsets()) == before  # not one event produced
