"""Reporting rules, pure: what a card's facts count for in the summary, task status, who is
lagging and why, and in which order they are named."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from grassroots.contract.emulation import BranchReviewed
from grassroots.contract.grading import BranchGraded, BranchIncomplete
from grassroots.contract.rectification import (
    BranchSettled,
    CommitmentMissing,
    CommitmentReviewed,
    CommitmentTask,
)

LEVELS = ("strong", "fairly_strong", "average", "weak")
ROUNDS = ("initial", "final")
CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")
GRADE_WHY = (
    "computed_level",
    "override_reason",
    "veto_reason",
    "quota_limited",
    "upgrade_capped",
    "completion_rate",
    "settled",
    "supplementary",
    "corrected",
    "rules",
)
"""What a round's card keeps besides its level, total, scores and basis: why the level is what
it is (columns `<round>_<name>`)."""
LAGGING_REASONS = ("task_overdue", "commitment_missing", "grading_incomplete")


@dataclass(frozen=True)
class CardFacts:
    """What one branch's card contributes to its campaign's summary."""

    initial_level: str | None = None
    final_level: str | None = None
    initial_incomplete: bool = False
    final_incomplete: bool = False
    moved_up: bool = False
    commitment_published: bool = False
    review: str | None = None
    commitment_missing: bool = False
    commendations: int = 0

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for round_, level in (("initial", self.initial_level), ("final", self.final_level)):
            if level:
                counts[f"level:{round_}:{level}"] += 1
        counts["incomplete:initial"] += self.initial_incomplete
        counts["incomplete:final"] += self.final_incomplete
        counts["moved_up"] += self.moved_up
        counts["commitments:published"] += self.commitment_published
        counts["commitments:approved"] += self.commitment_published and self.review == "approved"
        counts["commitments:returned"] += self.commitment_published and self.review == "returned"
        # Named missing and still without a commitment.
        counts["commitments:missing"] += self.commitment_missing and not self.commitment_published
        counts["commendations"] += self.commendations
        return counts


@dataclass(frozen=True)
class TaskFacts:
    in_plan: bool = False
    completed: bool = False
    overdue: bool = False

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        if self.in_plan:
            counts["tasks:total"] += 1
            counts["tasks:completed"] += self.completed
            counts["tasks:overdue"] += self.overdue and not self.completed
        return counts


def deltas(old: CardFacts | TaskFacts | None, new: CardFacts | TaskFacts) -> dict[str, int]:
    """How the summary counters change when a card or task goes from `old` to `new`."""
    before = old.counts() if old is not None else Counter()
    after = new.counts()
    return {
        name: after[name] - before[name]
        for name in before.keys() | after.keys()
        if after[name] != before[name]
    }


def task_status(*, completed: bool, overdue: bool) -> str:
    """completed wins over overdue: a late task that was finished is completed."""
    if completed:
        return "completed"
    return "overdue" if overdue else "open"


def lagging_reasons(
    *,
    overdue_tasks: int,
    commitment_missing: bool,
    commitment_published: bool,
    grading_missing: bool,
) -> list[str]:
    reasons = []
    if overdue_tasks:
        reasons.append("task_overdue")
    if commitment_missing and not commitment_published:
        reasons.append("commitment_missing")
    if grading_missing:
        reasons.append("grading_incomplete")
    return reasons


def rank_lagging(rows: Iterable[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """Most reasons first, then most overdue tasks, then weakest level, then branch_id."""

    def level_rank(row: Mapping[str, object]) -> int:
        level = row.get("level")
        return -LEVELS.index(level) if isinstance(level, str) else 0

    return sorted(
        rows,
        key=lambda r: (
            -len(r["reasons"]),  # type: ignore[arg-type]
            -int(r["overdue_tasks"]),  # type: ignore[call-overload]
            level_rank(r),
            str(r["branch_id"]),
        ),
    )


def current_phase(phases: Mapping[str, Mapping[str, str | None]]) -> str | None:
    """The phase most recently opened (phases open in order and do not overlap)."""
    order = ("survey_grading", "rectification", "emulation", "assessment")
    opened = [phase for phase in order if phases.get(phase, {}).get("opened_at")]
    closed = [phase for phase in order if phases.get(phase, {}).get("closed_at")]
    if opened:
        return opened[-1]
    return closed[-1] if closed else None


@dataclass(frozen=True)
class Task:
    """A task as the read model keeps it, between the events that change it."""

    percent: int = 0
    in_plan: bool = False
    completed: bool = False
    overdue: bool = False
    deadline: dt.date | None = None
    responsible: str | None = None
    title: str | None = None
    kind: str | None = None

    @property
    def facts(self) -> TaskFacts:
        return TaskFacts(in_plan=self.in_plan, completed=self.completed, overdue=self.overdue)


def progressed(task: Task | None, percent: int, note: str | None) -> Task | None:
    """Progress on a task of the plan that is not completed; backwards only with a note.
    None: the card stays as it is (rectification dead-letters such progress)."""
    if task is None or not task.in_plan or task.completed:
        return None
    if percent < task.percent and not note:
        return None
    return replace(task, percent=percent)


def completed(task: Task | None) -> Task | None:
    if task is None or not task.in_plan:
        return None
    return replace(task, percent=100, completed=True)


def overdue(task: Task | None, deadline: dt.date, responsible: str) -> Task:
    """Overdue, even before the plan arrives; the plan's deadline and responsible win."""
    known = task or Task()
    return replace(
        known,
        overdue=True,
        deadline=known.deadline if known.deadline is not None else deadline,
        responsible=known.responsible if known.responsible is not None else responsible,
    )


@dataclass(frozen=True)
class Card:
    """The columns of a card that its summary counts depend on, and the commitment revision
    that reviews are checked against."""

    initial_level: str | None = None
    final_level: str | None = None
    initial_missing: tuple[str, ...] = ()
    final_missing: tuple[str, ...] = ()
    moved_up: bool = False
    commitment_id: str | None = None
    commitment_revision: int | None = None
    review: str | None = None
    commitment_missing: bool = False
    commendations: int = 0

    @property
    def facts(self) -> CardFacts:
        return CardFacts(
            initial_level=self.initial_level,
            final_level=self.final_level,
            initial_incomplete=bool(self.initial_missing),
            final_incomplete=bool(self.final_missing),
            moved_up=self.moved_up,
            commitment_published=self.commitment_id is not None,
            review=self.review,
            commitment_missing=self.commitment_missing,
            commendations=self.commendations,
        )

    def level(self, round_: str) -> str | None:
        return self.initial_level if round_ == "initial" else self.final_level

    def with_columns(self, columns: Mapping[str, object]) -> Card:
        known = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in columns.items()
            if name in CARD_COLUMNS
        }
        return replace(self, **known)  # type: ignore[arg-type]


CARD_COLUMNS = frozenset(Card.__dataclass_fields__)


CardData = (
    BranchGraded
    | BranchIncomplete
    | CommitmentReviewed
    | CommitmentMissing
    | BranchSettled
    | BranchReviewed
)
"""What the events that set columns of a card carry."""


def grade_columns(data: BranchGraded) -> dict[str, object]:
    """A round's level with all of its why: scores, total, computed level, basis, reasons,
    flags, completion rate and the rules applied in order (as the event says them)."""
    round_ = data.round.value
    why: dict[str, object] = {
        "computed_level": data.computed_level.value if data.computed_level else None,
        "override_reason": data.override_reason,
        "veto_reason": data.veto_reason,
        "quota_limited": bool(data.quota_limited),
        "upgrade_capped": bool(data.upgrade_capped),
        "completion_rate": data.completion_rate,
        "settled": data.settled,
        "supplementary": bool(data.supplementary),
        "corrected": bool(data.corrected),
        "rules": None
        if data.rules is None
        else [rule.model_dump(mode="json", exclude_none=True) for rule in data.rules],
    }
    columns: dict[str, object] = {
        f"{round_}_level": data.level.value,
        f"{round_}_total": data.total,
        f"{round_}_scores": data.scores.model_dump(),
        f"{round_}_basis": data.basis.value,
        f"{round_}_missing": [],
        **{f"{round_}_{name}": value for name, value in why.items()},
    }
    if round_ == "final":
        columns["moved_up"] = bool(data.moved_up)
    return columns


def card_columns(data: CardData, card: Card) -> dict[str, object] | None:
    """The columns an event sets on its branch's card; None: it leaves the card as it is (a
    review of a superseded revision; a round that has its level already, for a supplementary
    result or an incomplete notice — only a correction changes a level once set)."""
    if isinstance(data, BranchGraded):
        late = data.supplementary and not data.corrected
        if late and card.level(data.round.value) is not None:
            return None  # graded already: a supplementary result never regrades a branch
        return grade_columns(data)
    if isinstance(data, BranchIncomplete):
        round_ = data.round.value
        if card.level(round_) is not None:
            return None  # graded (e.g. by supplementary determination): never back to missing
        return {
            f"{round_}_missing": [m.value for m in data.missing],
            f"{round_}_level": None,
            f"{round_}_total": None,
        }
    if isinstance(data, CommitmentReviewed):
        if card.commitment_revision != data.revision:
            return None
        return {"review": data.decision.value, "guidance": data.guidance}
    if isinstance(data, CommitmentMissing):
        return {"commitment_missing": True}
    if isinstance(data, BranchSettled):
        return {"settled_rate": data.completion_rate}
    if isinstance(data, BranchReviewed):
        return {"assessment_score": data.score}
    raise ValueError(f"{type(data).__name__} does not set columns of a card")


def replan(tasks: Mapping[str, Task], plan: Iterable[CommitmentTask]) -> dict[str, Task]:
    """The tasks after a newer revision (task_id → task): its tasks are the plan, progress and
    flags kept; tasks it dropped leave the plan (their history stays)."""
    after = {task_id: replace(task, in_plan=False) for task_id, task in tasks.items()}
    for planned in plan:
        known = tasks.get(planned.task_id) or Task()
        after[planned.task_id] = replace(
            known,
            in_plan=True,
            title=planned.title,
            responsible=planned.responsible,
            deadline=planned.deadline,
            kind=planned.kind.value,
        )
    return after
