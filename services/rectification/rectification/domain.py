"""Rectification (集中整改) as pure rules: commitments, reviews, progress, deadlines, settlement.

Times are given, never read: `now` comes in as an argument. Deadlines are calendar days of the
county calendar (`grassroots.contract.calendar`): a task due on 30 June is overdue from 1 July
00:00 +08:00.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from grassroots.contract.calendar import is_overdue

LEVEL_URGENCY = {"weak": 0, "average": 1, "fairly_strong": 2, "strong": 3}  # named first: weak


@dataclass(frozen=True)
class TaskPlan:
    task_id: str
    problem_id: str | None
    deadline: dt.date


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


@dataclass(frozen=True)
class Settlement:
    tasks_total: int
    tasks_completed: int
    tasks_overdue: int
    completion_rate: Decimal


def commitment_refusals(
    tasks: Sequence[TaskPlan],
    *,
    listed_problems: set[str],
    campaign_window: tuple[dt.date, dt.date] | None,
) -> list[str]:
    """What is wrong with a commitment's tasks (the four clears are checked by the contract)."""
    refusals = []
    for task in tasks:
        if task.problem_id is not None and task.problem_id not in listed_problems:
            refusals.append(f"task {task.task_id}: problem {task.problem_id} was not listed")
        if campaign_window is not None:
            starts_on, ends_on = campaign_window
            if not starts_on <= task.deadline <= ends_on:
                refusals.append(
                    f"task {task.task_id}: deadline {task.deadline} is outside the campaign "
                    f"({starts_on} – {ends_on})"
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
    """Totals at phase close. A branch with no tasks settles at 0 % (nothing was rectified),
    which grading's upgrade rule treats like any completion below its minimum."""
    tasks = list(tasks)
    completed = sum(1 for t in tasks if t.completed)
    overdue = sum(1 for t in tasks if not t.completed and is_overdue(t.deadline, closed_at))
    rate = (Decimal(completed) / Decimal(len(tasks))) if tasks else Decimal(0)
    return Settlement(
        len(tasks), completed, overdue, rate.quantize(Decimal("0.0001"), ROUND_HALF_UP)
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
