"""Every SQL statement of the grading service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

import asyncpg

from grading.domain import CRITERIA, BranchInputs, Grade, Incomplete, Input
from grassroots.plumbing import database
from grassroots.plumbing.store import OrganisationRow, Store

# How long a final round waits for rectification's settlements after its phase closed (they
# normally follow within seconds; longer means the rectification service is down, and the
# round is computed without the missing ones rather than never).
SETTLEMENT_WAIT_SECONDS = 300.0

RoundKey = tuple[str, str]
"""(campaign_id, round)"""


Score = Annotated[float, database.SqlType("numeric")]


class InputRow(NamedTuple):
    """The current input of one kind (source) for a branch in a round."""

    campaign_id: str
    round: str
    branch_id: str
    source: str
    # The scores as sent: written as the floats' shortest decimal text (87.5, never
    # 87.500000000000001) and read by PostgreSQL as numeric, no Decimal made on the way.
    leadership: Score
    membership: Score
    mechanism: Score
    performance: Score
    reputation: Score
    raters: int | None
    rater_org_id: str | None
    override_level: str | None
    override_reason: str | None
    veto_reason: str | None
    event_id: str
    event_time: dt.datetime

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.campaign_id, self.round, self.branch_id, self.source)


class AssessmentRow(NamedTuple):
    """The committee's assessment of a branch (局党委评估), as sent."""

    campaign_id: str
    branch_id: str
    score: Decimal
    level: str | None
    comment: str | None
    event_id: str
    event_time: dt.datetime


class LateInputRow(NamedTuple):
    campaign_id: str
    round: str
    branch_id: str
    event_type: str
    event_id: str
    payload: dict[str, Any]


class SettlementRow(NamedTuple):
    campaign_id: str
    branch_id: str
    completion_rate: Decimal


class GradingStore(Store):
    """Every SQL statement of the service, on one unit of work's connection."""

    async def save_campaign(
        self,
        *,
        campaign_id: str,
        county_code: str,
        name: str,
        rules: dict[str, Any] | None,
        launched_at: dt.datetime,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO campaigns (campaign_id, county_code, name, rules, launched_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (campaign_id) DO UPDATE SET county_code = EXCLUDED.county_code,
                   name = EXCLUDED.name, rules = EXCLUDED.rules, launched_at = EXCLUDED.launched_at""",
            campaign_id,
            county_code,
            name,
            rules,
            launched_at,
        )

    async def get_campaign_rules(self, campaign_id: str) -> dict[str, Any] | None:
        rules: dict[str, Any] | None = await self.conn.fetchval(
            "SELECT rules FROM campaigns WHERE campaign_id = $1", campaign_id
        )
        return rules

    async def save_branches(self, branches: Sequence[OrganisationRow]) -> None:
        """Upsert organisations (one row per branch_id: the caller keeps the latest)."""
        await database.upsert(self.conn, "branches", branches, key=("branch_id",))

    async def lock_round_for_input(self, campaign_id: str, round_: str) -> str:
        """The round's status, holding a share lock so it cannot be computed under our feet."""
        statuses = await self.lock_rounds_for_inputs([(campaign_id, round_)])
        return statuses[(campaign_id, round_)]

    async def lock_rounds_for_inputs(
        self, rounds: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Each round's status, share-locked so none can be computed under our feet."""
        keys = sorted(set(rounds))
        campaigns, round_names = [k[0] for k in keys], [k[1] for k in keys]
        await self.conn.execute(
            """INSERT INTO rounds (campaign_id, round)
               SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING""",
            campaigns,
            round_names,
        )
        rows = await self.conn.fetch(
            """SELECT campaign_id, round, status FROM rounds
               WHERE (campaign_id, round) IN (SELECT * FROM unnest($1::text[], $2::text[]))
               ORDER BY campaign_id, round FOR SHARE""",
            campaigns,
            round_names,
        )
        return {(row["campaign_id"], row["round"]): row["status"] for row in rows}

    async def save_inputs(self, inputs: Sequence[InputRow]) -> None:
        """The current input of each kind; a later one replaces it (one row per key: the caller
        keeps the latest)."""
        await database.upsert(
            self.conn, "inputs", inputs, key=("campaign_id", "round", "branch_id", "source")
        )

    async def save_assessments(self, assessments: Sequence[AssessmentRow]) -> None:
        """Keep the latest assessment of each branch: the greater event time, ties by the greater
        event id (compared byte by byte) — decided here, in the batch and against the row already
        kept, so neither arrival order nor a replay changes which one counts."""
        if not assessments:
            return
        await self.conn.execute(
            """INSERT INTO assessments AS kept
                   (campaign_id, branch_id, score, level, comment, event_id, event_time)
               SELECT DISTINCT ON (campaign_id, branch_id) *
               FROM unnest($1::text[], $2::text[], $3::numeric[], $4::text[], $5::text[],
                           $6::text[], $7::timestamptz[])
                    AS sent (campaign_id, branch_id, score, level, comment, event_id, event_time)
               ORDER BY campaign_id, branch_id, event_time DESC, event_id COLLATE "C" DESC
               ON CONFLICT (campaign_id, branch_id) DO UPDATE SET score = EXCLUDED.score,
                   level = EXCLUDED.level, comment = EXCLUDED.comment,
                   event_id = EXCLUDED.event_id, event_time = EXCLUDED.event_time
               WHERE (EXCLUDED.event_time, EXCLUDED.event_id COLLATE "C")
                     > (kept.event_time, kept.event_id COLLATE "C")""",
            *database.columns(assessments, len(AssessmentRow._fields)),
        )

    async def save_late_inputs(self, inputs: Sequence[LateInputRow]) -> None:
        await self.conn.executemany(
            """INSERT INTO late_inputs (campaign_id, round, branch_id, event_type, event_id, payload)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            inputs,
        )

    async def save_settlements(self, settlements: Sequence[SettlementRow]) -> None:
        """Completion rates, in order (executemany: one round trip; a branch may repeat)."""
        await self.conn.executemany(
            """INSERT INTO settlements (campaign_id, branch_id, completion_rate) VALUES ($1, $2, $3)
               ON CONFLICT (campaign_id, branch_id)
               DO UPDATE SET completion_rate = EXCLUDED.completion_rate""",
            settlements,
        )

    async def close_round(
        self,
        *,
        campaign_id: str,
        round_: str,
        county_code: str,
        close_event_id: str,
        closed_at: dt.datetime,
    ) -> str:
        """Mark an open round closing; return the status it had (closing/computed: unchanged)."""
        await self.conn.execute(
            "INSERT INTO rounds (campaign_id, round) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            campaign_id,
            round_,
        )
        previous: str = await self.conn.fetchval(
            "SELECT status FROM rounds WHERE campaign_id = $1 AND round = $2 FOR UPDATE",
            campaign_id,
            round_,
        )
        if previous == "open":
            await self.conn.execute(
                """UPDATE rounds SET status = 'closing', county_code = $3, close_event_id = $4,
                       closed_at = $5, closing_since = now()
                   WHERE campaign_id = $1 AND round = $2""",
                campaign_id,
                round_,
                county_code,
                close_event_id,
                closed_at,
            )
        return previous

    async def note_rectification_closed(self, campaign_id: str, closed_at: dt.datetime) -> None:
        await self.conn.execute(
            "INSERT INTO rectification_closes (campaign_id, closed_at) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            campaign_id,
            closed_at,
        )

    async def closing_rounds(self) -> list[tuple[RoundKey, dict[str, int] | None]]:
        """Rounds whose phase closed, waiting to be computed, with their barrier snapshot.

        A final round is held back (before its snapshot) while its campaign's initial round is
        still being computed (the final results name the initial level), and while its
        rectification phase has closed but a branch graded in the initial round has no
        settlement yet — the settlements are still coming — for at most
        SETTLEMENT_WAIT_SECONDS. Both happen when the phases close back to back."""
        rows = await self.conn.fetch(
            """SELECT campaign_id, round, end_offsets FROM rounds r
               WHERE status = 'closing'
                 AND (r.round <> 'final' OR r.end_offsets IS NOT NULL OR NOT (
                      EXISTS (SELECT FROM rounds i
                              WHERE i.campaign_id = r.campaign_id AND i.round = 'initial'
                                AND i.status = 'closing')
                      OR (COALESCE(r.closing_since, '-infinity')
                              >= now() - make_interval(secs => $1)
                          AND EXISTS (SELECT FROM rectification_closes c
                                      WHERE c.campaign_id = r.campaign_id)
                          AND EXISTS (
                              SELECT FROM results i
                              WHERE i.campaign_id = r.campaign_id AND i.round = 'initial'
                                AND NOT EXISTS (SELECT FROM settlements s
                                                WHERE s.campaign_id = i.campaign_id
                                                  AND s.branch_id = i.branch_id)))))
               ORDER BY closed_at""",
            SETTLEMENT_WAIT_SECONDS,
        )
        return [((row["campaign_id"], row["round"]), row["end_offsets"]) for row in rows]

    async def save_end_offsets(self, key: RoundKey, offsets: dict[str, int]) -> None:
        await self.conn.execute(
            "UPDATE rounds SET end_offsets = $3 WHERE campaign_id = $1 AND round = $2",
            *key,
            offsets,
        )

    async def lock_round_for_computing(
        self, campaign_id: str, round_: str
    ) -> asyncpg.Record | None:
        """The round, locked, if it is still waiting to be computed."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT campaign_id, round, county_code FROM rounds"
            " WHERE campaign_id = $1 AND round = $2 AND status = 'closing' FOR UPDATE",
            campaign_id,
            round_,
        )
        return row

    async def refresh_statistics(self, tables: Sequence[str]) -> None:
        """Inputs and registrations may have arrived in bulk just now: ANALYZE the tables that
        changed by a tenth since their statistics were taken, so the round is planned well (and a
        hundred rounds computed in a row do not each analyze everything again)."""
        stale = await self.conn.fetch(
            """SELECT relname FROM pg_stat_user_tables
               WHERE schemaname = current_schema() AND relname = ANY($1)
                 AND n_mod_since_analyze > 0.1 * greatest(n_live_tup, 1000)""",
            list(tables),
        )
        if stale:
            await self.conn.execute("ANALYZE " + ", ".join(row["relname"] for row in stale))

    async def load_round(
        self, campaign_id: str, round_: str, county_code: str
    ) -> list[BranchInputs]:
        """Every gradable branch of the county and every branch with inputs, in one query."""
        await self.refresh_statistics(
            ("branches", "inputs", "results", "settlements", "assessments")
        )
        return await self._load(campaign_id, round_, county_code)

    async def load_branch(
        self, campaign_id: str, round_: str, county_code: str, branch_id: str
    ) -> BranchInputs | None:
        """One branch's inputs of a round, as `load_round` reads them (supplementary grading)."""
        found = await self._load(campaign_id, round_, county_code, branch_id)
        return found[0] if found else None

    async def _load(
        self, campaign_id: str, round_: str, county_code: str, branch_id: str | None = None
    ) -> list[BranchInputs]:
        # Two statements from one text: the round's (planned for all) and one branch's.
        only, arguments = ("", ()) if branch_id is None else ("AND branch_id = $4", (branch_id,))
        rows = await self.conn.fetch(
            f"""WITH everyone AS (
                   SELECT branch_id, bool_or(registered) AS registered FROM (
                       SELECT branch_id, true AS registered FROM branches
                       WHERE county_code = $3 AND kind <> 'committee' {only}
                       UNION ALL
                       SELECT DISTINCT i.branch_id, false FROM inputs i
                       WHERE i.campaign_id = $1 AND i.round = $2 {only.replace("branch_id", "i.branch_id")} AND NOT EXISTS (
                           SELECT 1 FROM branches c WHERE c.branch_id = i.branch_id
                           AND c.kind = 'committee')
                   ) candidates GROUP BY branch_id
               )
               SELECT e.branch_id, e.registered, i.source,
                      i.leadership, i.membership, i.mechanism, i.performance, i.reputation,
                      i.override_level, i.override_reason, i.veto_reason,
                      initial.level AS initial_level, s.completion_rate,
                      a.score AS assessment_score
               FROM everyone e
               LEFT JOIN inputs i
                      ON i.campaign_id = $1 AND i.round = $2 AND i.branch_id = e.branch_id
               LEFT JOIN results initial ON initial.campaign_id = $1 AND initial.round = 'initial'
                      AND initial.branch_id = e.branch_id
               LEFT JOIN settlements s ON s.campaign_id = $1 AND s.branch_id = e.branch_id
               LEFT JOIN assessments a ON $2 = 'final' AND a.campaign_id = $1
                      AND a.branch_id = e.branch_id
               ORDER BY e.branch_id""",
            campaign_id,
            round_,
            county_code,
            *arguments,
        )
        branches: list[BranchInputs] = []
        current: dict[str, Any] | None = None
        for row in rows:
            if current is None or current["branch_id"] != row["branch_id"]:
                if current is not None:
                    branches.append(BranchInputs(**current))
                current = {
                    "branch_id": row["branch_id"],
                    "registered": row["registered"],
                    "by_source": {},
                    "initial_level": row["initial_level"],
                    "completion_rate": row["completion_rate"],
                    "assessment_score": row["assessment_score"],
                }
            if row["source"] is not None:
                current["by_source"][row["source"]] = Input(
                    scores={c: row[c] for c in CRITERIA},
                    override_level=row["override_level"],
                    override_reason=row["override_reason"],
                    veto_reason=row["veto_reason"],
                )
        if current is not None:
            branches.append(BranchInputs(**current))
        return branches

    async def save_results(
        self,
        campaign_id: str,
        round_: str,
        outcomes: Sequence[tuple[Grade | Incomplete, str]],
    ) -> None:
        """The round's results with the id of the event that published each (bulk COPY)."""
        records: list[tuple[Any, ...]] = []
        for outcome, event_id in outcomes:
            if isinstance(outcome, Grade):
                scores = {c: float(v) for c, v in outcome.scores.items()}
                records.append(
                    (
                        campaign_id,
                        round_,
                        outcome.branch_id,
                        outcome.level,
                        outcome.total,
                        scores,
                        None,
                        outcome.basis,
                        event_id,
                    )
                )
            else:
                records.append(
                    (
                        campaign_id,
                        round_,
                        outcome.branch_id,
                        None,
                        None,
                        None,
                        list(outcome.missing),
                        None,
                        event_id,
                    )
                )
        await self.conn.copy_records_to_table(
            "results",
            records=records,
            columns=[
                "campaign_id",
                "round",
                "branch_id",
                "level",
                "total",
                "scores",
                "missing",
                "basis",
                "event_id",
            ],
        )

    async def mark_computed(self, campaign_id: str, round_: str, *, seconds: float) -> None:
        await self.conn.execute(
            """UPDATE rounds SET status = 'computed', computed_at = now(), compute_seconds = $3
               WHERE campaign_id = $1 AND round = $2""",
            campaign_id,
            round_,
            seconds,
        )

    async def get_result(
        self, campaign_id: str, round_: str, branch_id: str
    ) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT level, total, scores, basis FROM results"
            " WHERE campaign_id = $1 AND round = $2 AND branch_id = $3",
            campaign_id,
            round_,
            branch_id,
        )
        return row

    async def correct_result(
        self,
        campaign_id: str,
        round_: str,
        branch_id: str,
        *,
        level: str,
        event_id: str,
    ) -> None:
        await self.conn.execute(
            """UPDATE results SET level = $4, basis = 'override', event_id = $5
               WHERE campaign_id = $1 AND round = $2 AND branch_id = $3""",
            campaign_id,
            round_,
            branch_id,
            level,
            event_id,
        )

    async def lock_incomplete(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> set[tuple[str, str, str]]:
        """Of (campaign_id, round, branch_id), those incomplete in their computed round, locked
        (a supplementary determination may grade them)."""
        if not keys:
            return set()
        rows = await self.conn.fetch(
            """SELECT campaign_id, round, branch_id FROM results
               WHERE (campaign_id, round, branch_id)
                     IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
                 AND level IS NULL
               ORDER BY campaign_id, round, branch_id FOR UPDATE""",
            *database.columns(sorted(set(keys)), 3),
        )
        return {(row["campaign_id"], row["round"], row["branch_id"]) for row in rows}

    async def level_counts(self, campaign_id: str, round_: str) -> tuple[int, int]:
        """(graded, strong) of a round: what the strong quota counts."""
        row = await self.conn.fetchrow(
            """SELECT count(level) AS graded, count(*) FILTER (WHERE level = 'strong') AS strong
               FROM results WHERE campaign_id = $1 AND round = $2""",
            campaign_id,
            round_,
        )
        assert row is not None
        return row["graded"], row["strong"]

    async def save_supplementary(
        self, campaign_id: str, round_: str, grade: Grade, *, event_id: str
    ) -> None:
        await self.conn.execute(
            """UPDATE results SET level = $4, total = $5, scores = $6, basis = $7, missing = NULL,
                   event_id = $8
               WHERE campaign_id = $1 AND round = $2 AND branch_id = $3""",
            campaign_id,
            round_,
            grade.branch_id,
            grade.level,
            grade.total,
            {c: float(v) for c, v in grade.scores.items()},
            grade.basis,
            event_id,
        )
