"""Time-driven notices on the injectable clock, and the circulars (通报).

The sweep runs every GRASSROOTS_SWEEP_INTERVAL_SECONDS at the clock's `now`, in one
transaction under an advisory lock, and is idempotent: every reminder, escalation and
periodic circular is recorded under its key, so the same sweep twice plans nothing new.

- phase closing: before a phase's planned last day, at each offset (default 7 and 1 days,
  or the campaign's `reminder_days_before_close`), every branch is reminded;
- commitment due: before the commitment is due (rectification opened + commitment_due_days),
  each branch still without a commitment is reminded, at the same offsets;
- escalation: an overdue task still open `escalation_days` after it became overdue goes to
  the branch's parent organisation, once;
- periodic circular: every `circular_period_days` from the moment the campaign's first phase
  opened (numbered 1, 2, …), while a phase is open — only the latest period when the service
  was down, and none when nobody is lagging.

The circular at a phase's close waits for that close's results (grading's round, the
settlements), then behind the barrier for this service to have applied them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import asyncpg

from grassroots.contract import Topic
from grassroots.plumbing import outbox
from grassroots.plumbing.barrier import run_behind_barrier
from grassroots.plumbing.handling import HandlerContext
from grassroots.plumbing.offsets import OffsetsProbe
from grassroots.plumbing.service import Runtime
from notification import store
from notification.domain import (
    Kind,
    LaggingFact,
    Reason,
    circular_period,
    commitment_due_on,
    county_today,
    days_left,
    escalate_deadlines_before,
    lagging_branches,
    reminder_due,
)
from notification.planning import Notice, Planner, time_driven_cause

log = logging.getLogger(__name__)
BARRIER_TOPICS = (
    Topic.ORG_BRANCHES,
    Topic.GRADING_RESULTS,
    Topic.RECTIFICATION_RESULTS,
    Topic.RECTIFICATION_INPUTS,
)


async def sweep(ctx: HandlerContext, planner: Planner) -> int:
    """Within the caller's transaction: everything due at ctx.now; how many deliveries."""
    planned = 0
    for phase in await store.open_phases(ctx.conn, county_today(ctx.now)):
        planned += await remind_phase_closing(ctx, planner, phase)
        if phase["phase"] == "rectification":
            planned += await remind_commitment_due(ctx, planner, phase)
    planned += await escalate_overdue(ctx, planner)
    # A campaign left open long after its plan ended is not circulated for ever.
    period = dt.timedelta(days=planner.settings.circular_period_days)
    for campaign in await store.running_campaigns(ctx.conn, county_today(ctx.now - period)):
        planned += await issue_periodic_circular(ctx, planner, campaign)
    return planned


async def _decide(
    ctx: HandlerContext, planner: Planner, phase: asyncpg.Record, deadline: dt.date, prefix: str
) -> int | None:
    """The reminder (days before `deadline`) to send now, recorded; None when none is due."""
    offsets = phase["reminder_days"] or planner.settings.reminder_days
    done = await store.reminders_decided(ctx.conn, phase["campaign_id"], prefix)
    decision = reminder_due(
        deadline, offsets, hour=planner.settings.reminder_hour, now=ctx.now, done=done
    )
    if decision.send is None:
        return None
    await store.decide_reminders(
        ctx.conn,
        phase["campaign_id"],
        [(f"{prefix}{decision.send}", True), *((f"{prefix}{d}", False) for d in decision.passed)],
        ctx.now,
    )
    return decision.send


async def remind_phase_closing(ctx: HandlerContext, planner: Planner, phase: asyncpg.Record) -> int:
    closes_on = phase["closes_on"]
    if closes_on is None:
        return 0
    prefix = f"phase_closing:{phase['phase']}:"
    offset = await _decide(ctx, planner, phase, closes_on, prefix)
    if offset is None:
        return 0
    source, cause = time_driven_cause(phase["campaign_id"], prefix, str(offset))
    facts = {
        "phase": phase["phase"],
        "closes_on": closes_on.isoformat(),
        "days_left": days_left(closes_on, ctx.now),
    }
    notice = Notice(
        Kind.PHASE_CLOSING, source, cause, phase["county_code"], phase["campaign_id"], None, facts
    )
    return await planner.notify(ctx, notice)


async def remind_commitment_due(
    ctx: HandlerContext, planner: Planner, phase: asyncpg.Record
) -> int:
    due_on = commitment_due_on(phase["opened_at"], phase["commitment_due_days"])
    offset = await _decide(ctx, planner, phase, due_on, "commitment_due:")
    if offset is None:
        return 0
    notices = []
    campaign_id, county = phase["campaign_id"], phase["county_code"]
    for row in await store.branches_without_commitment(ctx.conn, campaign_id, county):
        branch_id = row["org_id"]
        source, cause = time_driven_cause(campaign_id, "commitment_due", str(offset), branch_id)
        facts = {
            "branch_id": branch_id,
            "branch_name": row["name"],
            "due_on": due_on.isoformat(),
            "days_left": days_left(due_on, ctx.now),
        }
        notices.append(
            Notice(Kind.COMMITMENT_DUE, source, cause, county, campaign_id, branch_id, facts)
        )
    return await planner.plan(ctx, notices)


async def escalate_overdue(ctx: HandlerContext, planner: Planner) -> int:
    days = planner.settings.escalation_days
    notices = []
    for task in await store.tasks_to_escalate(
        ctx.conn, escalate_deadlines_before(ctx.now, days), ctx.now
    ):
        campaign_id, branch_id = task["campaign_id"], task["branch_id"]
        source, cause = time_driven_cause(
            campaign_id, "escalation", branch_id, task["task_id"], task["deadline"].isoformat()
        )
        facts = {
            "branch_id": branch_id,
            "task_id": task["task_id"],
            "title": task["title"] or task["task_id"],
            "deadline": task["deadline"].isoformat(),
            "responsible": task["responsible"],
            "days_overdue": (county_today(ctx.now) - task["deadline"]).days - 1,
        }
        notices.append(
            Notice(
                Kind.OVERDUE_ESCALATED,
                source,
                cause,
                task["county_code"],
                campaign_id,
                branch_id,
                facts,
            )
        )
    return await planner.plan(ctx, notices)


async def issue_periodic_circular(
    ctx: HandlerContext, planner: Planner, campaign: asyncpg.Record
) -> int:
    period_days = planner.settings.circular_period_days
    number = circular_period(campaign["started_at"], ctx.now, period_days)
    if number < 1 or number <= (campaign["last_period"] or 0):
        return 0
    return await issue_circular(
        ctx, planner, campaign, f"period:{number}", number=number, phase=None, when_empty=False
    )


async def issue_circular(
    ctx: HandlerContext,
    planner: Planner,
    campaign: asyncpg.Record,
    circular_key: str,
    *,
    number: int | None,
    phase: str | None,
    when_empty: bool,
) -> int:
    """One circular to every branch and the office naming the lagging branches, each once."""
    campaign_id = campaign["campaign_id"]
    facts = [
        LaggingFact(
            row["branch_id"],
            row["branch_name"],
            Reason(row["reason"]),
            row["fact_key"],
            row["detail"],
        )
        for row in await store.open_facts(ctx.conn, campaign_id)
    ]
    lines = lagging_branches(facts)
    await store.mark_circular_issued(ctx.conn, campaign_id, circular_key, len(lines), ctx.now)
    if not lines and not when_empty:
        return 0
    source, cause = time_driven_cause(campaign_id, "circular", circular_key)
    lagging: list[dict[str, Any]] = [
        {
            "branch_id": line.branch_id,
            "branch_name": line.branch_name,
            "reasons": [
                {"reason": r.reason.value, "details": list(r.details)} for r in line.reasons
            ],
        }
        for line in lines
    ]
    notice = Notice(
        Kind.CIRCULAR,
        source,
        cause,
        campaign["county_code"],
        campaign_id,
        None,
        {
            "number": number,
            "phase": phase,
            "as_of": county_today(ctx.now).isoformat(),
            "lagging": lagging,
        },
    )
    return await planner.notify(ctx, notice)


async def sweep_once(runtime: Runtime, planner: Planner) -> int:
    async with runtime.pool.acquire() as conn, conn.transaction():
        if not await store.lock_sweep(conn):
            return 0
        ctx = HandlerContext(conn=conn, service=runtime.definition.name, now=runtime.clock())
        planned = await sweep(ctx, planner)
        await outbox.append(conn, ctx.emitted)
    if ctx.emitted:
        runtime.relay.wake()
    return planned


async def sweep_periodically(runtime: Runtime, planner: Planner) -> None:
    while True:
        try:
            await sweep_once(runtime, planner)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sweep failed; retrying at the next interval")
        await asyncio.sleep(runtime.settings.sweep_interval_seconds)


async def issue_close_circulars(runtime: Runtime, planner: Planner) -> None:
    """The circular of each closed phase, once its results are applied here (the barrier)."""
    probe = OffsetsProbe(runtime.settings.kafka_bootstrap_servers, group_id=runtime.definition.name)
    await probe.start()

    async def waiting(conn: asyncpg.Connection) -> list[tuple[Any, dict[str, int] | None]]:
        return [
            ((row["campaign_id"], row["circular_key"]), row["end_offsets"])
            for row in await store.waiting_circulars(conn)
        ]

    async def save_offsets(conn: asyncpg.Connection, key: Any, offsets: dict[str, int]) -> None:
        await store.save_circular_offsets(conn, key[0], key[1], offsets)

    async def compute(key: Any) -> bool:
        campaign_id, circular_key = key
        async with runtime.pool.acquire() as conn, conn.transaction():
            if not await store.lock_waiting_circular(conn, campaign_id, circular_key):
                return False
            campaign = await store.campaign(conn, campaign_id)
            if campaign is None:
                return False
            ctx = HandlerContext(conn=conn, service=runtime.definition.name, now=runtime.clock())
            phase = circular_key.removeprefix("close:")
            await issue_circular(
                ctx, planner, campaign, circular_key, number=None, phase=phase, when_empty=True
            )
            await outbox.append(conn, ctx.emitted)
        runtime.relay.wake()
        return True

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
