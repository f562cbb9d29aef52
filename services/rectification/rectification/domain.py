"""Rectification (集中整改) as pure rules: commitments, reviews, progress, deadlines, settlement,
and problems followed through — their life cycle, coverage by the plan, the superior's answers.

Times are given, never read: `now` comes in as an argument. Deadlines are calendar days of the
county calendar (`grassroots.contract.calendar`): a task due on 30 June is overdue from 1 July
00:00 +08:00; an answer or a review due `days` after something happened is due on that county
day plus `days`, and overdue from the next county day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from grassroots.contract.calendar import county_today, is_overdue

LEVEL_URGENCY = {"weak": 0, "average": 1, "fairly_strong": 2, "strong": 3}  # named first: weak
DEFAULT_ESCALATION_ANSWER_DAYS = 10
DEFAULT_REVIEW_DUE_DAYS = 5
PROMINENT_SOURCES = frozenset({"members", "public"})  # 党员群众反映的突出问题
DEALT_WITH = frozenset({"resolved", "deferred"})


@dataclass(frozen=True)
class TaskPlan:
    task_id: str
    problem_id: str | None
    deadline: dt.date
    kind: str = "immediate"


@dataclass(frozen=True)
class CampaignWindow:
    """The campaign's planned days, and the latest deadline a gradual task may have."""

    starts_on: dt.date
    ends_on: dt.date
    gradual_horizon: dt.date


@dataclass(frozen=True)
class TaskProgress:
    """Where a task of the latest commitment stands."""

    percent: int
    completed_at: dt.datetime | None = None
    evidence: str | None = None


@dataclass(frozen=True)
class CurrentCommitment:
    commitment_id: str
    revision: int


@dataclass(frozen=True)
class TaskState:
    task_id: str
    deadline: dt.date
    completed: bool
    kind: str = "immediate"


@dataclass(frozen=True)
class Settlement:
    tasks_total: int
    tasks_completed: int
    tasks_overdue: int
    completion_rate: Decimal
    tasks_on_track: int = 0


def commitment_refusals(
    tasks: Sequence[TaskPlan],
    *,
    listed_problems: Set[str],
    campaign_window: CampaignWindow | None,
) -> list[str]:
    """What is wrong with a commitment's tasks (the four clears are checked by the contract).
    Immediate tasks are due within the campaign; gradual ones (逐步整改) may run past it, up to
    the horizon."""
    refusals = []
    for task in tasks:
        if task.problem_id is not None and task.problem_id not in listed_problems:
            refusals.append(f"task {task.task_id}: problem {task.problem_id} was not listed")
        if campaign_window is None:
            continue
        window = campaign_window
        if task.kind == "gradual" and task.deadline > window.gradual_horizon:
            refusals.append(
                f"task {task.task_id} (gradual): deadline {task.deadline} is after the horizon "
                f"{window.gradual_horizon}"
            )
        elif task.kind == "gradual" and task.deadline >= window.starts_on:
            continue
        elif not window.starts_on <= task.deadline <= window.ends_on:
            refusals.append(
                f"task {task.task_id}: deadline {task.deadline} is outside the campaign "
                f"({window.starts_on} – {window.ends_on})"
            )
    return refusals


def revision_refusal(
    current: CurrentCommitment | None, commitment_id: str, revision: int
) -> str | None:
    """A branch has one commitment per campaign; each re-publication is a higher revision."""
    if current is None:
        return None
    if commitment_id != current.commitment_id:
        return (
            f"the branch already committed as {current.commitment_id}; publish a new "
            f"revision of it instead of {commitment_id}"
        )
    if revision <= current.revision:
        return (
            f"revision {revision} of {commitment_id} is not newer than the published "
            f"revision {current.revision}"
        )
    return None


def review_refusal(
    current: CurrentCommitment | None, commitment_id: str, revision: int
) -> str | None:
    """Only the latest revision of the branch's commitment can be reviewed."""
    if current is None or current.commitment_id != commitment_id:
        return f"commitment {commitment_id} was not published by this branch"
    if revision != current.revision:
        return (
            f"revision {revision} of {commitment_id} is not the latest "
            f"(revision {current.revision}); review the latest"
        )
    return None


def progress_refusal(
    *, completed: bool, current_percent: int, percent: int, note: str | None
) -> str | None:
    """Progress never goes backwards without a reason; a completed task takes no progress."""
    if completed:
        return "the task is already completed"
    if percent < current_percent and not note:
        return f"percent {percent} is below the reported {current_percent}; say why in note"
    return None


def settle_branch(tasks: Iterable[TaskState], closed_at: dt.datetime) -> Settlement:
    """Totals at phase close. A gradual task neither completed nor overdue at the close is on
    track: the rate is completed ÷ (total − on track), 100 % when every task left is on track.
    A branch with no tasks settles at 0 % (nothing was rectified), which grading's upgrade rule
    treats like any completion below its minimum."""
    tasks = list(tasks)
    completed = sum(1 for t in tasks if t.completed)
    open_ = [t for t in tasks if not t.completed]
    overdue = sum(1 for t in open_ if is_overdue(t.deadline, closed_at))
    on_track = sum(
        1 for t in open_ if t.kind == "gradual" and not is_overdue(t.deadline, closed_at)
    )
    counted = len(tasks) - on_track
    if counted:
        rate = Decimal(completed) / Decimal(counted)
    else:
        rate = Decimal(1) if on_track else Decimal(0)
    return Settlement(
        len(tasks),
        completed,
        overdue,
        rate.quantize(Decimal("0.0001"), ROUND_HALF_UP),
        on_track,
    )


def naming_order(levels: Mapping[str, str | None], branch_ids: Iterable[str]) -> list[str]:
    """Weak, then average branches first, then the rest (and ungraded last), by branch_id."""
    return sorted(branch_ids, key=lambda b: (LEVEL_URGENCY.get(levels.get(b) or "", 4), b))


@dataclass(frozen=True)
class Commitment:
    """A branch's commitment as it stands: its latest revision and the review of it."""

    commitment_id: str
    revision: int
    published_at: dt.datetime
    review: str = "pending"

    @property
    def current(self) -> CurrentCommitment:
        return CurrentCommitment(self.commitment_id, self.revision)


@dataclass(frozen=True)
class PlannedTask:
    """A task of the latest revision, as stored: what was promised and how far it got."""

    county_code: str
    commitment_id: str
    revision: int
    problem_id: str | None
    title: str
    responsible: str
    requirement: str
    measures: str
    deadline: dt.date
    kind: str
    percent: int = 0
    completed_at: dt.datetime | None = None
    evidence: str | None = None
    overdue_at: dt.datetime | None = None


def replan(
    tasks: Mapping[str, PlannedTask], revision: Mapping[str, PlannedTask]
) -> dict[str, PlannedTask]:
    """The plan after a new revision (task_id → task): the revision's tasks, keeping the
    progress of those already planned; tasks it dropped leave the plan. A new deadline gives
    a task a new chance to be on time."""
    plan = {}
    for task_id, new in revision.items():
        old = tasks.get(task_id)
        if old is None:
            plan[task_id] = new
            continue
        plan[task_id] = replace(
            new,
            county_code=old.county_code,
            commitment_id=old.commitment_id,
            percent=old.percent,
            completed_at=old.completed_at,
            evidence=old.evidence,
            overdue_at=old.overdue_at if old.deadline == new.deadline else None,
        )
    return plan


# Problems followed through.


@dataclass(frozen=True)
class EscalationState:
    """A problem sent to the branch's parent (需要上级党组织统筹解决), and its latest answer."""

    to_org_id: str
    escalated_at: dt.datetime
    answer: str | None = None  # accepted | resolved | cannot_resolve; None while waiting
    action: str | None = None
    due: dt.date | None = None
    evidence: str | None = None
    reason: str | None = None
    answered_at: dt.datetime | None = None


@dataclass(frozen=True)
class Answer:
    """The superior's answer to an escalated problem."""

    answer: str
    action: str | None
    due: dt.date | None
    evidence: str | None
    reason: str | None


@dataclass(frozen=True)
class Problem:
    """A problem as it stands: open → in_rectification (a task of the approved plan names it)
    → resolved (with evidence), or deferred (with a reason)."""

    county_code: str
    source: str
    status: str = "open"
    task_id: str | None = None
    evidence: str | None = None
    reason: str | None = None
    escalation: EscalationState | None = None


def uncovered_problems(
    problems: Mapping[str, Problem], tasks: Iterable[TaskPlan | PlannedTask]
) -> list[str]:
    """Problems raised by members or the public (problem_id, sorted) that the plan's tasks do
    not name and that were neither deferred nor resolved."""
    named = {task.problem_id for task in tasks}
    return sorted(
        problem_id
        for problem_id, problem in problems.items()
        if problem.source in PROMINENT_SOURCES
        and problem.status not in DEALT_WITH
        and problem_id not in named
    )


def coverage_refusal(uncovered: Sequence[str], uncovered_reason: str | None) -> str | None:
    """Approving a plan that leaves prominent problems uncovered needs the reviewer's reason."""
    if not uncovered or uncovered_reason:
        return None
    return (
        "approving leaves problems raised by members or the public uncovered: "
        f"{', '.join(uncovered)} — name them in a task, defer them, or give uncovered_reason"
    )


def follow_approved_plan(
    problems: Mapping[str, Problem], tasks: Mapping[str, TaskPlan | PlannedTask]
) -> dict[str, Problem]:
    """The problems an approved plan changes (problem_id → problem): those its tasks (task_id
    → task) name are in rectification, with the task naming them (the one already recorded
    while the plan still names it through that task, else the first by task_id); those it no
    longer names are open again. Resolved and deferred problems stay as they are."""
    naming: dict[str, list[str]] = {}
    for task_id, task in tasks.items():
        if task.problem_id is not None:
            naming.setdefault(task.problem_id, []).append(task_id)
    changed = {}
    for problem_id, problem in problems.items():
        if problem.status in DEALT_WITH:
            continue
        named = naming.get(problem_id)
        if named:
            task_id = problem.task_id if problem.task_id in named else min(named)
            new = replace(problem, status="in_rectification", task_id=task_id)
        else:
            new = replace(problem, status="open", task_id=None)
        if new != problem:
            changed[problem_id] = new
    return changed


def problem_refusal(problem: Problem | None, branch_id: str, problem_id: str) -> str | None:
    """Only a problem the branch listed, and not resolved yet, can be resolved or deferred."""
    if problem is None:
        return f"problem {problem_id} was never listed by {branch_id}"
    if problem.status == "resolved":
        return f"problem {problem_id} of {branch_id} is already resolved"
    return None


def resolve(problem: Problem, evidence: str) -> Problem:
    return replace(problem, status="resolved", evidence=evidence, reason=None)


def defer(problem: Problem, reason: str) -> Problem:
    return replace(problem, status="deferred", reason=reason)


def answer_refusal(
    problem: Problem | None, branch_id: str, problem_id: str, answered_by: str
) -> str | None:
    """Only the organisation a problem was escalated to answers it."""
    if problem is None:
        return f"problem {problem_id} was never listed by {branch_id}"
    if problem.escalation is None:
        return f"problem {problem_id} of {branch_id} was never escalated"
    if problem.escalation.to_org_id != answered_by:
        return (
            f"problem {problem_id} of {branch_id} was escalated to "
            f"{problem.escalation.to_org_id}, not {answered_by}"
        )
    return None


def record_answer(problem: Problem, answer: Answer, at: dt.datetime) -> Problem:
    """The answer replaces any earlier one; `resolved` also resolves the problem with its
    evidence (a problem resolved already keeps its own)."""
    assert problem.escalation is not None
    escalation = replace(
        problem.escalation,
        answer=answer.answer,
        action=answer.action,
        due=answer.due,
        evidence=answer.evidence,
        reason=answer.reason,
        answered_at=at,
    )
    answered = replace(problem, escalation=escalation)
    if answer.answer == "resolved" and problem.status != "resolved":
        assert answer.evidence is not None  # the contract requires it
        answered = resolve(answered, answer.evidence)
    return answered


def due_on(since: dt.datetime, days: int) -> dt.date:
    """The county day something is due `days` after `since` (an escalation, a publication);
    it is overdue from the next county day, like a task's deadline."""
    return county_today(since) + dt.timedelta(days=days)


def overdue_since(since: dt.datetime, days: int, now: dt.datetime) -> dt.date | None:
    """The day it was due, when it is overdue at `now`; None when not (yet)."""
    due = due_on(since, days)
    return due if is_overdue(due, now) else None
