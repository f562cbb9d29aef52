"""Broker failover with a checker: the four services run on the three-broker cluster of
deploy/cluster.sh (SASL_SSL, SCRAM-SHA-512, 3 replicas, min.insync.replicas=2) while a seeded
campaign is published at a steady rate; meanwhile the broker leading the most partitions is
SIGKILLed and brought back, then another one, then one is paused (SIGSTOP) for 30 s — several
rounds. Then every effect is compared with what was published (the checks of tests/chaos.py):
nothing lost, nothing doubled, every round and settlement once. Measured per fault: how long
until every partition it led had a new leader, the longest stall of publishing, and how long
until every replica was back in sync after it returned.

    uv run python -m tests.failover --rounds 3      # `make failover`: the full run, its tables

It starts the cluster (and leaves it as it found it: stopped if it was stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest

from grassroots.contract import ALL_TOPICS, EVENTS
from grassroots.contract.common import Phase
from grassroots.plumbing.kafka import auth_options, make_admin
from grassroots.simulation import CampaignSimulation
from tests.chaos import RESULT_TOPICS, ChaosReport, check
from tests.harness import REPO, TEST_PORTS, Platform, TopicWatcher, bootstrap

CLUSTER = REPO / "deploy" / "cluster.sh"
BROKERS = (1, 2, 3)
# Off the test ports of the services on the single broker (those may be running meanwhile).
PORT_OFFSET = 20
WATCHED_TOPICS = [*ALL_TOPICS, "__consumer_offsets"]


class ClusterError(RuntimeError):
    """The cluster could not be started or driven: the reason is in the message."""


def cluster(*args: str, timeout: float = 240) -> str:
    """Run deploy/cluster.sh; its output, or ClusterError with what it said."""
    done = subprocess.run(
        [str(CLUSTER), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    if done.returncode != 0:
        raise ClusterError(f"deploy/cluster.sh {' '.join(args)}: {done.stderr or done.stdout}")
    return done.stdout


def cluster_environment() -> dict[str, str]:
    """What deploy/cluster-env.sh sets or changes (sourced on top of this environment)."""
    done = subprocess.run(
        ["bash", "-c", ". deploy/cluster-env.sh && env -0"],
        capture_output=True,
        cwd=REPO,
        check=True,
        timeout=30,
    )
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    shell = {"_", "SHLVL", "PWD", "OLDPWD"}
    return {k: v for k, v in pairs if k not in shell and os.environ.get(k) != v}


def cluster_running() -> bool:
    return subprocess.run([str(CLUSTER), "status"], capture_output=True, cwd=REPO).returncode == 0


_TEST_SESSION: dict[str, bool] = {}


def cluster_for_tests(config: Any) -> dict[str, str]:
    """For pytest: the cluster up (once per session; stopped at its end unless it was already
    running) and its environment. A cluster that cannot start is an error with its reason,
    never a skip."""
    if "started" not in _TEST_SESSION:
        was_running = cluster_running()
        cluster("up")
        _TEST_SESSION["started"] = True
        if not was_running:
            config.add_cleanup(lambda: cluster("down"))
    return cluster_environment()


@contextmanager
def running_cluster() -> Iterator[None]:
    """The cluster up for the block; stopped after it unless it was already running."""
    was_running = cluster_running()
    cluster("up")
    try:
        yield
    finally:
        if not was_running:
            cluster("down")


def cluster_platform(log_dir: Path, *, port_offset: int = PORT_OFFSET) -> Platform:
    """The four services, for the cluster: run them with `os.environ` = cluster_environment()."""
    platform = Platform(log_dir)
    # The four that consume; the HTTP intake is not part of these runs.
    platform.services.pop("intake", None)
    for service in platform.services.values():
        service.port = TEST_PORTS[service.name] + port_offset
    return platform


# ------------------------------------------------------------------ observing the cluster


@dataclass(frozen=True)
class Partitions:
    leaders: dict[tuple[str, int], int]
    in_sync: dict[tuple[str, int], int]

    def led_by(self, broker: int) -> int:
        return sum(1 for leader in self.leaders.values() if leader == broker)

    def busiest(self, *, besides: int | None = None) -> int:
        counts = Counter(self.leaders.values())
        return max((b for b in BROKERS if b != besides), key=lambda b: (counts[b], -b))


class Observer:
    """Asks a chosen live broker for the partitions' leaders and in-sync replicas."""

    def __init__(self) -> None:
        self.admin: AIOKafkaAdminClient = make_admin(bootstrap(), request_timeout_ms=5000)

    async def __aenter__(self) -> Observer:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def partitions(self, *, avoid: int | None = None) -> Partitions:
        """From the first broker (not `avoid`, the faulty one) that answers within 2 s."""
        for broker in (b for b in BROKERS if b != avoid):
            try:
                response = await asyncio.wait_for(
                    self.admin._send_request(MetadataRequest(WATCHED_TOPICS), node_id=broker),
                    timeout=2,
                )
            except (KafkaError, TimeoutError, OSError):
                continue
            leaders, in_sync = {}, {}
            for topic in response.to_object()["topics"]:
                for partition in topic["partitions"]:
                    key = (topic["topic"], partition["partition"])
                    leaders[key] = partition["leader"]
                    in_sync[key] = len(partition["isr"])
            return Partitions(leaders, in_sync)
        raise ClusterError(f"no broker besides {avoid} answers")

    async def until(self, done: Any, *, avoid: int | None, within: float = 120) -> float:
        """Seconds until `done(partitions)` holds (polled every 0.1 s)."""
        started = time.monotonic()
        while True:
            with suppress(ClusterError):
                if done(await self.partitions(avoid=avoid)):
                    return time.monotonic() - started
            if time.monotonic() - started > within:
                raise ClusterError(f"cluster did not recover within {within:.0f}s")
            await asyncio.sleep(0.1)


# ------------------------------------------------------------------ publishing, faults


@dataclass
class Publisher:
    """Publishes the campaign in order at a steady rate (faster once the faults are over),
    re-sending what the cluster did not acknowledge (same event id), as a county system would;
    notes when each send was acknowledged."""

    events: list[dict[str, Any]]
    seconds: float
    acknowledged: list[float] = field(default_factory=list)
    faults_over: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap(),
            **auth_options(),
            enable_idempotence=True,
            request_timeout_ms=10_000,
            retry_backoff_ms=200,
        )
        await producer.start()
        interval = self.seconds / max(1, len(self.events))
        try:
            for event in self.events:
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
                        await asyncio.sleep(0.2)
                self.acknowledged.append(time.monotonic())
                if not self.faults_over.is_set():
                    await asyncio.sleep(interval)
        finally:
            await producer.stop()

    def longest_stall(self, start: float, end: float) -> float | None:
        """The longest time without an acknowledgement from `start` until the first one after
        `end` (None when publishing had already finished)."""
        times = [t for t in self.acknowledged if t >= start]
        after = [t for t in times if t > end]
        if not after:
            return None
        window = [start, *(t for t in times if t <= after[0])]
        return max(b - a for a, b in itertools.pairwise(window))


@dataclass
class FaultRecord:
    kind: str
    broker: int
    led: int
    at_seconds: float
    election_seconds: float = 0.0
    stall_seconds: float | None = None
    in_sync_seconds: float = 0.0
    # When it began and when every replica was in sync again (time.monotonic()).
    window: tuple[float, float] = (0.0, 0.0)


@dataclass
class FailoverReport:
    effects: ChaosReport
    faults: list[FaultRecord] = field(default_factory=list)
    services_healthy: bool = True

    def table(self) -> str:
        effects = self.effects
        lines = ["| what | checked | lost | duplicated |", "|---|---:|---:|---:|"]
        for name in effects.checked:
            lines.append(
                f"| {name} | {effects.checked[name]} | {effects.lost.get(name, 0)} "
                f"| {effects.duplicated.get(name, 0)} |"
            )
        lines.append(
            f"\n{len(self.faults)} broker faults while {effects.published} events were "
            "published (3 brokers, 3 replicas, min.insync.replicas=2):\n"
        )
        lines.append(
            "| # | fault | broker | partitions it led | new leaders after (s) "
            "| publishing stalled (s) | replicas in sync again after (s) |"
        )
        lines.append("|---:|---|---:|---:|---:|---:|---:|")
        for number, f in enumerate(self.faults, start=1):
            stall = "—" if f.stall_seconds is None else f"{f.stall_seconds:.1f}"
            lines.append(
                f"| {number} | {f.kind} | {f.broker} | {f.led} | {f.election_seconds:.1f} "
                f"| {stall} | {f.in_sync_seconds:.1f} |"
            )
        if self.faults:
            worst_election = max(f.election_seconds for f in self.faults)
            stalls = [f.stall_seconds for f in self.faults if f.stall_seconds is not None]
            worst_stall = f"{max(stalls):.1f}" if stalls else "—"
            lines.append(
                f"\nWorst: new leaders after {worst_election:.1f} s; publishing resumed within "
                f"{worst_stall} s."
            )
        return "\n".join(lines)

    @property
    def clean(self) -> bool:
        effects = self.effects
        return not any(effects.lost.values()) and not any(effects.duplicated.values())


KILL_LEADERS = "kill leaders' broker"
KILL_ANOTHER = "kill another broker"
PAUSE = "pause"


def plan(rounds: int) -> list[str]:
    """Each round: SIGKILL the leaders' broker, another one, then SIGSTOP one."""
    return [KILL_LEADERS, KILL_ANOTHER, PAUSE] * rounds


async def inject(
    observer: Observer,
    kind: str,
    *,
    previous: int | None,
    started: float,
    away_seconds: float,
) -> FaultRecord:
    """One fault, then back to a cluster with every replica in sync."""
    before = await observer.partitions()
    broker = (
        before.busiest() if kind.startswith("kill leaders") else before.busiest(besides=previous)
    )
    record = FaultRecord(kind, broker, before.led_by(broker), time.monotonic() - started)
    fault_at = time.monotonic()
    if kind == PAUSE:
        await asyncio.to_thread(cluster, "pause", str(broker))
    else:
        await asyncio.to_thread(cluster, "kill", str(broker))

    def moved(now: Partitions) -> bool:
        return all(
            now.leaders[key] not in (broker, -1) for key in before.leaders if key in now.leaders
        )

    record.election_seconds = await observer.until(moved, avoid=broker)
    # Keep it away for the whole time (a pause of 30 s is 30 s), then bring it back.
    await asyncio.sleep(max(0.0, away_seconds - (time.monotonic() - fault_at)))
    back_at = time.monotonic()
    if kind == PAUSE:
        await asyncio.to_thread(cluster, "resume", str(broker))
    else:
        await asyncio.to_thread(cluster, "start", str(broker))
    # From the restart (JVM start included) or the resume; asked of the others (a broker just
    # resumed answers from its stale metadata for a moment).
    await observer.until(
        lambda now: all(n == len(BROKERS) for n in now.in_sync.values()), avoid=broker
    )
    record.in_sync_seconds = time.monotonic() - back_at
    record.window = (fault_at, time.monotonic())
    return record


async def healthy(platform: Platform, within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        for service in platform.services.values():
            while True:
                with suppress(httpx.HTTPError):
                    if (await client.get(f"{service.url}/healthz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service.name} not healthy after the faults")
                await asyncio.sleep(0.2)


async def run(
    platform: Platform,
    *,
    faults: Sequence[str],
    seed: int,
    branches: int,
    seconds: float,
    pause_seconds: float,
    down_seconds: float,
) -> FailoverReport:
    rng = random.Random(seed)
    simulation = CampaignSimulation(
        seed=seed,
        county=f"7{rng.randrange(100000):05d}",
        branches=branches,
        campaign_id=f"failover-{uuid.uuid4().hex[:8]}",
    )
    events = list(simulation.events(until=Phase.ASSESSMENT, close_last=True))
    report = FailoverReport(ChaosReport(published=len(events)))
    watchers = {topic: TopicWatcher(topic) for topic in RESULT_TOPICS}
    for watcher in watchers.values():
        await watcher.__aenter__()
    try:
        async with Observer() as observer:
            publisher = Publisher(events, seconds)
            started = time.monotonic()
            publishing = asyncio.create_task(publisher.run())
            previous: int | None = None
            try:
                for kind in faults:
                    await asyncio.sleep(rng.uniform(1.0, 3.0))  # publishing goes on meanwhile
                    fault = await inject(
                        observer,
                        kind,
                        previous=previous,
                        started=started,
                        away_seconds=pause_seconds if kind == PAUSE else down_seconds,
                    )
                    report.faults.append(fault)
                    previous = fault.broker
            finally:
                publisher.faults_over.set()
            await publishing
        for fault in report.faults:
            fault.stall_seconds = publisher.longest_stall(*fault.window)
        await healthy(platform)
        await check(report.effects, simulation, events, watchers)
    finally:
        for watcher in watchers.values():
            await watcher.__aexit__(None, None, None)
    return report


def failover(log_dir: Path, *, faults: Sequence[str], **options: Any) -> FailoverReport:
    """The whole run (options: those of `run`), in a process whose environment is the
    cluster's: the services start on it, the faults are injected, the checker runs."""
    platform = cluster_platform(log_dir)
    platform.start()
    try:
        return asyncio.run(run(platform, faults=faults, **options))
    finally:
        platform.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="kill, kill another, pause: ×N")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--branches", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=400, help="publishing pace")
    parser.add_argument("--pause", type=float, default=30, help="seconds a broker is paused")
    parser.add_argument("--down", type=float, default=10, help="seconds a killed broker is away")
    args = parser.parse_args(argv)
    os.environ.update(cluster_environment())
    with running_cluster():
        report = failover(
            REPO / ".local" / "logs" / "failover",
            faults=plan(args.rounds),
            seed=args.seed,
            branches=args.branches,
            seconds=args.seconds,
            pause_seconds=args.pause,
            down_seconds=args.down,
        )
    print(report.table())
    if not report.clean:
        raise SystemExit("lost or duplicated effects: see the table")


if __name__ == "__main__":
    main()
