"""A province campaign: N branches (counties of 1,000) through all four phases, published as
fast as the broker takes them, on all four services. Wall time until every result is in and
every service has caught up; peak resident memory (VmHWM) of each service.

The services' clock follows the campaign: it is moved (GRASSROOTS_CLOCK_FILE) to each phase's
opening, and within rectification to the day after commitments were due, to the first of June
and to the close — each time only once rectification has applied everything published before,
so that its sweeps name missing commitments and overdue tasks as they would have on that day;
publishing goes on once a sweep that started after the move has finished.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.infra import Infra
from bench.ingest import definition
from bench.kafka import HEADERS, Watcher, create_topics, producer, serialise
from bench.procs import CpuMeter, Service, platform_processes
from bench.profiling import Profiler
from grassroots.contract import EVENTS
from grassroots.contract.common import Phase
from grassroots.simulation import CampaignSimulation

SERVICES = ("grading", "rectification", "notification", "reporting")
PROCESSES = ("grading", "rectification", "notification", "notification-deliver", "reporting")
CST = dt.timezone(dt.timedelta(hours=8))
SWEEP_SECONDS = 5.0
PROFILE_HZ = 20
RECTIFICATION_TOPICS = ("campaign.lifecycle", "org.branches", "rectification.inputs")


@dataclass
class Progress:
    elapsed: float
    published: int
    phase: str
    remaining: dict[str, int] = field(default_factory=dict)


@dataclass
class CampaignRun:
    branches: int
    counties: int
    events: int = 0
    published_seconds: float = 0.0
    wall_seconds: float | None = None
    box_seconds: float = 0.0
    complete: bool = False
    timeline: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)  # input records per topic
    published: dict[str, int] = field(default_factory=dict)
    projection: dict[str, Any] = field(default_factory=dict)


def _gates(year: int) -> list[dt.date]:
    """Days within rectification the clock stops at (commitments due + 1, June, the close)."""
    return [dt.date(year, 5, 2), dt.date(year, 6, 1)]


async def _state(admin_dsn: str, counties: int) -> dict[str, Any]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rounds = await conn.fetchval(
            "SELECT count(*) FROM grading.rounds WHERE status = 'computed'"
        )
        settled = await conn.fetchval(
            "SELECT count(*) FROM rectification.campaigns WHERE settlement = 'settled'"
        )
        unsent = {}
        for service in SERVICES:
            unsent[service] = await conn.fetchval(
                f"SELECT count(*) FROM {service}.outbox WHERE sent_at IS NULL"
            )
        summary = {
            "rounds_computed": rounds,
            "rounds_expected": 2 * counties,
            "campaigns_settled": settled,
            "outbox_unsent": unsent,
        }
        cards = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE final_level IS NOT NULL) AS final_graded,"
            " count(*) FILTER (WHERE commitment_missing) AS commitment_missing,"
            " count(*) FILTER (WHERE settled_rate IS NOT NULL) AS settled"
            " FROM reporting.cards"
        )
        summary["reporting_cards"] = dict(cards) if cards else {}
        summary["reporting_overdue_tasks"] = await conn.fetchval(
            "SELECT count(*) FROM reporting.tasks WHERE overdue"
        )
        return summary
    except asyncpg.PostgresError as error:
        return {"error": str(error)}
    finally:
        await conn.close()


async def run_campaign(
    infra: Infra,
    *,
    seed: int,
    branches: int,
    box: float,
    log_dir: Path,
    profiler: Profiler | None = None,
) -> CampaignRun:
    counties = max(1, branches // 1000)
    per_county = max(1, branches // counties)
    run = CampaignRun(branches=counties * per_county, counties=counties, box_seconds=box)
    infra.reset()
    env = infra.environment()
    bootstrap = env["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"]
    admin = env["GRASSROOTS_ADMIN_DSN"]
    await create_topics(bootstrap)
    clock = log_dir / "clock-campaign"
    clock.parent.mkdir(parents=True, exist_ok=True)
    simulation = CampaignSimulation(seed=seed, counties=counties, branches=per_county)
    year = simulation.year

    def set_clock(day: dt.date) -> None:
        clock.write_text(dt.datetime.combine(day, dt.time(0, 0), tzinfo=CST).isoformat())

    set_clock(dt.date(year, 3, 1))
    run.expected = dict(
        Counter(
            EVENTS[kind].topic
            for _, _, kind, _ in simulation.actions(until=Phase.ASSESSMENT, close_last=True)
        )
    )
    extra = {
        "GRASSROOTS_CLOCK_FILE": str(clock),
        "GRASSROOTS_SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
    }
    services = platform_processes(env, log_dir, extra)
    rectification = next(s for s in services if s.name == "rectification")
    for service in services:
        service.start()
    topics = {name: tuple(definition(name).topics) for name in SERVICES}
    meter = CpuMeter(lambda: {s.label: [s.pid] for s in services} | infra.pids())
    try:
        for service in services:
            await asyncio.to_thread(service.wait_healthy)
            if profiler is not None:
                # 20 Hz: four profilers at 100 Hz would take a sizeable share of two cores
                profiler.start(f"campaign-{service.label}", service.pid, rate=PROFILE_HZ)
        async with Watcher(bootstrap) as watcher:
            started = time.perf_counter()
            meter.start()
            deadline = started + box
            out = producer(bootstrap)
            await out.start()
            pending: list[asyncio.Future[Any]] = []
            phase = "registrations"
            gates = _gates(year)
            sampler = asyncio.create_task(
                _sample(watcher, services, topics, run, started, lambda: phase)
            )

            async def gate(day: dt.date, reason: str) -> bool:
                """Wait until rectification applied everything published; move the clock."""
                await asyncio.gather(*pending)
                pending.clear()
                ends = await watcher.ends(RECTIFICATION_TOPICS)
                waited = await watcher.wait_caught_up(
                    "rectification", ends, within=max(0.0, deadline - time.perf_counter())
                )
                moved = time.time()
                set_clock(day)
                run.gates.append(
                    {
                        "day": day.isoformat(),
                        "why": reason,
                        "at_seconds": round(time.perf_counter() - started, 1),
                        "waited_seconds": None if waited is None else round(waited, 1),
                    }
                )
                if waited is None:
                    return False
                return await _swept_since(rectification, moved, deadline)

            try:
                closing: set[str] = set()
                for event in simulation.events(until=Phase.ASSESSMENT, close_last=True):
                    day = dt.date.fromisoformat(event["time"][:10])
                    kind = event["type"]
                    if kind == "campaign.phase_opened" and event["data"]["phase"] != phase:
                        phase = event["data"]["phase"]
                        set_clock(day)
                    while gates and day >= gates[0] and phase == "rectification":
                        if not await gate(gates.pop(0), "rectification day"):
                            raise TimeoutError
                    if kind == "campaign.phase_closed" and phase not in closing:
                        closing.add(phase)
                        if phase == "rectification" and not await gate(day, "rectification close"):
                            raise TimeoutError
                        set_clock(day)
                    record = serialise([event])[0]
                    pending.append(
                        await out.send(
                            record.topic, value=record.value, key=record.key, headers=HEADERS
                        )
                    )
                    run.events += 1
                    run.published[record.topic] = run.published.get(record.topic, 0) + 1
                    if len(pending) >= 10_000:
                        await asyncio.gather(*pending)
                        pending.clear()
                    if time.perf_counter() > deadline:
                        raise TimeoutError
                await asyncio.gather(*pending)
                run.published_seconds = time.perf_counter() - started
                phase = "finishing"
                while time.perf_counter() < deadline:
                    state = await _state(admin, counties)
                    backlog = await _backlog(watcher, topics)
                    if (
                        state.get("rounds_computed") == 2 * counties
                        and state.get("campaigns_settled") == counties
                        and not any(state.get("outbox_unsent", {"x": 1}).values())
                        and sum(backlog.values()) == 0
                    ):
                        run.wall_seconds = time.perf_counter() - started
                        run.complete = True
                        break
                    await asyncio.sleep(1.0)
            except TimeoutError:
                pass
            finally:
                run.cpu = meter.stop()
                sampler.cancel()
                await out.stop()
            if not run.complete:
                run.wall_seconds = None
            run.final = {
                "elapsed_seconds": round(time.perf_counter() - started, 1),
                "phase_published": phase,
                "published_events": run.events,
                "remaining_records": await _backlog(watcher, topics),
                "state": await _state(admin, counties),
            }
            if not run.complete:
                run.projection = await _projection(
                    watcher, topics, run, time.perf_counter() - started
                )
    finally:
        for service in services:
            if profiler is not None:
                profiler.stop(f"campaign-{service.label}")
            service.sample()
            service.stop()
        run.peak_rss_mb = {s.label: round(s.peak_mb, 1) for s in services}
    return run


SWEEP_RUN = re.compile(
    r'grassroots_job_last_success_started_seconds\{job="sweep",service="rectification"\} (\S+)'
)


async def _swept_since(rectification: Service, moved: float, deadline: float) -> bool:
    """Wait until a whole sweep of rectification started after the clock moved (its metric):
    the day's missing commitments and overdue tasks are named then."""
    async with httpx.AsyncClient(base_url=rectification.url) as client:
        while time.perf_counter() < deadline:
            found = SWEEP_RUN.search((await client.get("/metrics")).text)
            if found and float(found.group(1)) >= moved:
                return True
            await asyncio.sleep(0.1)
    return False


async def _projection(
    watcher: Watcher, topics: dict[str, tuple[str, ...]], run: CampaignRun, elapsed: float
) -> dict[str, Any]:
    """At the rate each service consumed so far, how long it would need for all its input
    records (the results other services would still emit not counted: a lower bound)."""
    found: dict[str, Any] = {}
    for name, own in topics.items():
        ends = await watcher.ends(own)
        done = sum((await watcher.committed(name, own)).values())
        unpublished = sum(
            max(0, run.expected.get(topic, 0) - run.published.get(topic, 0)) for topic in own
        )
        total = sum(ends.values()) + unpublished
        rate = done / elapsed if elapsed else 0.0
        found[name] = {
            "consumed": done,
            "to_consume_at_least": total,
            "events_per_second": round(rate, 1),
            "projected_seconds": round(total / rate, 0) if rate else None,
        }
    return found


async def _backlog(watcher: Watcher, topics: dict[str, tuple[str, ...]]) -> dict[str, int]:
    found = {}
    for name, own in topics.items():
        found[name] = await watcher.remaining(name, await watcher.ends(own))
    return found


async def _sample(
    watcher: Watcher,
    services: list[Service],
    topics: dict[str, tuple[str, ...]],
    run: CampaignRun,
    started: float,
    phase: Any,
) -> None:
    """Every 10 s: what each service still has to consume, and its resident memory."""
    while True:
        await asyncio.sleep(10)
        for service in services:
            service.sample()
        try:
            backlog = await _backlog(watcher, topics)
        except Exception:  # a sample is best effort
            continue
        run.timeline.append(
            {
                "seconds": round(time.perf_counter() - started, 1),
                "published": run.events,
                "phase": phase(),
                "remaining": backlog,
                "rss_mb": {s.label: round(s.peak_mb, 1) for s in services},
            }
        )
