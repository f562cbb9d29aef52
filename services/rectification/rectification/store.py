"""Every SQL statement of the rectification service, on one unit of work's connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from grassroots.plumbing import database
from grassroots.plumbing.store import OrganisationRow, Store
from rectification.domain import (
    DEFAULT_ESCALATION_ANSWER_DAYS,
    DEFAULT_REVIEW_DUE_DAYS,
    CampaignWindow,
    Commitment,
    EscalationState,
    PlannedTask,
    Problem,
    TaskProgress,
)

BranchKey = tuple[str, str]
"""campaign_id, branch_id"""

TaskKey = tuple[str, str, str]
"""campaign_id, branch_id, task_id"""

ProblemKey = tuple[str, str, str]
"""campaign_id, branch_id, problem_id"""

TASK_COLUMNS = tuple(PlannedTask.__dataclass_fields__)


class CampaignRow(NamedTuple):
    """A campaign's plan, from its launch."""

    campaign_id: str
    county_code: str
    starts_on: dt.date
    ends_on: dt.date
    commitment_due_days: int
    escalation_answer_days: int
    review_due_days: int
    gradual_horizon: dt.date | None  # None: the campaign's last day


class SeenCampaignRow(NamedTuple):
    """A campaign known only from its events so far (its launch may come later)."""

    campaign_id: str
    county_code: str


class LevelRow(NamedTuple):
    campaign_id: str
    branch_id: str
    round: str
    level: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.campaign_id, self.branch_id, self.round)


class ProblemRow(NamedTuple):
    campaign_id: str
    branch_id: str
    county_code: str
    problem_id: str
    description: str
    source: str
    needs_superior: bool
    listed_at: dt.datetime


class EscalationCause(NamedTuple):
    """What may escalate a branch's waiting problems, and when: a listing (of one problem of one
    campaign) or the branch's registration (campaign_id and problem_id None: all of them)."""

    campaign_id: str | None
    branch_id: str
    problem_id: str | None
    at: dt.datetime


class EscalatedProblem(NamedTuple):
    """A problem just marked as escalated to the branch's parent."""

    campaign_id: str
    branch_id: str
    county_code: str
    problem_id: str
    escalated_to: str


class ProblemStateRow(NamedTuple):
    """Where a problem now stands (an update of `problems`)."""

    campaign_id: str
    branch_id: str
    problem_id: str
    status: str
    task_id: str | None
    evidence: str | None
    reason: str | None
    answer: str | None
    answer_action: str | None
    answer_due: dt.date | None
    answer_evidence: str | None
    answer_reason: str | None
    answered_at: dt.datetime | None

    @classmethod
    def of(cls, key: ProblemKey, problem: Problem) -> ProblemStateRow:
        e = problem.escalation
        return cls(
            *key,
            problem.status,
            problem.task_id,
            problem.evidence,
            problem.reason,
            e.answer if e else None,
            e.action if e else None,
            e.due if e else None,
            e.evidence if e else None,
            e.reason if e else None,
            e.answered_at if e else None,
        )


class WaitingEscalation(NamedTuple):
    """An escalation not answered (nor flagged overdue) that may be past its days."""

    campaign_id: str
    branch_id: str
    county_code: str
    problem_id: str
    to_org_id: str
    escalated_at: dt.datetime
    answer_days: int


class PendingReview(NamedTuple):
    """A revision waiting for its review (not flagged overdue) that may be past its days."""

    campaign_id: str
    branch_id: str
    county_code: str
    commitment_id: str
    revision: int
    published_at: dt.datetime
    review_days: int
    reviewer_org_id: str  # the branch's parent


class CommitmentRow(NamedTuple):
    campaign_id: str
    branch_id: str
    commitment_id: str
    revision: int
    published_at: dt.datetime
    review: str


class HistoryRow(NamedTuple):
    """What happened to a commitment: a revision published, or a review of it."""

    campaign_id: str
    branch_id: str
    commitment_id: str
    revision: int
    action: str
    actor: str | None
    guidance: str | None
    tasks: list[dict[str, Any]] | None
    event_id: str
    happened_at: dt.datetime
    uncovered: list[str]  # problems raised by members or the public the revision leaves uncovered
    uncovered_reason: str | None  # an approval despite them: why


class TaskRow(NamedTuple):
    """A task of the latest revision (the columns of `tasks`)."""

    campaign_id: str
    branch_id: str
    task_id: str
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
    percent: int
    completed_at: dt.datetime | None
    evidence: str | None
    overdue_at: dt.datetime | None

    @classmethod
    def of(cls, key: BranchKey, task_id: str, task: PlannedTask) -> TaskRow:
        return cls(*key, task_id, *(getattr(task, column) for column in TASK_COLUMNS))


class TaskProgressRow(NamedTuple):
    """Where a task now stands (an update of `tasks`)."""

    campaign_id: str
    branch_id: str
    task_id: str
    percent: int
    completed_at: dt.datetime | None
    evidence: str | None


class ProgressReportRow(NamedTuple):
    campaign_id: str
    branch_id: str
    task_id: str
    percent: int
    note: str | None
    event_id: str
    reported_at: dt.datetime


class OverdueTask(NamedTuple):
    """A task just flagged overdue."""

    campaign_id: str
    branch_id: str
    county_code: str
    task_id: str
    deadline: dt.date
    responsible: str


class UncommittedBranch(NamedTuple):
    """A branch whose commitment is due and was neither published nor named missing."""

    campaign_id: str
    county_code: str
    rectification_opened_at: dt.datetime
    commitment_due_days: int
    branch_id: str
    level: str | None  # its initial level


class MissingRow(NamedTuple):
    campaign_id: str
    branch_id: str
    due: dt.date
    named_at: dt.datetime


class SettlingCampaign(NamedTuple):
    campaign_id: str
    county_code: str
    closed_at: dt.datetime


class TaskToSettle(NamedTuple):
    """A branch to settle and one of its tasks (task_id None: a branch without tasks)."""

    branch_id: str
    task_id: str | None
    deadline: dt.date | None
    completed: bool | None
    kind: str | None


class SettlementRow(NamedTuple):
    campaign_id: str
    branch_id: str
    tasks_total: int
    tasks_completed: int
    tasks_overdue: int
    completion_rate: Decimal
    tasks_on_track: int


class RectificationStore(Store):
    """Every SQL statement of the service, on one unit of work's connection."""

    # Campaigns and their phases.

    async def save_campaign(self, campaign: CampaignRow) -> None:
        await database.upsert(self.conn, "campaigns", [campaign], key=("campaign_id",))

    async def ensure_campaign(self, campaign_id: str, county_code: str) -> None:
        """A campaign known only from its events so far (its launch may come later)."""
        await database.upsert(
            self.conn,
            "campaigns",
            [SeenCampaignRow(campaign_id, county_code)],
            key=("campaign_id",),
            update=(),
        )

    async def open_rectification(
        self, campaign_id: str, county_code: str, opened_at: dt.datetime
    ) -> None:
        await self.ensure_campaign(campaign_id, county_code)
        await self.conn.execute(
            "UPDATE campaigns SET rectification_opened_at = $2 WHERE campaign_id = $1",
            campaign_id,
            opened_at,
        )

    async def close_rectification(
        self, campaign_id: str, county_code: str, closed_at: dt.datetime
    ) -> str:
        """Mark the campaign's rectification closing; return the state it had."""
        await self.ensure_campaign(campaign_id, county_code)
        previous: str = await self.conn.fetchval(
            "SELECT settlement FROM campaigns WHERE campaign_id = $1 FOR UPDATE", campaign_id
        )
        if previous == "open":
            await self.conn.execute(
                "UPDATE campaigns SET settlement = 'closing', closed_at = $2"
                " WHERE campaign_id = $1",
                campaign_id,
                closed_at,
            )
        return previous

    async def campaign_windows(self, campaign_ids: Sequence[str]) -> dict[str, CampaignWindow]:
        """The planned windows of the campaigns launched among `campaign_ids`."""
        rows = await self.conn.fetch(
            "SELECT campaign_id, starts_on, ends_on, COALESCE(gradual_horizon, ends_on)"
            " FROM campaigns WHERE campaign_id = ANY($1) AND starts_on IS NOT NULL",
            sorted(set(campaign_ids)),
        )
        return {row[0]: CampaignWindow(*row[1:]) for row in rows}

    # Organisations, levels and problems.

    async def save_branches(self, branches: Sequence[OrganisationRow]) -> None:
        """Upsert organisations (one row per branch_id: the caller keeps the latest)."""
        await database.upsert(self.conn, "branches", branches, key=("branch_id",))

    async def save_levels(self, levels: Sequence[LevelRow]) -> None:
        """Levels published by grading (one row per key: the caller keeps the latest)."""
        await database.upsert(
            self.conn, "levels", levels, key=("campaign_id", "branch_id", "round")
        )

    async def save_problems(self, problems: Sequence[ProblemRow]) -> None:
        """Upsert problems, one per key; a new listing keeps when it was first listed."""
        await database.upsert(
            self.conn,
            "problems",
            problems,
            key=("campaign_id", "branch_id", "problem_id"),
            update=("description", "source", "needs_superior"),
        )

    async def escalate_waiting_problems(
        self, causes: Sequence[EscalationCause]
    ) -> list[EscalatedProblem]:
        """Mark the problems the causes name (one cause per problem) that need the superior and
        were not escalated yet, for those whose parent is known; escalated when caused, never
        before they were listed."""
        if not causes:
            return []
        rows = await self.conn.fetch(
            """UPDATE problems p SET escalated_to = b.parent_id,
                   escalated_at = GREATEST(p.listed_at, w.at)
               FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
                        AS w(campaign_id, branch_id, problem_id, at),
                    branches b
               WHERE p.branch_id = w.branch_id
                 AND (w.campaign_id IS NULL OR p.campaign_id = w.campaign_id)
                 AND (w.problem_id IS NULL OR p.problem_id = w.problem_id)
                 AND b.branch_id = p.branch_id AND b.parent_id IS NOT NULL
                 AND p.needs_superior AND p.escalated_to IS NULL
               RETURNING p.campaign_id, p.branch_id, p.county_code, p.problem_id,
                         p.escalated_to""",
            *database.columns(causes, len(EscalationCause._fields)),
        )
        return [EscalatedProblem(*row) for row in rows]

    async def lock_problems(
        self, branches: Sequence[BranchKey]
    ) -> dict[BranchKey, dict[str, Problem]]:
        """The branches' problems (problem_id → problem), locked until the transaction ends."""
        rows = await self.conn.fetch(
            """SELECT * FROM problems
               WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
               ORDER BY campaign_id, branch_id, problem_id FOR UPDATE""",
            *database.columns(sorted(set(branches)), 2),
        )
        problems: dict[BranchKey, dict[str, Problem]] = {key: {} for key in branches}
        for row in rows:
            escalation = None
            if row["escalated_to"] is not None:
                escalation = EscalationState(
                    to_org_id=row["escalated_to"],
                    escalated_at=row["escalated_at"],
                    answer=row["answer"],
                    action=row["answer_action"],
                    due=row["answer_due"],
                    evidence=row["answer_evidence"],
                    reason=row["answer_reason"],
                    answered_at=row["answered_at"],
                )
            problems[(row["campaign_id"], row["branch_id"])][row["problem_id"]] = Problem(
                county_code=row["county_code"],
                source=row["source"],
                status=row["status"],
                task_id=row["task_id"],
                evidence=row["evidence"],
                reason=row["reason"],
                escalation=escalation,
            )
        return problems

    async def save_problem_states(self, problems: Sequence[ProblemStateRow]) -> None:
        """Problems' new status and answer (one row per problem)."""
        if not problems:
            return
        await self.conn.execute(
            """UPDATE problems SET status = u.status, task_id = u.task_id,
                   evidence = u.evidence, reason = u.reason, answer = u.answer,
                   answer_action = u.answer_action, answer_due = u.answer_due,
                   answer_evidence = u.answer_evidence, answer_reason = u.answer_reason,
                   answered_at = u.answered_at
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                   $6::text[], $7::text[], $8::text[], $9::text[], $10::date[], $11::text[],
                   $12::text[], $13::timestamptz[])
                   AS u(campaign_id, branch_id, problem_id, status, task_id, evidence, reason,
                        answer, answer_action, answer_due, answer_evidence, answer_reason,
                        answered_at)
               WHERE problems.campaign_id = u.campaign_id AND problems.branch_id = u.branch_id
                 AND problems.problem_id = u.problem_id""",
            *database.columns(problems, len(ProblemStateRow._fields)),
        )

    # Commitments and their plans.

    async def lock_commitments(self, branches: Sequence[BranchKey]) -> dict[BranchKey, Commitment]:
        rows = await self.conn.fetch(
            """SELECT campaign_id, branch_id, commitment_id, revision, published_at, review
               FROM commitments
               WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
               ORDER BY campaign_id, branch_id FOR UPDATE""",
            *database.columns(sorted(set(branches)), 2),
        )
        return {
            (row["campaign_id"], row["branch_id"]): Commitment(
                row["commitment_id"], row["revision"], row["published_at"], row["review"]
            )
            for row in rows
        }

    async def lock_plans(
        self, branches: Sequence[BranchKey]
    ) -> dict[BranchKey, dict[str, PlannedTask]]:
        """The branches' planned tasks (task_id → task), locked until the transaction ends."""
        rows = await self.conn.fetch(
            f"""SELECT campaign_id, branch_id, task_id, {", ".join(TASK_COLUMNS)} FROM tasks
                WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                ORDER BY campaign_id, branch_id, task_id FOR UPDATE""",
            *database.columns(sorted(set(branches)), 2),
        )
        plans: dict[BranchKey, dict[str, PlannedTask]] = {key: {} for key in branches}
        for row in rows:
            plans[(row["campaign_id"], row["branch_id"])][row["task_id"]] = PlannedTask(
                **{column: row[column] for column in TASK_COLUMNS}
            )
        return plans

    async def save_commitments(
        self, commitments: Sequence[CommitmentRow], history: Sequence[HistoryRow]
    ) -> None:
        """Commitments as they now stand (one per branch), and what happened to them, in
        order."""
        await database.upsert(
            self.conn,
            "commitments",
            commitments,
            key=("campaign_id", "branch_id"),
            update=("revision", "published_at", "review"),
        )
        await self.conn.executemany(
            """INSERT INTO commitment_history (campaign_id, branch_id, commitment_id, revision,
                   action, actor, guidance, tasks, event_id, happened_at, uncovered,
                   uncovered_reason)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            history,
        )

    async def save_plans(self, plans: Mapping[BranchKey, Mapping[str, PlannedTask]]) -> None:
        """The branches' plans as they now stand: tasks no longer planned are deleted."""
        if not plans:
            return
        rows = [
            TaskRow.of(key, task_id, task)
            for key, plan in plans.items()
            for task_id, task in plan.items()
        ]
        await self.conn.execute(
            """DELETE FROM tasks
               WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                 AND (campaign_id, branch_id, task_id)
                     NOT IN (SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))""",
            *database.columns(list(plans), 2),
            *database.columns(rows, 3),
        )
        await database.upsert(self.conn, "tasks", rows, key=("campaign_id", "branch_id", "task_id"))

    # Tasks' progress.

    async def lock_tasks(self, keys: Sequence[TaskKey]) -> dict[TaskKey, TaskProgress]:
        """The tasks of the latest commitments among `keys`, locked until the transaction
        ends."""
        wanted = sorted(set(keys))
        rows = await self.conn.fetch(
            """SELECT campaign_id, branch_id, task_id, percent, completed_at, evidence FROM tasks
               WHERE (campaign_id, branch_id, task_id)
                     IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
               ORDER BY campaign_id, branch_id, task_id FOR UPDATE""",
            *database.columns(wanted, 3),
        )
        return {
            (row["campaign_id"], row["branch_id"], row["task_id"]): TaskProgress(
                row["percent"], row["completed_at"], row["evidence"]
            )
            for row in rows
        }

    async def save_task_progress(
        self, tasks: Sequence[TaskProgressRow], reports: Sequence[ProgressReportRow]
    ) -> None:
        """Tasks' new percent and completion (one row per task), and the progress reports that
        led there, in order."""
        if tasks:
            await self.conn.execute(
                """UPDATE tasks SET percent = u.percent, completed_at = u.completed_at,
                       evidence = u.evidence
                   FROM unnest($1::text[], $2::text[], $3::text[], $4::int[],
                       $5::timestamptz[], $6::text[]) AS u(campaign_id, branch_id, task_id,
                       percent, completed_at, evidence)
                   WHERE tasks.campaign_id = u.campaign_id AND tasks.branch_id = u.branch_id
                     AND tasks.task_id = u.task_id""",
                *database.columns(tasks, len(TaskProgressRow._fields)),
            )
        if reports:
            await self.conn.execute(
                """INSERT INTO task_progress (campaign_id, branch_id, task_id, percent, note,
                       event_id, reported_at)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[],
                       $5::text[], $6::text[], $7::timestamptz[])""",
                *database.columns(reports, len(ProgressReportRow._fields)),
            )

    # The sweep.

    async def lock_sweep(self) -> bool:
        """One sweep at a time per schema, across replicas."""
        locked: bool = await self.conn.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtext('sweep:' || current_schema()))"
        )
        return locked

    async def campaigns_to_sweep(
        self, now: dt.datetime, today: dt.date, day_start: dt.datetime
    ) -> list[str]:
        """The campaigns the sweep finds something in at `now` (the county's `today`, which
        started at `day_start`), in order: open tasks past their deadline, branches whose
        commitment is due and was neither published nor named missing, reviews and
        escalations overdue — the same conditions as `mark_overdue`,
        `branches_without_commitment`, `pending_reviews` and `waiting_escalations`, which say
        what is found in each (unlocked here: one row per campaign, not every finding)."""
        rows = await self.conn.fetch(
            """SELECT t.campaign_id FROM tasks t
               JOIN campaigns c ON c.campaign_id = t.campaign_id
               WHERE (c.settlement <> 'settled' OR t.kind = 'gradual')
                 AND t.completed_at IS NULL AND t.overdue_at IS NULL AND t.deadline < $2
               UNION
               SELECT c.campaign_id FROM campaigns c
               JOIN branches b ON b.county_code = c.county_code AND b.kind <> 'committee'
               WHERE c.settlement = 'open' AND c.rectification_opened_at IS NOT NULL
                 AND c.rectification_opened_at + c.commitment_due_days * interval '1 day' <= $1
                 AND NOT EXISTS (SELECT 1 FROM commitments m WHERE m.campaign_id = c.campaign_id
                                 AND m.branch_id = b.branch_id)
                 AND NOT EXISTS (SELECT 1 FROM missing_commitments n
                                 WHERE n.campaign_id = c.campaign_id
                                   AND n.branch_id = b.branch_id)
               UNION
               SELECT m.campaign_id FROM commitments m
               JOIN branches b ON b.branch_id = m.branch_id AND b.parent_id IS NOT NULL
               LEFT JOIN campaigns c ON c.campaign_id = m.campaign_id
               WHERE m.review = 'pending'
                 AND m.review_overdue_revision IS DISTINCT FROM m.revision
                 AND COALESCE(c.settlement, 'open') <> 'settled'
                 AND m.published_at + COALESCE(c.review_due_days, $4) * interval '1 day' < $3
               UNION
               SELECT p.campaign_id FROM problems p
               LEFT JOIN campaigns c ON c.campaign_id = p.campaign_id
               WHERE p.escalated_to IS NOT NULL AND p.answer IS NULL
                 AND p.escalation_overdue_at IS NULL AND p.status <> 'resolved'
                 AND p.escalated_at + COALESCE(c.escalation_answer_days, $5) * interval '1 day'
                     < $3
               ORDER BY 1""",
            now,
            today,
            day_start,
            DEFAULT_REVIEW_DUE_DAYS,
            DEFAULT_ESCALATION_ANSWER_DAYS,
        )
        return [row["campaign_id"] for row in rows]

    async def mark_overdue(
        self,
        *,
        deadline_before: dt.date,
        marked_at: dt.datetime,
        campaign_id: str | None = None,
    ) -> list[OverdueTask]:
        """Flag open tasks whose deadline is before the day given, once; return them. After the
        settlement only gradual tasks are still followed (until done)."""
        rows = await self.conn.fetch(
            """UPDATE tasks t SET overdue_at = $2
               FROM campaigns c
               WHERE c.campaign_id = t.campaign_id
                 AND (c.settlement <> 'settled' OR t.kind = 'gradual')
                 AND t.completed_at IS NULL AND t.overdue_at IS NULL AND t.deadline < $1
                 AND ($3::text IS NULL OR t.campaign_id = $3)
               RETURNING t.campaign_id, t.branch_id, t.county_code, t.task_id, t.deadline,
                         t.responsible""",
            deadline_before,
            marked_at,
            campaign_id,
        )
        return [OverdueTask(*row) for row in rows]

    async def branches_without_commitment(
        self, now: dt.datetime, campaign_id: str
    ) -> list[UncommittedBranch]:
        """Branches of the campaign (if open) whose commitment is due by `now` and was never
        published nor named missing, with the campaign's opening, due days and the branch's
        initial level."""
        rows = await self.conn.fetch(
            """SELECT c.campaign_id, c.county_code, c.rectification_opened_at,
                      c.commitment_due_days, b.branch_id, l.level
               FROM campaigns c
               JOIN branches b ON b.county_code = c.county_code AND b.kind <> 'committee'
               LEFT JOIN levels l ON l.campaign_id = c.campaign_id AND l.branch_id = b.branch_id
                                 AND l.round = 'initial'
               WHERE c.campaign_id = $2
                 AND c.settlement = 'open' AND c.rectification_opened_at IS NOT NULL
                 AND c.rectification_opened_at + c.commitment_due_days * interval '1 day' <= $1
                 AND NOT EXISTS (SELECT 1 FROM commitments m WHERE m.campaign_id = c.campaign_id
                                 AND m.branch_id = b.branch_id)
                 AND NOT EXISTS (SELECT 1 FROM missing_commitments n
                                 WHERE n.campaign_id = c.campaign_id
                                   AND n.branch_id = b.branch_id)""",
            now,
            campaign_id,
        )
        return [UncommittedBranch(*row) for row in rows]

    async def waiting_escalations(
        self, day_start: dt.datetime, campaign_id: str
    ) -> list[WaitingEscalation]:
        """The campaign's escalations unanswered and not flagged overdue, due before the
        county's day that started at `day_start` (overdue: only those are locked), of problems
        not resolved; locked, skipping those a handler holds (the next sweep sees them)."""
        rows = await self.conn.fetch(
            """SELECT p.campaign_id, p.branch_id, p.county_code, p.problem_id, p.escalated_to,
                      p.escalated_at, COALESCE(c.escalation_answer_days, $2) AS days
               FROM problems p
               LEFT JOIN campaigns c ON c.campaign_id = p.campaign_id
               WHERE p.campaign_id = $3
                 AND p.escalated_to IS NOT NULL AND p.answer IS NULL
                 AND p.escalation_overdue_at IS NULL AND p.status <> 'resolved'
                 AND p.escalated_at + COALESCE(c.escalation_answer_days, $2) * interval '1 day'
                     < $1
               ORDER BY p.campaign_id, p.branch_id, p.problem_id
               FOR UPDATE OF p SKIP LOCKED""",
            day_start,
            DEFAULT_ESCALATION_ANSWER_DAYS,
            campaign_id,
        )
        return [WaitingEscalation(*row) for row in rows]

    async def mark_escalations_overdue(
        self, problems: Sequence[ProblemKey], marked_at: dt.datetime
    ) -> None:
        if not problems:
            return
        await self.conn.execute(
            """UPDATE problems SET escalation_overdue_at = $4
               WHERE (campaign_id, branch_id, problem_id)
                     IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))""",
            *database.columns(problems, 3),
            marked_at,
        )

    async def pending_reviews(
        self, day_start: dt.datetime, campaign_id: str
    ) -> list[PendingReview]:
        """The campaign's latest revisions waiting for review and not flagged overdue, due
        before the county's day that started at `day_start` (overdue: only those are locked),
        if it is not settled, with the branch's parent (who reviews); locked, skipping those a
        handler holds (the next sweep sees them)."""
        rows = await self.conn.fetch(
            """SELECT m.campaign_id, m.branch_id, b.county_code, m.commitment_id, m.revision,
                      m.published_at, COALESCE(c.review_due_days, $2) AS days, b.parent_id
               FROM commitments m
               JOIN branches b ON b.branch_id = m.branch_id AND b.parent_id IS NOT NULL
               LEFT JOIN campaigns c ON c.campaign_id = m.campaign_id
               WHERE m.campaign_id = $3 AND m.review = 'pending'
                 AND m.review_overdue_revision IS DISTINCT FROM m.revision
                 AND COALESCE(c.settlement, 'open') <> 'settled'
                 AND m.published_at + COALESCE(c.review_due_days, $2) * interval '1 day' < $1
               ORDER BY m.campaign_id, m.branch_id
               FOR UPDATE OF m SKIP LOCKED""",
            day_start,
            DEFAULT_REVIEW_DUE_DAYS,
            campaign_id,
        )
        return [PendingReview(*row) for row in rows]

    async def mark_reviews_overdue(self, reviews: Sequence[PendingReview]) -> None:
        """Flag the revisions named in review_overdue (once per revision)."""
        if not reviews:
            return
        await self.conn.execute(
            """UPDATE commitments m SET review_overdue_revision = u.revision
               FROM unnest($1::text[], $2::text[], $3::int[])
                    AS u(campaign_id, branch_id, revision)
               WHERE m.campaign_id = u.campaign_id AND m.branch_id = u.branch_id""",
            *database.columns([(r.campaign_id, r.branch_id, r.revision) for r in reviews], 3),
        )

    async def save_missing(self, missing: Sequence[MissingRow]) -> None:
        await self.conn.executemany(
            "INSERT INTO missing_commitments (campaign_id, branch_id, due, named_at)"
            " VALUES ($1, $2, $3, $4)",
            missing,
        )

    # The settlement, behind the phase-close barrier.

    async def closing_campaigns(self) -> list[tuple[str, dict[str, int] | None]]:
        """Campaigns whose rectification closed, waiting to be settled, with their barrier
        snapshot."""
        rows = await self.conn.fetch(
            "SELECT campaign_id, end_offsets FROM campaigns WHERE settlement = 'closing'"
            " ORDER BY closed_at"
        )
        return [(row["campaign_id"], row["end_offsets"]) for row in rows]

    async def save_end_offsets(self, campaign_id: str, offsets: dict[str, int]) -> None:
        await self.conn.execute(
            "UPDATE campaigns SET end_offsets = $2 WHERE campaign_id = $1", campaign_id, offsets
        )

    async def lock_campaign_for_settling(self, campaign_id: str) -> SettlingCampaign | None:
        """The campaign, locked, if it is still waiting to be settled."""
        row = await self.conn.fetchrow(
            "SELECT campaign_id, county_code, closed_at FROM campaigns"
            " WHERE campaign_id = $1 AND settlement = 'closing' FOR UPDATE",
            campaign_id,
        )
        return None if row is None else SettlingCampaign(*row)

    async def tasks_to_settle(self, campaign_id: str, county_code: str) -> list[TaskToSettle]:
        """Every registered branch of the county (with or without tasks) and every branch with
        tasks in the campaign, with its tasks' deadlines and completion."""
        rows = await self.conn.fetch(
            """WITH settled AS (
                   SELECT branch_id FROM branches WHERE county_code = $2 AND kind <> 'committee'
                   UNION
                   SELECT branch_id FROM tasks WHERE campaign_id = $1
               )
               SELECT s.branch_id, t.task_id, t.deadline, t.completed_at IS NOT NULL AS completed,
                      t.kind
               FROM settled s
               LEFT JOIN tasks t ON t.campaign_id = $1 AND t.branch_id = s.branch_id
               ORDER BY s.branch_id""",
            campaign_id,
            county_code,
        )
        return [TaskToSettle(*row) for row in rows]

    async def save_settlements(self, settlements: Sequence[SettlementRow]) -> None:
        """One row per branch (bulk COPY)."""
        await self.conn.copy_records_to_table(
            "settlements", records=settlements, columns=list(SettlementRow._fields)
        )

    async def mark_settled(self, campaign_id: str, at: dt.datetime) -> None:
        await self.conn.execute(
            "UPDATE campaigns SET settlement = 'settled', settled_at = $2 WHERE campaign_id = $1",
            campaign_id,
            at,
        )
