"""End-to-end latency under a steady offered load: from an input published to its effect
visible in the reporting API, with all four services running.

The load is a realistic mix (the initial round's grading inputs interleaved with the
rectification phase: problems, commitments, reviews, progress, completions) published open
loop at a fixed rate. Among it, probes: `assessment.branch_reviewed` of one probe branch whose
score encodes a sequence number; they share a partition, so when the card's
`assessment_score` shows probe n, probes 1…n are visible. One client polls the card.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.infra import REPO, Infra
from bench.kafka import HEADERS, Record, Watcher, create_topics, producer, publish, serialise
from bench.procs import CpuMeter, Service, consuming, platform_processes
from grassroots.contract.common import Phase
from grassroots.simulation import CampaignSimulation, paced

SERVICES = ("grading", "rectification", "notification", "reporting")
PROBES_PER_SECOND = 20
POLL_SECONDS = 0.02
CST = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Level:
    rate: int
    seconds: float
    published: int = 0
    achieved_rate: float = 0.0
    probes: list[float] = field(default_factory=list)  # publish times
    seen: dict[int, float] = field(default_factory=dict)  # probe index → first seen
    backlog_at_end: int = 0
    drained_seconds: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    consumed_per_second: dict[str, float] = field(default_factory=dict)

    def latencies(self) -> list[float]:
        return sorted(self.seen[i] - t for i, t in enumerate(self.probes) if i in self.seen)

    def summary(self, cap: float) -> dict[str, Any]:
        values = self.latencies()
        missing = len(self.probes) - len(values)
        # Probes not visible within the wait count as the wait: percentiles are then a floor.
        padded = values + [cap] * missing

        def pct(p: float) -> float | None:
            if not padded:
                return None
            return round(padded[min(len(padded) - 1, int(len(padded) * p))] * 1000, 1)

        return {
            "offered_events_per_second": self.rate,
            "seconds": self.seconds,
            "published": self.published,
            "achieved_events_per_second": round(self.achieved_rate, 1),
            "probes": len(self.probes),
            "probes_not_visible": missing,
            "wait_seconds": cap,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": pct(1.0),
            "backlog_at_end": self.backlog_at_end,
            "drained_seconds": None
            if self.drained_seconds is None
            else round(self.drained_seconds, 1),
            "cpu_cores": {k: round(v, 2) for k, v in self.cpu.items()},
            "consumed_per_second": {k: round(v, 1) for k, v in self.consumed_per_second.items()},
        }


def _interleave(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Both lists in their own order, spread evenly through each other."""
    keyed = [(i / len(a), 0, i) for i in range(len(a))] + [
        (j / len(b), 1, j) for j in range(len(b))
    ]
    keyed.sort()
    return [a[i] if which == 0 else b[i] for _, which, i in keyed]


def streams(seed: int, branches: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(setup: registrations, launches, phases opened; load: the mix), survey kept open."""
    counties = max(1, branches // 1000)
    simulation = CampaignSimulation(seed=seed, counties=counties, branches=branches // counties)
    setup: list[dict[str, Any]] = []
    grading: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for event in simulation.events(until=Phase.RECTIFICATION, close_last=False):
        kind = event["type"]
        if kind == "campaign.phase_closed":
            continue  # the initial round stays open: its inputs are applied, not late
        if kind.startswith(("org.", "campaign.")):
            setup.append(event)
        elif kind.startswith("grading."):
            grading.append(event)
        else:
            rest.append(event)
    return setup, _interleave(grading, rest)


def probe_branch(county: str) -> dict[str, Any]:
    branch = f"{county}-edu-probe"
    return {
        "specversion": "1.0",
        "id": f"probe-registration-{branch}",
        "source": f"/counties/{county}/edu-office",
        "type": "org.branch_registered",
        "time": dt.datetime(2012, 3, 1, 9, tzinfo=CST).isoformat(),
        "subject": branch,
        "countycode": county,
        "datacontenttype": "application/json",
        "data": {
            "branch_id": branch,
            "name": "基准测试探针党支部",
            "kind": "branch",
            "unit": "基准测试",
            "secretary": {"name": "探针"},
            "member_count": 1,
        },
    }


def probe(county: str, campaign: str, number: int) -> Record:
    branch = f"{county}-edu-probe"
    event = {
        "specversion": "1.0",
        "id": f"probe-{number}",
        "source": "/bench/probe",
        "type": "assessment.branch_reviewed",
        "time": dt.datetime(2012, 9, 5, 9, tzinfo=CST).isoformat(),
        "subject": branch,
        "countycode": county,
        "campaignid": campaign,
        "datacontenttype": "application/json",
        "data": {
            "branch_id": branch,
            "score": number / 1000,
            "process_solid": True,
            "problems_solved": True,
            "advance_visible": True,
        },
    }
    return serialise([event])[0]


def create_token(env: dict[str, str], county: str) -> str:
    command = ["token", "create", "--county", county, "--label", "bench"]
    result = subprocess.run(
        [sys.executable, "-m", "reporting.cli", *command],
        env={**os.environ, **env, "GRASSROOTS_DATABASE_URL": env["REPORTING_DATABASE_URL"]},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


async def run_levels(
    infra: Infra,
    *,
    seed: int,
    rates: list[int],
    seconds: float,
    wait: float,
    log_dir: Path,
) -> dict[str, Any]:
    infra.reset()
    env = infra.environment()
    bootstrap = env["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"]
    await create_topics(bootstrap)
    needed = sum(int(rate * seconds * 1.05) for rate in rates) + 1000
    setup, load = streams(seed, branches=max(1000, needed // 14))
    county, campaign = setup[0]["countycode"], setup[0]["data"]["branch_id"]
    campaign = next(e["campaignid"] for e in setup if e["type"] == "campaign.launched")
    clock = log_dir / "clock-latency"
    clock.parent.mkdir(parents=True, exist_ok=True)
    clock.write_text(dt.datetime(2012, 4, 16, tzinfo=CST).isoformat())
    services = platform_processes(env, log_dir, {"GRASSROOTS_CLOCK_FILE": str(clock)})
    for service in services:
        service.start()
    levels: list[Level] = []
    try:
        for service in services:
            await asyncio.to_thread(service.wait_healthy)
        token = await asyncio.to_thread(create_token, env, county)
        setup_seconds = await publish(bootstrap, serialise([*setup, probe_branch(county)]))
        async with Watcher(bootstrap) as watcher:
            await _drain(watcher, services, within=300)
            meter = CpuMeter(lambda: {s.label: [s.pid] for s in services} | infra.pids())
            position = 0
            number = 0
            async with httpx.AsyncClient(
                base_url=services[-1].url, headers={"Authorization": f"Bearer {token}"}
            ) as client:
                card = f"/v1/campaigns/{campaign}/branches/{county}-edu-probe"
                for rate in rates:
                    level = Level(rate, seconds)
                    count = int((rate - PROBES_PER_SECOND) * seconds)
                    chunk = serialise(load[position : position + count])
                    position += count
                    meter.start()
                    before = await _consumed(watcher, services)
                    started = time.perf_counter()

                    async def mark(
                        level: Level = level,
                        before: dict[str, int] = before,
                        started: float = started,
                    ) -> None:
                        after = await _consumed(watcher, services)
                        took = time.perf_counter() - started
                        level.consumed_per_second = {
                            name: (after[name] - before[name]) / took for name in after
                        }

                    number = await _level(
                        bootstrap, client, card, chunk, level, county, campaign, number, wait, mark
                    )
                    level.cpu = meter.stop()
                    level.backlog_at_end = await _backlog(watcher, services)
                    level.drained_seconds = await _drain(watcher, services, within=wait * 3)
                    levels.append(level)
                    for service in services:
                        service.sample()
    finally:
        for service in services:
            service.stop()
    return {
        "branches": len([e for e in setup if e["type"] == "org.branch_registered"]),
        "setup_seconds": round(setup_seconds, 2),
        "levels": [level.summary(wait) for level in levels],
        "peak_rss_mb": {s.label: round(s.peak_mb, 1) for s in services},
    }


async def _level(
    bootstrap: str,
    client: httpx.AsyncClient,
    card: str,
    records: list[Record],
    level: Level,
    county: str,
    campaign: str,
    number: int,
    wait: float,
    mark: Callable[[], Awaitable[None]],
) -> int:
    out = producer(bootstrap)
    await out.start()
    first = number + 1
    seen_up_to = number

    async def load() -> None:
        started = time.perf_counter()
        async for chunk in paced(records, level.rate - PROBES_PER_SECOND):
            for record in chunk:
                await out.send(record.topic, value=record.value, key=record.key, headers=HEADERS)
            level.published += len(chunk)
        level.achieved_rate = (level.published + len(level.probes)) / max(
            1e-9, time.perf_counter() - started
        )

    async def probes() -> None:
        nonlocal number
        async for chunk in paced(range(int(PROBES_PER_SECOND * level.seconds)), PROBES_PER_SECOND):
            for _ in chunk:
                number += 1
                record = probe(county, campaign, number)
                level.probes.append(time.perf_counter())
                await out.send(record.topic, value=record.value, key=record.key, headers=HEADERS)

    async def poll() -> None:
        nonlocal seen_up_to
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError, TypeError):
                response = await client.get(card)
                if response.status_code == 200:
                    score = response.json().get("assessment_score")
                    latest = round(float(score) * 1000) if score is not None else 0
                    now = time.perf_counter()
                    for n in range(max(seen_up_to, first - 1) + 1, latest + 1):
                        level.seen[n - first] = now
                    seen_up_to = max(seen_up_to, latest)
            await asyncio.sleep(POLL_SECONDS)

    poller = asyncio.create_task(poll())
    try:
        await asyncio.gather(load(), probes())
        await out.flush()
        await mark()
        deadline = time.perf_counter() + wait
        while seen_up_to < number and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        await out.stop()
    return number


async def _groups(watcher: Watcher, services: list[Service]) -> dict[str, Any]:
    from bench.ingest import definition

    return {s.name: await watcher.ends(definition(s.name).topics) for s in consuming(services)}


async def _consumed(watcher: Watcher, services: list[Service]) -> dict[str, int]:
    from bench.ingest import definition

    found = {}
    for s in consuming(services):
        committed = await watcher.committed(s.name, definition(s.name).topics)
        found[s.name] = sum(max(0, v) for v in committed.values())
    return found


async def _backlog(watcher: Watcher, services: list[Service]) -> int:
    ends = await _groups(watcher, services)
    return sum([await watcher.remaining(name, e) for name, e in ends.items()])


async def _drain(watcher: Watcher, services: list[Service], *, within: float) -> float | None:
    """Seconds until every service has caught up with everything on its topics."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        if await _backlog(watcher, services) == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    return None


def dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)
