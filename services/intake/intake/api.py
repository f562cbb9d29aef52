"""`POST /v1/events`: CloudEvents over HTTP from county systems, validated as the consumers
validate, produced (acks=all, idempotent producer) before the answer.

The checks, in order, each answering for the whole request: credential (401), rate (429 with
Retry-After), body size (413), the binding (400, 415), then each event against the contract;
an event of another county makes the request 403 and nothing is published; with `atomic=true`
one refused event makes it 422 and nothing is published. Otherwise the accepted events are
produced and the answer is 202 with a result per event (index, id, accepted or refused with
the code and reason of the dead-letter topic); 400 when not one event was accepted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from functools import cache
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter
from pydantic_core import from_json, to_json

from grassroots.contract import (
    INPUT_TOPICS,
    AnyEvent,
    ContractViolation,
    RejectionCode,
    kafka_record,
    parse_event,
)
from grassroots.plumbing import logs, tracing
from intake import binding
from intake.config import IntakeSettings
from intake.credentials import Credential, bearer, secret_hash
from intake.limits_per_credential import CredentialLimits
from intake.store import IntakeStore

router = APIRouter()

EVENTS = Counter(
    "grassroots_intake_events_total",
    "Events received over HTTP, by outcome (accepted, refused, forbidden) and mode.",
    ["outcome", "mode"],
)
REQUESTS = Counter(
    "grassroots_intake_requests_total", "Requests to POST /v1/events by status.", ["status"]
)
BROKER_RETRY_SECONDS = 5
PARTITIONER = DefaultPartitioner()  # the producer's own: murmur2 of the key


@cache
def settings() -> IntakeSettings:
    return IntakeSettings()


@cache
def rate_limits() -> CredentialLimits:
    return CredentialLimits(settings().default_rate)


@dataclass(frozen=True)
class EventResult:
    index: int
    id: str | None
    status: str  # accepted | refused | not_published (the request was refused as a whole)
    code: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status}
        if self.code is not None:
            found["code"] = self.code
        if self.reason is not None:
            found["reason"] = self.reason
        return found


def _answer(status: int, results: list[EventResult], detail: str | None = None) -> Response:
    """The per-event answer; when the request as a whole was refused (403, 422), the events
    that were valid are `not_published`."""
    REQUESTS.labels(str(status)).inc()
    if status != 202:
        results = [
            replace(result, status="not_published", reason=detail)
            if result.status == "accepted"
            else result
            for result in results
        ]
    accepted = sum(result.status == "accepted" for result in results)
    body: dict[str, Any] = {} if detail is None else {"detail": detail}
    body |= {
        "accepted": accepted,
        "refused": sum(result.status == "refused" for result in results),
        "results": [result.as_json() for result in results],
    }
    # A batch's answer has a result per event: pydantic-core writes it several times faster
    # than the standard library.
    return Response(to_json(body), status_code=status, media_type="application/json")


def _problem(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    REQUESTS.labels(str(status)).inc()
    return JSONResponse({"detail": reason}, status_code=status, headers=headers)


def _id_of(raw: bytes) -> str | None:
    """The id a refused event was sent with, to name it in the answer."""
    try:
        value = from_json(raw)
    except ValueError:  # broken, or nested deeper than the parser's limit
        return None
    event_id = value.get("id") if isinstance(value, dict) else None
    return event_id[:200] if isinstance(event_id, str) else None


async def _credential(request: Request) -> Credential | None:
    secret = bearer(request.headers.get("authorization"))
    if secret is None:
        return None
    runtime = request.app.state.runtime
    async with runtime.pool.acquire() as conn:
        credential = await IntakeStore(conn).find(
            secret_hash(secret, settings().token_pepper.get_secret_value())
        )
    if credential is not None:
        logs.name_caller(request, credential.label)  # the audit line names the county system
    return credential


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _check(raw: bytes) -> AnyEvent | ContractViolation:
    try:
        event = parse_event(raw)
    except ContractViolation as violation:
        return violation
    if event.topic not in INPUT_TOPICS:
        return ContractViolation(
            RejectionCode.WRONG_TOPIC,
            f"{event.type} is published by the platform ({event.topic}); county systems "
            f"publish to {', '.join(INPUT_TOPICS)}",
        )
    return event


@router.post("/v1/events", status_code=202, summary="Publish CloudEvents (HTTP binding)")
async def post_events(
    request: Request,
    atomic: Annotated[
        bool, Query(description="All or nothing: one refused event and none is published.")
    ] = False,
) -> Response:
    credential = await _credential(request)
    if credential is None:
        REQUESTS.labels("401").inc()
        return JSONResponse(
            {"detail": "a valid intake credential is required (Authorization: Bearer gi_…)"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="grassroots-intake"'},
        )
    wait = await rate_limits().retry_after(credential)
    if wait is not None:
        return _problem(
            429,
            f"more requests than this credential's rate allows; retry in {wait} s",
            {"Retry-After": str(wait)},
        )
    config = settings()
    body = await _body(request, config.max_body_bytes)
    if body is None:
        return _problem(413, f"the body exceeds {config.max_body_bytes} bytes")
    headers = {name: request.headers.getlist(name) for name in request.headers}
    try:
        received = binding.read(request.headers.get("content-type"), headers, body)
    except binding.BindingError as error:
        return _problem(error.status, error.reason)
    if len(received.events) > config.max_batch_events:
        return _problem(
            413, f"a batch of {len(received.events)} exceeds {config.max_batch_events} events"
        )
    mode = received.mode.value
    checked = [_check(raw) for raw in received.events]
    results: list[EventResult] = []
    forbidden: list[int] = []
    for index, (raw, outcome) in enumerate(zip(received.events, checked, strict=True)):
        if isinstance(outcome, ContractViolation):
            results.append(
                EventResult(index, _id_of(raw), "refused", outcome.code.value, outcome.reason)
            )
        elif not credential.may_publish_for(outcome.countycode):
            forbidden.append(index)
            results.append(
                EventResult(
                    index,
                    outcome.id,
                    "refused",
                    "forbidden",
                    f"county {outcome.countycode}: this credential publishes for county "
                    f"{credential.county_code} only",
                )
            )
        else:
            results.append(EventResult(index, outcome.id, "accepted"))
    refused = sum(result.status == "refused" for result in results)
    if forbidden:
        EVENTS.labels("forbidden", mode).inc(len(results))
        return _answer(403, results, detail="an event of another county: nothing was published")
    if refused == len(results):
        EVENTS.labels("refused", mode).inc(refused)
        return _answer(400, results, detail="no event was accepted")
    if atomic and refused:
        EVENTS.labels("refused", mode).inc(len(results))
        return _answer(422, results, detail="atomic: an event was refused, none was published")
    accepted = [
        (outcome, raw)
        for raw, outcome in zip(received.events, checked, strict=True)
        if not isinstance(outcome, ContractViolation)
    ]
    try:
        await _produce(request, accepted)
    except KafkaError as error:
        return _problem(
            503,
            f"the broker did not confirm ({type(error).__name__}): nothing is acknowledged; send "
            "the same events again (the same ids are harmless)",
            {"Retry-After": str(BROKER_RETRY_SECONDS)},
        )
    EVENTS.labels("accepted", mode).inc(len(accepted))
    if refused:
        EVENTS.labels("refused", mode).inc(refused)
    return _answer(202, results)


async def _produce(request: Request, events: list[tuple[AnyEvent, bytes]]) -> None:
    """Send every record and wait until the broker acknowledged all of them (acks=all).

    The records are put into one record batch per partition, partitioned by key as the
    producer's `send` would (so one organisation's events stay in order on one partition,
    whichever way they came in): a request's hundreds of events cost one future per batch,
    not one per event."""
    producer = request.app.state.runtime.producer
    request_trace = tracing.current_carrier()  # empty unless traces are exported
    batches: dict[tuple[str, int], Any] = {}
    futures = []
    for event, raw in events:
        if request_trace.get("traceparent") and event.traceparent is None:
            event, raw = _in_trace(event, raw, request_trace)
        record = kafka_record(event, value=raw)
        partitions = sorted(await producer.partitions_for(record.topic))
        where = (record.topic, PARTITIONER(record.key, partitions, partitions))
        batch = batches.get(where)
        for _ in range(2):  # a full batch is sent, and the record goes into a new one
            if batch is None:
                batch = batches[where] = producer.create_batch()
            appended = batch.append(
                key=record.key, value=record.value, timestamp=None, headers=list(record.headers)
            )
            if appended is not None:
                break
            futures.append(await producer.send_batch(batch, where[0], partition=where[1]))
            batch = None
        else:
            raise AssertionError(f"a record of {len(record.value)} bytes fits no batch")
    for (topic, partition), batch in batches.items():
        futures.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*futures)


def _in_trace(event: AnyEvent, raw: bytes, carrier: dict[str, str]) -> tuple[AnyEvent, bytes]:
    """An event sent without trace context continues the request's trace (the distributed
    tracing extension's attributes, which the inbox's content hash leaves out: a retry in
    another trace is still the same event)."""
    context: dict[str, Any] = {
        name: carrier[name] for name in ("traceparent", "tracestate") if name in carrier
    }
    value = from_json(raw)
    value.update(context)
    return event.model_copy(update=context), to_json(value)
