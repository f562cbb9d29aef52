"""One handler per consumed event type, typed by the event it takes: parse → load → decide →
save + plan notifications. The table at the end is what the service consumes; all SQL is in
the store.

Handlers only plan (planning.py): what is sent, and when, is the delivery worker's business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from grassroots.contract import AnyEvent
from grassroots.contract.calendar import DEFAULT_COMMITMENT_DUE_DAYS, county_today
from grassroots.contract.common import Level
from grassroots.contract.events import (
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    CampaignPhaseOpenedEvent,
    EmulationCommendedEvent,
    GradingBranchGradedEvent,
    GradingBranchIncompleteEvent,
    GradingResultsPublishedEvent,
    OrgBranchRegisteredEvent,
    RectificationBranchSettledEvent,
    RectificationCommitmentMissingEvent,
    RectificationCommitmentPublishedEvent,
    RectificationCommitmentReviewedEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskOverdueEvent,
)
from grassroots.contract.grading import AppliedRule, Basis, BranchGraded, Rule
from grassroots.plumbing.handling import HandlerTable, batch, each
from notification.domain import SUPPLEMENTARY_RESULT_HEARS, Kind, Reason
from notification.planning import PLANNER, Notice
from notification.store import NotificationStore, OrgRow, PhaseWindowRow, TaskKey, TaskRow, Uow

# The results a phase's close produces, and so the moment its circular can be written.
CLOSE_CIRCULAR_AFTER_ROUND = {"initial": "survey_grading", "final": "assessment"}


def _notice(event: AnyEvent, kind: Kind, facts: dict[str, Any], branch_id: str | None) -> Notice:
    return Notice(
        kind=kind,
        cause_source=event.source,
        cause_event_id=event.id,
        county_code=event.countycode,
        campaign_id=event.campaignid,
        branch_id=branch_id,
        facts=facts,
    )


async def on_campaign_launched(uow: Uow, event: CampaignLaunchedEvent) -> None:
    data, rules = event.data, event.data.rules
    await uow.store.save_campaign(
        campaign_id=data.campaign_id,
        county_code=event.countycode,
        name=data.name,
        reminder_days=rules.reminder_days_before_close if rules else None,
        commitment_due_days=(
            rules.commitment_due_days
            if rules and rules.commitment_due_days is not None
            else DEFAULT_COMMITMENT_DUE_DAYS
        ),
        windows=[
            PhaseWindowRow(data.campaign_id, w.phase.value, w.opens_on, w.closes_on)
            for w in data.phases
        ],
    )


async def on_phase_opened(uow: Uow, event: CampaignPhaseOpenedEvent) -> None:
    """Every branch hears that the phase opened: its tasks and its planned closing day."""
    phase = event.data.phase.value
    row = await uow.store.mark_phase(
        event.data.campaign_id, event.countycode, phase, opened_at=event.time
    )
    if row["was_opened"]:  # announced when it first opened (a re-sent opening, new id)
        return
    facts = {
        "phase": phase,
        "opened_on": county_today(event.time).isoformat(),
        "closes_on": row["closes_on"].isoformat() if row["closes_on"] else None,
    }
    PLANNER.later(uow, _notice(event, Kind.PHASE_OPENED, facts, None))


async def on_phase_closed(uow: Uow, event: CampaignPhaseClosedEvent) -> None:
    phase = event.data.phase.value
    await uow.store.mark_phase(
        event.data.campaign_id, event.countycode, phase, closed_at=event.time
    )
    if phase == "emulation":  # no results follow this close: its circular is due now
        # (trigger_circular is keyed: a re-sent close triggers nothing more)
        await uow.store.trigger_circular(event.data.campaign_id, f"close:{phase}", uow.now)


async def on_branches_registered(uow: Uow, events: Sequence[OrgBranchRegisteredEvent]) -> None:
    latest = {event.data.branch_id: event for event in events}  # a later registration wins
    await uow.store.save_orgs(
        [
            OrgRow(
                d.branch_id,
                e.countycode,
                d.kind.value,
                d.name,
                d.parent_id,
                d.secretary.name,
                d.secretary.email,
            )
            for e in latest.values()
            for d in (e.data,)
        ]
    )


async def on_branch_graded(uow: Uow, event: GradingBranchGradedEvent) -> None:
    """The secretary hears the level, the scores and every rule that changed it. A
    supplementary result (补充定级) answers an incomplete notice: the office hears it too, and
    the branch is no longer lagging for that round."""
    data = event.data
    rules = applied_rules(data)
    supplementary = any(rule["rule"] == Rule.SUPPLEMENTARY for rule in rules)
    facts = {
        **data.model_dump(mode="json", exclude={"rules"}),
        "supplementary": supplementary,
        "rules": rules,
    }
    if supplementary:
        await uow.store.resolve_fact(
            event.campaign, data.branch_id, Reason.GRADING_INCOMPLETE, data.round.value, uow.now
        )
    notice = _notice(event, Kind.GRADING_RESULT, facts, data.branch_id)
    if supplementary:
        notice = dataclasses.replace(notice, audiences=SUPPLEMENTARY_RESULT_HEARS)
    PLANNER.later(uow, notice)


def applied_rules(data: BranchGraded) -> list[dict[str, Any]]:
    """The rules that set or changed the level, in order, as facts (every field present, so
    the template can say what is known). A result from before `rules` was carried says what
    its flags say, without the numbers it lacks; a supplementary one always says so."""
    if data.rules is not None:
        rules = [rule.model_dump(mode="json") for rule in data.rules]
    else:
        rules = []
        if data.upgrade_capped:
            level = data.previous_level or data.level
            rules.append(_rule(Rule.UPGRADE_CAP, level, completion_rate=data.completion_rate))
        if data.basis is Basis.OVERRIDE:
            known = None if data.veto_reason or data.quota_limited else data.level
            rules.append(_rule(Rule.OVERRIDE, known, reason=data.override_reason))
        if data.veto_reason:
            rules.append(_rule(Rule.VETO, Level.WEAK, reason=data.veto_reason))
        if data.quota_limited:
            rules.append(_rule(Rule.QUOTA, Level.FAIRLY_STRONG))
    if data.supplementary and not any(r["rule"] == Rule.SUPPLEMENTARY for r in rules):
        rules.append(_rule(Rule.SUPPLEMENTARY, data.level))
    return rules


def _rule(rule: Rule, level: Level | None, **known: Any) -> dict[str, Any]:
    fields = dict.fromkeys(AppliedRule.model_fields) | {"rule": rule.value}
    return fields | {"level": level.value if level else None} | known


async def on_branch_incomplete(uow: Uow, event: GradingBranchIncompleteEvent) -> None:
    data = event.data
    missing = [m.value for m in data.missing]
    await uow.store.note_fact(
        campaign_id=event.campaign,
        branch_id=data.branch_id,
        reason=Reason.GRADING_INCOMPLETE,
        fact_key=data.round.value,
        detail={"round": data.round.value, "missing": missing},
        at=uow.now,
    )
    facts = {
        "branch_id": data.branch_id,
        "round": data.round.value,
        "missing": missing,
    }
    PLANNER.later(uow, _notice(event, Kind.GRADING_INCOMPLETE, facts, data.branch_id))


async def on_results_published(uow: Uow, event: GradingResultsPublishedEvent) -> None:
    """A round's results are all out: the circular of the phase that produced them is due."""
    phase = CLOSE_CIRCULAR_AFTER_ROUND[event.data.round.value]
    await uow.store.trigger_circular(event.data.campaign_id, f"close:{phase}", uow.now)


async def on_task_overdue(uow: Uow, event: RectificationTaskOverdueEvent) -> None:
    """The responsible person (through the branch's inbox) and the secretary hear of it."""
    data = event.data
    task = await uow.store.mark_task_overdue(
        campaign_id=event.campaign,
        branch_id=data.branch_id,
        task_id=data.task_id,
        county_code=event.countycode,
        responsible=data.responsible,
        deadline=data.deadline,
    )
    title = task["title"] or data.task_id
    await uow.store.note_fact(
        campaign_id=event.campaign,
        branch_id=data.branch_id,
        reason=Reason.TASK_OVERDUE,
        fact_key=data.task_id,
        detail={"title": title, "deadline": data.deadline.isoformat()},
        at=uow.now,
    )
    facts = {
        "branch_id": data.branch_id,
        "task_id": data.task_id,
        "title": title,
        "deadline": data.deadline.isoformat(),
        "responsible": data.responsible,
    }
    PLANNER.later(uow, _notice(event, Kind.TASK_OVERDUE, facts, data.branch_id))


async def on_commitment_missing(uow: Uow, event: RectificationCommitmentMissingEvent) -> None:
    """Named in the next circular (the reminders before the due day came from us)."""
    await uow.store.note_fact(
        campaign_id=event.campaign,
        branch_id=event.data.branch_id,
        reason=Reason.COMMITMENT_MISSING,
        fact_key="",
        detail={"due": event.data.due.isoformat()},
        at=uow.now,
    )


async def on_branch_settled(uow: Uow, event: RectificationBranchSettledEvent) -> None:
    """Settlements (and the overdue found at close) follow rectification's close: the first one
    makes the phase's circular due, behind the barrier (see jobs)."""
    await uow.store.trigger_circular(event.campaign, "close:rectification", uow.now)


async def on_commitment_published(uow: Uow, event: RectificationCommitmentPublishedEvent) -> None:
    data = event.data
    campaign_id = event.campaign
    await uow.store.save_commitment(
        campaign_id=campaign_id,
        branch_id=data.branch_id,
        county_code=event.countycode,
        revision=data.revision,
        tasks=[
            TaskRow(
                campaign_id,
                data.branch_id,
                t.task_id,
                event.countycode,
                t.title,
                t.responsible,
                t.deadline,
            )
            for t in data.tasks
        ],
        at=uow.now,
    )


async def on_commitment_reviewed(uow: Uow, event: RectificationCommitmentReviewedEvent) -> None:
    """A returned plan goes back to the secretary with the superior's guidance."""
    data = event.data
    if data.decision.value != "returned":
        return
    facts = {
        "branch_id": data.branch_id,
        "commitment_id": data.commitment_id,
        "revision": data.revision,
        "guidance": data.guidance,
        "reviewer_org_id": data.reviewer_org_id,
    }
    PLANNER.later(uow, _notice(event, Kind.COMMITMENT_RETURNED, facts, data.branch_id))


async def on_tasks_completed(uow: Uow, events: Sequence[RectificationTaskCompletedEvent]) -> None:
    await uow.store.complete_tasks(
        [TaskKey(e.campaign, e.data.branch_id, e.data.task_id) for e in events], uow.now
    )


async def on_commended(uow: Uow, event: EmulationCommendedEvent) -> None:
    """The branch, and every branch of the county (the branch hears once)."""
    data = event.data
    facts = {
        "branch_id": data.branch_id,
        "honour": data.honour.value,
        "title": data.title,
        "member_name": data.member_name,
    }
    PLANNER.later(uow, _notice(event, Kind.COMMENDATION, facts, data.branch_id))


HANDLERS: HandlerTable[NotificationStore] = HandlerTable(
    each(CampaignLaunchedEvent, on_campaign_launched),
    each(CampaignPhaseOpenedEvent, on_phase_opened),
    each(CampaignPhaseClosedEvent, on_phase_closed),
    batch(OrgBranchRegisteredEvent, on_branches_registered),
    each(GradingBranchGradedEvent, on_branch_graded),
    each(GradingBranchIncompleteEvent, on_branch_incomplete),
    each(GradingResultsPublishedEvent, on_results_published),
    each(RectificationTaskOverdueEvent, on_task_overdue),
    each(RectificationCommitmentMissingEvent, on_commitment_missing),
    each(RectificationBranchSettledEvent, on_branch_settled),
    each(RectificationCommitmentPublishedEvent, on_commitment_published),
    each(RectificationCommitmentReviewedEvent, on_commitment_reviewed),
    batch(RectificationTaskCompletedEvent, on_tasks_completed),
    each(EmulationCommendedEvent, on_commended),
)
