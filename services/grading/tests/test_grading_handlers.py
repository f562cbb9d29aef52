"""The grading handlers in memory: a fake store keeps the state in dicts, the handlers are
called directly with typed events, and what a user would check is asserted — inputs kept or
late, supplementary determination (补充定级) with its event, corrections and refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from grading import handlers
from grading.domain import CRITERIA, BranchInputs, Grade, Input
from grading.results import result_event_id
from grading.store import GradingStore, InputRow, LateInputRow, SettlementRow
from grassroots.contract import AnyEvent
from grassroots.contract.events import (
    CampaignLaunchedEvent,
    CampaignPhaseClosedEvent,
    GradingAppraisedEvent,
    GradingBranchGradedEvent,
    GradingResultCorrectedEvent,
    GradingSelfEvaluatedEvent,
    GradingSuperiorRatedEvent,
    OrgBranchRegisteredEvent,
    RectificationBranchSettledEvent,
)
from grassroots.contract.examples import DATA, envelope
from grassroots.plumbing.handling import Rejected
from grassroots.plumbing.store import OrganisationRow
from grassroots.plumbing.unit_of_work import UnitOfWork

E = TypeVar("E", bound=AnyEvent)
CAMPAIGN, COUNTY = "pucheng-edu-2012", "610526"
NOW = dt.datetime(2012, 4, 20, tzinfo=dt.UTC)


class FakeStore(GradingStore):
    def __init__(self) -> None:  # no connection: the state is here
        self.rules: dict[str, dict[str, Any] | None] = {}
        self.branches: dict[str, OrganisationRow] = {}
        self.rectification_closed: set[str] = set()
        self.rounds: dict[tuple[str, str], str] = {}
        self.inputs: dict[tuple[str, str, str, str], InputRow] = {}
        self.late: list[LateInputRow] = []
        self.results: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.settlements: dict[tuple[str, str], Decimal] = {}

    async def save_campaign(self, *, campaign_id: str, rules: Any, **_: Any) -> None:
        self.rules[campaign_id] = rules

    async def get_campaign_rules(self, campaign_id: str) -> dict[str, Any] | None:
        return self.rules.get(campaign_id)

    async def save_branches(self, branches: Sequence[OrganisationRow]) -> None:
        self.branches.update({b.branch_id: b for b in branches})

    async def lock_rounds_for_inputs(
        self, rounds: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        return {key: self.rounds.setdefault(key, "open") for key in rounds}

    async def save_inputs(self, inputs: Sequence[InputRow]) -> None:
        self.inputs.update({row.key: row for row in inputs})

    async def save_late_inputs(self, inputs: Sequence[LateInputRow]) -> None:
        self.late.extend(inputs)

    async def save_settlements(self, settlements: Sequence[SettlementRow]) -> None:
        self.settlements.update(
            {(s.campaign_id, s.branch_id): s.completion_rate for s in settlements}
        )

    async def note_rectification_closed(self, campaign_id: str, closed_at: dt.datetime) -> None:
        self.rectification_closed.add(campaign_id)

    async def close_round(self, *, campaign_id: str, round_: str, **_: Any) -> str:
        previous = self.rounds.setdefault((campaign_id, round_), "open")
        if previous == "open":
            self.rounds[(campaign_id, round_)] = "closing"
        return previous

    async def get_result(self, campaign_id: str, round_: str, branch_id: str) -> Any:
        return self.results.get((campaign_id, round_, branch_id))

    async def correct_result(
        self, campaign_id: str, round_: str, branch_id: str, *, level: str, event_id: str
    ) -> None:
        self.results[(campaign_id, round_, branch_id)].update(level=level, basis="override")

    async def lock_incomplete(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> set[tuple[str, str, str]]:
        return {k for k in keys if k in self.results and self.results[k]["level"] is None}

    async def level_counts(self, campaign_id: str, round_: str) -> tuple[int, int]:
        levels = [
            r["level"] for (c, r_, _), r in self.results.items() if (c, r_) == (campaign_id, round_)
        ]
        return sum(1 for level in levels if level), sum(1 for level in levels if level == "strong")

    async def save_supplementary(
        self, campaign_id: str, round_: str, grade: Grade, *, event_id: str
    ) -> None:
        self.results[(campaign_id, round_, grade.branch_id)] = {
            "level": grade.level,
            "total": grade.total,
            "scores": {c: float(v) for c, v in grade.scores.items()},
            "basis": grade.basis,
        }

    async def load_branch(
        self, campaign_id: str, round_: str, county_code: str, branch_id: str
    ) -> BranchInputs | None:
        by_source = {
            row.source: Input(
                # As the numeric column gives them back: the decimal of the float as written.
                scores={c: Decimal(str(getattr(row, c))) for c in CRITERIA},
                override_level=row.override_level,
                override_reason=row.override_reason,
                veto_reason=row.veto_reason,
            )
            for key, row in self.inputs.items()
            if key[:3] == (campaign_id, round_, branch_id)
        }
        initial = self.results.get((campaign_id, "initial", branch_id))
        return BranchInputs(
            branch_id=branch_id,
            registered=branch_id in self.branches,
            by_source=by_source,
            initial_level=initial["level"] if initial else None,
            completion_rate=self.settlements.get((campaign_id, branch_id)),
        )

    # what a computed round leaves behind
    def computed(self, round_: str, results: dict[str, str | None]) -> None:
        self.rounds[(CAMPAIGN, round_)] = "computed"
        for branch_id, level in results.items():
            self.results[(CAMPAIGN, round_, branch_id)] = {
                "level": level,
                "total": 85.0,
                "scores": dict.fromkeys(CRITERIA, 85.0),
                "basis": "computed",
            }


def event(kind: type[E], event_type: str, **data: Any) -> E:
    return kind.model_validate(envelope(event_type, {**DATA[event_type], **data}))


def scores(value: float) -> dict[str, float]:
    return dict.fromkeys(CRITERIA, value)


def self_evaluated(branch: str, value: float, round_: str = "initial") -> GradingSelfEvaluatedEvent:
    return event(
        GradingSelfEvaluatedEvent,
        "grading.self_evaluated",
        branch_id=branch,
        round=round_,
        scores=scores(value),
    )


def appraised(branch: str, value: float, round_: str = "initial") -> GradingAppraisedEvent:
    return event(
        GradingAppraisedEvent,
        "grading.appraised",
        branch_id=branch,
        round=round_,
        scores=scores(value),
    )


def superior(
    branch: str, value: float, round_: str = "initial", **more: Any
) -> GradingSuperiorRatedEvent:
    return event(
        GradingSuperiorRatedEvent,
        "grading.superior_rated",
        branch_id=branch,
        round=round_,
        scores=scores(value),
        **more,
    )


def uow_of(store: FakeStore) -> UnitOfWork[GradingStore]:
    return UnitOfWork(store, service="grading", now=NOW)


async def registered(store: FakeStore, *branch_ids: str) -> None:
    registrations = [
        event(OrgBranchRegisteredEvent, "org.branch_registered", branch_id=b) for b in branch_ids
    ]
    await handlers.on_branches_registered(uow_of(store), registrations)


async def test_registrations_keep_the_latest_of_each_organisation() -> None:
    store = FakeStore()
    first = event(OrgBranchRegisteredEvent, "org.branch_registered", name="旧名称")
    second = event(OrgBranchRegisteredEvent, "org.branch_registered", name="城关中学党支部")
    await handlers.on_branches_registered(uow_of(store), [first, second])
    assert [b.name for b in store.branches.values()] == ["城关中学党支部"]


async def test_inputs_before_the_round_is_computed_are_the_current_ones() -> None:
    store = FakeStore()
    await handlers.on_inputs(uow_of(store), [self_evaluated("b1", 70), self_evaluated("b1", 80)])
    (row,) = store.inputs.values()
    assert (row.source, row.leadership, store.late) == ("self", 80.0, [])


async def test_an_input_for_a_branch_already_graded_is_kept_as_late_and_changes_nothing() -> None:
    store = FakeStore()
    store.computed("initial", {"b1": "average"})
    uow = uow_of(store)
    await handlers.on_inputs(
        uow, [superior("b1", 99, override_level="strong", override_reason="x")]
    )
    assert [(late.branch_id, late.event_type) for late in store.late] == [
        ("b1", "grading.superior_rated")
    ]
    assert (store.inputs, store.results[(CAMPAIGN, "initial", "b1")]["level"], uow.events) == (
        {},
        "average",
        [],
    )


async def test_an_incomplete_branch_is_graded_by_supplementary_determination_when_its_inputs_arrive() -> (
    None
):
    store = FakeStore()
    await registered(store, "b1")
    await handlers.on_inputs(uow_of(store), [self_evaluated("b1", 85), superior("b1", 85)])
    store.computed("initial", {"b1": None})
    uow = uow_of(store)
    await handlers.on_inputs(uow, [appraised("b1", 85)])
    (sent,) = uow.events
    assert isinstance(sent, GradingBranchGradedEvent)
    assert sent.id == result_event_id(CAMPAIGN, "initial", "b1", revision=":supplementary")
    assert (sent.data.level, sent.data.total, sent.data.supplementary) == (
        "fairly_strong",
        85.0,
        True,
    )
    assert [(r.rule, r.level, r.missing) for r in sent.data.rules or []] == [
        ("supplementary", "fairly_strong", None)
    ]
    assert store.results[(CAMPAIGN, "initial", "b1")]["level"] == "fairly_strong"


async def test_the_superior_alone_determines_an_incomplete_branch_with_its_reason() -> None:
    store = FakeStore()
    await registered(store, "b1")
    store.computed("initial", {"b1": None})
    uow = uow_of(store)
    rating = superior(
        "b1", 70, override_level="average", override_reason="自评材料无法补交，上级核定"
    )
    await handlers.on_inputs(uow, [rating])
    (sent,) = uow.events
    assert isinstance(sent, GradingBranchGradedEvent)
    assert (sent.data.level, sent.data.basis, sent.data.total) == ("average", "override", 70.0)
    assert [(r.rule, r.reason, r.missing) for r in sent.data.rules or []] == [
        ("override", "自评材料无法补交，上级核定", None),
        ("supplementary", None, ["self", "appraisal"]),
    ]


async def test_a_superior_rating_without_an_override_waits_for_the_missing_inputs() -> None:
    store = FakeStore()
    await registered(store, "b1")
    store.computed("initial", {"b1": None})
    uow = uow_of(store)
    await handlers.on_inputs(uow, [superior("b1", 90)])
    assert (uow.events, store.late, len(store.inputs)) == ([], [], 1)
    assert store.results[(CAMPAIGN, "initial", "b1")]["level"] is None


async def test_an_initial_input_after_the_final_round_is_computed_is_late() -> None:
    store = FakeStore()
    await registered(store, "b1")
    store.computed("initial", {"b1": None})
    store.computed("final", {"b1": "average"})
    uow = uow_of(store)
    await handlers.on_inputs(
        uow, [superior("b1", 70, override_level="average", override_reason="补评")]
    )
    assert (uow.events, len(store.late)) == ([], 1)


@pytest.mark.parametrize(("strong_already", "level"), [(2, "strong"), (3, "fairly_strong")])
async def test_the_strong_quota_counts_a_supplementary_branch(
    strong_already: int, level: str
) -> None:
    store = FakeStore()
    store.rules[CAMPAIGN] = {"strong_quota": 0.3}
    await registered(store, "b1")
    # Nine graded, then b1: 0.3 × 10 = 3 seats.
    others = {f"o{i}": "strong" if i < strong_already else "average" for i in range(9)}
    store.computed("initial", {**others, "b1": None})
    await handlers.on_inputs(uow_of(store), [self_evaluated("b1", 95), superior("b1", 95)])
    uow = uow_of(store)
    await handlers.on_inputs(uow, [appraised("b1", 95)])
    (sent,) = uow.events
    assert isinstance(sent, GradingBranchGradedEvent)
    assert (sent.data.level, bool(sent.data.quota_limited)) == (level, level != "strong")


async def test_a_correction_is_refused_until_the_round_is_published_then_regrades() -> None:
    store = FakeStore()
    correction = event(GradingResultCorrectedEvent, "grading.result_corrected", branch_id="b1")
    with pytest.raises(Rejected, match="not published yet"):
        await handlers.on_result_corrected(uow_of(store), correction)
    store.computed("initial", {"b1": "fairly_strong"})
    uow = uow_of(store)
    await handlers.on_result_corrected(uow, correction)
    (sent,) = uow.events
    assert isinstance(sent, GradingBranchGradedEvent)
    assert (sent.data.level, sent.data.corrected, sent.data.override_reason) == (
        "average",
        True,
        "复核发现自评材料不实",
    )


async def test_closing_the_survey_starts_the_initial_round_once() -> None:
    store = FakeStore()
    closing = event(CampaignPhaseClosedEvent, "campaign.phase_closed", phase="survey_grading")
    await handlers.on_phase_closed(uow_of(store), closing)
    await handlers.on_phase_closed(uow_of(store), closing)
    assert store.rounds == {(CAMPAIGN, "initial"): "closing"}


async def test_launches_and_settlements_are_kept() -> None:
    store = FakeStore()
    await handlers.on_campaign_launched(
        uow_of(store), event(CampaignLaunchedEvent, "campaign.launched")
    )
    settled = event(
        RectificationBranchSettledEvent, "rectification.branch_settled", completion_rate=0.75
    )
    await handlers.on_branches_settled(uow_of(store), [settled])
    assert CAMPAIGN in store.rules
    assert store.settlements == {(CAMPAIGN, settled.data.branch_id): Decimal("0.75")}


async def test_correcting_an_incomplete_branch_says_how_to_grade_it() -> None:
    store = FakeStore()
    store.computed("initial", {"b1": None})
    correction = event(GradingResultCorrectedEvent, "grading.result_corrected", branch_id="b1")
    with pytest.raises(Rejected, match="supplementary determination"):
        await handlers.on_result_corrected(uow_of(store), correction)
