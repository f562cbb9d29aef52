"""Benchmark (not a test): the sweep and the settlement over N branches × 5 tasks, each branch
with its plan waiting for review and one escalated problem waiting for an answer (so the sweep
names overdue tasks, reviews and escalations).

    . deploy/env.sh && uv run python services/rectification/benchmarks/sweep_and_settle.py [N]

Runs inside one transaction that is rolled back: no row stays, nothing is published.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import sys
import time
import uuid
from pathlib import Path

from grassroots.contract.calendar import COUNTY_TIME
from grassroots.plumbing import database, outbox
from grassroots.plumbing.unit_of_work import UnitOfWork
from rectification.jobs import settle, sweep
from rectification.store import RectificationStore

TASKS_PER_BRANCH = 5


async def main(branches: int) -> None:
    pool = await database.create_pool(
        os.environ["RECTIFICATION_DATABASE_URL"], "rectification", size=2
    )
    rng = random.Random(11)
    token = uuid.uuid4().hex[:8]
    county, campaign = "999998", f"bench-{token}"
    opened = dt.datetime(2012, 4, 16, 9, tzinfo=COUNTY_TIME)
    sweep_at = dt.datetime(2012, 5, 20, 9, tzinfo=COUNTY_TIME)
    closed = dt.datetime(2012, 6, 30, 18, tzinfo=COUNTY_TIME)
    async with pool.acquire() as conn:

        def unit(now: dt.datetime) -> UnitOfWork[RectificationStore]:
            return UnitOfWork(
                RectificationStore(conn), service="rectification", now=now, connection=conn
            )

        await database.migrate(conn, "rectification", Path(__file__).parents[1] / "migrations")
        transaction = conn.transaction()
        await transaction.start()
        try:
            ids = [f"bench-{token}-{i:06d}" for i in range(branches)]
            committee = f"bench-{token}-committee"
            await conn.execute(
                """INSERT INTO campaigns (campaign_id, county_code, starts_on, ends_on,
                       rectification_opened_at) VALUES ($1, $2, '2012-03-01', '2012-09-30', $3)""",
                campaign,
                county,
                opened,
            )
            await conn.copy_records_to_table(
                "branches",
                records=[(b, county, "branch", b, committee) for b in ids],
                columns=["branch_id", "county_code", "kind", "name", "parent_id"],
            )
            await conn.copy_records_to_table(
                "problems",
                records=[
                    (campaign, b, county, "p1", "问题", "public", True, committee, opened, opened)
                    for b in ids
                ],
                columns=[
                    "campaign_id",
                    "branch_id",
                    "county_code",
                    "problem_id",
                    "description",
                    "source",
                    "needs_superior",
                    "escalated_to",
                    "listed_at",
                    "escalated_at",
                ],
            )
            await conn.copy_records_to_table(
                "commitments",
                records=[(campaign, b, f"{b}-c", 1, opened) for b in ids],
                columns=["campaign_id", "branch_id", "commitment_id", "revision", "published_at"],
            )
            tasks = []
            for branch_id in ids:
                for n in range(TASKS_PER_BRANCH):
                    deadline = dt.date(2012, 5, 1) + dt.timedelta(days=rng.randint(0, 55))
                    done = opened if rng.random() < 0.7 else None
                    tasks.append(
                        (
                            campaign,
                            branch_id,
                            county,
                            f"t{n}",
                            f"{branch_id}-c",
                            1,
                            "任务",
                            "负责人",
                            "要求",
                            "措施",
                            deadline,
                            "immediate",
                            done,
                        )
                    )
            await conn.copy_records_to_table(
                "tasks",
                records=tasks,
                columns=[
                    "campaign_id",
                    "branch_id",
                    "county_code",
                    "task_id",
                    "commitment_id",
                    "revision",
                    "title",
                    "responsible",
                    "requirement",
                    "measures",
                    "deadline",
                    "kind",
                    "completed_at",
                ],
            )
            await conn.execute("ANALYZE tasks, branches, commitments, problems")
            started = time.perf_counter()
            uow = unit(sweep_at)
            overdue = await sweep(uow, campaign)
            await outbox.append(conn, uow.outgoing)  # as the unit of work does on leaving
            swept = time.perf_counter() - started
            started = time.perf_counter()
            uow = unit(sweep_at)
            again = await sweep(uow, campaign)
            await outbox.append(conn, uow.outgoing)
            swept_again = time.perf_counter() - started
            await conn.execute(
                "UPDATE campaigns SET settlement = 'closing', closed_at = $2"
                " WHERE campaign_id = $1",
                campaign,
                closed,
            )
            started = time.perf_counter()
            uow = unit(closed)
            settled = await settle(uow, campaign)
            await outbox.append(conn, uow.outgoing)
            settling = time.perf_counter() - started
        finally:
            await transaction.rollback()
    await pool.close()
    print("| branches × tasks | sweep | events | same sweep again | settlement | events |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| {branches:,} × {TASKS_PER_BRANCH} | {swept:.1f} s | {overdue:,} "
        f"| {swept_again:.2f} s ({again} new) | {settling:.1f} s | {settled:,} settled |"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
