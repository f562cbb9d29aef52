"""The SQL of what the service knows: campaigns, organisations, tasks, lagging facts, reminders
and when circulars were due. The SQL of deliveries and the inbox is in delivery_store.py
(`store.deliveries`), that of the committees' commendations to announce in commendation_store.py
(`store.commendations`), that of inspections, progress reports and the circulars' drafts and
numbers in circulars/store.py (`store.circulars`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg

from grassroots.plumbing import database
from grassroots.plumbing.unit_of_work import UnitOfWork
from notification.circulars.store import CircularStore
from notification.commendation_store import CommendationStore
from notification.delivery_store import DeliveryStore

CircularKey = tuple[str, str]
"""(campaign_id, circular_key)"""


class PhaseWindowRow(NamedTuple):
    """A phase's planned window (campaign.launched)."""

    campaign_id: str
    phase: str
    opens_on: dt.date
    closes_on: dt.date


class OrgRow(NamedTuple):
    org_id: str
    county_code: str
    kind: str
    name: str
    parent_id: str | None
    secretary_name: str
    secretary_email: str | None


class TaskRow(NamedTuple):
    """A task of a published commitment."""

    campaign_id: str
    branch_id: str
    task_id: str
    county_code: str
    title: str
    responsible: str
    deadline: dt.date


class ProblemRow(NamedTuple):
    """A problem a branch listed (梳理问题)."""

    campaign_id: str
    branch_id: str
    problem_id: str
    county_code: str
    description: str
    source: str


class Escalation(NamedTuple):
    """A problem escalated to the superior (rectification.problem_escalated), with its cause."""

    campaign_id: str
    branch_id: str
    problem_id: str
    county_code: str
    escalated_to: str
    escalation_source: str
    escalation_event_id: str
    escalated_at: dt.datetime


class Revision(NamedTuple):
    """A revision of a branch's plan (整改方案): published, or reviewed."""

    campaign_id: str
    branch_id: str
    revision: int


class TaskKey(NamedTuple):
    campaign_id: str
    branch_id: str
    task_id: str


class ReminderRow(NamedTuple):
    """A reminder decided: sent, or passed over for a nearer one due at once."""

    campaign_id: str
    reminder_key: str
    sent: bool
    decided_at: dt.datetime


class NotificationStore:
    """The service's SQL on one unit of work's connection; that of deliveries and the inbox
    is `deliveries`, that of commendations to announce `commendations`, that of supervision
    and circulars `circulars`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.deliveries = DeliveryStore(conn)
        self.commendations = CommendationStore(conn)
        self.circulars = CircularStore(conn)

    # -------------------------------------------------------------- campaigns and phases

    async def save_campaign(
        self,
        *,
        campaign_id: str,
        county_code: str,
        name: str,
        reminder_days: list[int] | None,
        commitment_due_days: int,
        windows: Sequence[PhaseWindowRow],
        escalation_answer_days: int | None = None,
        review_due_days: int | None = None,
        circular_sign_off_days: int | None = None,
        progress_report_every_days: int | None = None,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO campaigns (campaign_id, county_code, name, reminder_days,
                   commitment_due_days, escalation_answer_days, review_due_days,
                   circular_sign_off_days, progress_report_every_days)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (campaign_id) DO UPDATE SET county_code = EXCLUDED.county_code,
                   name = EXCLUDED.name, reminder_days = EXCLUDED.reminder_days,
                   commitment_due_days = EXCLUDED.commitment_due_days,
                   escalation_answer_days = EXCLUDED.escalation_answer_days,
                   review_due_days = EXCLUDED.review_due_days,
                   circular_sign_off_days = EXCLUDED.circular_sign_off_days,
                   progress_report_every_days = EXCLUDED.progress_report_every_days""",
            campaign_id,
            county_code,
            name,
            reminder_days,
            commitment_due_days,
            escalation_answer_days,
            review_due_days,
            circular_sign_off_days,
            progress_report_every_days,
        )
        await database.upsert(self.conn, "phases", windows, key=("campaign_id", "phase"))

    async def ensure_campaign(self, campaign_id: str, county_code: str) -> None:
        """A campaign known only from its events so far (its launch may come later)."""
        await self.conn.execute(
            "INSERT INTO campaigns (campaign_id, county_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            campaign_id,
            county_code,
        )

    async def campaign_names(self, campaign_ids: Sequence[str]) -> dict[str, str | None]:
        rows = await self.conn.fetch(
            "SELECT campaign_id, name FROM campaigns WHERE campaign_id = ANY($1)",
            list(campaign_ids),
        )
        return {row["campaign_id"]: row["name"] for row in rows}

    async def campaign(self, campaign_id: str | None) -> asyncpg.Record | None:
        if campaign_id is None:
            return None
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT * FROM campaigns WHERE campaign_id = $1", campaign_id
        )
        return row

    async def mark_phase(
        self,
        campaign_id: str,
        county_code: str,
        phase: str,
        *,
        opened_at: dt.datetime | None = None,
        closed_at: dt.datetime | None = None,
    ) -> asyncpg.Record:
        """Record a phase's actual opening or closing (the first one counts); return the phase,
        with `was_opened` / `was_closed`: whether it already was before."""
        await self.ensure_campaign(campaign_id, county_code)
        row: asyncpg.Record = await self.conn.fetchrow(
            """WITH before AS MATERIALIZED (SELECT opened_at, closed_at FROM phases
                                            WHERE campaign_id = $1 AND phase = $2)
               INSERT INTO phases (campaign_id, phase, opened_at, closed_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (campaign_id, phase) DO UPDATE SET
                   opened_at = COALESCE(phases.opened_at, EXCLUDED.opened_at),
                   closed_at = COALESCE(phases.closed_at, EXCLUDED.closed_at)
               RETURNING *,
                   (SELECT opened_at IS NOT NULL FROM before) IS TRUE AS was_opened,
                   (SELECT closed_at IS NOT NULL FROM before) IS TRUE AS was_closed""",
            campaign_id,
            phase,
            opened_at,
            closed_at,
        )
        return row

    async def open_phases(self, today: dt.date) -> list[asyncpg.Record]:
        """Phases opened and not closed whose planned end (or, for rectification, commitment due
        day) has not passed by `today`: the ones a reminder may still be due for."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT p.campaign_id, p.phase, p.opened_at, p.closes_on, c.county_code, c.name,
                      c.reminder_days, c.commitment_due_days
               FROM phases p JOIN campaigns c USING (campaign_id)
               WHERE p.opened_at IS NOT NULL AND p.closed_at IS NULL
                 AND (p.closes_on >= $1
                      OR (p.phase = 'rectification'
                          AND p.opened_at + c.commitment_due_days * interval '1 day'
                              >= $1 - interval '1 day'))""",
            today,
        )
        return rows

    async def running_campaigns(self, not_ended_before: dt.date) -> list[asyncpg.Record]:
        """Campaigns with a phase opened and a phase not yet closed, whose plan (if known) does not
        end before the day given: when they began, when their plan ends, and the last periodic
        circular issued."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT c.campaign_id, c.county_code, c.name,
                      min(p.opened_at) AS started_at, max(p.closes_on) AS planned_end,
                      (SELECT max(substr(circular_key, 8)::int) FROM circulars x
                       WHERE x.campaign_id = c.campaign_id AND x.circular_key LIKE 'period:%')
                          AS last_period
               FROM campaigns c JOIN phases p USING (campaign_id)
               GROUP BY c.campaign_id
               HAVING min(p.opened_at) IS NOT NULL AND bool_or(p.closed_at IS NULL)
                  AND (max(p.closes_on) IS NULL OR max(p.closes_on) >= $1)""",
            not_ended_before,
        )
        return rows

    # -------------------------------------------------------------- organisations

    async def save_orgs(self, orgs: Sequence[OrgRow]) -> None:
        """Upsert organisations (one row per org_id: the caller keeps the latest)."""
        await database.upsert(self.conn, "orgs", orgs, key=("org_id",))

    async def org(self, org_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT * FROM orgs WHERE org_id = $1", org_id
        )
        return row

    async def orgs(self, org_ids: Sequence[str]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM orgs WHERE org_id = ANY($1)", list(org_ids)
        )
        return rows

    async def counties_of(self, org_ids: Sequence[str]) -> dict[str, str]:
        """The county of each organisation registered (those not registered are left out)."""
        rows = await self.conn.fetch(
            "SELECT org_id, county_code FROM orgs WHERE org_id = ANY($1)", list(org_ids)
        )
        return {row["org_id"]: row["county_code"] for row in rows}

    async def committees(self, county_code: str) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM orgs WHERE county_code = $1 AND kind = 'committee' ORDER BY org_id",
            county_code,
        )
        return rows

    async def branches_of_county(self, county_code: str) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM orgs WHERE county_code = $1 AND kind <> 'committee' ORDER BY org_id",
            county_code,
        )
        return rows

    async def branches_without_commitment(
        self, campaign_id: str, county_code: str
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT o.* FROM orgs o
               WHERE o.county_code = $2 AND o.kind <> 'committee'
                 AND NOT EXISTS (SELECT 1 FROM commitments m
                                 WHERE m.campaign_id = $1 AND m.branch_id = o.org_id)
               ORDER BY o.org_id""",
            campaign_id,
            county_code,
        )
        return rows

    # -------------------------------------------------------------- commitments and tasks

    async def save_commitments(
        self, published: Sequence[Revision], tasks: Sequence[TaskRow], at: dt.datetime
    ) -> dict[tuple[str, str], int]:
        """Published revisions (one per branch: the caller keeps them apart): the branches
        have a commitment, their tasks' titles and deadlines are known, their missing
        commitments are resolved. Returns the latest revision known before, of the branches
        that had one."""
        before = await self.conn.fetch(
            """WITH new AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
                            AS n(campaign_id, branch_id, revision)),
                    saved AS (INSERT INTO commitments (campaign_id, branch_id, revision)
                              SELECT * FROM new
                              ON CONFLICT (campaign_id, branch_id) DO UPDATE
                              SET revision = GREATEST(commitments.revision, EXCLUDED.revision))
               -- the statement's snapshot: the revisions before this insert
               SELECT c.campaign_id, c.branch_id, c.revision
               FROM commitments c JOIN new USING (campaign_id, branch_id)""",
            *database.columns(published, len(Revision._fields)),
        )
        await database.upsert(
            self.conn,
            "tasks",
            tasks,
            key=("campaign_id", "branch_id", "task_id"),
            update=("title", "responsible", "deadline"),
            # a new deadline gives the task a new chance, as rectification decides
            assign={"overdue": "tasks.overdue AND tasks.deadline = EXCLUDED.deadline"},
        )
        await self.conn.execute(
            """UPDATE lagging_facts f SET resolved_at = $3
               FROM unnest($1::text[], $2::text[]) AS c(campaign_id, branch_id)
               WHERE f.campaign_id = c.campaign_id AND f.branch_id = c.branch_id
                 AND f.reason = 'commitment_missing' AND f.fact_key = ''
                 AND f.resolved_at IS NULL""",
            *database.columns(published, 2),
            at,
        )
        return {(r["campaign_id"], r["branch_id"]): r["revision"] for r in before}

    # -------------------------------------------------------------- problems and escalations

    async def save_problems(self, problems: Sequence[ProblemRow]) -> list[asyncpg.Record]:
        """Upsert listed problems (one row per key: the caller keeps the latest); return those
        already escalated (the escalation came first: the superior is told now)."""
        if not problems:
            return []
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """INSERT INTO problems (campaign_id, branch_id, problem_id, county_code, description,
                   source)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                    $6::text[])
               ON CONFLICT (campaign_id, branch_id, problem_id) DO UPDATE
               SET description = EXCLUDED.description, source = EXCLUDED.source
               RETURNING *""",
            *database.columns(problems, len(ProblemRow._fields)),
        )
        return [row for row in rows if row["escalation_event_id"] is not None]

    async def escalate_problem(self, escalation: Escalation) -> asyncpg.Record:
        """Record the escalation (its first cause is kept); the problem as known now (its
        description is NULL when it was not listed here yet)."""
        row: asyncpg.Record = await self.conn.fetchrow(
            """INSERT INTO problems (campaign_id, branch_id, problem_id, county_code, escalated_to,
                   escalation_source, escalation_event_id, escalated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (campaign_id, branch_id, problem_id) DO UPDATE
               SET escalated_to = COALESCE(problems.escalated_to, EXCLUDED.escalated_to),
                   escalation_source = COALESCE(problems.escalation_source,
                                                EXCLUDED.escalation_source),
                   escalation_event_id = COALESCE(problems.escalation_event_id,
                                                  EXCLUDED.escalation_event_id),
                   escalated_at = COALESCE(problems.escalated_at, EXCLUDED.escalated_at)
               RETURNING *""",
            *escalation,
        )
        return row

    async def problem(
        self, campaign_id: str, branch_id: str, problem_id: str
    ) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.conn.fetchrow(
            """SELECT * FROM problems
               WHERE campaign_id = $1 AND branch_id = $2 AND problem_id = $3""",
            campaign_id,
            branch_id,
            problem_id,
        )
        return row

    async def mark_task_overdue(
        self,
        *,
        campaign_id: str,
        branch_id: str,
        task_id: str,
        county_code: str,
        responsible: str,
        deadline: dt.date,
    ) -> asyncpg.Record:
        """The task as known now (its title if the commitment was seen)."""
        row: asyncpg.Record = await self.conn.fetchrow(
            """INSERT INTO tasks (campaign_id, branch_id, task_id, county_code, responsible, deadline,
                   overdue) VALUES ($1, $2, $3, $4, $5, $6, true)
               ON CONFLICT (campaign_id, branch_id, task_id) DO UPDATE SET overdue = true,
                   responsible = EXCLUDED.responsible, deadline = EXCLUDED.deadline
               RETURNING *""",
            campaign_id,
            branch_id,
            task_id,
            county_code,
            responsible,
            deadline,
        )
        return row

    async def complete_tasks(self, tasks: Sequence[TaskKey], at: dt.datetime) -> None:
        """Mark tasks completed, and their overdue facts resolved (one statement)."""
        await self.conn.execute(
            """WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                          AS k(campaign_id, branch_id, task_id)),
                    completed AS (UPDATE tasks t SET completed_at = COALESCE(t.completed_at, $4)
                                  FROM k WHERE t.campaign_id = k.campaign_id
                                    AND t.branch_id = k.branch_id AND t.task_id = k.task_id)
               UPDATE lagging_facts f SET resolved_at = $4
               FROM k WHERE f.campaign_id = k.campaign_id AND f.branch_id = k.branch_id
                 AND f.reason = 'task_overdue' AND f.fact_key = k.task_id
                 AND f.resolved_at IS NULL""",
            *database.columns(tasks, len(TaskKey._fields)),
            at,
        )

    async def tasks_to_escalate(
        self, deadline_before: dt.date, at: dt.datetime
    ) -> list[asyncpg.Record]:
        """Mark overdue tasks still open whose deadline is before the day given, once; return them."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """UPDATE tasks SET escalated_at = $2
               WHERE overdue AND completed_at IS NULL AND escalated_at IS NULL AND deadline < $1
               RETURNING *""",
            deadline_before,
            at,
        )
        return rows

    # -------------------------------------------------------------- lagging facts

    async def note_fact(
        self,
        *,
        campaign_id: str,
        branch_id: str,
        reason: str,
        fact_key: str,
        detail: dict[str, Any],
        at: dt.datetime,
    ) -> bool:
        """A fact is noted once; noting it again (a re-sent event) changes nothing. True when
        it is new."""
        noted = await self.conn.fetchval(
            """INSERT INTO lagging_facts (campaign_id, branch_id, reason, fact_key, detail, noted_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
            campaign_id,
            branch_id,
            reason,
            fact_key,
            detail,
            at,
        )
        return bool(noted)

    async def resolve_fact(
        self,
        campaign_id: str,
        branch_id: str,
        reason: str,
        fact_key: str,
        at: dt.datetime,
    ) -> None:
        await self.conn.execute(
            """UPDATE lagging_facts SET resolved_at = $5
               WHERE campaign_id = $1 AND branch_id = $2 AND reason = $3 AND fact_key = $4
                 AND resolved_at IS NULL""",
            campaign_id,
            branch_id,
            reason,
            fact_key,
            at,
        )

    async def resolve_facts_keyed(
        self, campaign_id: str, reason: str, fact_key: str, at: dt.datetime
    ) -> None:
        """Resolve a fact whichever organisation it names (an escalation answered)."""
        await self.conn.execute(
            """UPDATE lagging_facts SET resolved_at = $4
               WHERE campaign_id = $1 AND reason = $2 AND fact_key = $3 AND resolved_at IS NULL""",
            campaign_id,
            reason,
            fact_key,
            at,
        )

    async def note_reviews(self, reviewed: Sequence[Revision]) -> None:
        """Reviews of the branches' plans (the latest revision reviewed is kept; one row per
        branch: the caller keeps the greatest)."""
        await self.conn.execute(
            """INSERT INTO reviews (campaign_id, branch_id, reviewed_revision)
               SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
               ON CONFLICT (campaign_id, branch_id) DO UPDATE
               SET reviewed_revision = GREATEST(reviews.reviewed_revision, EXCLUDED.reviewed_revision)""",
            *database.columns(reviewed, len(Revision._fields)),
        )

    async def reviewed_revision(self, campaign_id: str, branch_id: str) -> int | None:
        """The latest revision of the branch's plan reviewed so far (None: none)."""
        revision: int | None = await self.conn.fetchval(
            "SELECT reviewed_revision FROM reviews WHERE campaign_id = $1 AND branch_id = $2",
            campaign_id,
            branch_id,
        )
        return revision

    async def resolve_reviews_overdue(self, reviewed: Sequence[Revision], at: dt.datetime) -> None:
        """Reviews of the branches' plans arrived: their superiors' overdue-review facts of that
        revision and the ones before are resolved (whoever reviewed)."""
        await self.conn.execute(
            """UPDATE lagging_facts f SET resolved_at = $4
               FROM unnest($1::text[], $2::text[], $3::int[]) AS r(campaign_id, branch_id, revision)
               WHERE f.campaign_id = r.campaign_id AND f.reason = 'review_overdue'
                 AND f.resolved_at IS NULL AND f.detail ->> 'branch_id' = r.branch_id
                 AND (f.detail ->> 'revision')::int <= r.revision""",
            *database.columns(reviewed, len(Revision._fields)),
            at,
        )

    async def open_facts(self, campaign_id: str) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            """SELECT f.branch_id, COALESCE(o.name, f.branch_id) AS branch_name, f.reason,
                      f.fact_key, f.detail
               FROM lagging_facts f LEFT JOIN orgs o ON o.org_id = f.branch_id
               WHERE f.campaign_id = $1 AND f.resolved_at IS NULL
               ORDER BY f.branch_id, f.reason, f.fact_key""",
            campaign_id,
        )
        return rows

    # -------------------------------------------------------------- reminders and circulars

    async def lock_sweep(self) -> bool:
        """One sweep at a time per schema, across replicas."""
        locked: bool = await self.conn.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtext('sweep:' || current_schema()))"
        )
        return locked

    async def reminders_decided(self, campaign_id: str, prefix: str) -> set[int]:
        """The offsets (days) already decided for reminders whose key starts with `prefix`."""
        rows = await self.conn.fetch(
            "SELECT reminder_key FROM reminders WHERE campaign_id = $1 AND reminder_key LIKE $2",
            campaign_id,
            f"{prefix}%",
        )
        return {int(row["reminder_key"][len(prefix) :]) for row in rows}

    async def decide_reminders(self, decided: Sequence[ReminderRow]) -> None:
        await database.upsert(
            self.conn, "reminders", decided, key=("campaign_id", "reminder_key"), update=()
        )

    async def trigger_circular(self, campaign_id: str, circular_key: str, at: dt.datetime) -> bool:
        """Record that a circular is due; False when it already was."""
        inserted = await self.conn.fetchval(
            """INSERT INTO circulars (campaign_id, circular_key, status, triggered_at)
               VALUES ($1, $2, 'waiting', $3) ON CONFLICT DO NOTHING RETURNING true""",
            campaign_id,
            circular_key,
            at,
        )
        return bool(inserted)

    async def waiting_circulars(self) -> list[tuple[CircularKey, dict[str, int] | None]]:
        """Circulars due at a phase's close, waiting for its results, with their barrier
        snapshot."""
        rows = await self.conn.fetch(
            "SELECT campaign_id, circular_key, end_offsets FROM circulars WHERE status = 'waiting'"
            " ORDER BY triggered_at"
        )
        return [((row["campaign_id"], row["circular_key"]), row["end_offsets"]) for row in rows]

    async def save_circular_offsets(self, key: CircularKey, offsets: dict[str, int]) -> None:
        await self.conn.execute(
            "UPDATE circulars SET end_offsets = $3 WHERE campaign_id = $1 AND circular_key = $2",
            *key,
            offsets,
        )

    async def lock_waiting_circular(self, campaign_id: str, circular_key: str) -> bool:
        found = await self.conn.fetchval(
            """SELECT true FROM circulars WHERE campaign_id = $1 AND circular_key = $2
                 AND status = 'waiting' FOR UPDATE""",
            campaign_id,
            circular_key,
        )
        return bool(found)

    async def mark_circular_issued(
        self, campaign_id: str, circular_key: str, named: int, at: dt.datetime
    ) -> None:
        await self.conn.execute(
            """INSERT INTO circulars (campaign_id, circular_key, status, triggered_at, issued_at, named)
               VALUES ($1, $2, 'issued', $4, $4, $3)
               ON CONFLICT (campaign_id, circular_key) DO UPDATE SET status = 'issued',
                   issued_at = EXCLUDED.issued_at, named = EXCLUDED.named""",
            campaign_id,
            circular_key,
            named,
            at,
        )


Uow = UnitOfWork[NotificationStore]
"""What handlers, jobs and the delivery worker work with."""
