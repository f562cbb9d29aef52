"""Writing the read models: every SQL statement the handlers and the deferred writers run."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, NamedTuple, Protocol, TypeVar, cast

import asyncpg

from grassroots.plumbing import database
from grassroots.plumbing.database import SqlType
from reporting.circulars.store import CircularStore
from reporting.domain import CARD_COLUMNS, GRADE_WHY, PROBLEM_COLUMNS, ROUNDS, Card, Problem, Task
from reporting.store.supervision import SupervisionStore

CardKey = tuple[str, str]
"""campaign_id, branch_id"""
TaskKey = tuple[str, str, str]
"""campaign_id, branch_id, task_id"""
ProblemKey = tuple[str, str, str]
"""campaign_id, branch_id, problem_id"""


class CampaignSeenRow(NamedTuple):
    """A campaign known from one of its events; `updated_at` the latest event time seen."""

    campaign_id: str
    county_code: str
    updated_at: dt.datetime


class BranchRow(NamedTuple):
    branch_id: str
    county_code: str
    kind: str
    name: str
    unit: str
    township: str | None
    parent_id: str | None
    secretary_name: str
    member_count: int


class CountyCountRow(NamedTuple):
    """A change of a county's count of gradable branches."""

    county_code: str
    branches: int


class CardKeyRow(NamedTuple):
    campaign_id: str
    branch_id: str


class CardActivitiesRow(NamedTuple):
    """Activities newly counted on a card."""

    campaign_id: str
    branch_id: str
    activities: int


class CounterRow(NamedTuple):
    """A change of a campaign's summary counter."""

    campaign_id: str
    name: str
    value: Annotated[int, SqlType("bigint")]


class ProblemRow(NamedTuple):
    campaign_id: str
    branch_id: str
    problem_id: str
    description: str
    source: str
    needs_superior: bool
    listed: bool
    status: str | None
    task_id: str | None
    evidence: str | None
    deferral_reason: str | None
    escalated_to: str | None
    answer: str | None
    answer_action: str | None
    answer_due: dt.date | None
    answer_evidence: str | None
    answer_reason: str | None
    answered_at: dt.datetime | None
    updated_at: dt.datetime | None
    overdue_to: str | None
    overdue_due: dt.date | None

    @classmethod
    def of(cls, key: ProblemKey, problem: Problem) -> ProblemRow:
        return cls(*key, *(getattr(problem, column) for column in PROBLEM_COLUMNS))


class PlanRevisionRow(NamedTuple):
    """A revision of a plan that became the branch's commitment, its tasks as published."""

    campaign_id: str
    branch_id: str
    revision: int
    commitment_id: str
    published_at: dt.datetime
    tasks: list[dict[str, Any]]


class PlanReviewRow(NamedTuple):
    """A review decision of the revision current when it came."""

    campaign_id: str
    branch_id: str
    event_id: str
    revision: int
    commitment_id: str
    decision: str
    reviewer_org_id: str
    reviewed_at: dt.datetime
    guidance: str | None
    uncovered_reason: str | None


class ReviewOverdueRow(NamedTuple):
    """rectification.review_overdue: a revision waiting too long for its superior's review."""

    campaign_id: str
    branch_id: str
    revision: int
    commitment_id: str
    reviewer_org_id: str
    due: dt.date


class TaskRow(NamedTuple):
    campaign_id: str
    branch_id: str
    task_id: str
    percent: int
    in_plan: bool
    completed: bool
    overdue: bool
    deadline: dt.date | None
    responsible: str | None
    title: str | None
    kind: str | None

    @classmethod
    def of(cls, key: TaskKey, task: Task) -> TaskRow:
        campaign_id, branch_id, task_id = key
        return cls(
            campaign_id,
            branch_id,
            task_id,
            task.percent,
            task.in_plan,
            task.completed,
            task.overdue,
            task.deadline,
            task.responsible,
            task.title,
            task.kind,
        )


class CommendationRow(NamedTuple):
    campaign_id: str
    branch_id: str
    event_id: str
    honour: str
    title: str
    member_name: str | None
    awarded_by: str | None
    awarded_on: dt.date


class PublishedRoundRow(NamedTuple):
    """A round whose results grading published (its levels are announced from then on)."""

    campaign_id: str
    round: str
    published_at: dt.datetime


class ActivityRow(NamedTuple):
    campaign_id: str
    branch_id: str
    event_id: str
    kind: str
    title: str
    held_on: dt.date


class Registration(NamedTuple):
    """Where and as what an organisation is registered (org.branch_registered)."""

    county_code: str
    kind: str


class PublicityRow(NamedTuple):
    """emulation.publicized: an advanced model published in a column (集中宣传)."""

    campaign_id: str
    branch_id: str
    event_id: str
    member_name: str | None
    title: str
    channel: str
    channel_name: str | None
    published_on: dt.date
    url: str | None


class LearningMeetingRow(NamedTuple):
    """emulation.learning_meeting_held: 专题组织生活会 and the level aimed for."""

    campaign_id: str
    branch_id: str
    event_id: str
    held_on: dt.date
    target_level: str
    learned_from: list[str]
    summary: str | None


class SummaryReviewRow(NamedTuple):
    """assessment.summary_reviewed: the three answers with their texts."""

    campaign_id: str
    branch_id: str
    event_id: str
    reviewed_at: dt.datetime
    process_answer: str
    process_text: str
    problems_answer: str
    problems_text: str
    advance_answer: str
    advance_text: str


class CommitteeAssessmentRow(NamedTuple):
    """assessment.committee_assessed: the committee's score, level and comment."""

    campaign_id: str
    branch_id: str
    event_id: str
    assessed_at: dt.datetime
    score: float
    level: str | None
    comment: str | None


class DutyReportRow(NamedTuple):
    """assessment.duty_reported: a secretary's report on duty (专项述职)."""

    campaign_id: str
    org_id: str
    event_id: str
    reporter_name: str
    reported_to: str
    reported_on: dt.date
    document_ref: str


class AppraisalRow(NamedTuple):
    """assessment.org_appraised: one rater group's counts (评议)."""

    campaign_id: str
    org_id: str
    rater_group: str
    event_id: str
    appraised_at: dt.datetime
    satisfied: int
    basically_satisfied: int
    dissatisfied: int


class AnnualReviewRow(NamedTuple):
    """assessment.annual_reviewed: the county's grade of a leadership team for a year."""

    campaign_id: str
    org_id: str
    year: int
    event_id: str
    reviewed_at: dt.datetime
    grade: str
    comment: str | None


class StandingRuleRow(NamedTuple):
    """assessment.rule_established: a good practice made a standing rule (巩固深化)."""

    campaign_id: str
    org_id: str
    event_id: str
    title: str
    adopted_on: dt.date
    document_ref: str | None
    summary: str | None


class Replaceable(Protocol):
    """A row (NamedTuple) that a later one of its key replaces (greater event time, ties: the
    greater event id)."""

    @property
    def _fields(self) -> tuple[str, ...]: ...

    @property
    def event_id(self) -> str: ...


R = TypeVar("R", bound=Replaceable)


def latest_per_key(rows: Iterable[R], key: Sequence[str], at: str) -> list[R]:
    """One row per `key`: the latest by (`at`, event id), compared as `_keep_latest` compares
    in SQL — so a batch keeps what its events one at a time would."""
    kept: dict[tuple[Any, ...], R] = {}
    for row in rows:
        found = tuple(getattr(row, name) for name in key)
        known = kept.get(found)
        if known is None or (getattr(row, at), row.event_id) > (
            getattr(known, at),
            known.event_id,
        ):
            kept[found] = row
    return list(kept.values())


# The card columns an event may set, each a constant of reporting.domain.card_columns.
SETTABLE = frozenset(
    {
        *(
            f"{round_}_{column}"
            for round_ in ROUNDS
            for column in ("level", "total", "scores", "basis", "missing", *GRADE_WHY)
        ),
        "moved_up",
        "commitment_id",
        "commitment_revision",
        "review",
        "guidance",
        "commitment_missing",
        "commendations",
        "settled_rate",
        "settled_total",
        "settled_completed",
        "settled_overdue",
        "settled_on_track",
        "assessment_score",
    }
)
TASK_COLUMNS = tuple(Task.__dataclass_fields__)


def _tasks(rows: Iterable[asyncpg.Record]) -> dict[TaskKey, Task]:
    """Rows of (campaign_id, branch_id, task_id, *TASK_COLUMNS), by position (thousands a
    batch: a dict of keyword arguments per row cost more than the look-up)."""
    return {(row[0], row[1], row[2]): Task(*row[3:]) for row in rows}


class ReportingStore(CircularStore, SupervisionStore):
    """Every write of the read models, on one unit of work's connection."""

    async def touch_campaigns(self, campaigns: Sequence[CampaignSeenRow]) -> None:
        """Known from any of their events (one row per campaign); `updated_at` is the latest
        event time seen."""
        await database.upsert(
            self.conn,
            "campaigns",
            campaigns,
            key=("campaign_id",),
            update=(),
            assign={"updated_at": "greatest(campaigns.updated_at, EXCLUDED.updated_at)"},
        )

    async def launch_campaign(
        self,
        *,
        campaign_id: str,
        county_code: str,
        name: str,
        year: int,
        plan: list[dict[str, Any]],
    ) -> None:
        await self.conn.execute(
            """UPDATE campaigns SET county_code = $2, name = $3, year = $4, plan = $5
               WHERE campaign_id = $1""",
            campaign_id,
            county_code,
            name,
            year,
            plan,
        )

    async def mark_phase(self, campaign_id: str, phase: str, moment: str, at: dt.datetime) -> None:
        """Record when a phase opened or closed (moment: opened_at | closed_at)."""
        await self.conn.execute(
            """UPDATE campaigns SET phases = jsonb_set(phases, ARRAY[$2],
                   coalesce(phases -> $2, '{}'::jsonb) || jsonb_build_object($3::text, $4::text))
               WHERE campaign_id = $1""",
            campaign_id,
            phase,
            moment,
            at.isoformat(),
        )

    async def save_branches(self, branches: Sequence[BranchRow]) -> None:
        """Upsert organisations (one per branch_id: the caller keeps the latest) and keep each
        county's count of gradable branches right."""
        old = await self.conn.fetch(
            "SELECT county_code, kind FROM branches WHERE branch_id = ANY($1) FOR UPDATE",
            [branch.branch_id for branch in branches],
        )
        await database.upsert(self.conn, "branches", branches, key=("branch_id",))
        changes: Counter[str] = Counter()
        changes.subtract(row["county_code"] for row in old if row["kind"] != "committee")
        changes.update(b.county_code for b in branches if b.kind != "committee")
        await database.upsert(
            self.conn,
            "county_counts",
            [CountyCountRow(county, delta) for county, delta in changes.items() if delta],
            key=("county_code",),
            update=(),
            assign={"branches": "county_counts.branches + EXCLUDED.branches"},
        )

    async def lock_cards(self, keys: Iterable[CardKey]) -> dict[CardKey, Card]:
        """The cards of `keys`, created when missing, locked until the transaction ends."""
        wanted = sorted(set(keys))
        await database.upsert(
            self.conn,
            "cards",
            [CardKeyRow(*key) for key in wanted],
            key=("campaign_id", "branch_id"),
            update=(),
        )
        rows = await self.conn.fetch(
            f"""SELECT campaign_id, branch_id, {", ".join(sorted(CARD_COLUMNS))} FROM cards
                WHERE (campaign_id, branch_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                ORDER BY campaign_id, branch_id FOR UPDATE""",
            *database.columns(wanted, 2),
        )
        return {
            (row["campaign_id"], row["branch_id"]): Card().with_columns(
                {name: row[name] for name in CARD_COLUMNS}
            )
            for row in rows
        }

    async def update_cards(self, changes: Mapping[CardKey, Mapping[str, object]]) -> None:
        """Set columns on locked cards: one statement per set of columns changed together."""
        by_columns: defaultdict[tuple[str, ...], list[tuple[object, ...]]] = defaultdict(list)
        for (campaign_id, branch_id), columns in changes.items():
            names = tuple(sorted(columns))
            by_columns[names].append((campaign_id, branch_id, *(columns[n] for n in names)))
        for names, rows in by_columns.items():
            unknown = set(names) - SETTABLE
            assert not unknown, f"not a settable card column: {unknown}"
            assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
            await self.conn.executemany(
                f"UPDATE cards SET {assignments} WHERE campaign_id = $1 AND branch_id = $2", rows
            )

    async def publish_rounds(self, rounds: Sequence[PublishedRoundRow]) -> None:
        """Note rounds as published (one row per campaign and round; the first time kept)."""
        await database.upsert(
            self.conn,
            "published_rounds",
            rounds,
            key=("campaign_id", "round"),
            update=(),
            assign={"published_at": "least(published_rounds.published_at, EXCLUDED.published_at)"},
        )

    async def lock_problems(self, keys: Iterable[ProblemKey]) -> dict[ProblemKey, Problem]:
        """The problems that exist among `keys`, locked until the transaction ends."""
        wanted = sorted(set(keys))
        rows = await self.conn.fetch(
            f"""SELECT campaign_id, branch_id, problem_id, {", ".join(PROBLEM_COLUMNS)}
                FROM problems WHERE (campaign_id, branch_id, problem_id) IN
                    (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
                ORDER BY campaign_id, branch_id, problem_id FOR UPDATE""",
            *database.columns(wanted, 3),
        )
        return {
            (row["campaign_id"], row["branch_id"], row["problem_id"]): Problem(
                **{column: row[column] for column in PROBLEM_COLUMNS}
            )
            for row in rows
        }

    async def save_problems(self, problems: Mapping[ProblemKey, Problem]) -> None:
        """Write problems as locked and changed by the caller (a problem not there yet, e.g.
        escalated or updated before its listing arrived, is created unlisted)."""
        await database.upsert(
            self.conn,
            "problems",
            [ProblemRow.of(key, problem) for key, problem in problems.items()],
            key=("campaign_id", "branch_id", "problem_id"),
        )

    async def add_plan_revisions(self, revisions: Sequence[PlanRevisionRow]) -> None:
        """Keep revisions in the plan's history (a revision kept already stays as it is)."""
        await database.upsert(
            self.conn,
            "plan_revisions",
            revisions,
            key=("campaign_id", "branch_id", "revision"),
            update=(),
        )

    async def add_plan_reviews(self, reviews: Sequence[PlanReviewRow]) -> None:
        """Keep review decisions in the plan's history (one per event)."""
        await database.upsert(
            self.conn,
            "plan_reviews",
            reviews,
            key=("campaign_id", "branch_id", "event_id"),
            update=(),
        )

    async def add_reviews_overdue(self, overdue: Sequence[ReviewOverdueRow]) -> None:
        """Note revisions whose review is overdue (one row per revision; the caller keeps the
        latest)."""
        await database.upsert(
            self.conn, "reviews_overdue", overdue, key=("campaign_id", "branch_id", "revision")
        )

    async def lock_tasks(
        self, branches: Iterable[CardKey], keys: Iterable[TaskKey]
    ) -> dict[TaskKey, Task]:
        """Every task of the branches' cards and the tasks that exist among `keys`, locked
        until the transaction ends (in one statement)."""
        rows = await self.conn.fetch(
            f"""SELECT campaign_id, branch_id, task_id, {", ".join(TASK_COLUMNS)} FROM tasks
                WHERE (campaign_id, branch_id, task_id) IN (
                    SELECT t.campaign_id, t.branch_id, t.task_id FROM tasks t
                    WHERE (t.campaign_id, t.branch_id) IN
                        (SELECT * FROM unnest($1::text[], $2::text[]))
                    UNION SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))
                ORDER BY campaign_id, branch_id, task_id FOR UPDATE""",
            *database.columns(sorted(set(branches)), 2),
            *database.columns(sorted(set(keys)), 3),
        )
        return _tasks(rows)

    async def save_tasks(self, tasks: Mapping[TaskKey, Task]) -> None:
        """Write tasks as locked and changed by the caller (a task not there yet, e.g. overdue
        before its plan arrived, is created outside the plan)."""
        await database.upsert(
            self.conn,
            "tasks",
            [TaskRow.of(key, task) for key, task in tasks.items()],
            key=("campaign_id", "branch_id", "task_id"),
        )

    async def add_activities(self, activities: Sequence[ActivityRow]) -> dict[CardKey, int]:
        """Record activities and count each new one on its branch's card; return how many
        were new per card (an event recorded already counts nothing)."""
        added = await self._insert_new("activities", activities)
        per_card = Counter((row["campaign_id"], row["branch_id"]) for row in added)
        await database.upsert(
            self.conn,
            "cards",
            [CardActivitiesRow(*key, count) for key, count in per_card.items()],
            key=("campaign_id", "branch_id"),
            update=(),
            assign={"activities": "cards.activities + EXCLUDED.activities"},
        )
        return dict(per_card)

    async def registered_organisations(self, org_ids: Iterable[str]) -> dict[str, Registration]:
        """Where and as what each of `org_ids` is registered (the unregistered left out)."""
        rows = await self.conn.fetch(
            "SELECT branch_id, county_code, kind FROM branches WHERE branch_id = ANY($1::text[])",
            sorted(set(org_ids)),
        )
        return {row["branch_id"]: Registration(row["county_code"], row["kind"]) for row in rows}

    async def campaign_counties(self, campaign_ids: Iterable[str]) -> dict[str, str]:
        """The county of each known campaign (its launch's; its first event's until then)."""
        rows = await self.conn.fetch(
            "SELECT campaign_id, county_code FROM campaigns WHERE campaign_id = ANY($1::text[])",
            sorted(set(campaign_ids)),
        )
        return {row["campaign_id"]: row["county_code"] for row in rows}

    async def add_commendations(
        self, commendations: Sequence[CommendationRow]
    ) -> dict[CardKey, int]:
        """Record commendations; return how many were new per card (an event recorded already
        counts nothing)."""
        added = await self._insert_new("commendations", commendations)
        return dict(Counter((row["campaign_id"], row["branch_id"]) for row in added))

    async def _insert_new(
        self, table: str, rows: Sequence[ActivityRow] | Sequence[CommendationRow]
    ) -> list[asyncpg.Record]:
        """Insert the rows not there yet (one per event); the card keys of those inserted."""
        if not rows:
            return []
        row_type: type[tuple[Any, ...]] = type(rows[0])
        inserted: list[asyncpg.Record] = await self.conn.fetch(
            f"""INSERT INTO {table} ({", ".join(rows[0]._fields)}) {database.row_select(row_type)}
                ON CONFLICT DO NOTHING RETURNING campaign_id, branch_id""",
            database.rows_json(rows),
        )
        return inserted

    async def add_publicity(self, items: Sequence[PublicityRow]) -> None:
        """Record publicity items, each once per event."""
        await database.upsert(
            self.conn, "publicity", items, key=("campaign_id", "branch_id", "event_id"), update=()
        )

    async def add_learning_meetings(self, meetings: Sequence[LearningMeetingRow]) -> None:
        """Record learning meetings, each once per event."""
        await self.conn.executemany(  # one by one: a text array per row is not an array column
            f"""INSERT INTO learning_meetings ({", ".join(LearningMeetingRow._fields)})
                VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            meetings,
        )

    async def add_duty_reports(self, reports: Sequence[DutyReportRow]) -> None:
        """Record reports on duty, each once per event."""
        await database.upsert(
            self.conn, "duty_reports", reports, key=("campaign_id", "org_id", "event_id"), update=()
        )

    async def add_standing_rules(self, rules: Sequence[StandingRuleRow]) -> None:
        """Record standing rules, each once per event."""
        await database.upsert(
            self.conn, "standing_rules", rules, key=("campaign_id", "org_id", "event_id"), update=()
        )

    async def save_summary_reviews(self, reviews: Sequence[SummaryReviewRow]) -> None:
        """Keep each branch's latest summary review."""
        await self._keep_latest(
            "summary_reviews",
            reviews,
            key=("campaign_id", "branch_id"),
            at="reviewed_at",
        )

    async def save_committee_assessments(
        self, assessments: Sequence[CommitteeAssessmentRow]
    ) -> None:
        """Keep each branch's latest assessment by the committee."""
        await self._keep_latest(
            "committee_assessments",
            assessments,
            key=("campaign_id", "branch_id"),
            at="assessed_at",
        )

    async def save_appraisals(self, appraisals: Sequence[AppraisalRow]) -> None:
        """Keep each organisation's latest counts per rater group."""
        await self._keep_latest(
            "appraisals",
            appraisals,
            key=("campaign_id", "org_id", "rater_group"),
            at="appraised_at",
        )

    async def save_annual_reviews(self, reviews: Sequence[AnnualReviewRow]) -> None:
        """Keep each organisation's latest annual review per year."""
        await self._keep_latest(
            "annual_reviews",
            reviews,
            key=("campaign_id", "org_id", "year"),
            at="reviewed_at",
        )

    async def _keep_latest(
        self,
        table: str,
        rows: Sequence[R],
        *,
        key: Sequence[str],
        at: str,
    ) -> None:
        """Insert rows (of one NamedTuple type: its fields are the columns); a row there already
        is replaced only by a later one — greater `at`, ties the greater event id, compared
        byte-wise (code points, as Python compares) — so any arrival order keeps the same row
        and the same event again changes nothing."""
        latest = latest_per_key(rows, key, at)  # one statement may not touch a row twice
        if not latest:
            return
        names = latest[0]._fields
        changes = ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name not in key)
        await self.conn.execute(
            f"""INSERT INTO {table} ({", ".join(names)}) {database.row_select(type(latest[0]))}
                ON CONFLICT ({", ".join(key)}) DO UPDATE SET {changes}
                WHERE (EXCLUDED.{at}, EXCLUDED.event_id COLLATE "C")
                    > ({table}.{at}, {table}.event_id COLLATE "C")""",
            database.rows_json(cast(Sequence[Sequence[Any]], latest)),
        )

    async def add_to_counters(self, changes: Sequence[CounterRow]) -> None:
        """Add to campaigns' summary counters (one row per counter)."""
        await database.upsert(
            self.conn,
            "counters",
            changes,
            key=("campaign_id", "name"),
            update=(),
            assign={"value": "counters.value + EXCLUDED.value"},
        )
