"""`python -m bench.soak`: the notification service's memory over a long run (issue 21).

On infrastructure of its own (bench.infra.Infra on another state folder and other ports than
`make bench`, so both can run), the notification consumer (`--role consume`) and the delivery
worker (`--role deliver`) — or one process, `--roles all`, as before the split — are kept busy:
organisations are registered, then grading results arrive at a steady rate, each one an email
to the branch's secretary (an SMTP sink), a request to the county's webhook (a receiver that
answers 200) and an inbox message. Every few seconds the resident memory (VmRSS) of each
notification process is sampled, with what was delivered so far.

Written: bench/results/soak.json (every sample; per process the peak and the slope in MB/min
after the warm-up) and soak.png (the curves, the 300 MB target). Printed: peak and slope.

    uv run python -m bench.soak                 # 30 minutes (make soak)
    uv run python -m bench.soak --minutes 10 --rate 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.infra import REPO, Infra
from bench.kafka import HEADERS, create_topics, producer, serialise
from grassroots.contract.examples import DATA, envelope

TARGET_MB = 300.0
# Other ports and state than `make bench` (bench/infra.py, bench/procs.py): a soak may run
# beside a benchmark.
INFRA = {
    "GRASSROOTS_STATE": str(REPO / ".local" / "soak"),
    "GRASSROOTS_PG_PORT": "55469",
    "GRASSROOTS_KAFKA_PORT": "19292",
    "GRASSROOTS_KAFKA_CONTROLLER_PORT": "19293",
}
PORTS = {"consume": 18383, "deliver": 18385, "all": 18383}
SMTP_PORT = 18425
WEBHOOK_PORT = 18426
COUNTY = "610526"
SINK = ("-c", "aiosmtpd.handlers.Sink")  # accepts and drops, as bench/procs.py runs it
LEVELS = ("strong", "fairly_strong", "average", "weak")


@dataclass
class Process:
    role: str
    log_dir: Path
    environment: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    samples: list[tuple[float, float]] = field(default_factory=list)  # (minutes, MB)

    @property
    def name(self) -> str:
        return "notification" if self.role == "all" else f"notification-{self.role}"

    def start(self) -> None:
        env = self.environment
        log = (self.log_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "notification", "--role", self.role],
            env={
                **os.environ,
                **env,
                "GRASSROOTS_DATABASE_URL": env["NOTIFICATION_DATABASE_URL"],
                **(
                    {
                        "GRASSROOTS_KAFKA_USERNAME": "notification",
                        "GRASSROOTS_KAFKA_PASSWORD": env["KAFKA_NOTIFICATION_PASSWORD"],
                    }
                    if "KAFKA_NOTIFICATION_PASSWORD" in env
                    else {}
                ),
                "GRASSROOTS_HTTP_PORT": str(PORTS[self.role]),
                # Claims are per instance: the worker must not take the consumer's id.
                "GRASSROOTS_CONSUMER_INSTANCE_ID": self.name + "-0",
                "GRASSROOTS_LOG_LEVEL": "WARNING",
                "GRASSROOTS_COUNTIES_FILE": str(REPO / "tests" / "counties.toml"),
                "GRASSROOTS_NOTIFICATION_SMTP_HOST": "127.0.0.1",
                "GRASSROOTS_NOTIFICATION_SMTP_PORT": str(SMTP_PORT),
                "GRASSROOTS_NOTIFICATION_SMTP_STARTTLS": "false",
                "GRASSROOTS_NOTIFICATION_WEBHOOKS": json.dumps(
                    {"*": [{"name": "soak", "url": f"http://127.0.0.1:{WEBHOOK_PORT}/hook"}]}
                ),
            },
            stdout=log,
            stderr=log,
            cwd=REPO,
        )

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_dir}/{self.name}.log")
            try:
                url = f"http://127.0.0.1:{PORTS[self.role]}/healthz"
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} not healthy after {timeout}s")

    def rss_mb(self) -> float:
        """Resident memory now (VmRSS), in MB; 0 when the process is gone."""
        assert self.process is not None
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def slope_mb_per_minute(samples: list[tuple[float, float]]) -> float:
    """The least-squares slope of (minutes, MB)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (m - mean_m) for t, m in samples) / spread


def summarise(samples: list[tuple[float, float]], warmup: float) -> dict[str, float]:
    """Peak over the whole run; slopes after the warm-up and over the last half."""
    steady = [s for s in samples if s[0] >= warmup] or samples
    end = samples[-1][0] if samples else 0.0
    last_half = [s for s in samples if s[0] >= end / 2] or samples
    return {
        "peak_mb": round(max((m for _, m in samples), default=0.0), 1),
        "start_mb": round(steady[0][1], 1) if steady else 0.0,
        "end_mb": round(samples[-1][1], 1) if samples else 0.0,
        "slope_mb_per_min": round(slope_mb_per_minute(steady), 3),
        "slope_last_half_mb_per_min": round(slope_mb_per_minute(last_half), 3),
    }


def webhook_receiver(port: int) -> subprocess.Popen[bytes]:
    """A county system that answers 200 to every request, in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-c", f"from bench.soak import serve_webhooks; serve_webhooks({port})"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def serve_webhooks(port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    thread.join()


def smtp_sink(port: int) -> subprocess.Popen[bytes]:
    """aiosmtpd's Sink (accepts and drops), as bench/procs.py runs it, on the soak's port."""
    return subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", *SINK],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def registrations(branches: int) -> list[dict[str, Any]]:
    """The county's committee and its branches, each with a secretary's address."""
    committee = {
        **DATA["org.branch_registered"],
        "branch_id": f"{COUNTY}-soak-committee",
        "name": "中共测试县教育局委员会",
        "kind": "committee",
        "parent_id": None,
    }
    events = [envelope("org.branch_registered", committee)]
    for i in range(branches):
        data = {
            **DATA["org.branch_registered"],
            "branch_id": f"{COUNTY}-soak-{i:04d}",
            "name": f"测试县第{i + 1}中学党支部",
            "parent_id": committee["branch_id"],
            "secretary": {"name": "王建国", "email": f"secretary-{i}@example.org"},
        }
        events.append(envelope("org.branch_registered", data))
    return events


def graded(branches: int, rng: random.Random) -> dict[str, Any]:
    """A grading result (a new event each time): an email, a webhook and an inbox message."""
    data = {
        **DATA["grading.branch_graded"],
        "branch_id": f"{COUNTY}-soak-{rng.randrange(branches):04d}",
        "level": rng.choice(LEVELS),
        "total": round(rng.uniform(55, 98), 1),
    }
    return envelope("grading.branch_graded", data, event_id=str(uuid.uuid4()))


def phase_opened(number: int) -> dict[str, Any]:
    """A campaign's first phase opened (a new campaign each time): every branch hears it, by
    email and in its inbox — a burst of deliveries, as when a county's phase opens."""
    data = {"campaign_id": f"soak-{number}", "phase": "survey_grading"}
    return envelope("campaign.phase_opened", data, campaign_id=f"soak-{number}")


async def publish_steadily(
    bootstrap: str,
    *,
    rate: float,
    branches: int,
    fanout_every: float,
    until: float,
    published: list[int],
) -> None:
    """Grading results at `rate` per second until `until` (monotonic), in ticks of 0.25 s, and
    a phase opened to every branch each `fanout_every` seconds."""
    rng = random.Random(21)
    out = producer(bootstrap)
    await out.start()
    try:
        for record in serialise(registrations(branches)):
            await out.send(record.topic, value=record.value, key=record.key, headers=HEADERS)
        await out.flush()
        started = time.monotonic()
        fanouts = results = 0
        while time.monotonic() < until:
            elapsed = time.monotonic() - started
            due = int(elapsed * rate) - results
            events = [graded(branches, rng) for _ in range(max(0, due))]
            if fanout_every > 0 and elapsed >= fanouts * fanout_every:
                fanouts += 1
                events.append(phase_opened(fanouts))
            for record in serialise(events):
                await out.send(record.topic, value=record.value, key=record.key, headers=HEADERS)
                published[0] += 1
            results += max(0, due)
            await asyncio.sleep(0.25)
        await out.flush()
    finally:
        await out.stop()


async def delivery_counts(admin_dsn: str) -> dict[str, int]:
    try:
        conn = await asyncpg.connect(admin_dsn)
    except (OSError, asyncpg.PostgresError):
        return {}
    try:
        rows = await conn.fetch(
            "SELECT channel || ':' || status AS key, count(*) AS n"
            " FROM notification.deliveries GROUP BY 1"
        )
        return {row["key"]: row["n"] for row in rows}
    except asyncpg.PostgresError:
        return {}
    finally:
        await conn.close()


async def soak(options: argparse.Namespace) -> dict[str, Any]:
    infra = Infra({key: os.environ.get(f"SOAK_{key}", value) for key, value in INFRA.items()})
    print("soak: fresh infrastructure (its own PostgreSQL and Kafka) …", flush=True)
    infra.reset()
    env = infra.environment()
    bootstrap = env["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"]
    admin_dsn = env["GRASSROOTS_ADMIN_DSN"]
    log_dir = Path(env["GRASSROOTS_STATE_DIR"]) / "logs" / "soak"
    log_dir.mkdir(parents=True, exist_ok=True)
    await create_topics(bootstrap)
    helpers = [smtp_sink(SMTP_PORT), webhook_receiver(WEBHOOK_PORT)]
    roles = ["all"] if options.roles == "all" else ["consume", "deliver"]
    processes = [Process(role, log_dir, env) for role in roles]
    samples: list[dict[str, Any]] = []
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_healthy()
        print(
            f"soak: {' + '.join(p.name for p in processes)} up; {options.minutes:g} min at"
            f" {options.rate:g} results/s ({options.branches} branches)",
            flush=True,
        )
        started = time.monotonic()
        until = started + options.minutes * 60
        published = [0]
        publisher = asyncio.create_task(
            publish_steadily(
                bootstrap,
                rate=options.rate,
                branches=options.branches,
                fanout_every=options.fanout_every,
                until=until,
                published=published,
            )
        )
        next_print = 0.0
        while time.monotonic() < until:
            if publisher.done():
                publisher.result()  # a publisher that failed stops the soak with its error
            minutes = (time.monotonic() - started) / 60
            sample: dict[str, Any] = {"minutes": round(minutes, 3), "rss_mb": {}}
            for process in processes:
                if process.process is not None and process.process.poll() is not None:
                    raise RuntimeError(f"{process.name} exited; see {log_dir}")
                mb = process.rss_mb()
                process.samples.append((minutes, mb))
                sample["rss_mb"][process.name] = round(mb, 1)
            sample["published"] = published[0]
            sample["deliveries"] = await delivery_counts(admin_dsn)
            samples.append(sample)
            if minutes >= next_print:
                next_print += 1
                done = {k: v for k, v in sample["deliveries"].items() if "delivered" in k}
                print(f"  {minutes:5.1f} min  rss {sample['rss_mb']}  {done}", flush=True)
            await asyncio.sleep(options.every)
        await publisher
    finally:
        for process in processes:
            process.stop()
        for helper in helpers:
            helper.terminate()
            helper.wait(timeout=10)
        if not options.keep_infra:
            infra.down()
    warmup = min(options.warmup, options.minutes / 3)
    summary = {p.name: summarise(p.samples, warmup) for p in processes}
    return {
        "minutes": options.minutes,
        "rate_per_second": options.rate,
        "branches": options.branches,
        "fanout_every_seconds": options.fanout_every,
        "roles": roles,
        "sample_every_seconds": options.every,
        "warmup_minutes": warmup,
        "target_peak_mb": TARGET_MB,
        "published": samples[-1]["published"] if samples else 0,
        "deliveries_at_end": samples[-1]["deliveries"] if samples else {},
        "summary": summary,
        "samples": samples,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4.5))
    for name in result["summary"]:
        points = [(s["minutes"], s["rss_mb"][name]) for s in result["samples"]]
        stats = result["summary"][name]
        axes.plot(
            [t for t, _ in points],
            [m for _, m in points],
            label=f"{name}: peak {stats['peak_mb']:.0f} MB,"
            f" slope {stats['slope_mb_per_min']:+.2f} MB/min",
        )
    axes.axhline(result["target_peak_mb"], color="red", linestyle="--", label="target 300 MB")
    axes.set_xlabel("minutes")
    axes.set_ylabel("resident memory (VmRSS), MB")
    axes.set_ylim(bottom=0)
    fanout = result.get("fanout_every_seconds") or 0
    axes.set_title(
        f"notification soak, {result['minutes']:g} min: {result['rate_per_second']:g} grading"
        f" results/s (email, webhook, inbox)"
        + (
            f"\n+ a phase opened to {result['branches']} branches every {fanout:g} s"
            if fanout
            else ""
        ),
        fontsize=10,
    )
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="length (default 30)")
    parser.add_argument("--rate", type=float, default=40.0, help="grading results per second")
    parser.add_argument("--branches", type=int, default=1000, help="branches registered")
    parser.add_argument(
        "--fanout-every",
        type=float,
        default=60.0,
        help="seconds between two phases opened to every branch (0: none)",
    )
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=3.0, help="minutes before the slope")
    parser.add_argument(
        "--roles", choices=("split", "all"), default="split", help="split (default) or all"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--name", default="soak", help="file names: <name>.json, <name>.png")
    parser.add_argument("--keep-infra", action="store_true")
    options = parser.parse_args(argv)
    result = asyncio.run(soak(options))
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"{options.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, options.out / f"{options.name}.png")
    ok = True
    for name, stats in result["summary"].items():
        verdict = stats["peak_mb"] <= TARGET_MB
        ok &= verdict
        print(
            f"{name}: peak {stats['peak_mb']:.1f} MB ({'≤' if verdict else '>'} {TARGET_MB:g}),"
            f" slope {stats['slope_mb_per_min']:+.3f} MB/min after {result['warmup_minutes']:g}"
            f" min ({stats['slope_last_half_mb_per_min']:+.3f} over the last half),"
            f" {stats['start_mb']:.0f} → {stats['end_mb']:.0f} MB"
        )
    print(f"deliveries: {result['deliveries_at_end']}; results in {options.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
