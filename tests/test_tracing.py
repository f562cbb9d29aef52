"""One trace follows a county's input through the platform: the county system's span, grading's
handling of its `grading.superior_rated` (补充定级 of a branch incomplete in its round), the
`grading.branch_graded` it emits — carrying the trace context as an envelope attribute and as
the Kafka header `traceparent` — the outbox relay that publishes it, and reporting's update of
the branch's card. The services' own code runs in this process (their batch appliers, the
round computation, the relay) against scratch schemas of the real PostgreSQL, with spans kept
by OpenTelemetry's in-memory exporter."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from grading.app import DEFINITION as GRADING
from grading.rounds import compute_round
from grassroots.contract.examples import envelope
from grassroots.plumbing import tracing
from grassroots.plumbing.consumer import BatchApplier
from grassroots.plumbing.outbox import OutboxRelay
from grassroots.plumbing.service import Runtime, ServiceDefinition
from grassroots.plumbing.unit_of_work import open_unit_of_work
from grassroots.testing import as_records, scratch_schemas
from reporting.app import DEFINITION as REPORTING

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2012, 4, 20, tzinfo=dt.UTC)
CAMPAIGN, BRANCH = "pucheng-edu-2012", "610526-edu-0007"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.install(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        tracing.shutdown()


@pytest.fixture
async def schemas() -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    grading_migrations = REPO / "services" / "grading" / "migrations"
    reporting_migrations = REPO / "services" / "reporting" / "migrations"
    async with (
        scratch_schemas("grading_trace", grading_migrations, 1) as (graded,),
        scratch_schemas("reporting_trace", reporting_migrations, 1) as (read,),
    ):
        yield graded, read


def runtime(definition: ServiceDefinition[Any], pool: asyncpg.Pool) -> Runtime[Any]:
    """The service's runtime as far as applying a batch needs it (no broker, no relay task)."""
    given: dict[str, Any] = {
        "definition": definition,
        "pool": pool,
        "relay": SimpleNamespace(wake=lambda: None),
        "applier": BatchApplier(service=definition.name, handlers=definition.handlers),
        "clock": lambda: NOW,
    }
    needed = [
        f.name
        for f in dataclasses.fields(Runtime)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    arguments: dict[str, Any] = {name: given.get(name) for name in needed}
    return Runtime(**arguments)


def records_of(rows: Sequence[asyncpg.Record]) -> list[ConsumerRecord[bytes, bytes]]:
    """Outbox rows as the consumer would receive them, headers included."""
    return [
        ConsumerRecord(
            row["topic"],
            0,
            offset,
            0,
            0,
            row["key"],
            row["value"],
            None,
            0,
            len(row["value"]),
            list(zip(row["header_names"], row["header_values"], strict=True)),
        )
        for offset, row in enumerate(rows)
    ]


class Producer:
    """Takes what the relay sends (the broker is not what this test is about)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def send(self, topic: str, **record: Any) -> asyncio.Future[None]:
        self.sent.append({"topic": topic, **record})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def ids(context: Any) -> tuple[str, str]:
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def one(found: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    (span,) = [s for s in found if s.name == name]
    return span


async def test_one_trace_from_a_county_input_to_the_read_model(
    spans: InMemorySpanExporter, schemas: tuple[asyncpg.Pool, asyncpg.Pool]
) -> None:
    graded, read = schemas
    grading = runtime(GRADING, graded)
    reporting = runtime(REPORTING, read)
    setup = [
        envelope("campaign.launched", time=NOW),
        envelope("org.branch_registered", time=NOW),
    ]
    await grading.apply(as_records([*setup, envelope("campaign.phase_closed", time=NOW)]))
    async with open_unit_of_work(
        graded, grading.definition.store, service="grading", now=NOW
    ) as uow:
        await compute_round(uow, (CAMPAIGN, "initial"))  # the branch is incomplete: no inputs
    await reporting.apply(as_records(setup))
    spans.clear()

    # The county system publishes the superior's determination inside its own trace.
    with tracing.span("county office publish") as county:
        carrier = tracing.current_carrier()
    rating = envelope(
        "grading.superior_rated",
        {
            "branch_id": BRANCH,
            "round": "initial",
            "rater_org_id": "610526-edu-committee",
            "scores": dict.fromkeys(
                ["leadership", "membership", "mechanism", "performance", "reputation"], 70
            ),
            "override_level": "average",
            "override_reason": "自评材料无法补交，上级核定",
        },
        time=NOW,
    )
    await grading.apply(as_records([{**rating, **carrier}]))

    county_trace, county_span = ids(county.get_span_context())
    handled = one(spans.get_finished_spans(), "grading process grading.superior_rated")
    assert ids(handled.context)[0] == county_trace
    assert handled.parent is not None and ids(handled.parent)[1] == county_span
    batch = one(spans.get_finished_spans(), "grading batch")
    assert handled.links and handled.links[0].context.span_id == batch.context.span_id

    # What grading emitted carries the context of that handling, in the envelope and a header.
    async with graded.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, topic, key, value, header_names, header_values FROM outbox"
            " WHERE topic = 'grading.results' ORDER BY id"
        )
    graded_rows = [r for r in rows if json.loads(r["value"])["type"] == "grading.branch_graded"]
    (row,) = [r for r in graded_rows if json.loads(r["value"])["subject"] == BRANCH]
    sent = json.loads(row["value"])
    expected = sent["traceparent"]
    assert expected.startswith(f"00-{county_trace}-{ids(handled.context)[1]}-")
    assert dict(zip(row["header_names"], row["header_values"], strict=True))["traceparent"] == (
        expected.encode()
    )

    # The relay publishes it within a span linked to that trace.
    producer = Producer()
    relay = OutboxRelay(
        graded, producer, service="grading", batch_size=100, bootstrap_servers="unused:9092"
    )
    relay._uncertain = False  # nothing was sent before: no need to read the topic's tail
    assert await relay.publish_pending() >= 1
    published = one(spans.get_finished_spans(), "grading outbox publish")
    assert county_trace in {ids(link.context)[0] for link in published.links}
    assert any(dict(r["headers"]).get("traceparent") == expected.encode() for r in producer.sent)

    # Reporting continues the same trace as it updates the branch's card.
    await reporting.apply(records_of([row]))
    updated = one(spans.get_finished_spans(), "reporting process grading.branch_graded")
    assert ids(updated.context)[0] == county_trace
    assert updated.parent is not None and ids(updated.parent)[1] == ids(handled.context)[1]
    reporting_batch = one(spans.get_finished_spans(), "reporting batch")
    assert county_trace in {ids(link.context)[0] for link in reporting_batch.links}
    async with read.acquire() as conn:
        level = await conn.fetchval(
            "SELECT initial_level FROM cards WHERE campaign_id = $1 AND branch_id = $2",
            CAMPAIGN,
            BRANCH,
        )
    assert level == "average"

    # One trace: the county's span, grading's handling, reporting's update.
    in_trace = {s.name for s in spans.get_finished_spans() if ids(s.context)[0] == county_trace}
    assert {
        "county office publish",
        "grading process grading.superior_rated",
        "reporting process grading.branch_graded",
    } <= in_trace
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_spans_are_exported_only_when_the_otel_variables_ask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    assert not tracing.exporting()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.exporting()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not tracing.exporting()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.exporting()
