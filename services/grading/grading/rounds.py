"""Computing a round once its phase closed and the barrier passed: one set-based pass."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import asyncpg
from prometheus_client import Counter, Histogram

from grading import store
from grading.domain import Grade, Incomplete, RoundResult, Rules, grade_round
from grading.handlers import result_event_id
from grassroots.contract import Topic
from grassroots.contract.common import Level, Round, Scores
from grassroots.contract.grading import (
    Basis,
    BranchGraded,
    BranchIncomplete,
    LevelCounts,
    MissingInput,
    ResultsPublished,
)
from grassroots.plumbing import outbox
from grassroots.plumbing.barrier import run_behind_barrier
from grassroots.plumbing.handling import HandlerContext
from grassroots.plumbing.offsets import OffsetsProbe
from grassroots.plumbing.service import Runtime

log = logging.getLogger(__name__)

ROUNDS_COMPUTED = Counter(
    "grassroots_grading_rounds_computed_total", "Grading rounds computed and published.", ["round"]
)
ROUND_SECONDS = Histogram(
    "grassroots_grading_round_seconds",
    "Time to compute and write one round.",
    ["round"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
# The results depend on these: registrations, inputs, the launch's rules, settlements.
BARRIER_TOPICS = (
    Topic.CAMPAIGN_LIFECYCLE,
    Topic.ORG_BRANCHES,
    Topic.GRADING_INPUTS,
    Topic.RECTIFICATION_RESULTS,
)


async def compute_closing_rounds(runtime: Runtime) -> None:
    """Background job: compute each closing round once the barrier passed."""
    probe = OffsetsProbe(runtime.settings.kafka_bootstrap_servers, group_id=runtime.definition.name)
    await probe.start()

    async def waiting(conn: asyncpg.Connection) -> list[tuple[Any, dict[str, int] | None]]:
        return [
            ((row["campaign_id"], row["round"]), row["end_offsets"])
            for row in await store.closing_rounds(conn)
        ]

    async def save_offsets(conn: asyncpg.Connection, key: Any, offsets: dict[str, int]) -> None:
        await store.save_end_offsets(conn, key[0], key[1], offsets)

    async def compute(key: Any) -> bool:
        return await compute_round(runtime, *key)

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


async def compute_round(runtime: Runtime, campaign_id: str, round_: str) -> bool:
    """Grade every branch of the round and publish, in one transaction; False if not due."""
    started = time.perf_counter()
    async with runtime.pool.acquire() as conn, conn.transaction():
        result = await grade_and_publish(
            conn,
            campaign_id,
            round_,
            service=runtime.definition.name,
            now=runtime.clock(),
            started=started,
        )
    if result is None:
        return False  # computed already (by another replica, or before a restart)
    runtime.relay.wake()
    seconds = time.perf_counter() - started
    ROUNDS_COMPUTED.labels(round_).inc()
    ROUND_SECONDS.labels(round_).observe(seconds)
    log.info(
        "%s %s round: %d graded, %d incomplete, in %.2fs",
        campaign_id,
        round_,
        len(result.graded),
        len(result.incomplete),
        seconds,
    )
    return True


async def grade_and_publish(
    conn: asyncpg.Connection,
    campaign_id: str,
    round_: str,
    *,
    service: str,
    now: dt.datetime,
    started: float,
) -> RoundResult | None:
    """Within the caller's transaction: load, grade, write results and the outbox, mark done."""
    locked = await store.lock_round_for_computing(conn, campaign_id, round_)
    if locked is None:
        return None
    county = locked["county_code"]
    rules = Rules.from_campaign(await store.get_campaign_rules(conn, campaign_id))
    branches = await store.load_round(conn, campaign_id, round_, county)
    result = grade_round(rules, branches, final=round_ == "final")
    ctx = HandlerContext(conn=conn, service=service, now=now)
    scope: dict[str, Any] = {"countycode": county, "campaignid": campaign_id}
    outcomes: list[tuple[Grade | Incomplete, str]] = []
    for grade in result.graded:
        event_id = result_event_id(campaign_id, round_, grade.branch_id)
        ctx.emit("grading.branch_graded", _graded(grade, round_), event_id=event_id, **scope)
        outcomes.append((grade, event_id))
    for missing in result.incomplete:
        event_id = result_event_id(campaign_id, round_, missing.branch_id)
        incomplete = BranchIncomplete(
            branch_id=missing.branch_id,
            round=Round(round_),
            missing=[MissingInput(m) for m in missing.missing],
        )
        ctx.emit("grading.branch_incomplete", incomplete, event_id=event_id, **scope)
        outcomes.append((missing, event_id))
    published = ResultsPublished(
        campaign_id=campaign_id,
        round=Round(round_),
        counts=LevelCounts(**result.counts()),
        incomplete=len(result.incomplete),
        moved_up=result.moved_up() if round_ == "final" else None,
    )
    ctx.emit(
        "grading.results_published",
        published,
        event_id=result_event_id(campaign_id, round_, "*published*"),
        **scope,
    )
    await store.save_results(conn, campaign_id, round_, outcomes)
    await outbox.append(conn, ctx.emitted)
    await store.mark_computed(conn, campaign_id, round_, seconds=time.perf_counter() - started)
    return result


def _graded(grade: Grade, round_: str) -> BranchGraded:
    final = round_ == "final"
    optional: dict[str, Any] = {}
    if final:
        optional = {
            "previous_level": Level(grade.previous_level) if grade.previous_level else None,
            "moved_up": grade.moved_up,
            "completion_rate": float(grade.completion_rate or 0),
            "settled": grade.settled,
            "upgrade_capped": grade.upgrade_capped,
        }
    return BranchGraded(
        branch_id=grade.branch_id,
        round=Round(round_),
        level=Level(grade.level),
        total=float(grade.total),
        scores=Scores(**{c: float(v) for c, v in grade.scores.items()}),
        basis=Basis(grade.basis),
        computed_level=Level(grade.computed_level),
        override_reason=grade.override_reason,
        veto_reason=grade.veto_reason,
        quota_limited=grade.quota_limited or None,
        **optional,
    )
