"""Drives the platform from outside, as a county system would: processes, Kafka, HTTP.

Needs the local infrastructure (`deploy/infra.sh up`) and its environment (`. deploy/env.sh`);
`make test` provides both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from grassroots.plumbing.kafka import auth_options, make_consumer

REPO = Path(__file__).resolve().parents[1]
# The services that consume the topics (what the chaos checker kills), and all of them: the
# intake serves HTTP and consumes nothing.
CONSUMERS = ("grading", "rectification", "notification", "reporting")
SERVICES = (*CONSUMERS, "intake")
# Test ports differ from `make up`'s; GRASSROOTS_TEST_PORT_BASE moves them (two checkouts at once).
_BASE = int(os.environ.get("GRASSROOTS_TEST_PORT_BASE", "18080"))
TEST_PORTS = {
    "reporting": _BASE,
    "grading": _BASE + 1,
    "rectification": _BASE + 2,
    "notification": _BASE + 3,
    "intake": _BASE + 4,
}
# Each service's own test configuration: the notification service issues the tests' counties'
# circulars as the defaults of tests/counties.toml say (the demo county as deployed).
# The dashboard forwards Excel imports to the intake with the credential both read.
SERVICE_ENV = {
    "notification": {"GRASSROOTS_COUNTIES_FILE": str(REPO / "tests" / "counties.toml")},
    "reporting": {
        "GRASSROOTS_INTAKE_URL": f"http://127.0.0.1:{TEST_PORTS['intake']}",
        "GRASSROOTS_INTAKE_CREDENTIAL": os.environ.get("INTAKE_DASHBOARD_CREDENTIAL", ""),
    },
}


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: run the tests with `make test` (it sources deploy/env.sh)"
        )
    return value


def bootstrap() -> str:
    return env("GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS")


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        environment = {
            **os.environ,
            "GRASSROOTS_DATABASE_URL": env(f"{self.name.upper()}_DATABASE_URL"),
            # Each service is its own Kafka user, limited by the ACLs of deploy/kafka/acls.txt.
            "GRASSROOTS_KAFKA_USERNAME": self.name,
            "GRASSROOTS_KAFKA_PASSWORD": env(f"KAFKA_{self.name.upper()}_PASSWORD"),
            "GRASSROOTS_HTTP_PORT": str(self.port),
            **self.extra_env,
        }
        log = (self.log_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.name], env=environment, stdout=log, stderr=log, cwd=REPO
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see its log"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not healthy after {timeout}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class Platform:
    """The five services as processes on the real broker and database."""

    def __init__(
        self, log_dir: Path, extra_env: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        """`extra_env`: more environment for some services, by name (e.g. the notification
        service's SMTP server and webhook endpoints)."""
        log_dir.mkdir(parents=True, exist_ok=True)
        self.clock_file = log_dir / "clock"
        self.clock_file.unlink(missing_ok=True)
        # Time-driven work runs on a clock the tests set; without the file it is the real one.
        test_env = {
            "GRASSROOTS_CLOCK_FILE": str(self.clock_file),
            "GRASSROOTS_SWEEP_INTERVAL_SECONDS": "0.2",
        }
        self.services = {
            name: ServiceProcess(
                name,
                TEST_PORTS[name],
                log_dir,
                {**test_env, **SERVICE_ENV.get(name, {}), **(extra_env or {}).get(name, {})},
            )
            for name in SERVICES
        }

    def set_clock(self, now: dt.datetime | None) -> None:
        """Every service's 'now' from here on; None for the real clock."""
        if now is None:
            self.clock_file.unlink(missing_ok=True)
        else:
            # Atomically: a service must never read a half-written file.
            scratch = self.clock_file.with_suffix(".tmp")
            scratch.write_text(now.isoformat(), encoding="utf-8")
            os.replace(scratch, self.clock_file)

    def start(self) -> None:
        for service in self.services.values():
            service.start()
        for service in self.services.values():
            service.wait_healthy()

    def restart(self, name: str, *, crash: bool = True) -> None:
        service = self.services[name]
        service.kill() if crash else service.stop()
        service.start()
        service.wait_healthy()

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


def publish_with_tool(
    events: Iterable[dict[str, Any]], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Publish through `grassroots publish`, the tool county systems use."""
    path = tmp_path / f"events-{uuid.uuid4().hex[:8]}.jsonl"
    path.write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8"
    )
    return subprocess.run(
        [sys.executable, "-m", "grassroots.cli", "publish", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


async def produce_raw(topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> None:
    """Publish raw bytes, bypassing validation, as a broken county system would."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap(),
        **auth_options(),
        enable_idempotence=True,
        max_request_size=5 * 1024 * 1024,
    )
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


class TopicWatcher:
    """Reads a topic from its end at creation time: what was published after the test began."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.consumer = make_consumer(bootstrap(), enable_auto_commit=False)
        self.seen: list[ConsumerRecord[bytes, bytes]] = []

    async def __aenter__(self) -> TopicWatcher:
        await self.consumer.start()
        cluster = await self.consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(self.topic) or set()
        if not partitions:
            await self.consumer.stop()
            raise RuntimeError(f"topic {self.topic} does not exist")
        assignment = [TopicPartition(self.topic, p) for p in partitions]
        self.consumer.assign(assignment)
        await self.consumer.seek_to_end(*assignment)
        for tp in assignment:  # resolve positions now, before the test publishes
            await self.consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def wait_for(
        self,
        predicate: Callable[[ConsumerRecord[bytes, bytes]], bool],
        *,
        count: int = 1,
        within: float = 30,
    ) -> list[ConsumerRecord[bytes, bytes]]:
        deadline = time.monotonic() + within
        while True:
            matching = [r for r in self.seen if predicate(r)]
            if len(matching) >= count:
                return matching
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(matching)}/{count} matching records on {self.topic}")
            batch = await self.consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for records in batch.values():
                self.seen.extend(records)

    async def drain(self) -> None:
        """Take in whatever else is already on the topic (after a wait_for)."""
        for records in (await self.consumer.getmany(timeout_ms=500)).values():
            self.seen.extend(records)


async def eventually(check: Callable[[], Any], *, within: float = 30, interval: float = 0.2) -> Any:
    """Poll an async or sync check until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within}s (last result: {result!r})")
        await asyncio.sleep(interval)


async def admin_connection() -> asyncpg.Connection:
    return await asyncpg.connect(env("GRASSROOTS_ADMIN_DSN"))


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str:
    """A header's value as text; empty when absent."""
    for key, value in record.headers:
        if key == name:
            return bytes(value).decode()
    return ""
