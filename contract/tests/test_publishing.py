"""`new_event` and `kafka_record`: building an event and its Kafka record, the rule every
publisher (county systems, the services' outbox, `grassroots publish`) follows."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from grassroots.contract import EVENTS, KafkaRecord, kafka_record, new_event, parse_event
from grassroots.contract.calendar import COUNTY_TIME
from grassroots.contract.campaign import PhaseOpened
from grassroots.contract.common import Phase
from grassroots.contract.envelope import CONTENT_TYPE
from grassroots.contract.events import (
    CampaignPhaseOpenedEvent,
    GradingSelfEvaluatedEvent,
    OrgBranchRegisteredEvent,
)
from grassroots.contract.examples import CAMPAIGN, COUNTY, DATA, OFFICE_SOURCE, envelope

SOURCE = OFFICE_SOURCE


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_new_event_builds_the_example_of_every_type(event_type: str) -> None:
    spec = EVENTS[event_type]
    expected = parse_event(json.dumps(envelope(event_type, event_id="e-1")).encode())
    event = new_event(
        spec.envelope_model,
        spec.data_model.model_validate(DATA[event_type]),
        source=SOURCE,
        countycode=COUNTY,
        campaignid=expected.campaignid,
        event_id="e-1",
        time=expected.time,
    )
    assert event == expected
    assert type(event) is spec.envelope_model


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_kafka_record_of_every_type(event_type: str) -> None:
    event = parse_event(json.dumps(envelope(event_type)).encode())
    topic, key, value, headers = kafka_record(event)
    assert topic == EVENTS[event_type].topic
    assert key == event.subject.encode()
    assert headers == (("content-type", CONTENT_TYPE.encode()),)
    assert parse_event(value, topic=topic) == event


def test_subject_id_and_time_are_filled_in() -> None:
    before = dt.datetime.now(COUNTY_TIME)
    event = new_event(
        GradingSelfEvaluatedEvent,
        EVENTS["grading.self_evaluated"].data_model.model_validate(DATA["grading.self_evaluated"]),
        source=SOURCE,
        countycode=COUNTY,
        campaignid=CAMPAIGN,
    )
    assert event.subject == "610526-edu-0007"
    assert event.type == "grading.self_evaluated"
    assert len(event.id) == 36  # a UUID
    assert before <= event.time <= dt.datetime.now(COUNTY_TIME)
    assert event.time.utcoffset() == dt.timedelta(hours=8)
    assert event.datacontenttype == "application/json"


def test_a_campaign_event_takes_its_campaign_from_its_data() -> None:
    event = new_event(
        CampaignPhaseOpenedEvent,
        PhaseOpened(campaign_id=CAMPAIGN, phase=Phase.SURVEY_GRADING),
        source=SOURCE,
        countycode=COUNTY,
    )
    assert event.subject == CAMPAIGN and event.campaignid == CAMPAIGN


def test_an_org_event_has_no_campaign() -> None:
    event = new_event(
        OrgBranchRegisteredEvent,
        EVENTS["org.branch_registered"].data_model.model_validate(DATA["org.branch_registered"]),
        source=SOURCE,
        countycode=COUNTY,
    )
    assert event.campaignid is None
    assert "campaignid" not in json.loads(kafka_record(event).value)


def test_a_branch_event_without_its_campaign_is_refused() -> None:
    with pytest.raises(ValidationError, match="campaignid is required"):
        new_event(
            GradingSelfEvaluatedEvent,
            EVENTS["grading.self_evaluated"].data_model.model_validate(
                DATA["grading.self_evaluated"]
            ),
            source=SOURCE,
            countycode=COUNTY,
        )


def test_a_record_can_carry_the_bytes_as_received() -> None:
    raw = json.dumps(envelope("grading.appraised"), ensure_ascii=False, indent=1).encode()
    record = kafka_record(parse_event(raw), value=raw)
    assert isinstance(record, KafkaRecord)
    assert record.value == raw
    assert record.topic == "grading.inputs"
