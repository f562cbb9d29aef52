"""Two replicas of a service share its partitions, and a replica joining or leaving while
events stream in loses none and applies none twice: each replica reads its next batch while
the previous one is in its transaction, and hands a partition over only after the batch in
flight committed (plumbing/pipeline.py)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from grassroots.contract.examples import envelope
from tests.harness import (
    REPO,
    TEST_PORTS,
    Platform,
    ServiceProcess,
    eventually,
    publish_with_tool,
)

pytestmark = pytest.mark.usefixtures("platform")

PER_PART = 1500
SECOND_REPLICA_PORT = TEST_PORTS["intake"] + 5


def registrations(county: str, token: str, start: int, count: int) -> list[dict[str, Any]]:
    return [
        envelope(
            "org.branch_registered",
            {
                "branch_id": f"{county}-{token}-{n:05d}",
                "name": f"第{n}党支部",
                "kind": "branch",
                "parent_id": None,
                "unit": f"第{n}学校",
                "township": "城关街道",
                "secretary": {"name": "王建国", "email": f"b{n}@example.org"},
                "member_count": 12,
            },
            county=county,
        )
        for n in range(start, start + count)
    ]


def consumed(url: str, outcome: str) -> float:
    """The replica's count of registrations consumed with this outcome (its /metrics)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    pattern = (
        rf'grassroots_events_consumed_total\{{outcome="{outcome}",service="grading",'
        r'type="org.branch_registered"\} ([0-9.e+]+)'
    )
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


async def test_a_replica_joining_and_leaving_loses_nothing_and_reads_nothing_twice(
    platform: Platform, admin: asyncpg.Connection, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex[:6]
    county = f"8{int(token, 16) % 100000:05d}"
    first = platform.services["grading"]
    second = ServiceProcess(
        "grading",
        SECOND_REPLICA_PORT,
        REPO / ".local" / "logs" / "tests" / "grading-1",
        {**first.extra_env, "GRASSROOTS_CONSUMER_INSTANCE_ID": "grading-1"},
    )
    second.log_dir.mkdir(parents=True, exist_ok=True)
    duplicates_before = consumed(first.url, "duplicate")
    publish_with_tool(registrations(county, token, 0, PER_PART), tmp_path)
    second.start()
    try:
        # The second replica joins while the first applies: partitions move between them.
        publish_with_tool(registrations(county, token, PER_PART, PER_PART), tmp_path)
        second.wait_healthy()
        publish_with_tool(registrations(county, token, 2 * PER_PART, PER_PART), tmp_path)

        def second_applied_some() -> float | None:
            return consumed(second.url, "applied") or None

        await eventually(second_applied_some, within=60)
        assert consumed(second.url, "duplicate") == 0
    finally:
        second.stop()  # leaves while events stream in: its partitions go back to the first
    publish_with_tool(registrations(county, token, 3 * PER_PART, PER_PART), tmp_path)

    async def all_in_the_inbox() -> int | None:
        rows: int = await admin.fetchval(
            "SELECT count(*) FROM grading.inbox WHERE subject LIKE $1", f"{county}-{token}-%"
        )
        return rows if rows == 4 * PER_PART else None

    await eventually(all_in_the_inbox, within=120)
    # Each partition was handed over only after its batch in flight was committed, with its
    # offsets: the replica taking it over read none of it again.
    assert consumed(first.url, "duplicate") == duplicates_before
