"""Part 5: the reporting API at a province's scale. A 100,000-branch campaign's read model
(branches, cards with both rounds' scores, plans' tasks, the summary counters) is written
straight into reporting's tables with COPY — the rows the handlers write, the counters
computed from the same cards — because ingesting 100,000 branches' events through Kafka would
take longer than the whole part (the ingest part measures that path). Then 8 concurrent
clients (httpx, async) for a fixed time against the summary, the branch list's first page and
a filtered page 20; then one XLSX export of every branch, timed, with the reporting process's
peak RSS over the export (VmHWM reset before it)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import time
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import kafka
from bench.infra import REPO, Infra
from bench.procs import Service, cpu_seconds, peak_rss_mb

CLIENTS = 8
COUNTY = "610526"
CAMPAIGN = "bench-api-2012"
LEVELS = ("strong", "fairly_strong", "average", "weak")
LEVEL_WEIGHTS = (30, 40, 25, 5)
CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")
TOWNSHIPS = 24
TARGETS = {  # p99 ms
    "summary": 20.0,
    "branches_page_1": 50.0,
    "branches_filtered_page_20": 80.0,
}
TARGET_EXPORT_SECONDS = 60.0
TARGET_EXPORT_RSS_MB = 300.0
NAIVE = REPO / "bench" / "results" / "api-naive.json"
"""The figures of the path before issue 21 (`--parts api --api-naive`), shown beside each run."""
ENDPOINTS = {
    "summary": f"/v1/campaigns/{CAMPAIGN}/summary",
    "branches_page_1": f"/v1/campaigns/{CAMPAIGN}/branches?page=1",
    "branches_filtered_page_20": f"/v1/campaigns/{CAMPAIGN}/branches"
    f"?level=fairly_strong&township=bench-town-03&page=20&page_size=20",
}


def _rows(branches: int, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    """The read model of a campaign whose initial round is graded and whose plans are out."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[Any, ...]]] = {"branches": [], "cards": [], "tasks": []}
    counts: Counter[str] = Counter()
    for n in range(branches):
        branch_id = f"{COUNTY}-b{n:06d}"
        township = f"bench-town-{n % TOWNSHIPS:02d}"
        out["branches"].append(
            (branch_id, COUNTY, "branch", f"第{n}党支部", f"单位{n}", township, None, "张三", 20)
        )
        level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
        scores = {c: round(rng.uniform(8, 20), 1) for c in CRITERIA}
        total = round(sum(scores.values()), 1)
        counts[f"level:initial:{level}"] += 1
        planned = level in ("average", "weak") or n % 7 == 0
        commitment = f"c-{n}" if planned else None
        review = rng.choice(("pending", "approved", "returned")) if planned else None
        if planned:
            counts["commitments:published"] += 1
            if review in ("approved", "returned"):
                counts[f"commitments:{review}"] += 1
            for t in range(3):
                completed = rng.random() < 0.4
                overdue = not completed and rng.random() < 0.2
                counts["tasks:total"] += 1
                counts["tasks:completed"] += completed
                counts["tasks:overdue"] += overdue
                out["tasks"].append(
                    (CAMPAIGN, branch_id, f"t{t}", f"整改任务{t}", "李四", None, "other",
                     100 if completed else 30, True, completed, overdue)
                )  # fmt: skip
        out["cards"].append(
            (
                CAMPAIGN,
                branch_id,
                level,
                Decimal(str(total)),
                json.dumps(scores),
                commitment,
                1 if planned else None,
                review,
            )
        )
    out["counters"] = [(CAMPAIGN, name, value) for name, value in counts.items()]
    return out


async def load(dsn: str, branches: int, seed: int) -> float:
    """COPY the read model into reporting's tables; seconds taken."""
    started = time.perf_counter()
    rows = _rows(branches, seed)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO campaigns (campaign_id, county_code, name, year, phases, updated_at)"
                " VALUES ($1, $2, '蒲城县教育系统2012年', 2012, $3::jsonb, now())",
                CAMPAIGN,
                COUNTY,
                json.dumps({"rectification": {"opened_at": "2012-07-01T00:00:00+08:00"}}),
            )
            await conn.execute(
                "INSERT INTO county_counts (county_code, branches) VALUES ($1, $2)",
                COUNTY,
                branches,
            )
            await conn.copy_records_to_table(
                "branches",
                records=rows["branches"],
                columns=["branch_id", "county_code", "kind", "name", "unit", "township",
                         "parent_id", "secretary_name", "member_count"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "cards",
                records=rows["cards"],
                columns=["campaign_id", "branch_id", "initial_level", "initial_total",
                         "initial_scores", "commitment_id", "commitment_revision", "review"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "tasks",
                records=rows["tasks"],
                columns=["campaign_id", "branch_id", "task_id", "title", "responsible",
                         "deadline", "kind", "percent", "in_plan", "completed", "overdue"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "counters", records=rows["counters"], columns=["campaign_id", "name", "value"]
            )
            # A read model maintained by the handlers keeps its own derived rows (migration
            # 0008's task counts on the card, when that migration is there): the same here.
            if await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns"
                " WHERE table_name = 'cards' AND column_name = 'tasks_total')"
            ):
                await conn.execute(
                    """UPDATE cards c SET tasks_total = t.total, tasks_completed = t.completed,
                           tasks_overdue = t.overdue
                       FROM (SELECT campaign_id, branch_id,
                                 count(*) FILTER (WHERE in_plan) AS total,
                                 count(*) FILTER (WHERE in_plan AND completed) AS completed,
                                 count(*) FILTER (WHERE in_plan AND overdue AND NOT completed)
                                     AS overdue
                             FROM tasks GROUP BY 1, 2) t
                       WHERE c.campaign_id = t.campaign_id AND c.branch_id = t.branch_id"""
                )
        # VACUUM too: the state autovacuum keeps a read model in (written over weeks, not by
        # one COPY a second ago), with the visibility map set, so the pages' index-only scans
        # read no heap; without it the first minutes after the load measure the COPY's
        # aftermath (9,322 heap fetches for the filtered page 20), whenever autovacuum comes.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


def _token(environment: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "reporting.cli", "token", "create", "--county", COUNTY,
         "--label", "bench"],
        env={**os.environ, **environment,
             "GRASSROOTS_DATABASE_URL": environment["REPORTING_DATABASE_URL"]},
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 1)


async def hammer(
    url: str, token: str, path: str, seconds: float, pid: int | None = None
) -> dict[str, Any]:
    """CLIENTS clients, each sending its next request when the last one is answered; with
    `pid`, the CPU the reporting process spent per request too (steadier than the latencies
    on a shared machine)."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            await http.get(path)  # the connection
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                started = time.perf_counter()
                answer = await http.get(path)
                latencies.append(time.perf_counter() - started)
                errors += answer.status_code != 200

    started, cpu = time.perf_counter(), cpu_seconds(pid) if pid else 0.0
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu if pid else 0.0
    return {
        "cpu_ms_per_request": round(cpu * 1000 / max(1, len(latencies)), 2) if pid else None,
        "requests": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / wall),
        "p50_ms": _pct(latencies, 0.50),
        "p99_ms": _pct(latencies, 0.99),
    }


def _reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


async def export(url: str, token: str, reporting: Service) -> dict[str, Any]:
    """One export of every branch; the workbook's size and rows are checked."""
    _reset_peak(reporting.pid)
    rss_before = peak_rss_mb(reporting.pid)
    body = io.BytesIO()
    first_byte: float | None = None
    started = time.perf_counter()
    async with (
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as http,
        http.stream("GET", f"/v1/campaigns/{CAMPAIGN}/export.xlsx") as answer,
    ):
        answer.raise_for_status()
        async for chunk in answer.aiter_bytes():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            body.write(chunk)
    seconds = time.perf_counter() - started
    peak = peak_rss_mb(reporting.pid)
    with zipfile.ZipFile(body) as book, book.open("xl/worksheets/sheet1.xml") as sheet:
        rows = sum(piece.count(b"<row ") for piece in iter(lambda: sheet.read(1 << 20), b""))
    return {
        "seconds": round(seconds, 1),
        "first_byte_seconds": round(first_byte or seconds, 2),
        "bytes": body.tell(),
        "rows": rows - 1,
        "rss_before_mb": round(rss_before),
        "peak_rss_mb": round(peak),
    }


async def run(
    infra: Infra, *, branches: int, seconds: float, seed: int, log_dir: Path, label: str
) -> dict[str, Any]:
    infra.reset()
    environment = infra.environment()
    await kafka.create_topics(environment["GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS"])
    reporting = Service("reporting", environment, log_dir)
    reporting.start()
    try:
        reporting.wait_healthy()  # migrations applied
        loaded = await load(environment["REPORTING_DATABASE_URL"], branches, seed)
        print(f"  read model of {branches:,} branches loaded in {loaded:.0f} s", flush=True)
        token = _token(environment)
        endpoints = {}
        for name, path in ENDPOINTS.items():
            endpoints[name] = await hammer(reporting.url, token, path, seconds, reporting.pid)
            print(f"  {name}: {endpoints[name]}", flush=True)
        exported = await export(reporting.url, token, reporting)
        print(f"  export.xlsx: {exported}", flush=True)
    finally:
        reporting.stop()
    return {
        "label": label,
        "branches": branches,
        "clients": CLIENTS,
        "seconds": seconds,
        "load": "COPY into reporting's tables",
        "load_seconds": round(loaded, 1),
        "endpoints": endpoints,
        "export": exported,
    }


def verdicts(part: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for name, target in TARGETS.items():
        p99 = part["endpoints"][name]["p99_ms"] or 0.0
        found.append(
            {
                "target": f"API {name.replace('_', ' ')} p99 ≤ {target:.0f} ms "
                f"({part['branches']:,} branches, {part['clients']} clients)",
                "measured": f"{p99} ms",
                "met": p99 <= target,
                "by": None if p99 <= target else f"{p99 - target:.0f} ms over",
            }
        )
    ex = part["export"]
    met = ex["seconds"] <= TARGET_EXPORT_SECONDS and ex["peak_rss_mb"] <= TARGET_EXPORT_RSS_MB
    found.append(
        {
            "target": f"XLSX export of {part['branches']:,} branches ≤ 60 s, ≤ 300 MB RSS",
            "measured": f"{ex['seconds']} s, {ex['peak_rss_mb']} MB",
            "met": met,
            "by": None if met else f"{ex['seconds']} s / {ex['peak_rss_mb']} MB",
        }
    )
    return found


def markdown(part: dict[str, Any], before: dict[str, Any] | None = None) -> list[str]:
    """The run's figures, beside the naive path's (`before`) where it was measured."""
    lines = [
        "",
        "## 5. Reporting API",
        "",
        f"{part['branches']:,} branches (read model written with {part['load']},"
        f" {part['load_seconds']} s), {part['clients']} concurrent clients for"
        f" {part['seconds']:.0f} s per endpoint.",
        "",
        "| endpoint | target p99 | naive p50 / p99 ms | p50 / p99 ms | requests/s"
        " | reporting CPU ms/request (naive → now) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, target in TARGETS.items():
        now = part["endpoints"][name]
        old = (before or {}).get("endpoints", {}).get(name)
        naive = f"{old['p50_ms']} / {old['p99_ms']}" if old else "–"
        cpu = f"{(old or {}).get('cpu_ms_per_request') or '–'} → {now.get('cpu_ms_per_request')}"
        lines.append(
            f"| {name} | {target:.0f} | {naive} | {now['p50_ms']} / {now['p99_ms']}"
            f" | {now['per_second']:,} | {cpu} |"
        )
    ex = part["export"]
    old_ex = (before or {}).get("export")
    lines += [
        "",
        f"XLSX export of {ex['rows']:,} rows ({ex['bytes'] / 2**20:.1f} MiB): {ex['seconds']} s"
        f" (first byte {ex['first_byte_seconds']} s), reporting's peak RSS {ex['peak_rss_mb']} MB"
        f" (from {ex['rss_before_mb']} MB); target ≤ 60 s, ≤ 300 MB."
        + (f" Naive path: {old_ex['seconds']} s, {old_ex['peak_rss_mb']} MB." if old_ex else ""),
    ]
    return lines
