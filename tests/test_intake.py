"""The HTTP intake end to end, on the real broker, as a county system's engineer uses it: each
of the CloudEvents binding's three modes reaches grading and reporting; a batch with a bad
event names it and publishes the rest; the scoping, the credential, the rate and the body size
are refused with their status; the same id twice changes nothing downstream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import DefaultPartitioner

from tests.harness import Platform, TopicWatcher, eventually
from tests.intake_client import Intake, credential, inbox_ids, intake_cli
from tests.scenario import County, at
from tests.test_reporting import token

CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")


def launch(c: County) -> dict[str, Any]:
    return c.event(
        "campaign.launched",
        {
            "campaign_id": c.campaign_id,
            "name": "接入测试",
            "year": 2012,
            "phases": [
                {"phase": "survey_grading", "opens_on": "2012-03-01", "closes_on": "2012-04-15"},
                {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"},
                {"phase": "emulation", "opens_on": "2012-07-01", "closes_on": "2012-08-15"},
                {"phase": "assessment", "opens_on": "2012-08-16", "closes_on": "2012-09-30"},
            ],
        },
        at("2012-03-01"),
    )


def self_evaluation(c: County, key: str, value: float) -> dict[str, Any]:
    return c.event(
        "grading.self_evaluated",
        {"branch_id": c.b(key), "round": "initial", "scores": dict.fromkeys(CRITERIA, value)},
        at("2012-04-01"),
    )


@pytest.fixture(scope="module")
def county(platform: Platform) -> Iterator[tuple[County, Intake]]:
    c = County()
    secret = credential(c.county, f"接入测试-{c.county}")
    yield c, Intake(platform.services["intake"].url, secret)


async def test_each_mode_reaches_grading_and_reporting(
    platform: Platform, county: tuple[County, Intake]
) -> None:
    c, intake = county
    registrations = [c.register(None), c.register("a"), c.register("b")]
    answers = [
        intake.structured(launch(c)),
        intake.batch(registrations),
        intake.binary(self_evaluation(c, "a", 88.5)),
    ]
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    assert answers[1].json()["accepted"] == 3
    assert [r["status"] for r in answers[1].json()["results"]] == ["accepted"] * 3
    sent = [launch_id := answers[0].json()["results"][0]["id"]] + [e["id"] for e in registrations]
    source = registrations[0]["source"]
    binary_id = answers[2].json()["results"][0]["id"]

    async def in_grading() -> bool:
        ids = await inbox_ids("grading", source)
        return all(ids.get(i) == 1 for i in [*sent, binary_id])

    (await eventually(in_grading, within=60))
    assert launch_id
    api = httpx.Client(
        base_url=platform.services["reporting"].url,
        headers={"Authorization": f"Bearer {token(c.county)}"},
        timeout=10,
    )

    def reported() -> dict[str, Any] | None:
        answer = api.get(f"/v1/campaigns/{c.campaign_id}/branches")
        return answer.json() if answer.status_code == 200 and answer.json()["total"] >= 2 else None

    page = await eventually(reported, within=60)
    assert {item["branch_id"] for item in page["items"]} >= {c.b("a"), c.b("b")}


async def test_a_batch_names_its_bad_event_and_publishes_the_rest(
    county: tuple[County, Intake],
) -> None:
    c, intake = county
    good = [c.register("c"), c.register("d")]
    bad = {**c.register("e"), "id": f"bad-{uuid.uuid4().hex[:6]}"}
    bad["data"] = {**bad["data"], "kind": "club"}
    answer = intake.batch([good[0], bad, good[1]])
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["accepted"], body["refused"]) == (2, 1)
    refused = body["results"][1]
    assert (refused["index"], refused["id"], refused["status"], refused["code"]) == (
        1,
        bad["id"],
        "refused",
        "invalid_data",
    )
    assert "data.kind" in refused["reason"]

    source = bad["source"]

    async def settled() -> dict[str, int] | None:
        ids = await inbox_ids("grading", source)
        return ids if all(ids.get(e["id"]) == 1 for e in good) else None

    ids = await eventually(settled, within=60)
    assert bad["id"] not in ids


async def test_atomic_batch_publishes_nothing_when_one_event_is_refused(
    county: tuple[County, Intake],
) -> None:
    c, intake = county
    good = c.register("f")
    bad = {**c.register("g"), "type": "org.branch_unheard_of"}
    answer = intake.batch([good, bad], atomic=True)
    assert answer.status_code == 422, answer.text
    statuses = [r["status"] for r in answer.json()["results"]]
    assert statuses == ["not_published", "refused"]
    assert answer.json()["results"][1]["code"] == "unknown_type"
    # A later event overtakes nothing: once it is consumed, the good one would have been too.
    marker = c.register("h")
    assert intake.structured(marker).status_code == 202

    async def marker_in() -> dict[str, int] | None:
        ids = await inbox_ids("grading", marker["source"])
        return ids if marker["id"] in ids else None

    assert good["id"] not in (await eventually(marker_in, within=60))


async def test_the_same_id_twice_changes_nothing_downstream(
    platform: Platform, county: tuple[County, Intake]
) -> None:
    c, intake = county
    event = c.register("twice")
    first, second = intake.structured(event), intake.batch([event])
    assert (first.status_code, second.status_code) == (202, 202)
    marker = c.register("after-twice")
    assert intake.structured(marker).status_code == 202

    async def both_in() -> dict[str, int] | None:
        ids = await inbox_ids("reporting", event["source"])
        return ids if marker["id"] in ids and event["id"] in ids else None

    ids = await eventually(both_in, within=60)
    assert ids[event["id"]] == 1  # one effect, though Kafka carries it twice


def test_refusals_of_the_whole_request(platform: Platform, county: tuple[County, Intake]) -> None:
    c, intake = county
    url = platform.services["intake"].url
    other = County()
    foreign = other.register("x")
    answer = intake.batch([c.register("mine"), foreign])
    assert answer.status_code == 403
    assert [r["status"] for r in answer.json()["results"]] == ["not_published", "refused"]
    assert f"county {other.county}" in answer.json()["results"][1]["reason"]
    assert intake.structured(foreign).status_code == 403

    anonymous = Intake(url, None).structured(c.register("anon"))
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert Intake(url, "gi_not-a-credential").structured(c.register("anon")).status_code == 401

    huge = intake.client.post(
        "/v1/events",
        content=b"[" + b" " * (2 * 1024 * 1024) + b"]",
        headers={"Content-Type": "application/cloudevents-batch+json"},
    )
    assert huge.status_code == 413 and "exceeds" in huge.json()["detail"]

    wrong = intake.client.post("/v1/events", content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong.status_code == 415 and "application/cloudevents+json" in wrong.json()["detail"]


def test_over_the_rate_is_429_with_retry_after(platform: Platform) -> None:
    c = County()
    slow = Intake(
        platform.services["intake"].url,
        credential(c.county, f"限速测试-{c.county}", rate="2/minute"),
    )
    statuses = [slow.structured(c.register(str(n))).status_code for n in range(3)]
    assert statuses == [202, 202, 429]
    answer = slow.structured(c.register("3"))
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["Retry-After"]) <= 60


def test_a_revoked_credential_is_refused(platform: Platform) -> None:
    c = County()
    label = f"吊销测试-{c.county}"
    secret = credential(c.county, label)
    intake = Intake(platform.services["intake"].url, secret)
    assert intake.structured(c.register("before")).status_code == 202
    assert intake_cli("credential", "revoke", "--label", label) == f"revoked {label}"
    assert intake.structured(c.register("after")).status_code == 401
    listed = intake_cli("credential", "list")
    assert label not in listed  # only live credentials are listed, and never a secret
    log = (platform.services["intake"].log_dir / "intake.log").read_text(encoding="utf-8")
    assert secret not in log and secret[3:] not in log


async def test_events_are_partitioned_by_subject_as_a_kafka_producer_would(
    county: tuple[County, Intake],
) -> None:
    """One organisation's events stay in order on one partition whichever way they came in:
    the intake partitions by key exactly as the producer's own partitioner."""
    c, intake = county
    events = [c.register(f"p{n}") for n in range(20)]
    async with TopicWatcher("org.branches") as watcher:
        assert intake.batch(events).status_code == 202
        ids = {e["id"] for e in events}
        records = await watcher.wait_for(
            lambda r: json.loads(r.value)["id"] in ids, count=len(events), within=30
        )
    partitions = sorted(watcher.consumer.partitions_for_topic("org.branches") or ())
    assert partitions
    expected = {r.key: DefaultPartitioner()(r.key, partitions, partitions) for r in records}
    assert {r.key: r.partition for r in records} == expected
    assert len(set(expected.values())) > 1  # spread over the partitions, not all on one
