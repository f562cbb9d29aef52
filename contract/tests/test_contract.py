"""The contract's rules, as a county system's engineer would try them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from grassroots.contract import EVENTS, ContractViolation, RejectionCode, parse_event
from grassroots.contract.events import OrgBranchRegisteredEvent
from grassroots.contract.examples import DATA, SCORES, envelope


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def rejection(event: dict[str, Any] | bytes, topic: str | None = None) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        parse_event(event if isinstance(event, bytes) else raw(event), topic=topic)
    return caught.value


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_event_type_has_a_valid_example_on_its_topic(event_type: str) -> None:
    event = parse_event(raw(envelope(event_type)), topic=EVENTS[event_type].topic)
    assert event.type == event_type


def test_every_type_of_the_contract_table_is_registered() -> None:
    assert set(EVENTS) == set(DATA)
    # the 24 of the baseline, grading.result_corrected, and the six of the problem life cycle
    assert len(EVENTS) == 47


def test_a_record_that_is_not_json_is_refused_as_invalid_json() -> None:
    assert rejection(b"{not json").code is RejectionCode.INVALID_JSON
    assert rejection(b"\xff\xfe\x00").code is RejectionCode.INVALID_JSON


def test_an_unknown_type_is_named_in_the_reason() -> None:
    problem = rejection({**envelope("grading.appraised"), "type": "grading.guessed"})
    assert problem.code is RejectionCode.UNKNOWN_TYPE
    assert "grading.guessed" in problem.reason


def test_a_score_above_100_names_the_criterion() -> None:
    data = {**DATA["grading.self_evaluated"], "scores": {**SCORES, "reputation": 100.5}}
    problem = rejection(envelope("grading.self_evaluated", data))
    assert problem.code is RejectionCode.INVALID_DATA
    assert "data.scores.reputation" in problem.reason


def test_a_missing_criterion_is_refused() -> None:
    scores = {k: v for k, v in SCORES.items() if k != "mechanism"}
    data = {**DATA["grading.self_evaluated"], "scores": scores}
    assert "data.scores.mechanism" in rejection(envelope("grading.self_evaluated", data)).reason


def test_an_override_without_a_reason_is_refused_and_with_one_accepted() -> None:
    data = {**DATA["grading.superior_rated"], "override_level": "strong"}
    assert (
        "override_reason is required" in rejection(envelope("grading.superior_rated", data)).reason
    )
    parse_event(raw(envelope("grading.superior_rated", {**data, "override_reason": "实地核查"})))


def test_a_returned_commitment_needs_guidance() -> None:
    data = {**DATA["rectification.commitment_reviewed"]}
    del data["guidance"]
    assert (
        "guidance is required"
        in rejection(envelope("rectification.commitment_reviewed", data)).reason
    )


def test_a_task_without_one_of_the_four_clears_names_the_task_and_field() -> None:
    data = json.loads(json.dumps(DATA["rectification.commitment_published"]))
    del data["tasks"][0]["measures"]
    reason = rejection(envelope("rectification.commitment_published", data)).reason
    assert "data.tasks.0 (task t-1).measures: Field required" in reason


def test_time_without_an_offset_is_refused() -> None:
    event = {**envelope("grading.appraised"), "time": "2012-03-20T08:00:00"}
    assert rejection(event).reason == "time: Input should have timezone info"


def test_campaign_events_need_campaignid_but_registrations_do_not() -> None:
    event = envelope("grading.appraised")
    del event["campaignid"]
    assert "campaignid is required" in rejection(event).reason
    assert "campaignid" not in envelope("org.branch_registered")
    parse_event(raw(envelope("org.branch_registered")))


def test_the_subject_must_be_the_branch_of_the_data() -> None:
    event = {**envelope("grading.appraised"), "subject": "610526-edu-9999"}
    assert "must equal data.branch_id" in rejection(event).reason


def test_the_county_code_has_six_digits() -> None:
    assert (
        "countycode" in rejection({**envelope("grading.appraised"), "countycode": "61052"}).reason
    )


@pytest.mark.parametrize("address", ["wang", "wang@school", "wang@@school.cn", "wang li@school.cn"])
def test_a_secretary_email_that_is_no_address_is_refused_with_why(address: str) -> None:
    data = DATA["org.branch_registered"]
    event = envelope(
        "org.branch_registered", {**data, "secretary": {"name": "王", "email": address}}
    )
    reason = rejection(event).reason
    assert "data.secretary.email" in reason
    assert "needs one @ and a domain" in reason
    accepted = {**data, "secretary": {"name": "王", "email": "wang.li@school.pucheng.cn"}}
    accepted_event = parse_event(raw(envelope("org.branch_registered", accepted)))
    assert isinstance(accepted_event, OrgBranchRegisteredEvent)
    assert accepted_event.data.secretary.email


def test_unknown_fields_in_data_are_refused() -> None:
    data = {**DATA["grading.appraised"], "ratres": 3}
    assert (
        "data.ratres: Extra inputs are not permitted"
        in rejection(envelope("grading.appraised", data)).reason
    )


def test_an_event_on_the_wrong_topic_is_refused() -> None:
    problem = rejection(envelope("grading.appraised"), topic="org.branches")
    assert problem.code is RejectionCode.WRONG_TOPIC


def test_weights_must_sum_to_one_and_thresholds_descend() -> None:
    launched = DATA["campaign.launched"]
    bad_weights = {
        **launched,
        "rules": {"weights": {"self": 0.5, "appraisal": 0.3, "superior": 0.5}},
    }
    assert "weights must sum to 1" in rejection(envelope("campaign.launched", bad_weights)).reason
    bad_thresholds = {
        **launched,
        "rules": {"thresholds": {"strong": 80, "fairly_strong": 90, "average": 60}},
    }
    assert (
        "thresholds must descend" in rejection(envelope("campaign.launched", bad_thresholds)).reason
    )


def test_phases_must_be_in_plan_order_without_overlap() -> None:
    phases = DATA["campaign.launched"]["phases"]
    swapped = {**DATA["campaign.launched"], "phases": [phases[1], phases[0]]}
    assert "plan order" in rejection(envelope("campaign.launched", swapped)).reason


def test_a_record_larger_than_the_limit_is_refused_before_parsing() -> None:
    assert rejection(b" " * 300_000).code is RejectionCode.TOO_LARGE


@pytest.mark.parametrize(
    ("answer", "missing"),
    [("accepted", "action and due"), ("resolved", "evidence"), ("cannot_resolve", "reason")],
)
def test_an_escalation_answer_carries_what_it_needs(answer: str, missing: str) -> None:
    data = {
        "branch_id": "610526-edu-0007",
        "problem_id": "p-1",
        "answered_by_org_id": "610526-edu-committee",
        "answer": answer,
    }
    problem = rejection(envelope("rectification.escalation_answered", data))
    assert problem.code is RejectionCode.INVALID_DATA
    assert f"{missing} required when the answer is {answer}" in problem.reason


def test_deferring_a_problem_without_a_reason_is_refused() -> None:
    data = {"branch_id": "610526-edu-0007", "problem_id": "p-2"}
    problem = rejection(envelope("rectification.problem_deferred", data))
    assert (problem.code, problem.reason) == (
        RejectionCode.INVALID_DATA,
        "data.reason: Field required",
    )
