"""Time-driven work and the settlement: overdue tasks and missing commitments on the injectable
clock (periodic, idempotent: the same sweep twice emits nothing new), and one settlement per
branch when rectification closes, behind the phase-close barrier."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from typing import Any

import asyncpg
from prometheus_client import Counter, Histogram

from grassroots.contract import Topic
from grassroots.contract.rectification import BranchSettled, CommitmentMissing, TaskOverdue
from grassroots.plumbing import outbox
from grassroots.plumbing.barrier import run_behind_barrier
from grassroots.plumbing.handling import HandlerContext
from grassroots.plumbing.offsets import OffsetsProbe
from grassroots.plumbing.service import Runtime
from rectification import store
from rectification.domain import (
    TaskState,
    commitment_due_on,
    county_today,
    naming_order,
    settle_branch,
)
from rectification.handlers import result_event_id

log = logging.getLogger(__name__)

SWEEP_FINDINGS = Counter(
    "grassroots_rectification_sweep_findings_total",
    "Overdue tasks and missing commitments found by the time-driven sweep.",
    ["kind"],
)
SETTLEMENT_SECONDS = Histogram(
    "grassroots_rectification_settlement_seconds",
    "Time to settle one campaign.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
BARRIER_TOPICS = (Topic.CAMPAIGN_LIFECYCLE, Topic.ORG_BRANCHES, Topic.RECTIFICATION_INPUTS)


def _emit_overdue(ctx: HandlerContext, rows: list[asyncpg.Record]) -> None:
    for row in rows:
        ctx.emit(
            "rectification.task_overdue",
            TaskOverdue(
                branch_id=row["branch_id"],
                task_id=row["task_id"],
                deadline=row["deadline"],
                responsible=row["responsible"],
            ),
            countycode=row["county_code"],
            campaignid=row["campaign_id"],
            event_id=result_event_id(
                row["campaign_id"],
                "overdue",
                row["branch_id"],
                row["task_id"],
                row["deadline"].isoformat(),
            ),
        )


async def sweep_once(runtime: Runtime) -> int:
    """One sweep at the clock's now; returns how many events it emitted."""
    async with runtime.pool.acquire() as conn, conn.transaction():
        if not await store.lock_sweep(conn):
            return 0
        emitted = await sweep(conn, now=runtime.clock(), service=runtime.definition.name)
    if emitted:
        runtime.relay.wake()
    return emitted


async def sweep(conn: asyncpg.Connection, *, now: dt.datetime, service: str) -> int:
    """Within the caller's transaction: flag overdue tasks and name missing commitments, once."""
    ctx = HandlerContext(conn=conn, service=service, now=now)
    overdue = await store.mark_overdue(conn, deadline_before=county_today(now), marked_at=now)
    _emit_overdue(ctx, overdue)
    per_campaign: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for row in await store.branches_without_commitment(conn, now):
        per_campaign[row["campaign_id"]].append(row)
    missing = []
    for campaign_id, rows in sorted(per_campaign.items()):
        rows_by_branch = {row["branch_id"]: row for row in rows}
        levels = {row["branch_id"]: row["level"] for row in rows}
        for branch_id in naming_order(levels, rows_by_branch):
            row = rows_by_branch[branch_id]
            due = commitment_due_on(row["rectification_opened_at"], row["commitment_due_days"])
            missing.append((campaign_id, branch_id, due))
            ctx.emit(
                "rectification.commitment_missing",
                CommitmentMissing(branch_id=branch_id, due=due),
                countycode=row["county_code"],
                campaignid=campaign_id,
                event_id=result_event_id(campaign_id, "missing", branch_id),
            )
    await store.save_missing(conn, missing, now)
    await outbox.append(conn, ctx.emitted)
    SWEEP_FINDINGS.labels("task_overdue").inc(len(overdue))
    SWEEP_FINDINGS.labels("commitment_missing").inc(len(missing))
    return len(ctx.emitted)


async def sweep_periodically(runtime: Runtime) -> None:
    while True:
        try:
            await sweep_once(runtime)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sweep failed; retrying at the next interval")
        await asyncio.sleep(runtime.settings.sweep_interval_seconds)


async def settle_campaign(runtime: Runtime, campaign_id: str) -> bool:
    """Overdue first, then one branch_settled per branch, in one transaction."""
    with SETTLEMENT_SECONDS.time():
        async with runtime.pool.acquire() as conn, conn.transaction():
            settled = await settle(
                conn, campaign_id, service=runtime.definition.name, now=runtime.clock()
            )
    if settled is None:
        return False
    runtime.relay.wake()
    log.info("%s settled: %d branches", campaign_id, settled)
    return True


async def settle(
    conn: asyncpg.Connection, campaign_id: str, *, service: str, now: dt.datetime
) -> int | None:
    """Within the caller's transaction; the number of branches settled, None if not closing."""
    campaign = await store.lock_campaign_for_settling(conn, campaign_id)
    if campaign is None:
        return None
    closed_at: dt.datetime = campaign["closed_at"]
    county = campaign["county_code"]
    ctx = HandlerContext(conn=conn, service=service, now=now)
    overdue = await store.mark_overdue(
        conn, deadline_before=county_today(closed_at), marked_at=closed_at, campaign_id=campaign_id
    )
    _emit_overdue(ctx, overdue)
    tasks: dict[str, list[TaskState]] = defaultdict(list)
    for row in await store.tasks_to_settle(conn, campaign_id, county):
        branch_tasks = tasks[row["branch_id"]]
        if row["task_id"] is not None:
            branch_tasks.append(TaskState(row["task_id"], row["deadline"], row["completed"]))
    settlements = [
        (branch_id, settle_branch(branch_tasks, closed_at))
        for branch_id, branch_tasks in tasks.items()
    ]
    for branch_id, settlement in settlements:
        ctx.emit(
            "rectification.branch_settled",
            BranchSettled(
                branch_id=branch_id,
                tasks_total=settlement.tasks_total,
                tasks_completed=settlement.tasks_completed,
                tasks_overdue=settlement.tasks_overdue,
                completion_rate=float(settlement.completion_rate),
            ),
            countycode=county,
            campaignid=campaign_id,
            event_id=result_event_id(campaign_id, "settled", branch_id),
        )
    await store.save_settlements(conn, campaign_id, settlements)
    await outbox.append(conn, ctx.emitted)
    await store.mark_settled(conn, campaign_id, now)
    return len(settlements)


async def settle_closed_campaigns(runtime: Runtime) -> None:
    probe = OffsetsProbe(runtime.settings.kafka_bootstrap_servers, group_id=runtime.definition.name)
    await probe.start()

    async def waiting(conn: asyncpg.Connection) -> list[tuple[Any, dict[str, int] | None]]:
        return [
            (row["campaign_id"], row["end_offsets"]) for row in await store.closing_campaigns(conn)
        ]

    async def save_offsets(conn: asyncpg.Connection, key: Any, offsets: dict[str, int]) -> None:
        await store.save_end_offsets(conn, key, offsets)

    async def compute(key: Any) -> bool:
        return await settle_campaign(runtime, key)

    try:
        await run_behind_barrier(
            runtime.pool,
            probe,
            topics=BARRIER_TOPICS,
            waiting=waiting,
            save_offsets=save_offsets,
            compute=compute,
        )
    finally:
        await probe.stop()
