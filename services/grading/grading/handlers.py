"""One handler per consumed event type, typed by the event it takes: load → decide → save +
emit. The table at the end is what the service consumes; all SQL is in `store`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from prometheus_client import Counter

from grading.domain import CRITERIA, ROUND_OF_PHASE, Rules, grade_supplementary
from grading.results import graded, result_event_id
from grading.store import AssessmentRow, GradingStore, InputRow, LateInputRow, SettlementRow
from grassroots.contract.common import Round, Scores
from grassroots.contract.events import (
    AssessmentCommitteeAssessedEvent,
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
from grassroots.contract.grading import Appraised, Basis, BranchGraded, SuperiorRated
from grassroots.plumbing.handling import HandlerTable, Rejected, batch, each
from grassroots.plumbing.store import OrganisationRow
from grassroots.plumbing.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

Uow = UnitOfWork[GradingStore]
InputEvent = GradingSelfEvaluatedEvent | GradingAppraisedEvent | GradingSuperiorRatedEvent

LATE_INPUTS = Counter(
    "grassroots_grading_late_inputs_total",
    "Grading inputs that arrived after their round was computed (kept, not applied).",
    ["type"],
)
SUPPLEMENTARY = Counter(
    "grassroots_grading_supplementary_total",
    "Branches graded by supplementary determination (补充定级) after their round was computed.",
    ["round"],
)


async def on_campaign_launched(uow: Uow, event: CampaignLaunchedEvent) -> None:
    rules = event.data.rules
    await uow.store.save_campaign(
        campaign_id=event.data.campaign_id,
        county_code=event.countycode,
        name=event.data.name,
        rules=rules.model_dump(mode="json", by_alias=True, exclude_none=True) if rules else None,
        launched_at=event.time,
    )


async def on_branches_registered(uow: Uow, events: Sequence[OrgBranchRegisteredEvent]) -> None:
    await uow.store.save_branches(OrganisationRow.latest(events))


async def on_phase_closed(uow: Uow, event: CampaignPhaseClosedEvent) -> None:
    """Closing survey_grading or assessment starts computing its round, behind the barrier;
    closing rectification means settlements are coming, which the final round waits for."""
    if event.data.phase.value == "rectification":
        await uow.store.note_rectification_closed(event.data.campaign_id, event.time)
        return
    round_ = ROUND_OF_PHASE.get(event.data.phase.value)
    if round_ is None:
        return
    previous = await uow.store.close_round(
        campaign_id=event.data.campaign_id,
        round_=round_,
        county_code=event.countycode,
        close_event_id=event.id,
        closed_at=event.time,
    )
    if previous != "open":
        log.info(
            "%s %s round already %s; close %s changes nothing",
            event.data.campaign_id,
            round_,
            previous,
            event.id,
        )


INPUT_SOURCES = {
    GradingSelfEvaluatedEvent.event_type: "self",
    GradingAppraisedEvent.event_type: "appraisal",
    GradingSuperiorRatedEvent.event_type: "superior",
}


def _input_row(event: InputEvent) -> InputRow:
    data = event.data
    superior = data if isinstance(data, SuperiorRated) else None
    return InputRow(
        event.campaign,
        data.round.value,
        data.branch_id,
        INPUT_SOURCES[event.type],
        **{c: getattr(data.scores, c) for c in CRITERIA},
        raters=data.raters if isinstance(data, Appraised) else None,
        rater_org_id=superior.rater_org_id if superior else None,
        override_level=superior.override_level.value
        if superior and superior.override_level
        else None,
        override_reason=superior.override_reason if superior else None,
        veto_reason=superior.veto_reason if superior else None,
        event_id=event.id,
        event_time=event.time,
    )


async def on_inputs(uow: Uow, events: Sequence[InputEvent]) -> None:
    """Self-evaluations, appraisals and superior ratings: each the current input of its kind
    until its round is computed. After that, an input about a branch that was incomplete in
    the round is applied and the branch graded as soon as it can be (补充定级) — the initial
    round until the final one is computed; any other is kept as late, never applied."""
    rounds = {(e.campaign, e.data.round.value) for e in events}
    statuses = await uow.store.lock_rounds_for_inputs(
        [*rounds, *((campaign, "final") for campaign, _ in rounds)]
    )
    open_to_supplement = {
        key
        for key, status in statuses.items()
        if status == "computed" and (key[1] == "final" or statuses[(key[0], "final")] != "computed")
    }
    incomplete = await uow.store.lock_incomplete(
        [
            (e.campaign, e.data.round.value, e.data.branch_id)
            for e in events
            if (e.campaign, e.data.round.value) in open_to_supplement
        ]
    )
    current: dict[tuple[str, str, str, str], InputRow] = {}
    late: list[LateInputRow] = []
    supplement: dict[tuple[str, str, str], str] = {}  # → county
    for event in events:
        data = event.data
        key = (event.campaign, data.round.value, data.branch_id)
        if statuses[key[:2]] != "computed" or key in incomplete:
            row = _input_row(event)
            current[row.key] = row  # a later input of the same kind replaces an earlier one
            if key in incomplete:
                supplement[key] = event.countycode
            continue
        LATE_INPUTS.labels(event.type).inc()
        log.warning("late %s for %s %s %s: recorded, not applied", event.type, *key)
        late.append(LateInputRow(*key, event.type, event.id, data.model_dump(mode="json")))
    if current:
        await uow.store.save_inputs(list(current.values()))
    if late:
        await uow.store.save_late_inputs(late)
    for key, county in sorted(supplement.items()):
        await _supplementary(uow, *key, county=county)


async def _supplementary(
    uow: Uow, campaign_id: str, round_: str, branch_id: str, *, county: str
) -> None:
    """补充定级: grade a branch incomplete in its computed round, when its inputs allow."""
    branch = await uow.store.load_branch(campaign_id, round_, county, branch_id)
    if branch is None:
        return
    graded_count, strong = await uow.store.level_counts(campaign_id, round_)
    rules = Rules.from_campaign(await uow.store.get_campaign_rules(campaign_id))
    grade = grade_supplementary(
        rules, branch, final=round_ == "final", graded=graded_count, strong=strong
    )
    if grade is None:
        return  # still incomplete: its notice stands, the next input tries again
    event_id = result_event_id(campaign_id, round_, branch_id, revision=":supplementary")
    await uow.store.save_supplementary(campaign_id, round_, grade, event_id=event_id)
    uow.emit(
        GradingBranchGradedEvent,
        graded(grade, round_),
        countycode=county,
        campaignid=campaign_id,
        event_id=event_id,
    )
    SUPPLEMENTARY.labels(round_).inc()
    log.info(
        "%s %s %s graded %s by supplementary determination",
        campaign_id,
        round_,
        branch_id,
        grade.level,
    )


async def on_committee_assessed(
    uow: Uow, events: Sequence[AssessmentCommitteeAssessedEvent]
) -> None:
    """The committee's assessment (局党委评估), which the final round weighs when the campaign
    sets `assessment_weight`: the latest per branch counts (the store decides which). Like the
    other inputs, once the final round is computed it is kept as late and changes nothing —
    unless the branch was incomplete in it, where its supplementary determination will weigh
    it. Branches not registered are not refused here: the round reports them."""
    campaigns = sorted({e.campaign for e in events})
    statuses = await uow.store.lock_rounds_for_inputs([(c, "final") for c in campaigns])
    computed = {c for c in campaigns if statuses[(c, "final")] == "computed"}
    incomplete = await uow.store.lock_incomplete(
        [(e.campaign, "final", e.data.branch_id) for e in events if e.campaign in computed]
    )
    current: list[AssessmentRow] = []
    late: list[LateInputRow] = []
    for event in events:
        data = event.data
        key = (event.campaign, "final", data.branch_id)
        if event.campaign not in computed or key in incomplete:
            level = data.level.value if data.level else None
            score = Decimal(str(data.score))
            row = AssessmentRow(
                event.campaign, data.branch_id, score, level, data.comment, event.id, event.time
            )
            current.append(row)
            continue
        LATE_INPUTS.labels(event.type).inc()
        log.warning("late %s for %s %s %s: recorded, not applied", event.type, *key)
        late.append(LateInputRow(*key, event.type, event.id, data.model_dump(mode="json")))
    await uow.store.save_assessments(current)
    if late:
        await uow.store.save_late_inputs(late)


async def on_result_corrected(uow: Uow, event: GradingResultCorrectedEvent) -> None:
    """A published level corrected by the superior: a new branch_graded, basis override."""
    data = event.data
    campaign_id = event.campaign
    if await uow.store.lock_round_for_input(campaign_id, data.round.value) != "computed":
        raise Rejected(
            f"the {data.round.value} round of {campaign_id} is not published yet: "
            "send grading.superior_rated with override_level instead"
        )
    published = await uow.store.get_result(campaign_id, data.round.value, data.branch_id)
    if published is None or published["level"] is None:
        raise Rejected(
            f"{data.branch_id} has no published {data.round.value} level to correct: an "
            "incomplete branch is graded by supplementary determination — send its missing "
            "inputs, or grading.superior_rated with override_level and override_reason"
        )
    event_id = result_event_id(
        campaign_id, data.round.value, data.branch_id, revision=f":correction:{event.id}"
    )
    await uow.store.correct_result(
        campaign_id, data.round.value, data.branch_id, level=data.level.value, event_id=event_id
    )
    uow.emit(
        GradingBranchGradedEvent,
        BranchGraded(
            branch_id=data.branch_id,
            round=Round(data.round.value),
            level=data.level,
            total=float(published["total"]),
            scores=Scores(**published["scores"]),
            basis=Basis.OVERRIDE,
            override_reason=data.reason,
            corrected=True,
            computed_level=published["level"],
        ),
        countycode=event.countycode,
        campaignid=campaign_id,
        event_id=event_id,
    )


async def on_branches_settled(uow: Uow, events: Sequence[RectificationBranchSettledEvent]) -> None:
    await uow.store.save_settlements(
        [
            SettlementRow(e.campaign, e.data.branch_id, Decimal(str(e.data.completion_rate)))
            for e in events
        ]
    )


HANDLERS: HandlerTable[GradingStore] = HandlerTable(
    each(CampaignLaunchedEvent, on_campaign_launched),
    each(CampaignPhaseClosedEvent, on_phase_closed),
    batch(OrgBranchRegisteredEvent, on_branches_registered),
    batch(GradingSelfEvaluatedEvent, on_inputs),
    batch(GradingAppraisedEvent, on_inputs),
    batch(GradingSuperiorRatedEvent, on_inputs),
    each(GradingResultCorrectedEvent, on_result_corrected),
    batch(RectificationBranchSettledEvent, on_branches_settled),
    batch(AssessmentCommitteeAssessedEvent, on_committee_assessed),
)
