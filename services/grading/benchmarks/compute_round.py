"""Benchmark (not a test): compute one grading round for N branches on the real database.

    . deploy/env.sh && uv run python services/grading/benchmarks/compute_round.py [N]

Everything happens inside one transaction that is rolled back at the end: no row stays, no
event is published. Reports the time to compute the round (load, grade, write results and the
outbox) — the same code path the service runs when a phase closes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from grading.rounds import grade_and_publish
from grading.store import GradingStore
from grassroots.plumbing import database, outbox
from grassroots.plumbing.unit_of_work import UnitOfWork

CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")


async def main(branches: int) -> None:
    pool = await database.create_pool(os.environ["GRADING_DATABASE_URL"], "grading", size=2)
    rng = random.Random(7)
    token = uuid.uuid4().hex[:8]
    county, campaign = "999999", f"bench-{token}"
    now = dt.datetime.now(dt.UTC)
    async with pool.acquire() as conn:
        await database.migrate(conn, "grading", Path(__file__).parents[1] / "migrations")
        transaction = conn.transaction()
        await transaction.start()
        try:
            ids = [f"bench-{token}-{i:06d}" for i in range(branches)]
            started = time.perf_counter()
            await conn.copy_records_to_table(
                "branches",
                records=[(b, county, "branch", b, None) for b in ids],
                columns=["branch_id", "county_code", "kind", "name", "parent_id"],
            )
            inputs = []
            for branch_id in ids:
                quality = rng.gauss(80, 10)
                for source in ("self", "appraisal", "superior"):
                    scores = [
                        Decimal(str(round(min(100, max(0, rng.gauss(quality, 4))), 1)))
                        for _ in CRITERIA
                    ]
                    inputs.append((campaign, "initial", branch_id, source, *scores, branch_id, now))
            await conn.copy_records_to_table(
                "inputs",
                records=inputs,
                columns=[
                    "campaign_id",
                    "round",
                    "branch_id",
                    "source",
                    *CRITERIA,
                    "event_id",
                    "event_time",
                ],
            )
            await conn.execute(
                "INSERT INTO rounds (campaign_id, round, status, county_code)"
                " VALUES ($1, 'initial', 'closing', $2)",
                campaign,
                county,
            )
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            uow = UnitOfWork(GradingStore(conn), service="grading", now=now, connection=conn)
            result = await grade_and_publish(uow, campaign, "initial", started=started)
            await outbox.append(conn, uow.outgoing)  # as the unit of work does on leaving
            seconds = time.perf_counter() - started
        finally:
            await transaction.rollback()
    await pool.close()
    assert result is not None
    print("| branches | inputs loaded (COPY) | round computed | branches/s | counts |")
    print("|---:|---:|---:|---:|---|")
    print(
        f"| {branches:,} | {loaded:.1f} s | {seconds:.1f} s | {branches / seconds:,.0f} "
        f"| {result.counts()} |"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
