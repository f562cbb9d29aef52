"""The committee's assessment (assessment.committee_assessed) in memory: kept as the branch's
current one until the final round is computed, kept as late after it (nothing changes), and
weighed by a supplementary determination of a branch incomplete in the final round."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from grading import handlers
from grading.domain import CRITERIA, BranchInputs, Grade, Input
from grading.store import AssessmentRow, GradingStore, InputRow, LateInputRow
from grassroots.contract.events import (
    AssessmentCommitteeAssessedEvent,
    GradingAppraisedEvent,
    GradingBranchGradedEvent,
    GradingSelfEvaluatedEvent,
    GradingSuperiorRatedEvent,
)
from grassroots.contract.examples import CST, DATA, envelope
from grassroots.plumbing.unit_of_work import UnitOfWork

CAMPAIGN = "pucheng-edu-2012"
NOW = dt.datetime(2012, 10, 8, tzinfo=dt.UTC)
InputEvent = GradingSelfEvaluatedEvent | GradingAppraisedEvent | GradingSuperiorRatedEvent


class FakeStore(GradingStore):
    """The state the assessment handler and a supplementary determination touch, in dicts."""

    def __init__(self, rules: dict[str, Any] | None = None) -> None:  # no connection
        self.rules = rules
        self.rounds: dict[tuple[str, str], str] = {}
        self.assessments: dict[tuple[str, str], AssessmentRow] = {}
        self.inputs: dict[tuple[str, str, str, str], InputRow] = {}
        self.late: list[LateInputRow] = []
        self.results: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def lock_rounds_for_inputs(
        self, rounds: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        return {key: self.rounds.setdefault(key, "open") for key in rounds}

    async def lock_incomplete(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> set[tuple[str, str, str]]:
        return {k for k in keys if k in self.results and self.results[k]["level"] is None}

    async def save_assessments(self, assessments: Sequence[AssessmentRow]) -> None:
        # As the SQL decides: the greater (event time, event id) is kept.
        for row in assessments:
            key = (row.campaign_id, row.branch_id)
            kept = self.assessments.get(key)
            if kept is None or (row.event_time, row.event_id) > (kept.event_time, kept.event_id):
                self.assessments[key] = row

    async def save_late_inputs(self, inputs: Sequence[LateInputRow]) -> None:
        self.late.extend(inputs)

    async def save_inputs(self, inputs: Sequence[InputRow]) -> None:
        self.inputs.update({row.key: row for row in inputs})

    async def get_campaign_rules(self, campaign_id: str) -> dict[str, Any] | None:
        return self.rules

    async def level_counts(self, campaign_id: str, round_: str) -> tuple[int, int]:
        return 0, 0

    async def load_branch(
        self, campaign_id: str, round_: str, county_code: str, branch_id: str
    ) -> BranchInputs | None:
        assessment = self.assessments.get((campaign_id, branch_id))
        return BranchInputs(
            branch_id=branch_id,
            registered=True,
            by_source={
                row.source: Input(
                    {c: Decimal(str(getattr(row, c))) for c in CRITERIA}
                )  # as read back
                for key, row in self.inputs.items()
                if key[:3] == (campaign_id, round_, branch_id)
            },
            initial_level="average",
            completion_rate=Decimal(1),
            assessment_score=assessment.score if assessment and round_ == "final" else None,
        )

    async def save_supplementary(
        self, campaign_id: str, round_: str, grade: Grade, *, event_id: str
    ) -> None:
        self.results[(campaign_id, round_, grade.branch_id)] = {"level": grade.level}


def assessed(
    branch_id: str, score: float, *, hour: int = 9, event_id: str | None = None
) -> AssessmentCommitteeAssessedEvent:
    data = {**DATA["assessment.committee_assessed"], "branch_id": branch_id, "score": score}
    return AssessmentCommitteeAssessedEvent.model_validate(
        envelope(
            "assessment.committee_assessed",
            data,
            event_id=event_id,
            time=dt.datetime(2012, 9, 20, hour, tzinfo=CST),
        )
    )


def final_input(kind: type[InputEvent], event_type: str, branch_id: str) -> InputEvent:
    data = {
        **DATA[event_type],
        "branch_id": branch_id,
        "round": "final",
        "scores": dict.fromkeys(CRITERIA, 78),
    }
    return kind.model_validate(envelope(event_type, data))


def uow_of(store: FakeStore) -> UnitOfWork[GradingStore]:
    return UnitOfWork(store, service="grading", now=NOW)


async def test_the_latest_assessment_of_a_branch_counts_whatever_the_arrival_order() -> None:
    store = FakeStore()
    later, earlier = assessed("b1", 60, hour=11), assessed("b1", 100, hour=10)
    await handlers.on_committee_assessed(uow_of(store), [later])
    await handlers.on_committee_assessed(uow_of(store), [earlier])
    tied = [assessed("b2", 90, event_id="id-b"), assessed("b2", 50, event_id="id-a")]
    await handlers.on_committee_assessed(uow_of(store), tied)
    assert {k[1]: (row.score, row.event_id) for k, row in store.assessments.items()} == {
        "b1": (Decimal("60"), later.id),
        "b2": (Decimal("90"), "id-b"),
    }
    assert store.late == []


async def test_an_assessment_of_a_branch_never_registered_is_kept_not_refused() -> None:
    store = FakeStore()
    uow = uow_of(store)
    await handlers.on_committee_assessed(uow, [assessed("ghost", 88)])
    assert list(store.assessments) == [(CAMPAIGN, "ghost")]
    assert (store.assessments[(CAMPAIGN, "ghost")].level, uow.events) == ("fairly_strong", [])


async def test_an_assessment_after_the_final_round_is_kept_as_late_and_changes_nothing() -> None:
    store = FakeStore()
    store.rounds[(CAMPAIGN, "final")] = "computed"
    store.results[(CAMPAIGN, "final", "b1")] = {"level": "average"}
    uow = uow_of(store)
    late = assessed("b1", 95)
    await handlers.on_committee_assessed(uow, [late])
    assert [(r.round, r.branch_id, r.event_type, r.event_id) for r in store.late] == [
        ("final", "b1", "assessment.committee_assessed", late.id)
    ]
    assert store.late[0].payload["score"] == 95
    assert (store.assessments, store.results[(CAMPAIGN, "final", "b1")], uow.events) == (
        {},
        {"level": "average"},
        [],
    )


async def test_an_assessment_after_the_initial_round_is_still_current() -> None:
    store = FakeStore()
    store.rounds[(CAMPAIGN, "initial")] = "computed"
    await handlers.on_committee_assessed(uow_of(store), [assessed("b1", 95)])
    assert (list(store.assessments), store.late) == ([(CAMPAIGN, "b1")], [])


async def test_a_branch_incomplete_in_the_final_round_is_graded_with_its_assessment_weighed() -> (
    None
):
    store = FakeStore({"assessment_weight": 0.4})
    store.rounds[(CAMPAIGN, "final")] = "computed"
    store.results[(CAMPAIGN, "final", "b1")] = {"level": None}
    await handlers.on_committee_assessed(uow_of(store), [assessed("b1", 95)])
    assert store.late == []  # kept for the supplementary determination
    await handlers.on_inputs(
        uow_of(store),
        [
            final_input(GradingSelfEvaluatedEvent, "grading.self_evaluated", "b1"),
            final_input(GradingSuperiorRatedEvent, "grading.superior_rated", "b1"),
        ],
    )
    uow = uow_of(store)
    await handlers.on_inputs(uow, [final_input(GradingAppraisedEvent, "grading.appraised", "b1")])
    (sent,) = uow.events
    assert isinstance(sent, GradingBranchGradedEvent)
    assert (sent.data.level, sent.data.total, sent.data.supplementary) == (
        "fairly_strong",
        84.8,
        True,
    )
    assert [r.model_dump(mode="json", exclude_none=True) for r in sent.data.rules or []] == [
        {
            "rule": "assessment",
            "level": "fairly_strong",
            "score": 95.0,
            "weight": 0.4,
            "previous_total": 78.0,
        },
        {"rule": "supplementary", "level": "fairly_strong"},
    ]
