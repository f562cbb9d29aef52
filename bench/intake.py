"""Part 4: the HTTP intake. Accepted events per second over HTTP in batched mode (validated as
the consumers validate, produced with acks=all before the answer) against publishing the same
events straight to Kafka with aiokafka (the limit a county system with a Kafka client has),
side by side in one run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import kafka
from bench.infra import REPO, Infra
from bench.procs import Service
from grassroots.contract.examples import envelope

TARGET_SHARE = 0.5
SENDERS = 4
BATCH = 500
CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")


def events(count: int, seed: int) -> list[dict[str, Any]]:
    """Distinct self-evaluations of `count` branches of one county (new ids every run)."""
    run = uuid.uuid4().hex[:6]
    return [
        envelope(
            "grading.self_evaluated",
            {
                "branch_id": f"610526-bench-{n:06d}",
                "round": "initial",
                "scores": dict.fromkeys(CRITERIA, 60 + (n * seed) % 40),
            },
            event_id=f"intake-bench-{run}-{n}",
        )
        for n in range(count)
    ]


def _credential(environment: dict[str, str]) -> str:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "intake.cli", "credential", "create", "--county", "610526"),
            *("--label", f"bench-{uuid.uuid4().hex[:6]}", "--rate", "100000/second"),
        ],
        env={
            **os.environ,
            **environment,
            "GRASSROOTS_DATABASE_URL": environment["INTAKE_DATABASE_URL"],
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def _over_http(url: str, secret: str, batches: list[bytes]) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    headers = {
        "Authorization": f"Bearer {secret}",
        "Content-Type": "application/cloudevents-batch+json",
    }

    async def sender() -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
            while not queue.empty():
                answer = await client.post("/v1/events", content=queue.get_nowait())
                if answer.status_code != 202 or answer.json()["refused"]:
                    raise RuntimeError(f"intake refused the benchmark: {answer.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return time.perf_counter() - started


async def run(infra: Infra, *, count: int, seed: int, log_dir: Path) -> dict[str, Any]:
    infra.reset()
    environment = infra.environment()
    bootstrap = environment["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"]
    await kafka.create_topics(bootstrap)
    intake = Service("intake", environment, log_dir)
    intake.start()
    try:
        intake.wait_healthy()
        secret = _credential(environment)
        direct_events, http_events = events(count, seed), events(count, seed)
        warm = [json.dumps(http_events[:BATCH]).encode()]
        await _over_http(intake.url, secret, warm)  # connections, producer metadata
        direct = await kafka.publish(bootstrap, kafka.serialise(direct_events))
        batches = [
            json.dumps(http_events[start : start + BATCH], ensure_ascii=False).encode()
            for start in range(0, count, BATCH)
        ]
        over_http = await _over_http(intake.url, secret, batches)
        intake.sample()
    finally:
        intake.stop()
    direct_rate, http_rate = count / direct, count / over_http
    return {
        "events": count,
        "batch": BATCH,
        "senders": SENDERS,
        "direct_events_per_second": round(direct_rate),
        "http_events_per_second": round(http_rate),
        "http_over_direct": round(http_rate / direct_rate, 3),
        "intake_peak_rss_mb": round(intake.peak_mb),
    }


def verdict(part: dict[str, Any]) -> dict[str, Any]:
    share = part["http_over_direct"]
    return {
        "target": "HTTP intake (batched) ≥ 50 % of publishing straight to Kafka",
        "measured": f"{share:.0%} ({part['http_events_per_second']:,} vs "
        f"{part['direct_events_per_second']:,} events/s)",
        "met": share >= TARGET_SHARE,
        "by": None if share >= TARGET_SHARE else f"{TARGET_SHARE / share:.1f}× too slow",
    }


def markdown(part: dict[str, Any]) -> list[str]:
    return [
        "",
        "## 4. HTTP intake",
        "",
        f"{part['events']:,} events (grading.self_evaluated), published twice: straight to Kafka"
        " with aiokafka (idempotent, acks=all), and over the intake in batched mode"
        f" ({part['batch']} events a request, {part['senders']} concurrent senders; the intake"
        " validates each event and answers after the broker acknowledged them).",
        "",
        "| path | events/s | share of direct |",
        "|---|---:|---:|",
        f"| aiokafka straight to Kafka | {part['direct_events_per_second']:,} | 100 % |",
        f"| HTTP intake, batched | {part['http_events_per_second']:,} "
        f"| {part['http_over_direct']:.0%} |",
        "",
        f"Intake peak RSS: {part['intake_peak_rss_mb']} MB.",
    ]
