"""One handler per consumed event type, typed by the event it takes: parse → load → decide →
save + plan notifications. The table at the end is what the service consumes; all SQL is in
the store. Commendations (who hears a committee's, who hears any other) are in commendations.py;
inspections, progress reports and the office's decisions on circulars in circulars/handlers.py.

Handlers only plan (planning.py): what is sent, and when, is the delivery worker's business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from grassroots.contract import CloudEvent
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
    RectificationEscalationOverdueEvent,
    RectificationProblemEscalatedEvent,
    RectificationProblemListedEvent,
    RectificationProblemUpdatedEvent,
    RectificationReviewOverdueEvent,
    RectificationTaskCompletedEvent,
    RectificationTaskOverdueEvent,
)
from grassroots.contract.grading import AppliedRule, Basis, BranchGraded, Rule
from grassroots.contract.rectification import TaskKind
from grassroots.plumbing.handling import HandlerTable, batch, each
from notification.circulars.handlers import SUPERVISION_HANDLERS
from notification.commendations import on_commended
from notification.domain import (
    DEFAULT_ESCALATION_ANSWER_DAYS,
    DEFAULT_REVIEW_DUE_DAYS,
    SUPPLEMENTARY_RESULT_HEARS,
    Kind,
    Reason,
    answer_due_on,
    escalation_fact_key,
    review_fact_key,
)
from notification.planning import PLANNER, Notice
from notification.store import (
    Escalation,
    NotificationStore,
    OrgRow,
    PhaseWindowRow,
    ProblemRow,
    Revision,
    TaskKey,
    TaskRow,
    Uow,
)

E = TypeVar("E")

# The results a phase's close produces, and so the moment its circular can be written.
CLOSE_CIRCULAR_AFTER_ROUND = {"initial": "survey_grading", "final": "assessment"}


def _notice(
    event: CloudEvent[BaseModel], kind: Kind, facts: dict[str, Any], branch_id: str | None
) -> Notice:
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
        escalation_answer_days=rules.escalation_answer_days if rules else None,
        review_due_days=rules.review_due_days if rules else None,
        circular_sign_off_days=rules.circular_sign_off_days if rules else None,
        progress_report_every_days=rules.progress_report_every_days if rules else None,
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


async def on_commitments_published(
    uow: Uow, events: Sequence[RectificationCommitmentPublishedEvent]
) -> None:
    """A new plan or revision (整改方案) waits for the superior's review: the branch's parent
    hears it, with the tasks and the day its review is due (a revision it knew is not news)."""
    review_days: dict[str, int] = {}
    for part in apart(events, lambda e: (e.campaign, e.data.branch_id)):
        before = await uow.store.save_commitments(
            [Revision(e.campaign, e.data.branch_id, e.data.revision) for e in part],
            [
                TaskRow(
                    e.campaign,
                    e.data.branch_id,
                    t.task_id,
                    e.countycode,
                    t.title,
                    t.responsible,
                    t.deadline,
                )
                for e in part
                for t in e.data.tasks
            ],
            uow.now,
        )
        for event in part:
            known = before.get((event.campaign, event.data.branch_id))
            if known is not None and event.data.revision <= known:
                continue
            if event.campaign not in review_days:
                review_days[event.campaign] = await _campaign_days(
                    uow, event.campaign, "review_due_days", DEFAULT_REVIEW_DUE_DAYS
                )
            PLANNER.later(uow, _review_requested(event, review_days[event.campaign]))


def apart(events: Sequence[E], key: Callable[[E], Hashable]) -> list[list[E]]:
    """The events in order, cut where a key comes again: each part names each key once, so its
    statements (one per part) do what the events one after the other would."""
    parts: list[list[E]] = []
    seen: set[Hashable] = set()
    for event in events:
        if not parts or key(event) in seen:
            parts.append([])
            seen = set()
        parts[-1].append(event)
        seen.add(key(event))
    return parts


def _review_requested(event: RectificationCommitmentPublishedEvent, days: int) -> Notice:
    data = event.data
    published_on = county_today(event.time)
    facts = {
        "branch_id": data.branch_id,
        "commitment_id": data.commitment_id,
        "revision": data.revision,
        "tasks_total": len(data.tasks),
        "kinds": {k.value: sum(t.kind is k for t in data.tasks) for k in TaskKind},
        "tasks": [
            {
                "task_id": t.task_id,
                "title": t.title,
                "responsible": t.responsible,
                "deadline": t.deadline.isoformat(),
                "kind": t.kind.value,
            }
            for t in data.tasks
        ],
        "published_on": published_on.isoformat(),
        "review_days": days,
        "review_due": answer_due_on(published_on, days).isoformat(),
    }
    return _notice(event, Kind.REVIEW_REQUESTED, facts, data.branch_id)


async def on_commitments_reviewed(
    uow: Uow, events: Sequence[RectificationCommitmentReviewedEvent]
) -> None:
    """A review ends the superior's wait for that revision (and any before it); a returned plan
    goes back to the secretary with the superior's guidance."""
    latest: dict[tuple[str, str], Revision] = {}
    for e in events:  # a review of a revision is a review of the ones before it
        key = (e.campaign, e.data.branch_id)
        if key not in latest or latest[key].revision < e.data.revision:
            latest[key] = Revision(e.campaign, e.data.branch_id, e.data.revision)
    await uow.store.note_reviews(list(latest.values()))
    await uow.store.resolve_reviews_overdue(list(latest.values()), uow.now)
    for event in events:
        data = event.data
        if data.decision.value != "returned":
            continue
        facts = {
            "branch_id": data.branch_id,
            "commitment_id": data.commitment_id,
            "revision": data.revision,
            "guidance": data.guidance,
            "reviewer_org_id": data.reviewer_org_id,
        }
        PLANNER.later(uow, _notice(event, Kind.COMMITMENT_RETURNED, facts, data.branch_id))


async def on_problems_listed(uow: Uow, events: Sequence[RectificationProblemListedEvent]) -> None:
    """What the branch's problems say, for the superior's notices. A problem whose escalation
    came first is told to the superior now (under the escalation's key)."""
    latest = {
        (e.campaign, e.data.branch_id, e.data.problem_id): ProblemRow(
            e.campaign,
            e.data.branch_id,
            e.data.problem_id,
            e.countycode,
            e.data.description,
            e.data.source.value,
        )
        for e in events
    }
    escalated = await uow.store.save_problems(list(latest.values()))
    for row in sorted(escalated, key=lambda r: (r["branch_id"], r["problem_id"])):
        PLANNER.later(uow, await _escalation_notice(uow, row))


async def on_problem_escalated(uow: Uow, event: RectificationProblemEscalatedEvent) -> None:
    """The superior it went to hears the problem and by when to answer — once the problem's
    listing is here too (it normally is: rectification escalates what was listed)."""
    data = event.data
    row = await uow.store.escalate_problem(
        Escalation(
            event.campaign,
            data.branch_id,
            data.problem_id,
            event.countycode,
            data.to_org_id,
            event.source,
            event.id,
            event.time,
        )
    )
    if row["description"] is not None:
        PLANNER.later(uow, await _escalation_notice(uow, row))


async def _escalation_notice(uow: Uow, problem: Mapping[str, Any]) -> Notice:
    """The superior's notice of an escalated problem, caused by the escalation event."""
    campaign_id = problem["campaign_id"]
    days = await _campaign_days(
        uow, campaign_id, "escalation_answer_days", DEFAULT_ESCALATION_ANSWER_DAYS
    )
    escalated_on = county_today(problem["escalated_at"])
    facts = {
        "branch_id": problem["branch_id"],
        "problem_id": problem["problem_id"],
        "description": problem["description"],
        "source": problem["source"],
        "to_org_id": problem["escalated_to"],
        "escalated_on": escalated_on.isoformat(),
        "answer_days": days,
        "answer_due": answer_due_on(escalated_on, days).isoformat(),
    }
    return Notice(
        kind=Kind.PROBLEM_ESCALATED,
        cause_source=problem["escalation_source"],
        cause_event_id=problem["escalation_event_id"],
        county_code=problem["county_code"],
        campaign_id=campaign_id,
        branch_id=problem["branch_id"],
        facts=facts,
        superior_id=problem["escalated_to"],
    )


async def _campaign_days(uow: Uow, campaign_id: str, rule: str, default: int) -> int:
    """A campaign rule in days (campaign.launched), or its default."""
    campaign = await uow.store.campaign(campaign_id)
    days = campaign[rule] if campaign is not None else None
    return default if days is None else int(days)


async def _branch_name(uow: Uow, branch_id: str) -> str:
    org = await uow.store.org(branch_id)
    return str(org["name"]) if org else branch_id


async def on_escalation_overdue(uow: Uow, event: RectificationEscalationOverdueEvent) -> None:
    """The superior that has not answered is lagging until it does, and is reminded (督办)."""
    data = event.data
    problem = await uow.store.problem(event.campaign, data.branch_id, data.problem_id)
    description = problem["description"] if problem else None
    noted = await uow.store.note_fact(
        campaign_id=event.campaign,
        branch_id=data.to_org_id,
        reason=Reason.ESCALATION_UNANSWERED,
        fact_key=escalation_fact_key(data.branch_id, data.problem_id),
        detail={
            "branch_id": data.branch_id,
            "branch_name": await _branch_name(uow, data.branch_id),
            "problem_id": data.problem_id,
            "description": description,
            "due": data.due.isoformat(),
        },
        at=uow.now,
    )
    if not noted:  # said once (a re-sent event names the same escalation)
        return
    facts = {
        "branch_id": data.branch_id,
        "problem_id": data.problem_id,
        "description": description,
        "to_org_id": data.to_org_id,
        "due": data.due.isoformat(),
    }
    notice = _notice(event, Kind.ESCALATION_OVERDUE, facts, data.branch_id)
    PLANNER.later(uow, dataclasses.replace(notice, superior_id=data.to_org_id))


async def on_review_overdue(uow: Uow, event: RectificationReviewOverdueEvent) -> None:
    """The superior that has not reviewed the revision is lagging until a review of it (or of
    a newer one) arrives, and is reminded (督办). Reviewed already (the review, an input, came
    before this result): nothing is owed."""
    data = event.data
    reviewed = await uow.store.reviewed_revision(event.campaign, data.branch_id)
    if reviewed is not None and reviewed >= data.revision:
        return
    noted = await uow.store.note_fact(
        campaign_id=event.campaign,
        branch_id=data.reviewer_org_id,
        reason=Reason.REVIEW_OVERDUE,
        fact_key=review_fact_key(data.branch_id, data.revision),
        detail={
            "branch_id": data.branch_id,
            "branch_name": await _branch_name(uow, data.branch_id),
            "commitment_id": data.commitment_id,
            "revision": data.revision,
            "due": data.due.isoformat(),
        },
        at=uow.now,
    )
    if not noted:
        return
    facts = {
        "branch_id": data.branch_id,
        "commitment_id": data.commitment_id,
        "revision": data.revision,
        "reviewer_org_id": data.reviewer_org_id,
        "due": data.due.isoformat(),
    }
    notice = _notice(event, Kind.REVIEW_OVERDUE, facts, data.branch_id)
    PLANNER.later(uow, dataclasses.replace(notice, superior_id=data.reviewer_org_id))


async def on_problem_updated(uow: Uow, event: RectificationProblemUpdatedEvent) -> None:
    """An answered escalation: its superior is no longer lagging for it."""
    data = event.data
    if data.escalation is not None and data.escalation.answer is not None:
        await uow.store.resolve_facts_keyed(
            event.campaign,
            Reason.ESCALATION_UNANSWERED,
            escalation_fact_key(data.branch_id, data.problem_id),
            uow.now,
        )


async def on_tasks_completed(uow: Uow, events: Sequence[RectificationTaskCompletedEvent]) -> None:
    await uow.store.complete_tasks(
        [TaskKey(e.campaign, e.data.branch_id, e.data.task_id) for e in events], uow.now
    )


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
    batch(RectificationCommitmentPublishedEvent, on_commitments_published),
    batch(RectificationCommitmentReviewedEvent, on_commitments_reviewed),
    batch(RectificationTaskCompletedEvent, on_tasks_completed),
    batch(RectificationProblemListedEvent, on_problems_listed),
    each(RectificationProblemEscalatedEvent, on_problem_escalated),
    each(RectificationEscalationOverdueEvent, on_escalation_overdue),
    each(RectificationReviewOverdueEvent, on_review_overdue),
    each(RectificationProblemUpdatedEvent, on_problem_updated),
    each(EmulationCommendedEvent, on_commended),
    *SUPERVISION_HANDLERS,
)
