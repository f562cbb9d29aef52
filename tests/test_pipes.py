"""The foundation, end to end: events reach every inbox once, bad records reach the DLQ,
a crashed service resumes from its committed offset, and each role sees only its schema."""

from __future__ import annotations

import json
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.examples import DATA
from grassroots.contract.examples import envelope as example_envelope
from tests.harness import (
    CONSUMERS,
    SERVICES,
    Platform,
    TopicWatcher,
    env,
    eventually,
    header,
    produce_raw,
    publish_with_tool,
)

pytestmark = pytest.mark.usefixtures("platform")

# A county of its own, so these tests never add branches to a real county's campaigns.
TEST_COUNTY = "900001"


def envelope(
    event_type: str, data: dict[str, Any] | None = None, *, campaign_id: str = "test-pipes"
) -> dict[str, Any]:
    return example_envelope(event_type, data, county=TEST_COUNTY, campaign_id=campaign_id)


async def inbox_count(admin: asyncpg.Connection, service: str, source: str, event_id: str) -> int:
    return int(
        await admin.fetchval(
            f"SELECT count(*) FROM {service}.inbox WHERE source = $1 AND event_id = $2",
            source,
            event_id,
        )
    )


def fresh_branch() -> dict[str, object]:
    return {
        **DATA["org.branch_registered"],
        "branch_id": f"{TEST_COUNTY}-edu-{uuid.uuid4().hex[:8]}",
    }


async def test_a_launch_and_a_registration_reach_all_four_inboxes(
    admin: asyncpg.Connection, tmp_path: Path
) -> None:
    campaign = f"test-{uuid.uuid4().hex[:8]}"
    events = [
        envelope("campaign.launched", campaign_id=campaign),
        envelope("org.branch_registered", fresh_branch()),
    ]
    result = publish_with_tool(events, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 published, 0 bad" in result.stdout

    for service in CONSUMERS:
        for event in events:
            await eventually(partial(inbox_count, admin, service, event["source"], event["id"]))


async def test_the_same_event_published_twice_leaves_one_inbox_row(
    admin: asyncpg.Connection, tmp_path: Path
) -> None:
    event = envelope("org.branch_registered", fresh_branch())
    after = envelope("org.branch_registered", fresh_branch())
    assert publish_with_tool([event, event, after], tmp_path).returncode == 0

    for service in CONSUMERS:
        # The later event being in means the duplicate before it was consumed too.
        await eventually(partial(inbox_count, admin, service, after["source"], after["id"]))
        assert await inbox_count(admin, service, event["source"], event["id"]) == 1


async def test_bad_records_go_to_the_dlq_with_a_reason_and_the_consumer_goes_on(
    admin: asyncpg.Connection,
) -> None:
    marker = uuid.uuid4().hex
    not_json = f"not json {marker}".encode()
    bad_scores = envelope(
        "grading.self_evaluated",
        {
            **DATA["grading.self_evaluated"],
            "scores": {**DATA["grading.self_evaluated"]["scores"], "leadership": 120},
        },
    )
    bad_bytes = json.dumps(bad_scores).encode()
    good = envelope("grading.self_evaluated")

    async with TopicWatcher("grading.inputs.dlq") as dlq:
        await produce_raw(
            "grading.inputs",
            [
                (b"610526-edu-0007", not_json),
                (b"610526-edu-0007", bad_bytes),
                (b"610526-edu-0007", json.dumps(good).encode()),
            ],
        )
        dead = await dlq.wait_for(lambda r: r.value in (not_json, bad_bytes), count=2)

    by_value = {record.value: record for record in dead}
    assert len(dead) == 2, "each bad record is dead-lettered once"
    assert header(by_value[not_json], "dlq-reason-code") == "invalid_json"
    assert header(by_value[not_json], "dlq-reason").startswith("not valid JSON")
    assert header(by_value[bad_bytes], "dlq-reason-code") == "invalid_data"
    assert "data.scores.leadership" in header(by_value[bad_bytes], "dlq-reason")
    assert header(by_value[bad_bytes], "dlq-topic") == "grading.inputs"
    await eventually(lambda: inbox_count(admin, "grading", good["source"], good["id"]))
    assert await inbox_count(admin, "grading", bad_scores["source"], bad_scores["id"]) == 0


async def test_the_publisher_tool_names_bad_lines_and_publishes_the_good_ones(
    admin: asyncpg.Connection, tmp_path: Path
) -> None:
    good = envelope("org.branch_registered", fresh_branch())
    bad = envelope(
        "grading.superior_rated", {**DATA["grading.superior_rated"], "override_level": "strong"}
    )
    result = publish_with_tool([good, bad], tmp_path)

    assert result.returncode == 1
    assert "line 2: invalid_envelope" in result.stderr or "line 2: invalid_data" in result.stderr
    assert "override_reason is required" in result.stderr
    assert "1 published, 1 bad" in result.stdout
    await eventually(lambda: inbox_count(admin, "reporting", good["source"], good["id"]))


async def test_a_service_killed_mid_stream_resumes_from_its_committed_offset(
    platform: Platform, admin: asyncpg.Connection, tmp_path: Path
) -> None:
    events = [envelope("org.branch_registered", fresh_branch()) for _ in range(600)]
    source = events[0]["source"]
    ids = [e["id"] for e in events]

    async def grading_has() -> int:
        return int(
            await admin.fetchval(
                "SELECT count(*) FROM grading.inbox WHERE source = $1 AND event_id = ANY($2)",
                source,
                ids,
            )
        )

    assert publish_with_tool(events[:300], tmp_path).returncode == 0
    await eventually(grading_has)  # consuming has begun
    platform.services["grading"].kill()
    assert publish_with_tool(events[300:], tmp_path).returncode == 0
    platform.services["grading"].start()
    platform.services["grading"].wait_healthy()

    async def all_applied() -> bool:
        return await grading_has() == 600

    await eventually(all_applied, within=60)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_role_reaches_only_its_own_schema(service: str) -> None:
    conn = await asyncpg.connect(env(f"{service.upper()}_DATABASE_URL"))
    try:
        assert await conn.fetchval(f"SELECT count(*) >= 0 FROM {service}.inbox")
        for other in SERVICES:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {other}.inbox LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
        assert not await conn.fetchval(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb"
            " FROM pg_roles WHERE rolname = current_user"
        )
    finally:
        await conn.close()
