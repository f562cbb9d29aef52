"""`rectification.inputs` and `rectification.results`: problems, public commitments, tasks (集中整改)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from grassroots.contract.common import ContractModel, Identifier, LongText, ShortText


class ProblemSource(StrEnum):
    SURVEY = "survey"
    MEMBERS = "members"
    PUBLIC = "public"
    SELF = "self"


class TaskKind(StrEnum):
    IMMEDIATE = "immediate"
    GRADUAL = "gradual"


class ReviewDecision(StrEnum):
    APPROVED = "approved"
    RETURNED = "returned"


class ProblemListed(ContractModel):
    branch_id: Identifier = Field(description="The branch that listed the problem (梳理问题).")
    problem_id: Identifier = Field(description="The problem's id, unique within the branch.")
    description: LongText = Field(description="What the problem is.")
    source: ProblemSource = Field(description="Who raised it: survey, members, public or self.")
    needs_superior: bool = Field(description="Needs the superior to coordinate (需要上级统筹解决).")


class CommitmentTask(ContractModel):
    """One task of a public commitment, with the four clears (四明确)."""

    task_id: Identifier = Field(description="The task's id, unique within the branch.")
    problem_id: Identifier | None = Field(None, description="The problem the task addresses.")
    title: ShortText = Field(description="What will be done.")
    responsible: ShortText = Field(description="明确责任 — the responsible person.")
    requirement: LongText = Field(description="明确要求 — the requirement.")
    measures: LongText = Field(description="明确措施 — the measures.")
    deadline: dt.date = Field(description="明确时限 — the deadline (ISO 8601 date).")
    kind: TaskKind = Field(description="immediate (立即整改) or gradual (逐步整改).")


class CommitmentPublished(ContractModel):
    branch_id: Identifier = Field(description="The branch making the public commitment (公开承诺).")
    commitment_id: Identifier = Field(description="The commitment's id.")
    revision: int = Field(
        ge=1, description="1 for the first plan, then one more per re-publication."
    )
    tasks: list[CommitmentTask] = Field(min_length=1, max_length=200, description="The tasks.")

    @model_validator(mode="after")
    def _unique_task_ids(self) -> Self:
        ids = [task.task_id for task in self.tasks]
        duplicates = sorted({task_id for task_id in ids if ids.count(task_id) > 1})
        if duplicates:
            raise ValueError(f"tasks: task_id repeated: {', '.join(duplicates)}")
        return self


class CommitmentReviewed(ContractModel):
    branch_id: Identifier = Field(description="The branch whose commitment was reviewed.")
    commitment_id: Identifier = Field(description="The commitment.")
    revision: int = Field(ge=1, description="The revision reviewed; must be the latest.")
    decision: ReviewDecision = Field(description="approved, or returned with guidance.")
    guidance: LongText | None = Field(None, description="加强具体指导 — required when returned.")
    reviewer_org_id: Identifier = Field(description="The superior organisation that reviewed.")
    uncovered_reason: LongText | None = Field(
        None,
        description="Approving a plan that leaves problems raised by members or the public "
        "neither named by a task nor deferred: why (required then, and kept).",
    )

    @model_validator(mode="after")
    def _guidance_when_returned(self) -> Self:
        if self.decision is ReviewDecision.RETURNED and not self.guidance:
            raise ValueError("guidance is required when the decision is returned")
        return self


class TaskProgressed(ContractModel):
    branch_id: Identifier = Field(description="The branch.")
    task_id: Identifier = Field(description="The task.")
    percent: int = Field(ge=0, le=100, description="Progress, 0–100.")
    note: LongText | None = Field(None, description="What was done; required to lower the percent.")


class TaskCompleted(ContractModel):
    branch_id: Identifier = Field(description="The branch.")
    task_id: Identifier = Field(description="The task completed.")
    evidence: LongText = Field(description="Evidence of completion.")


class TaskOverdue(ContractModel):
    branch_id: Identifier = Field(description="The branch.")
    task_id: Identifier = Field(description="The task past its deadline and not complete.")
    deadline: dt.date = Field(description="The deadline it missed.")
    responsible: ShortText = Field(description="The responsible person.")


class ProblemEscalated(ContractModel):
    branch_id: Identifier = Field(description="The branch that listed the problem.")
    problem_id: Identifier = Field(description="The problem needing the superior.")
    to_org_id: Identifier = Field(description="The superior organisation it was escalated to.")


class CommitmentMissing(ContractModel):
    branch_id: Identifier = Field(description="The branch with no published commitment.")
    due: dt.date = Field(description="The day the commitment was due.")


class BranchSettled(ContractModel):
    branch_id: Identifier = Field(description="The branch settled when rectification closed.")
    tasks_total: int = Field(ge=0, description="Tasks in the latest commitment.")
    tasks_completed: int = Field(ge=0, description="Tasks completed.")
    tasks_overdue: int = Field(ge=0, description="Tasks overdue (past deadline, not completed).")
    completion_rate: float = Field(
        ge=0,
        le=1,
        description="tasks_completed / (tasks_total − tasks_on_track), 0–1; 0 for a branch with "
        "no tasks, 1 when its only open tasks are gradual ones on track.",
    )
    tasks_on_track: int | None = Field(
        None,
        ge=0,
        description="Gradual tasks (逐步整改) not yet due at settlement: neither completed nor "
        "failed; completion_rate leaves them out (completed / (total − on track)).",
    )


class ProblemResolved(ContractModel):
    branch_id: Identifier = Field(description="The branch that listed the problem.")
    problem_id: Identifier = Field(description="The problem solved.")
    evidence: LongText = Field(description="How it was solved: the evidence.")


class ProblemDeferred(ContractModel):
    branch_id: Identifier = Field(description="The branch that listed the problem.")
    problem_id: Identifier = Field(description="The problem not rectified in this campaign.")
    reason: LongText = Field(description="Why it is deferred (kept and shown).")


class EscalationAnswer(StrEnum):
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CANNOT_RESOLVE = "cannot_resolve"


class EscalationAnswered(ContractModel):
    """The superior's answer to a problem escalated to it (需要上级党组织统筹解决)."""

    branch_id: Identifier = Field(description="The branch that listed the problem.")
    problem_id: Identifier = Field(description="The escalated problem.")
    answered_by_org_id: Identifier = Field(description="The organisation it was escalated to.")
    answer: EscalationAnswer = Field(description="accepted, resolved or cannot_resolve.")
    action: LongText | None = Field(None, description="accepted: what it will do (required).")
    due: dt.date | None = Field(None, description="accepted: by when (required).")
    evidence: LongText | None = Field(None, description="resolved: the evidence (required).")
    reason: LongText | None = Field(None, description="cannot_resolve: why (required).")

    @model_validator(mode="after")
    def _what_each_answer_needs(self) -> Self:
        needs = {
            EscalationAnswer.ACCEPTED: ("action", "due"),
            EscalationAnswer.RESOLVED: ("evidence",),
            EscalationAnswer.CANNOT_RESOLVE: ("reason",),
        }[self.answer]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{' and '.join(missing)} required when the answer is {self.answer}")
        return self


class ProblemStatus(StrEnum):
    OPEN = "open"
    IN_RECTIFICATION = "in_rectification"
    RESOLVED = "resolved"
    DEFERRED = "deferred"


class Escalation(ContractModel):
    to_org_id: Identifier = Field(description="The superior organisation it went to.")
    answer: EscalationAnswer | None = Field(None, description="Its answer, none while waiting.")
    action: LongText | None = Field(None, description="accepted: what it will do.")
    due: dt.date | None = Field(None, description="accepted: by when.")
    evidence: LongText | None = Field(None, description="resolved: the evidence.")
    reason: LongText | None = Field(None, description="cannot_resolve: why.")


class ProblemUpdated(ContractModel):
    """Where a problem stands, emitted by the platform at every change."""

    branch_id: Identifier = Field(description="The branch that listed the problem.")
    problem_id: Identifier = Field(description="The problem.")
    status: ProblemStatus = Field(
        description="open → in_rectification (a task of the approved plan names it) → resolved "
        "(with evidence), or deferred (with a reason)."
    )
    task_id: Identifier | None = Field(None, description="in_rectification: the task naming it.")
    evidence: LongText | None = Field(None, description="resolved: the evidence.")
    reason: LongText | None = Field(None, description="deferred: the reason.")
    escalation: Escalation | None = Field(
        None, description="When it needs the superior: where it went and the answer."
    )


class EscalationOverdue(ContractModel):
    branch_id: Identifier = Field(description="The branch whose problem waits for an answer.")
    problem_id: Identifier = Field(description="The escalated problem.")
    to_org_id: Identifier = Field(description="The superior that has not answered: lagging.")
    due: dt.date = Field(description="The day the answer was due.")


class ReviewOverdue(ContractModel):
    branch_id: Identifier = Field(description="The branch whose plan waits for review.")
    commitment_id: Identifier = Field(description="The commitment.")
    revision: int = Field(ge=1, description="The revision waiting.")
    reviewer_org_id: Identifier = Field(description="The superior that has not reviewed: lagging.")
    due: dt.date = Field(description="The day the review was due.")
