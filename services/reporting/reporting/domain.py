"""Reporting rules, pure: what a card's facts count for in the summary, task status, where a
problem stands, who is lagging and why, and in which order they are named; the "four ones",
coverage, shares and satisfaction rates of phases 3 and 4."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from grassroots.contract.assessment import RaterGroup
from grassroots.contract.emulation import BranchReviewed
from grassroots.contract.grading import BranchGraded, BranchIncomplete
from grassroots.contract.rectification import (
    BranchSettled,
    CommitmentMissing,
    CommitmentReviewed,
    CommitmentTask,
    ProblemStatus,
    ProblemUpdated,
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
PARENT_LAGGING_REASONS = ("escalation_unanswered", "review_overdue")
"""Why a superior (上级党组织) is lagging: an escalation it has not answered in time, a plan it
has not reviewed in time."""
PROBLEM_STATUSES = tuple(status.value for status in ProblemStatus)
PROMINENT_SOURCES = frozenset({"members", "public"})
"""Problems raised by members and the public (党员群众反映的突出问题)."""


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


@dataclass(frozen=True)
class ProblemFacts:
    """What one problem contributes to its campaign's summary: by status once listed (and as
    a prominent problem when members or the public raised it), and as an escalation once sent
    to the superior (answered, or waiting — overdue when escalation_overdue named it)."""

    listed: bool = False
    status: str = "open"
    prominent: bool = False
    escalated: bool = False
    answered: bool = False
    answer_overdue: bool = False

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        if self.listed:
            counts["problems:total"] += 1
            counts[f"problems:{self.status}"] += 1
            if self.prominent:
                counts["prominent:total"] += 1
                counts["prominent:resolved"] += self.status == "resolved"
        if self.escalated:
            counts["escalations:total"] += 1
            counts["escalations:answered"] += self.answered
            counts["escalations:waiting"] += not self.answered
            counts["escalations:overdue"] += self.answer_overdue and not self.answered
        return counts


Facts = CardFacts | TaskFacts | ProblemFacts


def deltas(old: Facts | None, new: Facts) -> dict[str, int]:
    """How the summary counters change when a card, task or problem goes from `old` to
    `new`."""
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


def parent_lagging_reasons(*, escalations_unanswered: int, reviews_overdue: int) -> list[str]:
    """A superior's own reasons: escalations past their answer days without an answer, plan
    revisions past their review days without a review (of that revision or a newer one)."""
    reasons = []
    if escalations_unanswered:
        reasons.append("escalation_unanswered")
    if reviews_overdue:
        reasons.append("review_overdue")
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
        return {
            "settled_rate": data.completion_rate,
            "settled_total": data.tasks_total,
            "settled_completed": data.tasks_completed,
            "settled_overdue": data.tasks_overdue,
            "settled_on_track": data.tasks_on_track,
        }
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


@dataclass(frozen=True)
class Problem:
    """A problem as the read model keeps it: what the branch listed, and where it stands as
    rectification says it (`problem_updated`, the platform's record of its life cycle) —
    status, the task naming it, the evidence or the deferral reason, where it was escalated
    and the superior's answer, and whether `escalation_overdue` named the superior."""

    description: str = ""
    source: str = "self"
    needs_superior: bool = False
    listed: bool = False
    status: str | None = None
    task_id: str | None = None
    evidence: str | None = None
    deferral_reason: str | None = None
    escalated_to: str | None = None
    answer: str | None = None
    answer_action: str | None = None
    answer_due: dt.date | None = None
    answer_evidence: str | None = None
    answer_reason: str | None = None
    answered_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    overdue_to: str | None = None
    overdue_due: dt.date | None = None

    @property
    def facts(self) -> ProblemFacts:
        return ProblemFacts(
            listed=self.listed,
            status=self.status or "open",
            prominent=self.source in PROMINENT_SOURCES,
            escalated=self.escalated_to is not None,
            answered=self.answer is not None,
            answer_overdue=self.overdue_to is not None,
        )

    @property
    def answer_waits_past_due(self) -> bool:
        """The superior named by escalation_overdue has not answered: it is lagging."""
        return self.overdue_to is not None and self.answer is None


PROBLEM_COLUMNS = tuple(Problem.__dataclass_fields__)


def listed(problem: Problem | None, description: str, source: str, needs_superior: bool) -> Problem:
    """The branch listed (or listed again) the problem: the latest listing wins; where it
    stands is kept."""
    return replace(
        problem or Problem(),
        description=description,
        source=source,
        needs_superior=needs_superior,
        listed=True,
    )


def escalated(problem: Problem | None, to_org_id: str) -> Problem:
    return replace(problem or Problem(), escalated_to=to_org_id)


def updated(problem: Problem | None, data: ProblemUpdated, at: dt.datetime) -> Problem:
    """Where the problem stands now, as rectification published it. The task naming it is
    kept once the problem is resolved or deferred (an update may leave it out); an answer,
    once given, is never taken back by an update that carries none; `answered_at` is the time
    of the update that first carried this answer."""
    known = problem or Problem()
    status = data.status.value
    task_id = data.task_id
    if task_id is None and status != ProblemStatus.OPEN:
        task_id = known.task_id
    after = replace(
        known,
        status=status,
        task_id=task_id,
        evidence=data.evidence,
        deferral_reason=data.reason,
        updated_at=at,
    )
    escalation = data.escalation
    if escalation is None:
        return after
    after = replace(after, escalated_to=escalation.to_org_id)
    if escalation.answer is None:
        return after
    answer = (
        escalation.answer.value,
        escalation.action,
        escalation.due,
        escalation.evidence,
        escalation.reason,
    )
    before = (
        known.answer,
        known.answer_action,
        known.answer_due,
        known.answer_evidence,
        known.answer_reason,
    )
    if answer == before:
        return after
    return replace(
        after,
        answer=escalation.answer.value,
        answer_action=escalation.action,
        answer_due=escalation.due,
        answer_evidence=escalation.evidence,
        answer_reason=escalation.reason,
        answered_at=at,
    )


def answer_overdue(problem: Problem | None, to_org_id: str, due: dt.date) -> Problem:
    """escalation_overdue: the superior did not answer in time (lagging until it answers)."""
    known = problem or Problem()
    return replace(
        known,
        escalated_to=known.escalated_to or to_org_id,
        overdue_to=to_org_id,
        overdue_due=due,
    )


# Phases 3 and 4 (issue 15): the "four ones", coverage and satisfaction are derived on read from
# the facts kept, so the order in which events of different topics arrive never matters.

FOUR_ONES = ("themed_activity", "innovation_measure", "advanced_organization", "excellent_member")
"""The four marks of the "four ones" (四个一), in the order the plan names them."""
COVERAGE_ACTIVITIES = ("pairing", "village_visit", "double_help")
"""Activities every organisation should hold at least once (全覆盖): 结对共建, 在职党员进村入户,
双帮双比."""
FOUR_ONES_ACTIVITIES = ("themed_activity", "innovation_measure")
"""The marks an organisation earns by reporting an activity of that kind itself."""
FOUR_ONES_HONOURS = ("advanced_organization", "excellent_member")
"""The marks an organisation earns by a commendation of it or of an organisation directly under
it (一批先进党组织, 一批优秀共产党员: cultivated, not only received)."""
RATER_GROUPS = tuple(group.value for group in RaterGroup)
RATE_PLACES = Decimal("0.0001")


def rate(part: int, whole: int) -> float:
    """part ÷ whole as a fraction 0–1, rounded half-up to 4 decimals (2/3 → 0.6667); 0 when
    there is no whole."""
    if not whole:
        return 0.0
    return float((Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Marks:
    """An organisation's four marks of the "four ones" and its coverage of the three activities
    (as the read model's queries find them)."""

    themed_activity: bool = False
    innovation_measure: bool = False
    advanced_organization: bool = False
    excellent_member: bool = False
    pairing: bool = False
    village_visit: bool = False
    double_help: bool = False

    @property
    def all_four(self) -> bool:
        return all(getattr(self, mark) for mark in FOUR_ONES)

    @classmethod
    def of(cls, row: Mapping[str, object]) -> Marks:
        return cls(**{name: bool(row.get(name)) for name in (*FOUR_ONES, *COVERAGE_ACTIVITIES)})


@dataclass(frozen=True)
class Satisfaction:
    """An appraisal (评议) over all rater groups of an organisation: the counts summed and the
    two rates people read — satisfied, and satisfied or basically satisfied — of everyone who
    rated."""

    satisfied: int
    basically_satisfied: int
    dissatisfied: int

    @property
    def total(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def satisfied_rate(self) -> float:
        return rate(self.satisfied, self.total)

    @property
    def satisfied_or_basically_rate(self) -> float:
        return rate(self.satisfied + self.basically_satisfied, self.total)


def satisfaction(groups: Iterable[Mapping[str, int]]) -> Satisfaction:
    """The appraisal of an organisation from the latest counts of each rater group."""
    kept = list(groups)
    return Satisfaction(
        satisfied=sum(g["satisfied"] for g in kept),
        basically_satisfied=sum(g["basically_satisfied"] for g in kept),
        dissatisfied=sum(g["dissatisfied"] for g in kept),
    )


def awarding_body_order(kind: str | None, name: str | None) -> tuple[int, str]:
    """Commendations by awarding body: the committee's first (its 七一 special commendation is
    the county's), then other registered bodies by name, then those not stated or not
    registered."""
    if name is None:
        return (2, "")
    return (0 if kind == "committee" else 1, name)
