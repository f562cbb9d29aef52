"""Ingest throughput of one service, side by side on the same events:

- ours: the service itself, as a process (batch subscriber → one transaction per batch: inbox
  dedupe, a savepoint and the handler per event, outbox; offsets committed after);
- limit: a bare aiokafka consumer of the same topics, no validation and no logic, writing the
  same rows — the inbox row and one state row per event — with COPY, one transaction per batch;
- naive: a straightforward FastStream handler — one event per transaction (inbox + the
  service's own handler), then an awaited publish confirmation per event (and per event it
  emits, instead of an outbox), and the offset committed per event (AckPolicy.ACK).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import importlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.structs import TopicPartition
from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from bench.infra import Infra
from bench.kafka import Watcher, create_topics, publish, serialise
from bench.procs import CpuMeter, Service
from bench.profiling import Profiler
from grassroots.contract import ContractViolation, parse_event
from grassroots.contract.common import Phase
from grassroots.plumbing import database
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.kafka import make_broker, make_consumer
from grassroots.plumbing.service import ServiceDefinition
from grassroots.plumbing.unit_of_work import UnitOfWork
from grassroots.simulation import CampaignSimulation

log = logging.getLogger(__name__)
NAIVE_TOPIC = "bench.naive.applied"
CLOCK = dt.datetime(2012, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def definition(service: str) -> ServiceDefinition[Any]:
    found: ServiceDefinition[Any] = importlib.import_module(f"{service}.app").DEFINITION
    return found


@dataclass(frozen=True)
class Workload:
    """The events a service's ingest is measured on: a slice of a simulated campaign."""

    service: str
    branches: int
    until: Phase
    close_last: bool
    description: str

    def events(self, seed: int) -> Iterator[dict[str, Any]]:
        counties = max(1, self.branches // 1000)
        simulation = CampaignSimulation(
            seed=seed, counties=counties, branches=self.branches // counties
        )
        return simulation.events(until=self.until, close_last=self.close_last)


def workloads(scale: float) -> dict[str, Workload]:
    def n(branches: int) -> int:
        return max(100, int(branches * scale))

    return {
        "grading": Workload(
            "grading",
            n(20_000),
            Phase.SURVEY_GRADING,
            False,
            "registrations and the initial round's three inputs",
        ),
        "rectification": Workload(
            "rectification",
            n(5_000),
            Phase.RECTIFICATION,
            False,
            "registrations, problems, commitments, reviews, progress, completions",
        ),
        "notification": Workload(
            "notification",
            n(5_000),
            Phase.RECTIFICATION,
            False,
            "as rectification: who hears what, deliveries planned in the transaction",
        ),
        "reporting": Workload(
            "reporting",
            n(4_000),
            Phase.ASSESSMENT,
            True,
            "a whole campaign, every phase and every input type",
        ),
    }


@dataclass
class Run:
    """One contender on one workload: how many records, how fast, where the CPU went."""

    contender: str
    records: int = 0
    applied: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    complete: bool = False
    cpu: dict[str, float] = field(default_factory=dict)
    samples: list[tuple[float, int]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "contender": self.contender,
            "records": self.records,
            "applied": self.applied,
            "seconds": round(self.seconds, 2),
            "events_per_second": round(self.rate, 1),
            "complete": self.complete,
            "cpu_cores": {k: round(v, 2) for k, v in self.cpu.items()},
        }


async def measure(
    watcher: Watcher,
    group: str,
    ends: dict[TopicPartition, int],
    box: float,
    run: Run,
    *,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Poll the group's progress until it has committed everything or `box` seconds passed
    since its first commit; the rate is measured from the first commit seen to the last."""
    total = sum(ends.values())
    run.records = total
    first: tuple[float, int] | None = None
    started = time.perf_counter()
    while True:
        now = time.perf_counter()
        done = total - await watcher.remaining(group, ends)
        run.samples.append((now - started, done))
        if first is None and done > 0:
            first = (now, done)
        if done >= total or not alive():
            break
        if first is not None and now - first[0] > box:
            break
        if first is None and now - started > box + 60:
            break
        await asyncio.sleep(0.1)
    run.applied = done
    run.complete = done >= total
    if first is not None and now > first[0]:
        run.seconds = now - first[0]
        run.rate = (done - first[1]) / run.seconds


# ---------------------------------------------------------------- limit


@dataclass
class Clock:
    """When a contender first had records in hand, and when it last committed."""

    first: float = 0.0
    last: float = 0.0
    count: int = 0


async def limit_consumer(
    bootstrap: str, topics: tuple[str, ...], pool: asyncpg.Pool, group: str, clock: Clock
) -> None:
    consumer = make_consumer(
        bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    consumer.subscribe(list(topics))
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            inbox = []
            state = []
            for records in batch.values():
                for r in records:
                    value = r.value or b""
                    event = json.loads(value)
                    inbox.append(
                        (
                            event["source"],
                            event["id"],
                            event["type"],
                            event["subject"],
                            hashlib.sha256(value).digest(),
                            r.topic,
                            r.partition,
                            r.offset,
                        )
                    )
                    state.append(
                        (event.get("campaignid"), event["subject"], event["type"], event["data"])
                    )
            if not inbox:
                continue
            if not clock.first:
                clock.first = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                await conn.copy_records_to_table(
                    "inbox",
                    records=inbox,
                    columns=[
                        "source",
                        "event_id",
                        "type",
                        "subject",
                        "content_hash",
                        "topic",
                        "kafka_partition",
                        "kafka_offset",
                    ],
                )
                await conn.copy_records_to_table(
                    "state", records=state, columns=["campaign_id", "subject", "type", "data"]
                )
            await consumer.commit()
            clock.last = time.perf_counter()
            clock.count += len(inbox)
    finally:
        await consumer.stop()


LIMIT_SCHEMA = """
CREATE TABLE inbox (
    source text NOT NULL, event_id text NOT NULL, type text NOT NULL, subject text NOT NULL,
    content_hash bytea NOT NULL, topic text NOT NULL, kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL, outcome text NOT NULL DEFAULT 'applied', reason text,
    received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (source, event_id));
CREATE TABLE state (campaign_id text, subject text NOT NULL, type text NOT NULL, data jsonb);
"""


# ---------------------------------------------------------------- naive


async def naive_consumer(
    bootstrap: str,
    service: str,
    topics: tuple[str, ...],
    pool: asyncpg.Pool,
    group: str,
    stop: asyncio.Event,
) -> None:
    wiring = definition(service)
    broker = make_broker(bootstrap, client_id="bench-naive")  # idempotent, acks=all

    async def no_decoding(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
        return None

    @broker.subscriber(
        *topics,
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,
        decoder=no_decoding,
    )
    async def handle(body: Any, msg: KafkaMessage) -> None:
        record: Any = msg.raw_message
        try:
            event = parse_event(record.value, topic=record.topic)
        except ContractViolation:
            return
        inbox_row = (
            event.source,
            event.id,
            event.type,
            event.subject,
            hashlib.sha256(event.model_dump_json().encode()).digest(),
            record.topic,
            record.partition,
            record.offset,
        )
        insert = (
            "INSERT INTO inbox (source, event_id, type, subject, content_hash, topic,"
            " kafka_partition, kafka_offset, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT DO NOTHING RETURNING true"
        )
        async with pool.acquire() as conn:
            uow = UnitOfWork(wiring.store(conn), service=service, now=CLOCK, connection=conn)
            registration = wiring.handlers.get(event.type)
            try:
                async with conn.transaction():
                    if await conn.fetchval(insert, *inbox_row, "applied") and registration:
                        await registration.one(uow, event)
                        await uow.flush()
            except Rejected:
                uow.outgoing.clear()
                await conn.execute(insert, *inbox_row, "rejected")
        for out in uow.outgoing:  # no outbox: publish and wait, event by event
            await broker.publish(out.value, topic=out.topic, key=out.key)
        await broker.publish(event.id.encode(), topic=NAIVE_TOPIC, key=record.key)

    async with broker:
        await broker.start()
        await stop.wait()


# ---------------------------------------------------------------- a service's part


async def _schema(admin_dsn: str, schema: str, owner: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {owner}")
    finally:
        await conn.close()


async def ingest_part(
    infra: Infra,
    workload: Workload,
    *,
    seed: int,
    box: dict[str, float],
    log_dir: Path,
    profiler: Profiler | None,
) -> dict[str, Any]:
    """Reset the infrastructure, publish the workload once, then run the three contenders."""
    service = workload.service
    infra.reset()
    env = infra.environment()
    bootstrap = env["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"]
    await create_topics(bootstrap, [NAIVE_TOPIC])
    records = serialise(workload.events(seed))
    published_in = await publish(bootstrap, records)
    topics = tuple(definition(service).topics)
    clock = log_dir / f"clock-{service}"
    clock.parent.mkdir(parents=True, exist_ok=True)
    clock.write_text(CLOCK.isoformat())
    runs: list[Run] = []
    async with Watcher(bootstrap) as watcher:
        ends = {tp: end for tp, end in (await watcher.ends(topics)).items() if end}

        # ours: the service as a process (notification's planning only, as the issue asks:
        # its delivery worker is a process of its own, measured by the campaign and make soak)
        role = "consume" if service == "notification" else None
        process = Service(service, env, log_dir, {"GRASSROOTS_CLOCK_FILE": str(clock)}, role=role)
        run = Run("ours")
        meter = CpuMeter(lambda: {"service": [process.pid], **infra.pids()})
        process.start()
        await asyncio.to_thread(process.wait_healthy)
        meter.start()
        if profiler is not None:
            profiler.start(service, process.pid)
        try:
            await measure(
                watcher,
                service,
                ends,
                box["ours"],
                run,
                alive=lambda: process.process is not None and process.process.poll() is None,
            )
        finally:
            if profiler is not None:
                profiler.stop(service)
            run.cpu = meter.stop()
            process.stop()
        runs.append(run)

        # limit: bare consumer + COPY
        await _schema(env["GRASSROOTS_ADMIN_DSN"], "bench_limit", service)
        dsn = env[f"{service.upper()}_DATABASE_URL"]
        pool = await database.create_pool(dsn, "bench_limit", size=2)
        async with pool.acquire() as conn:
            await conn.execute(LIMIT_SCHEMA)
        run = Run("limit")
        meter = CpuMeter(lambda: {"bench (consumer)": [_self()], **infra.pids()})
        meter.start()
        timing = Clock()
        task = asyncio.create_task(limit_consumer(bootstrap, topics, pool, "bench-limit", timing))
        try:
            await measure(
                watcher, "bench-limit", ends, box["limit"], run, alive=lambda: not task.done()
            )
            if task.done() and task.exception() is not None:
                raise RuntimeError("the limit consumer failed") from task.exception()
            if timing.last > timing.first:  # its own clock: finer than polling the offsets
                run.seconds = timing.last - timing.first
                run.rate = timing.count / run.seconds
        finally:
            run.cpu = meter.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pool.close()
        runs.append(run)

        # naive: one event per transaction, a confirmation per event
        await _schema(env["GRASSROOTS_ADMIN_DSN"], "bench_naive", service)
        migrations = definition(service).migrations
        pool = await database.create_pool(dsn, "bench_naive", size=2)
        async with pool.acquire() as conn:
            await database.migrate(conn, "bench_naive", migrations)
        run = Run("naive")
        meter = CpuMeter(lambda: {"bench (consumer)": [_self()], **infra.pids()})
        stop = asyncio.Event()
        meter.start()
        task = asyncio.create_task(
            naive_consumer(bootstrap, service, topics, pool, "bench-naive", stop)
        )
        try:
            await measure(watcher, "bench-naive", ends, box["naive"], run)
        finally:
            run.cpu = meter.stop()
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
            await pool.close()
        runs.append(run)

    by = {r.contender: r for r in runs}
    return {
        "service": service,
        "workload": workload.description,
        "branches": workload.branches,
        "records": sum(ends.values()),
        "published_seconds": round(published_in, 2),
        "runs": [r.summary() for r in runs],
        "samples": {r.contender: r.samples for r in runs},
        "ours_over_limit": by["ours"].rate / by["limit"].rate if by["limit"].rate else None,
        "ours_over_naive": by["ours"].rate / by["naive"].rate if by["naive"].rate else None,
        "peak_rss_mb": round(process.peak_mb, 1),
    }


def _self() -> int:
    import os

    return os.getpid()
