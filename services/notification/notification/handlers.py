"""One handler per consumed event type: parse → load → decide → save + plan notifications.

Handlers only plan (planning.py): what is sent, and when, is the delivery worker's business.
"""

from __future__ import annotations

from typing import Any

from grassroots.plumbing.handling import BatchHandler, Handler, HandlerContext, one_at_a_time
from notification import store
from notification.domain import Kind, Reason, county_today
from notification.planning import Notice, Planner

DEFAULT_COMMITMENT_DUE_DAYS = 15
# The results a phase's close produces, and so the moment its circular can be written.
CLOSE_CIRCULAR_AFTER_ROUND = {"initial": "survey_grading", "final": "assessment"}


def _notice(event: Any, kind: Kind, facts: dict[str, Any], branch_id: str | None) -> Notice:
    return Notice(
        kind=kind,
        cause_source=event.source,
        cause_event_id=event.id,
        county_code=event.countycode,
        campaign_id=event.campaignid,
        branch_id=branch_id,
        facts=facts,
    )


class Handlers:
    def __init__(self, planner: Planner) -> None:
        self.planner = planner

    def table(self) -> dict[str, Handler]:
        return {
            "campaign.launched": self.on_campaign_launched,
            "campaign.phase_opened": self.on_phase_opened,
            "campaign.phase_closed": self.on_phase_closed,
            "grading.branch_graded": self.on_branch_graded,
            "grading.branch_incomplete": self.on_branch_incomplete,
            "grading.results_published": self.on_results_published,
            "rectification.task_overdue": self.on_task_overdue,
            "rectification.commitment_missing": self.on_commitment_missing,
            "rectification.branch_settled": self.on_branch_settled,
            "rectification.commitment_published": self.on_commitment_published,
            "rectification.commitment_reviewed": self.on_commitment_reviewed,
            "emulation.commended": self.on_commended,
            **{kind: one_at_a_time(handler) for kind, handler in self.batch_table().items()},
        }

    def batch_table(self) -> dict[str, BatchHandler]:
        return {
            "org.branch_registered": self.on_branches_registered,
            "rectification.task_completed": self.on_tasks_completed,
        }

    async def on_campaign_launched(self, ctx: HandlerContext, event: Any) -> None:
        data, rules = event.data, event.data.rules
        await store.save_campaign(
            ctx.conn,
            campaign_id=data.campaign_id,
            county_code=event.countycode,
            name=data.name,
            reminder_days=rules.reminder_days_before_close if rules else None,
            commitment_due_days=(
                rules.commitment_due_days
                if rules and rules.commitment_due_days is not None
                else DEFAULT_COMMITMENT_DUE_DAYS
            ),
            windows=[(w.phase.value, w.opens_on, w.closes_on) for w in data.phases],
        )

    async def on_phase_opened(self, ctx: HandlerContext, event: Any) -> None:
        """Every branch hears that the phase opened: its tasks and its planned closing day."""
        phase = event.data.phase.value
        row = await store.mark_phase(
            ctx.conn, event.data.campaign_id, event.countycode, phase, opened_at=event.time
        )
        if row["was_opened"]:  # announced when it first opened (a re-sent opening, new id)
            return
        facts = {
            "phase": phase,
            "opened_on": county_today(event.time).isoformat(),
            "closes_on": row["closes_on"].isoformat() if row["closes_on"] else None,
        }
        self.planner.later(ctx, _notice(event, Kind.PHASE_OPENED, facts, None))

    async def on_phase_closed(self, ctx: HandlerContext, event: Any) -> None:
        phase = event.data.phase.value
        await store.mark_phase(
            ctx.conn, event.data.campaign_id, event.countycode, phase, closed_at=event.time
        )
        if phase == "emulation":  # no results follow this close: its circular is due now
            # (trigger_circular is keyed: a re-sent close triggers nothing more)
            await store.trigger_circular(
                ctx.conn, event.data.campaign_id, f"close:{phase}", ctx.now
            )

    async def on_branches_registered(self, ctx: HandlerContext, events: list[Any]) -> None:
        await store.save_orgs(
            ctx.conn,
            [
                (
                    e.data.branch_id,
                    e.countycode,
                    e.data.kind.value,
                    e.data.name,
                    e.data.parent_id,
                    e.data.secretary.name,
                    e.data.secretary.email,
                )
                for e in events
            ],
        )

    async def on_branch_graded(self, ctx: HandlerContext, event: Any) -> None:
        data = event.data
        facts = {
            "branch_id": data.branch_id,
            **data.model_dump(
                mode="json",
                include={"round", "level", "total", "scores", "basis", "override_reason"}
                | {"moved_up", "previous_level", "corrected"},
            ),
        }
        self.planner.later(ctx, _notice(event, Kind.GRADING_RESULT, facts, data.branch_id))

    async def on_branch_incomplete(self, ctx: HandlerContext, event: Any) -> None:
        data = event.data
        missing = [m.value for m in data.missing]
        await store.note_fact(
            ctx.conn,
            campaign_id=event.campaignid,
            branch_id=data.branch_id,
            reason=Reason.GRADING_INCOMPLETE,
            fact_key=data.round.value,
            detail={"round": data.round.value, "missing": missing},
            at=ctx.now,
        )
        facts = {
            "branch_id": data.branch_id,
            "round": data.round.value,
            "missing": missing,
        }
        self.planner.later(ctx, _notice(event, Kind.GRADING_INCOMPLETE, facts, data.branch_id))

    async def on_results_published(self, ctx: HandlerContext, event: Any) -> None:
        """A round's results are all out: the circular of the phase that produced them is due."""
        phase = CLOSE_CIRCULAR_AFTER_ROUND[event.data.round.value]
        await store.trigger_circular(ctx.conn, event.data.campaign_id, f"close:{phase}", ctx.now)

    async def on_task_overdue(self, ctx: HandlerContext, event: Any) -> None:
        """The responsible person (through the branch's inbox) and the secretary hear of it."""
        data = event.data
        task = await store.mark_task_overdue(
            ctx.conn,
            campaign_id=event.campaignid,
            branch_id=data.branch_id,
            task_id=data.task_id,
            county_code=event.countycode,
            responsible=data.responsible,
            deadline=data.deadline,
        )
        title = task["title"] or data.task_id
        await store.note_fact(
            ctx.conn,
            campaign_id=event.campaignid,
            branch_id=data.branch_id,
            reason=Reason.TASK_OVERDUE,
            fact_key=data.task_id,
            detail={"title": title, "deadline": data.deadline.isoformat()},
            at=ctx.now,
        )
        facts = {
            "branch_id": data.branch_id,
            "task_id": data.task_id,
            "title": title,
            "deadline": data.deadline.isoformat(),
            "responsible": data.responsible,
        }
        self.planner.later(ctx, _notice(event, Kind.TASK_OVERDUE, facts, data.branch_id))

    async def on_commitment_missing(self, ctx: HandlerContext, event: Any) -> None:
        """Named in the next circular (the reminders before the due day came from us)."""
        await store.note_fact(
            ctx.conn,
            campaign_id=event.campaignid,
            branch_id=event.data.branch_id,
            reason=Reason.COMMITMENT_MISSING,
            fact_key="",
            detail={"due": event.data.due.isoformat()},
            at=ctx.now,
        )

    async def on_branch_settled(self, ctx: HandlerContext, event: Any) -> None:
        """Settlements (and the overdue found at close) follow rectification's close: the
        first one makes the phase's circular due, behind the barrier (see jobs)."""
        await store.trigger_circular(ctx.conn, event.campaignid, "close:rectification", ctx.now)

    async def on_commitment_published(self, ctx: HandlerContext, event: Any) -> None:
        data = event.data
        await store.save_commitment(
            ctx.conn,
            campaign_id=event.campaignid,
            branch_id=data.branch_id,
            county_code=event.countycode,
            revision=data.revision,
            tasks=[(t.task_id, t.title, t.responsible, t.deadline) for t in data.tasks],
            at=ctx.now,
        )

    async def on_commitment_reviewed(self, ctx: HandlerContext, event: Any) -> None:
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
        self.planner.later(ctx, _notice(event, Kind.COMMITMENT_RETURNED, facts, data.branch_id))

    async def on_tasks_completed(self, ctx: HandlerContext, events: list[Any]) -> None:
        await store.complete_tasks(
            ctx.conn, [(e.campaignid, e.data.branch_id, e.data.task_id) for e in events], ctx.now
        )

    async def on_commended(self, ctx: HandlerContext, event: Any) -> None:
        """The branch, and every branch of the county (the branch hears once)."""
        data = event.data
        facts = {
            "branch_id": data.branch_id,
            "honour": data.honour.value,
            "title": data.title,
            "member_name": data.member_name,
        }
        self.planner.later(ctx, _notice(event, Kind.COMMENDATION, facts, data.branch_id))
