"""One handler per consumed event type, and set-based versions of the frequent ones: the read
models follow every topic.

Reporting keeps what the other services decided (levels, overdue, settlements) and the inputs
people see on a card (problems, commitments, progress). It never re-judges an input; it only
refuses to let state go backwards: an older revision, a review of a superseded revision, or
progress on a task it does not know leave the card as it is (rectification dead-letters them).
Counters and campaigns' `updated_at` are collected over a batch and written once at its end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from grassroots.plumbing.handling import BatchHandler, Handler, HandlerContext, one_at_a_time
from reporting import domain
from reporting.store import ingest
from reporting.store.ingest import CampaignTouches, CounterDeltas


def _seen(ctx: HandlerContext, event: Any) -> str:
    """Note the event's campaign (its `updated_at` is the latest event time seen)."""
    campaign_id: str = event.campaignid
    ctx.deferred(CampaignTouches).add(campaign_id, event.countycode, event.time)
    return campaign_id


def _counters(ctx: HandlerContext) -> CounterDeltas:
    return ctx.deferred(CounterDeltas)


async def on_campaign_launched(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await ingest.touch_campaign(ctx.conn, event.campaignid, event.countycode, event.time)
    await ingest.launch_campaign(
        ctx.conn,
        campaign_id=data.campaign_id,
        county_code=event.countycode,
        name=data.name,
        year=data.year,
        plan=[w.model_dump(mode="json") for w in data.phases],
    )


async def on_phase_opened(ctx: HandlerContext, event: Any) -> None:
    await ingest.touch_campaign(ctx.conn, event.campaignid, event.countycode, event.time)
    await ingest.mark_phase(
        ctx.conn, event.campaignid, event.data.phase.value, "opened_at", event.time
    )


async def on_phase_closed(ctx: HandlerContext, event: Any) -> None:
    await ingest.touch_campaign(ctx.conn, event.campaignid, event.countycode, event.time)
    await ingest.mark_phase(
        ctx.conn, event.campaignid, event.data.phase.value, "closed_at", event.time
    )


async def on_branches_registered(ctx: HandlerContext, events: list[Any]) -> None:
    latest = {event.data.branch_id: event for event in events}  # a later registration wins
    await ingest.save_branches(
        ctx.conn,
        [
            {
                "branch_id": e.data.branch_id,
                "county_code": e.countycode,
                "kind": e.data.kind.value,
                "name": e.data.name,
                "unit": e.data.unit,
                "township": e.data.township,
                "parent_id": e.data.parent_id,
                "secretary_name": e.data.secretary.name,
                "member_count": e.data.member_count,
            }
            for e in latest.values()
        ],
    )


async def on_results_published(ctx: HandlerContext, event: Any) -> None:
    _seen(ctx, event)


async def on_problems_listed(ctx: HandlerContext, events: list[Any]) -> None:
    latest = {}
    for event in events:
        problem = {**event.data.model_dump(mode="json"), "campaign_id": _seen(ctx, event)}
        latest[(problem["campaign_id"], problem["branch_id"], problem["problem_id"])] = problem
    await ingest.save_problems(ctx.conn, list(latest.values()))


async def on_problem_escalated(ctx: HandlerContext, event: Any) -> None:
    data = event.data
    await ingest.mark_escalated(
        ctx.conn, _seen(ctx, event), data.branch_id, data.problem_id, data.to_org_id
    )


async def on_commitments_published(ctx: HandlerContext, events: list[Any]) -> None:
    """A newer revision becomes the card's commitment (review pending again) and its tasks the
    plan; an older or repeated revision leaves the card as it is."""
    keys = [(_seen(ctx, e), e.data.branch_id) for e in events]
    cards_before = await ingest.lock_cards(ctx.conn, keys)
    tasks_before = await ingest.lock_tasks_of(ctx.conn, keys)
    cards = dict(cards_before)
    plans: dict[ingest.CardKey, dict[str, domain.Task]] = {key: {} for key in keys}
    for (campaign_id, branch_id, task_id), task in tasks_before.items():
        plans[(campaign_id, branch_id)][task_id] = task
    changes: dict[ingest.CardKey, dict[str, object]] = {}
    for key, event in zip(keys, events, strict=True):
        data = event.data
        current = cards[key].commitment_revision
        if current is not None and data.revision <= current:
            continue
        columns = {
            "commitment_id": data.commitment_id,
            "commitment_revision": data.revision,
            "review": "pending",
            "guidance": None,
        }
        changes.setdefault(key, {}).update(columns)
        cards[key] = cards[key].with_columns(columns)
        plans[key] = domain.replan(plans[key], [t.model_dump(mode="json") for t in data.tasks])
    tasks = {(*key, task_id): task for key, plan in plans.items() for task_id, task in plan.items()}
    await ingest.update_cards(ctx.conn, changes)
    changed_tasks = {k: t for k, t in tasks.items() if tasks_before.get(k) != t}
    await ingest.save_tasks(ctx.conn, changed_tasks)
    counters = _counters(ctx)
    for key in changes:
        counters.add(key[0], domain.deltas(cards_before[key].facts, cards[key].facts))
    for task_key, task in changed_tasks.items():
        old = tasks_before.get(task_key)
        counters.add(task_key[0], domain.deltas(old.facts if old else None, task.facts))


def _task_after(task: domain.Task | None, event: Any) -> domain.Task | None:
    data = event.data
    if event.type == "rectification.task_progressed":
        return domain.progressed(task, data.percent, data.note)
    if event.type == "rectification.task_completed":
        return domain.completed(task)
    deadline: dt.date = data.deadline
    return domain.overdue(task, deadline, data.responsible)


async def on_task_events(ctx: HandlerContext, events: list[Any]) -> None:
    """Progress, completions and overdue notices, applied in order to the tasks they name."""
    keys = [(_seen(ctx, e), e.data.branch_id, e.data.task_id) for e in events]
    before = await ingest.lock_tasks_by_key(ctx.conn, keys)
    tasks = dict(before)
    for key, event in zip(keys, events, strict=True):
        after = _task_after(tasks.get(key), event)
        if after is not None:
            tasks[key] = after
    changed = {key: task for key, task in tasks.items() if before.get(key) != task}
    await ingest.save_tasks(ctx.conn, changed)
    counters = _counters(ctx)
    for key, task in changed.items():
        old = before.get(key)
        counters.add(key[0], domain.deltas(old.facts if old else None, task.facts))


async def on_card_events(ctx: HandlerContext, events: list[Any]) -> None:
    """Levels, incomplete rounds, reviews, missing commitments, settlements and assessment
    scores: each sets columns of its branch's card; the counters move by what changed."""
    keys = [(_seen(ctx, e), e.data.branch_id) for e in events]
    before = await ingest.lock_cards(ctx.conn, keys)
    cards = dict(before)
    changes: dict[ingest.CardKey, dict[str, object]] = {}
    for key, event in zip(keys, events, strict=True):
        columns = domain.card_columns(event.type, event.data, cards[key])
        if columns is not None:
            changes.setdefault(key, {}).update(columns)
            cards[key] = cards[key].with_columns(columns)
    await ingest.update_cards(ctx.conn, changes)
    counters = _counters(ctx)
    for key in changes:
        counters.add(key[0], domain.deltas(before[key].facts, cards[key].facts))


async def on_commended(ctx: HandlerContext, event: Any) -> None:
    """Each commendation once on its card (a repeated event id counts nothing)."""
    campaign_id = _seen(ctx, event)
    if not await ingest.add_commendation(
        ctx.conn, campaign_id, event.id, event.data.model_dump(mode="json")
    ):
        return
    key = (campaign_id, event.data.branch_id)
    card = (await ingest.lock_cards(ctx.conn, [key]))[key]
    columns = {"commendations": card.commendations + 1}
    await ingest.update_cards(ctx.conn, {key: columns})
    _counters(ctx).add(campaign_id, domain.deltas(card.facts, card.with_columns(columns).facts))


async def on_activities_reported(ctx: HandlerContext, events: list[Any]) -> None:
    await ingest.add_activities(
        ctx.conn,
        _counters(ctx),
        [
            (_seen(ctx, e), e.data.branch_id, e.id, e.data.kind.value, e.data.title, e.data.held_on)
            for e in events
        ],
    )


CARD_EVENTS = (
    "grading.branch_graded",
    "grading.branch_incomplete",
    "rectification.commitment_reviewed",
    "rectification.commitment_missing",
    "rectification.branch_settled",
    "assessment.branch_reviewed",
)
TASK_EVENTS = (
    "rectification.task_progressed",
    "rectification.task_completed",
    "rectification.task_overdue",
)
BATCH_HANDLERS: dict[str, BatchHandler] = {
    "org.branch_registered": on_branches_registered,
    "rectification.problem_listed": on_problems_listed,
    "emulation.activity_reported": on_activities_reported,
    "rectification.commitment_published": on_commitments_published,
    **{event_type: on_task_events for event_type in TASK_EVENTS},
    **{event_type: on_card_events for event_type in CARD_EVENTS},
}

HANDLERS: dict[str, Handler] = {
    "campaign.launched": on_campaign_launched,
    "campaign.phase_opened": on_phase_opened,
    "campaign.phase_closed": on_phase_closed,
    "grading.results_published": on_results_published,
    "rectification.problem_escalated": on_problem_escalated,
    "emulation.commended": on_commended,
    **{event_type: one_at_a_time(handler) for event_type, handler in BATCH_HANDLERS.items()},
}
