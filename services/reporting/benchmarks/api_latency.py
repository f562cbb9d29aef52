"""Benchmark (not a test): reporting API latency at N branches, load from a second process.

    . deploy/env.sh && uv run python services/reporting/benchmarks/api_latency.py [N]

Loads N branches with cards, tasks and counters for a scratch county (COPY), serves the real
API routes from one process, drives them from another with concurrent clients, prints
p50/p99 per endpoint, then deletes the scratch rows.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from grassroots.plumbing import database
from reporting import api
from reporting.auth import new_token, token_hash
from reporting.store import tokens

PORT = 18190
COUNTY = "999997"
LEVELS = ("strong", "fairly_strong", "average", "weak")
TABLES = ("cards", "tasks", "counters", "branches", "campaigns", "county_counts")


async def load(pool: object, campaign: str, branches: int) -> str:
    rng = random.Random(3)
    pepper = os.environ["REPORTING_TOKEN_PEPPER"]
    bearer = new_token()
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        await database.migrate(conn, "reporting", Path(__file__).parents[1] / "migrations")
        ids = [f"{campaign}-{i:06d}" for i in range(branches)]
        await conn.execute(
            "INSERT INTO campaigns (campaign_id, county_code, name, updated_at)"
            " VALUES ($1, $2, 'bench', now())",
            campaign,
            COUNTY,
        )
        await conn.copy_records_to_table(
            "branches",
            records=[
                (b, COUNTY, "branch", b, "unit", f"town-{i % 18}", None, "secretary", 20)
                for i, b in enumerate(ids)
            ],
            columns=[
                "branch_id",
                "county_code",
                "kind",
                "name",
                "unit",
                "township",
                "parent_id",
                "secretary_name",
                "member_count",
            ],
        )
        levels = [rng.choice(LEVELS) for _ in ids]
        await conn.copy_records_to_table(
            "cards",
            records=[(campaign, b, level, 80) for b, level in zip(ids, levels, strict=True)],
            columns=["campaign_id", "branch_id", "initial_level", "initial_total"],
        )
        await conn.copy_records_to_table(
            "tasks",
            records=[(campaign, b, f"t{n}", True, n == 0, n == 1) for b in ids for n in range(3)],
            columns=["campaign_id", "branch_id", "task_id", "in_plan", "completed", "overdue"],
        )
        await conn.execute("INSERT INTO county_counts VALUES ($1, $2)", COUNTY, branches)
        await conn.executemany(
            "INSERT INTO counters VALUES ($1, $2, $3)",
            [(campaign, f"level:initial:{lv}", levels.count(lv)) for lv in LEVELS],
        )
        await conn.execute("ANALYZE branches, cards, tasks")
        await tokens.create(
            conn,
            token_hash=token_hash(bearer, pepper),
            county_code=COUNTY,
            branch_id=None,
            label="bench",
        )
    return bearer


async def cleanup(pool: object, campaign: str) -> None:
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        for table in ("cards", "tasks", "counters"):
            await conn.execute(f"DELETE FROM {table} WHERE campaign_id = $1", campaign)
        await conn.execute("DELETE FROM campaigns WHERE campaign_id = $1", campaign)
        await conn.execute("DELETE FROM branches WHERE county_code = $1", COUNTY)
        await conn.execute("DELETE FROM county_counts WHERE county_code = $1", COUNTY)
        await conn.execute("DELETE FROM api_tokens WHERE label = 'bench'")


def serve() -> None:
    """The API routes of the service, on their own (no consumer), in this process."""
    app = FastAPI()
    app.include_router(api.router)

    @app.on_event("startup")
    async def connect() -> None:
        pool = await database.create_pool(
            os.environ["REPORTING_DATABASE_URL"], "reporting", size=10
        )
        app.state.runtime = types.SimpleNamespace(pool=pool)

    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning", access_log=False)


async def drive(bearer: str, campaign: str, seconds: float, clients: int) -> dict[str, list[float]]:
    paths = {
        "summary": f"/v1/campaigns/{campaign}/summary",
        "branches page 1": f"/v1/campaigns/{campaign}/branches?page_size=50",
        "branches level+township, page 20": (
            f"/v1/campaigns/{campaign}/branches?level=weak&township=town-3&page=20&page_size=50"
        ),
        "card": f"/v1/campaigns/{campaign}/branches/{campaign}-004242",
    }
    timings: dict[str, list[float]] = {name: [] for name in paths}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{PORT}", headers={"Authorization": f"Bearer {bearer}"}
    ) as client:

        async def worker(name: str, path: str) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await client.get(path)
                assert response.status_code == 200, response.text
                timings[name].append(time.perf_counter() - started)

        for name, path in paths.items():  # one endpoint at a time, `clients` at once
            await asyncio.gather(*(worker(name, path) for _ in range(clients)))
    return timings


async def _prepare(branches: int, campaign: str) -> tuple[str, float]:
    pool = await database.create_pool(os.environ["REPORTING_DATABASE_URL"], "reporting", size=2)
    started = time.perf_counter()
    bearer = await load(pool, campaign, branches)
    await pool.close()
    return bearer, time.perf_counter() - started


async def _cleanup(campaign: str) -> None:
    pool = await database.create_pool(os.environ["REPORTING_DATABASE_URL"], "reporting", size=2)
    await cleanup(pool, campaign)
    await pool.close()


def main(branches: int) -> None:
    campaign = f"bench-{uuid.uuid4().hex[:8]}"
    bearer, loaded = asyncio.run(_prepare(branches, campaign))
    server = subprocess.Popen([sys.executable, __file__, "serve"])
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/docs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        load_process = subprocess.run(
            [sys.executable, __file__, "drive", bearer, campaign],
            capture_output=True,
            text=True,
            check=True,
        )
        timings = json.loads(load_process.stdout)
    finally:
        server.terminate()
        server.wait()
        asyncio.run(_cleanup(campaign))
    print(f"{branches:,} branches loaded in {loaded:.1f} s; 8 concurrent clients, 5 s each\n")
    print("| endpoint | requests | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, values in timings.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"| {name} | {len(values):,} | {statistics.median(values) * 1000:.1f} "
            f"| {p99 * 1000:.1f} |"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve()
    elif sys.argv[1:2] == ["drive"]:
        print(json.dumps(asyncio.run(drive(sys.argv[2], sys.argv[3], 5.0, 8))))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
