"""Computing a round once its phase closed and the barrier passed: one set-based pass."""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import Counter, Histogram

from grading.domain import Grade, Incomplete, RoundResult, Rules, grade_round
from grading.results import graded, result_event_id
from grading.store import GradingStore, RoundKey
from grassroots.contract import Topic
from grassroots.contract.common import Round
from grassroots.contract.events import (
    GradingBranchGradedEvent,
    GradingBranchIncompleteEvent,
    GradingResultsPublishedEvent,
)
from grassroots.contract.grading import (
    BranchIncomplete,
    LevelCounts,
    MissingInput,
    ResultsPublished,
)
from grassroots.plumbing.jobs import BarrierJob
from grassroots.plumbing.unit_of_work import UnitOfWork

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
# The results depend on these: registrations, inputs, the launch's rules, settlements, and the
# committee's assessments (weighed in the final round when the campaign says so).
BARRIER_TOPICS = (
    Topic.CAMPAIGN_LIFECYCLE,
    Topic.ORG_BRANCHES,
    Topic.GRADING_INPUTS,
    Topic.RECTIFICATION_RESULTS,
    Topic.ASSESSMENT_INPUTS,
)


async def compute_round(uow: UnitOfWork[GradingStore], key: RoundKey) -> None:
    """Grade every branch of the round and publish, in the unit's transaction (nothing when
    it was computed already, by another replica or before a restart)."""
    campaign_id, round_ = key
    started = time.perf_counter()
    result = await grade_and_publish(uow, campaign_id, round_, started=started)
    if result is None:
        return
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


async def grade_and_publish(
    uow: UnitOfWork[GradingStore], campaign_id: str, round_: str, *, started: float
) -> RoundResult | None:
    """Within the unit of work: load, grade, write results and emit them, mark done."""
    store = uow.store
    locked = await store.lock_round_for_computing(campaign_id, round_)
    if locked is None:
        return None
    county = locked["county_code"]
    rules = Rules.from_campaign(await store.get_campaign_rules(campaign_id))
    branches = await store.load_round(campaign_id, round_, county)
    result = grade_round(rules, branches, final=round_ == "final")
    scope: dict[str, Any] = {"countycode": county, "campaignid": campaign_id}
    outcomes: list[tuple[Grade | Incomplete, str]] = []
    for grade in result.graded:
        event_id = result_event_id(campaign_id, round_, grade.branch_id)
        uow.emit(GradingBranchGradedEvent, graded(grade, round_), event_id=event_id, **scope)
        outcomes.append((grade, event_id))
    for missing in result.incomplete:
        event_id = result_event_id(campaign_id, round_, missing.branch_id)
        incomplete = BranchIncomplete(
            branch_id=missing.branch_id,
            round=Round(round_),
            missing=[MissingInput(m) for m in missing.missing],
        )
        uow.emit(GradingBranchIncompleteEvent, incomplete, event_id=event_id, **scope)
        outcomes.append((missing, event_id))
    published = ResultsPublished(
        campaign_id=campaign_id,
        round=Round(round_),
        counts=LevelCounts(**result.counts()),
        incomplete=len(result.incomplete),
        moved_up=result.moved_up() if round_ == "final" else None,
    )
    uow.emit(
        GradingResultsPublishedEvent,
        published,
        event_id=result_event_id(campaign_id, round_, "*published*"),
        **scope,
    )
    await store.save_results(campaign_id, round_, outcomes)
    await store.mark_computed(campaign_id, round_, seconds=time.perf_counter() - started)
    return result


COMPUTE_CLOSING_ROUNDS: BarrierJob[GradingStore, RoundKey] = BarrierJob(
    "compute closing rounds",
    topics=BARRIER_TOPICS,
    waiting=GradingStore.closing_rounds,
    save_snapshot=GradingStore.save_end_offsets,
    run=compute_round,
)
