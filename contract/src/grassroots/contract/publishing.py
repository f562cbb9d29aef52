"""Building an event and the Kafka record that carries it — the one place these rules are
written, for county systems and for the platform's own services alike (no Kafka client here:
pass the four parts to whichever producer you use).

    event = new_event(
        GradingSelfEvaluatedEvent,
        SelfEvaluated(branch_id="610526-edu-0007", round="initial", scores=...),
        source="/counties/610526/edu-office",
        countycode="610526",
        campaignid="pucheng-edu-2012",
    )
    topic, key, value, headers = kafka_record(event)
    producer.send(topic, key=key, value=value, headers=list(headers))  # e.g. aiokafka
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import NamedTuple, TypeVar

from pydantic import BaseModel

from grassroots.contract.calendar import COUNTY_TIME
from grassroots.contract.envelope import CONTENT_TYPE, CloudEvent

DataT = TypeVar("DataT", bound=BaseModel)

CONTENT_TYPE_HEADER: tuple[str, bytes] = ("content-type", CONTENT_TYPE.encode())
"""The header every record carries: CloudEvents in structured JSON mode."""


def new_event(
    kind: type[CloudEvent[DataT]],
    data: DataT,
    *,
    source: str,
    countycode: str,
    campaignid: str | None = None,
    event_id: str | None = None,
    time: dt.datetime | None = None,
    traceparent: str | None = None,
    tracestate: str | None = None,
) -> CloudEvent[DataT]:
    """A complete, validated event of class `kind` (e.g. `GradingSelfEvaluatedEvent`).

    `subject` is taken from the data (`kind.subject_field`: branch_id, campaign_id or
    notification_id); `campaignid`, when not given, from `data.campaign_id` if the data has
    one; `id` is a new UUID unless given; `time` is now (county time) unless given. Raises
    pydantic's ValidationError when the result breaks the contract (e.g. a campaign-scoped
    type without a campaign). `traceparent` and `tracestate` (W3C Trace Context) put the event
    into a distributed trace."""
    if campaignid is None:
        campaignid = data.__dict__.get("campaign_id")
    return kind(
        specversion="1.0",
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=kind.event_type,
        time=time or dt.datetime.now(COUNTY_TIME),
        subject=getattr(data, kind.subject_field),
        countycode=countycode,
        campaignid=campaignid,
        datacontenttype="application/json",
        traceparent=traceparent,
        tracestate=tracestate,
        data=data,
    )


class KafkaRecord(NamedTuple):
    """What a producer sends for one event; unpacks as (topic, key, value, headers)."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def kafka_record(event: CloudEvent[BaseModel], value: bytes | None = None) -> KafkaRecord:
    """The record for `event`: its type's topic, key = subject (so one branch's events stay in
    order on one partition), value = the event as JSON (or `value`, the bytes as received, when
    forwarding a validated record unchanged), header content-type application/cloudevents+json
    and, when the event carries them, `traceparent` and `tracestate` (the CloudEvents
    distributed-tracing extension's headers in Kafka)."""
    if not type(event).topic:
        raise TypeError(f"{type(event).__name__} is not an event type of the contract")
    headers = [CONTENT_TYPE_HEADER]
    if event.traceparent is not None:
        headers.append(("traceparent", event.traceparent.encode()))
        if event.tracestate is not None:
            headers.append(("tracestate", event.tracestate.encode()))
    return KafkaRecord(
        topic=type(event).topic,
        key=event.subject.encode(),
        value=event.to_json_bytes() if value is None else value,
        headers=tuple(headers),
    )
