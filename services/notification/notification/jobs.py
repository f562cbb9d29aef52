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
- weekly circular: every `circular_period_days` from the moment the campaign's first phase
  opened, while a phase is open, a DRAFT (circulars/) — only the latest period when the service
  was down, and none when there is nothing to name;
- a draft neither signed nor discarded `circular_sign_off_days` after it was drafted: the office
  is reminded, once; a sign-off refused for want of an issuing body: the office is told.

The draft at a phase's close waits for that close's results (grading's round, the settlements),
then behind the barrier for this service to have applied them. A committee's commendations of
one day wait behind a barrier too, to be drafted as one circular of praise (commendations.py).
Only a circular a person signed off is sent (circulars/handlers.py).
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from grassroots.contract import Topic
from grassroots.contract.calendar import commitment_due_on, county_today
from grassroots.contract.supervision import CircularTrigger
from grassroots.plumbing.jobs import BarrierJob, PeriodicJob
from notification.circulars.drafting import close_circular_id, supervision_title, weekly_circular_id
from notification.circulars.drafts import (
    draft,
    remind_sign_off,
    supervision_items,
    tell_refused_sign_offs,
)
from notification.commendation_store import AnnouncementKey
from notification.commendations import (
    announce_commendations,
    save_announcement_offsets,
    waiting_announcements,
)
from notification.domain import (
    Kind,
    circular_period,
    days_left,
    escalate_deadlines_before,
    reminder_due,
)
from notification.planning import PLANNER, Notice, Planner, time_driven_cause
from notification.store import CircularKey, NotificationStore, ReminderRow, Uow

# What a committee's announcement names: the commendations published with the group's first, and
# the organisations' names.
COMMENDATION_TOPICS = (Topic.ORG_BRANCHES, Topic.EMULATION_INPUTS)
BARRIER_TOPICS = (
    Topic.ORG_BRANCHES,
    Topic.GRADING_RESULTS,
    Topic.RECTIFICATION_RESULTS,
    Topic.RECTIFICATION_INPUTS,
)


async def sweep(uow: Uow, planner: Planner) -> int:
    """Within the caller's transaction: everything due at uow.now; how many deliveries."""
    planned = 0
    for phase in await uow.store.open_phases(county_today(uow.now)):
        planned += await remind_phase_closing(uow, planner, phase)
        if phase["phase"] == "rectification":
            planned += await remind_commitment_due(uow, planner, phase)
    planned += await escalate_overdue(uow, planner)
    # A campaign left open long after its plan ended is not circulated for ever.
    period = dt.timedelta(days=planner.settings.circular_period_days)
    for campaign in await uow.store.running_campaigns(county_today(uow.now - period)):
        planned += await draft_weekly_circular(uow, planner, campaign)
    planned += await remind_sign_off(uow, planner)
    planned += await tell_refused_sign_offs(uow, planner)
    return planned


async def _decide(
    uow: Uow, planner: Planner, phase: asyncpg.Record, deadline: dt.date, prefix: str
) -> int | None:
    """The reminder (days before `deadline`) to send now, recorded; None when none is due."""
    offsets = phase["reminder_days"] or planner.settings.reminder_days
    done = await uow.store.reminders_decided(phase["campaign_id"], prefix)
    decision = reminder_due(
        deadline, offsets, hour=planner.settings.reminder_hour, now=uow.now, done=done
    )
    if decision.send is None:
        return None
    campaign_id = phase["campaign_id"]
    await uow.store.decide_reminders(
        [
            ReminderRow(campaign_id, f"{prefix}{decision.send}", True, uow.now),
            *(ReminderRow(campaign_id, f"{prefix}{d}", False, uow.now) for d in decision.passed),
        ]
    )
    return decision.send


async def remind_phase_closing(uow: Uow, planner: Planner, phase: asyncpg.Record) -> int:
    closes_on = phase["closes_on"]
    if closes_on is None:
        return 0
    prefix = f"phase_closing:{phase['phase']}:"
    offset = await _decide(uow, planner, phase, closes_on, prefix)
    if offset is None:
        return 0
    source, cause = time_driven_cause(phase["campaign_id"], prefix, str(offset))
    facts = {
        "phase": phase["phase"],
        "closes_on": closes_on.isoformat(),
        "days_left": days_left(closes_on, uow.now),
    }
    notice = Notice(
        Kind.PHASE_CLOSING, source, cause, phase["county_code"], phase["campaign_id"], None, facts
    )
    return await planner.notify(uow, notice)


async def remind_commitment_due(uow: Uow, planner: Planner, phase: asyncpg.Record) -> int:
    due_on = commitment_due_on(phase["opened_at"], phase["commitment_due_days"])
    offset = await _decide(uow, planner, phase, due_on, "commitment_due:")
    if offset is None:
        return 0
    notices = []
    campaign_id, county = phase["campaign_id"], phase["county_code"]
    for row in await uow.store.branches_without_commitment(campaign_id, county):
        branch_id = row["org_id"]
        source, cause = time_driven_cause(campaign_id, "commitment_due", str(offset), branch_id)
        facts = {
            "branch_id": branch_id,
            "branch_name": row["name"],
            "due_on": due_on.isoformat(),
            "days_left": days_left(due_on, uow.now),
        }
        notices.append(
            Notice(Kind.COMMITMENT_DUE, source, cause, county, campaign_id, branch_id, facts)
        )
    return await planner.plan(uow, notices)


async def escalate_overdue(uow: Uow, planner: Planner) -> int:
    days = planner.settings.escalation_days
    notices = []
    for task in await uow.store.tasks_to_escalate(
        escalate_deadlines_before(uow.now, days), uow.now
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
            "days_overdue": (county_today(uow.now) - task["deadline"]).days - 1,
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
    return await planner.plan(uow, notices)


async def draft_weekly_circular(uow: Uow, planner: Planner, campaign: asyncpg.Record) -> int:
    """The week's draft, every `circular_period_days` from the first opening (only the latest
    period after a gap), named after the drafting day."""
    period_days = planner.settings.circular_period_days
    number = circular_period(campaign["started_at"], uow.now, period_days)
    if number < 1 or number <= (campaign["last_period"] or 0):
        return 0
    circular_id = weekly_circular_id(campaign["campaign_id"], county_today(uow.now))
    return await draft_circular(uow, planner, campaign, f"period:{number}", circular_id, None)


async def draft_circular(
    uow: Uow,
    planner: Planner,
    campaign: asyncpg.Record,
    circular_key: str,
    circular_id: str,
    phase: str | None,
) -> int:
    """A draft naming every lagging organisation and the praise due (none when there is
    nothing to name); the office hears it waits. Nothing goes to the organisations until a
    person of the office signs it off."""
    campaign_id, county_code = campaign["campaign_id"], campaign["county_code"]
    items = await supervision_items(uow, campaign_id, county_code)
    await uow.store.mark_circular_issued(campaign_id, circular_key, len(items), uow.now)
    notice = await draft(
        uow,
        campaign_id=campaign_id,
        county_code=county_code,
        circular_id=circular_id,
        trigger=CircularTrigger.PHASE_CLOSE if phase else CircularTrigger.WEEKLY,
        title=supervision_title(campaign["name"], phase),
        items=items,
    )
    return await planner.notify(uow, notice) if notice else 0


async def sweep_once(uow: Uow) -> int:
    """The sweep, one replica at a time (the others skip it); how many deliveries."""
    if not await uow.store.lock_sweep():
        return 0
    return await sweep(uow, PLANNER)


async def draft_close_circular(uow: Uow, key: CircularKey) -> bool:
    """The draft of a closed phase's circular, once its results are applied here (nothing
    when it was drafted already, by another replica or before a restart)."""
    campaign_id, circular_key = key
    if not await uow.store.lock_waiting_circular(campaign_id, circular_key):
        return False
    campaign = await uow.store.campaign(campaign_id)
    if campaign is None:
        return False
    phase = circular_key.removeprefix("close:")
    circular_id = close_circular_id(campaign_id, phase)
    await draft_circular(uow, PLANNER, campaign, circular_key, circular_id, phase)
    return True


SWEEP: PeriodicJob[NotificationStore] = PeriodicJob("sweep", run=sweep_once)
CLOSE_CIRCULARS: BarrierJob[NotificationStore, CircularKey] = BarrierJob(
    "close circulars",
    topics=BARRIER_TOPICS,
    waiting=NotificationStore.waiting_circulars,
    save_snapshot=NotificationStore.save_circular_offsets,
    run=draft_close_circular,
)
COMMENDATION_ANNOUNCEMENTS: BarrierJob[NotificationStore, AnnouncementKey] = BarrierJob(
    "commendation announcements",
    topics=COMMENDATION_TOPICS,
    waiting=waiting_announcements,
    save_snapshot=save_announcement_offsets,
    run=announce_commendations,
)
