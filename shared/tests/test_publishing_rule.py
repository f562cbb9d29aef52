"""The platform's publishers follow the contract's one rule for events and records
(`grassroots.contract.publishing`): the unit of work's `emit`, the outbox's records and
`grassroots publish`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from grassroots.contract import EVENTS, kafka_record, new_event, parse_event
from grassroots.contract.events import GradingBranchGradedEvent
from grassroots.contract.examples import CAMPAIGN, COUNTY, DATA, envelope
from grassroots.plumbing.outbox import OutgoingRecord
from grassroots.plumbing.unit_of_work import UnitOfWork
from grassroots.publishing import check_lines, publish_events

NOW = dt.datetime(2012, 4, 16, 9, 30, tzinfo=dt.UTC)


def test_emit_builds_the_event_and_its_record_by_the_contract() -> None:
    uow = UnitOfWork(None, service="grading", now=NOW)
    data = EVENTS["grading.branch_graded"].data_model.model_validate(DATA["grading.branch_graded"])
    event = uow.emit(GradingBranchGradedEvent, data, countycode=COUNTY, campaignid=CAMPAIGN)
    expected = new_event(
        GradingBranchGradedEvent,
        data,
        source="/grassroots/grading",
        countycode=COUNTY,
        campaignid=CAMPAIGN,
        event_id=event.id,
        time=NOW,
    )
    assert event == expected
    assert uow.events == [event]
    assert uow.outgoing == [OutgoingRecord(*kafka_record(event))]


def test_an_outgoing_record_is_the_contracts_kafka_record() -> None:
    for event_type in EVENTS:
        event = parse_event(json.dumps(envelope(event_type)).encode())
        record = OutgoingRecord.for_event(event)
        assert (record.topic, record.key, record.value, tuple(record.headers)) == tuple(
            kafka_record(event)
        )


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, topic: str, **record: Any) -> asyncio.Future[None]:
        self.sent.append({"topic": topic, **record})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_publish_sends_the_lines_as_given_with_the_contracts_topic_key_and_header() -> None:
    lines = [
        json.dumps(envelope(event_type), ensure_ascii=False, indent=1).replace("\n", " ").encode()
        for event_type in ("org.branch_registered", "grading.self_evaluated")
    ]
    checked = check_lines(lines)
    producer = FakeProducer()
    assert await publish_events(producer, checked.good) == 2
    assert [sent["value"] for sent in producer.sent] == lines
    assert [(sent["topic"], sent["key"]) for sent in producer.sent] == [
        ("org.branches", b"610526-edu-0007"),
        ("grading.inputs", b"610526-edu-0007"),
    ]
    assert all(
        sent["headers"] == [("content-type", b"application/cloudevents+json")]
        for sent in producer.sent
    )
