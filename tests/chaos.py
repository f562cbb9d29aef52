"""Fault injection with a checker: a seeded campaign is published at a steady rate while, one at
a time and at random moments, a service is SIGKILLed and restarted, the broker is killed and
restarted, or PostgreSQL stops in immediate mode and restarts. Then every effect is compared
with what was published: nothing may be lost, nothing doubled.

    uv run python -m tests.chaos --faults 24     # `make chaos`: the long run, prints the table
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import random
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from grassroots.contract import EVENTS
from grassroots.contract.common import Phase
from grassroots.plumbing.kafka import auth_options
from grassroots.simulation import CampaignSimulation
from tests.harness import CONSUMERS, REPO, Platform, TopicWatcher, admin_connection, bootstrap

# What each service consumes, from its definition (written once, in its app.py).
CONSUMES = {
    name: set(importlib.import_module(f"{name}.app").DEFINITION.topics) for name in CONSUMERS
}
# What each handles: those events, and only those for sure, are in its inbox (a type it has no
# handler for is passed by unread on a topic whose dead letters another service keeps).
HANDLES = {
    name: {
        event_type
        for event_type in EVENTS
        if importlib.import_module(f"{name}.app").DEFINITION.handlers.get(event_type) is not None
    }
    for name in CONSUMERS
}
FAULT_KINDS = [*(f"kill {name}" for name in CONSUMERS), "crash kafka", "crash postgres"]
RESULT_TOPICS = ("grading.results", "rectification.results")


@dataclass
class Fault:
    kind: str
    at_seconds: float
    recovery_seconds: float = 0.0


@dataclass
class ChaosReport:
    published: int = 0
    faults: list[Fault] = field(default_factory=list)
    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)

    def table(self) -> str:
        lines = ["| what | checked | lost | duplicated |", "|---|---:|---:|---:|"]
        for name in self.checked:
            lines.append(
                f"| {name} | {self.checked[name]} | {self.lost.get(name, 0)} "
                f"| {self.duplicated.get(name, 0)} |"
            )
        lines.append(
            f"\n{len(self.faults)} faults injected while {self.published} events were published:\n"
        )
        lines.append("| # | fault | at (s) | recovered in (s) |")
        lines.append("|---:|---|---:|---:|")
        for number, fault in enumerate(self.faults, start=1):
            lines.append(
                f"| {number} | {fault.kind} | {fault.at_seconds:.1f} "
                f"| {fault.recovery_seconds:.1f} |"
            )
        return "\n".join(lines)


def infra(*args: str) -> None:
    subprocess.run(
        [str(REPO / "deploy/infra.sh"), *args], check=True, capture_output=True, timeout=180
    )


async def all_healthy(platform: Platform, within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        for service in platform.services.values():
            while True:
                try:
                    if (await client.get(f"{service.url}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service.name} not healthy after a fault")
                await asyncio.sleep(0.2)


async def inject(platform: Platform, kind: str) -> float:
    """Apply one fault and wait until everything is healthy again; return the recovery time."""
    started = time.monotonic()
    if kind.startswith("kill "):
        service = platform.services[kind.removeprefix("kill ")]
        await asyncio.to_thread(service.kill)
        service.start()
    else:
        component = kind.removeprefix("crash ")
        await asyncio.to_thread(infra, "crash", component)
        await asyncio.to_thread(infra, "up")
    await all_healthy(platform)
    return time.monotonic() - started


async def publish_steadily(events: list[dict[str, Any]], seconds: float) -> None:
    """Publish in order at a steady rate; a send the broker did not acknowledge is re-sent
    (the same event id: consumers de-duplicate), as a county system would."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap(),
        **auth_options(),
        enable_idempotence=True,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )
    await producer.start()
    interval = seconds / max(1, len(events))
    try:
        for event in events:
            raw = json.dumps(event, ensure_ascii=False).encode()
            topic = EVENTS[event["type"]].topic
            deadline = time.monotonic() + 180
            while True:
                try:
                    await producer.send_and_wait(
                        topic,
                        raw,
                        key=event["subject"].encode(),
                        headers=[("content-type", b"application/cloudevents+json")],
                    )
                    break
                except KafkaError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)
            await asyncio.sleep(interval)
    finally:
        await producer.stop()


async def run(
    platform: Platform, *, faults: int, seed: int, branches: int, seconds: float
) -> ChaosReport:
    rng = random.Random(seed)
    county = f"7{rng.randrange(100000):05d}"
    simulation = CampaignSimulation(
        seed=seed, county=county, branches=branches, campaign_id=f"chaos-{uuid.uuid4().hex[:8]}"
    )
    events = list(simulation.events(until=Phase.ASSESSMENT, close_last=True))
    report = ChaosReport(published=len(events))
    kinds = [FAULT_KINDS[i % len(FAULT_KINDS)] for i in range(faults)]
    rng.shuffle(kinds)
    watchers = {topic: TopicWatcher(topic) for topic in RESULT_TOPICS}
    for watcher in watchers.values():
        await watcher.__aenter__()
    try:
        started = time.monotonic()
        publishing = asyncio.create_task(publish_steadily(events, seconds))
        for kind in kinds:  # one at a time, at random moments while publishing goes on
            await asyncio.sleep(rng.uniform(0.5, 2.0 * seconds / max(1, faults)))
            fault = Fault(kind, time.monotonic() - started)
            fault.recovery_seconds = await inject(platform, kind)
            report.faults.append(fault)
        await publishing
        await check(report, simulation, events, watchers)
    finally:
        for watcher in watchers.values():
            await watcher.__aexit__(None, None, None)
    return report


async def until_settled(simulation: CampaignSimulation, watchers: dict[str, TopicWatcher]) -> None:
    """Wait (up to 3 min) for the last effects the checker counts — every branch's two results
    and settlement — so that it judges the end state, not a moment on the way there."""
    campaign, branches = simulation.campaign_id, len(simulation.branches)

    def of(kind: str) -> Any:
        def matches(record: Any) -> bool:
            event = json.loads(record.value)
            return bool(event.get("campaignid") == campaign and event["type"] == kind)

        return matches

    for topic, kind, count in (
        ("grading.results", "grading.results_published", 2),
        ("rectification.results", "rectification.branch_settled", branches),
    ):
        with contextlib.suppress(TimeoutError):  # what is missing then is counted as lost
            await watchers[topic].wait_for(of(kind), count=count, within=180)


async def check(
    report: ChaosReport,
    simulation: CampaignSimulation,
    events: list[dict[str, Any]],
    watchers: dict[str, TopicWatcher],
) -> None:
    branch_ids = {b.branch_id for b in simulation.branches}
    source = events[0]["source"]
    admin = await admin_connection()
    try:
        # 1. Every event each service handles is in its inbox, once (settles within 3 min).
        for service in CONSUMERS:
            expected = {e["id"] for e in events if e["type"] in HANDLES[service]}
            present = await _until_complete(admin, service, source, expected)
            report.checked[f"{service} inbox"] = len(expected)
            report.lost[f"{service} inbox"] = len(expected - present)
        # The end state, not a moment on the way there: wait for the last effects counted.
        await until_settled(simulation, watchers)
        # 2. One grading result per branch and round, one results_published per round.
        # 3. One settlement per branch; every rectification fact once.
        expectations = {
            "grading.results": 2 * len(branch_ids) + 2,
            "rectification.results": len(branch_ids),
        }
        for topic, watcher in watchers.items():
            campaign = simulation.campaign_id

            def ours(record: Any, c: str = campaign) -> bool:
                return bool(json.loads(record.value).get("campaignid") == c)

            minimum = expectations[topic]
            with contextlib.suppress(TimeoutError):
                await watcher.wait_for(ours, count=minimum, within=180)
            await watcher.drain()
            mine = [json.loads(r.value) for r in watcher.seen if ours(r)]
            ids = Counter(event["id"] for event in mine)
            report.duplicated[topic] = sum(n - 1 for n in ids.values())
            if topic == "grading.results":
                per_round = Counter(
                    (e["data"].get("branch_id"), e["data"]["round"])
                    for e in mine
                    if e["type"] != "grading.results_published"
                )
                report.checked[topic] = 2 * len(branch_ids)
                report.lost[topic] = sum(
                    1 for b in branch_ids for r in ("initial", "final") if per_round[(b, r)] == 0
                )
                report.duplicated[topic] += sum(n - 1 for n in per_round.values() if n > 1)
            else:
                settled = Counter(
                    e["data"]["branch_id"]
                    for e in mine
                    if e["type"] == "rectification.branch_settled"
                )
                report.checked[topic] = len(branch_ids)
                report.lost[topic] = sum(1 for b in branch_ids if settled[b] == 0)
                report.duplicated[topic] += sum(n - 1 for n in settled.values() if n > 1)
        # 4. The reporting totals agree with what grading published.
        report.checked["reporting totals"] = 1
        report.lost["reporting totals"] = int(
            not await _reporting_agrees(
                admin, simulation.campaign_id, len(branch_ids), watchers["grading.results"]
            )
        )
    finally:
        await admin.close()


async def _until_complete(
    admin: asyncpg.Connection, service: str, source: str, expected: set[str], within: float = 180
) -> set[str]:
    deadline = time.monotonic() + within
    while True:
        rows = await admin.fetch(
            f"SELECT event_id FROM {service}.inbox WHERE source = $1 AND event_id = ANY($2)",
            source,
            list(expected),
        )
        present = {row["event_id"] for row in rows}
        if present >= expected or time.monotonic() > deadline:
            return present
        await asyncio.sleep(0.5)


async def _reporting_agrees(
    admin: asyncpg.Connection,
    campaign_id: str,
    branches: int,
    grading: TopicWatcher,
    within: float = 60,
) -> bool:
    published = [json.loads(r.value) for r in grading.seen]
    levels = Counter(
        f"level:{e['data']['round']}:{e['data']['level']}"
        for e in published
        if e.get("campaignid") == campaign_id and e["type"] == "grading.branch_graded"
    )
    deadline = time.monotonic() + within
    while True:
        rows = await admin.fetch(
            "SELECT name, value FROM reporting.counters"
            " WHERE campaign_id = $1 AND name LIKE 'level:%'",
            campaign_id,
        )
        counters = {row["name"]: row["value"] for row in rows if row["value"]}
        if counters == dict(levels) or time.monotonic() > deadline:
            return counters == dict(levels)
        await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faults", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--branches", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=150)
    args = parser.parse_args()
    platform = Platform(REPO / ".local" / "logs" / "chaos")
    platform.start()
    try:
        report = asyncio.run(
            run(
                platform,
                faults=args.faults,
                seed=args.seed,
                branches=args.branches,
                seconds=args.seconds,
            )
        )
    finally:
        platform.stop()
    print(report.table())
    if any(report.lost.values()) or any(report.duplicated.values()):
        raise SystemExit("lost or duplicated effects: see the table")


if __name__ == "__main__":
    main()
