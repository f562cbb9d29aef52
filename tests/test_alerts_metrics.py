"""The metrics the alerts and the dashboard read, as an operator sees them on /metrics.

Consumer lag on the real broker (a group of this test's own, records it has not applied);
HTTP requests counted by route template and status; the dead-letter and notification-failure
counters exported at 0 before anything fails, so an alert sees their first step.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata
from fastapi import FastAPI, HTTPException
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from grassroots.plumbing import database, metrics
from grassroots.plumbing.http_metrics import RequestMetrics
from grassroots.plumbing.kafka import ensure_topics, make_consumer, make_producer
from grassroots.plumbing.lag import LagMeter
from grassroots.plumbing.offsets import OffsetsProbe
from grassroots.plumbing.outbox import OutboxRelay, OutgoingRecord, append
from tests.harness import bootstrap, eventually

# A topic of this test's own (no service reads it), created on first use.
TOPIC = "alerts-test.lag"


def exported() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What /metrics shows: {(series name, labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(generate_latest(REGISTRY).decode())
        for sample in family.samples
    }


def value(name: str, **labels: str) -> float | None:
    return exported().get((name, frozenset(labels.items())))


async def commit_at_end(group: str) -> dict[TopicPartition, int]:
    """Make `group` committed at the end of TOPIC: nothing waiting for it yet."""
    await ensure_topics(bootstrap(), [TOPIC], partitions=3)
    consumer = make_consumer(bootstrap(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:

        async def known() -> set[int] | None:  # a topic just created is known soon after
            cluster = await consumer._client.fetch_all_metadata()
            found: set[int] | None = cluster.partitions_for_topic(TOPIC)
            return found

        partitions = [TopicPartition(TOPIC, p) for p in sorted(await eventually(known, within=10))]
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
        return ends
    finally:
        await consumer.stop()


async def test_consumer_lag_counts_the_records_a_group_has_not_applied_and_their_age() -> None:
    group = "alerts-test-lag"  # committed at the end first: the same start every run
    ends = await commit_at_end(group)
    # Written a minute ago, as far as their Kafka timestamps say.
    written = time.time() - 60
    producer = make_producer(bootstrap(), client_id="alerts-test")
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(
                TOPIC, value=b"{}", key=f"k{i}".encode(), timestamp_ms=int(written * 1000)
            )
    finally:
        await producer.stop()
    meter = LagMeter(bootstrap(), group=group, topics=[TOPIC])
    probe = OffsetsProbe(bootstrap(), group_id=group)
    reader = make_consumer(bootstrap(), enable_auto_commit=False)
    await probe.start()
    await reader.start()
    try:
        await meter.measure(probe, reader)
    finally:
        await probe.stop()
        await reader.stop()
    waiting = {
        tp.partition: value(
            "grassroots_consumer_lag_records",
            group=group,
            topic=TOPIC,
            partition=str(tp.partition),
        )
        for tp in ends
    }
    assert sum(v or 0 for v in waiting.values()) == 5
    assert None not in waiting.values()  # every partition shown, the caught-up ones at 0
    for partition, records in waiting.items():
        age = value(
            "grassroots_consumer_lag_seconds", group=group, topic=TOPIC, partition=str(partition)
        )
        assert age is not None
        if records:
            assert 60 <= age <= time.time() - written + 1
        else:
            assert age == 0


async def test_http_requests_are_counted_by_route_template_and_status() -> None:
    app = FastAPI()

    @app.get("/v1/campaigns/{campaign_id}")
    async def campaign(campaign_id: str) -> dict[str, str]:
        if campaign_id == "missing":
            raise HTTPException(404)
        if campaign_id == "broken":
            raise RuntimeError("a bug")
        return {"id": campaign_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(RequestMetrics, service="metrics-test")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for campaign_id in ("a", "b", "missing", "broken"):
            await client.get(f"/v1/campaigns/{campaign_id}")
        await client.get("/healthz")
        await client.get("/nowhere")

    def requests(route: str, status: str) -> float | None:
        return value(
            "grassroots_http_requests_total",
            service="metrics-test",
            route=route,
            method="GET",
            status=status,
        )

    route = "/v1/campaigns/{campaign_id}"
    assert (requests(route, "200"), requests(route, "404"), requests(route, "500")) == (2, 1, 1)
    assert requests("<unmatched>", "404") == 1
    assert requests("/healthz", "200") is None  # probes are not user traffic
    timed = value("grassroots_http_request_seconds_count", service="metrics-test", route=route)
    assert timed == 4


def test_dead_letters_and_failed_deliveries_are_exported_at_zero_before_the_first() -> None:
    import notification.metrics  # noqa: F401  (the service's own metrics, declared at import)

    metrics.describe_service("metrics-test", ["grading.inputs"])
    for reason in ("invalid_json", "rejected_by_rule", "handler_error"):
        labels = {"service": "metrics-test", "topic": "grading.inputs", "reason": reason}
        assert value("grassroots_dlq_records_total", **labels) == 0
    builds = [
        (dict(labels), found)
        for (name, labels), found in exported().items()
        if name == "grassroots_build_info" and ("service", "metrics-test") in labels
    ]
    assert [(labels["version"] != "", found) for labels, found in builds] == [(True, 1)]
    for channel in ("email", "webhook"):
        failed = {"channel": channel, "outcome": "failed"}
        assert value("grassroots_notification_deliveries_total", **failed) is not None


async def test_outbox_age_and_backlog_show_what_waits_to_be_published(tmp_path: Path) -> None:
    """Three rows written five minutes ago; the relay publishes one at a time."""
    schema = f"alerts_outbox_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(os.environ["GRASSROOTS_ADMIN_DSN"])
    await admin.execute(f"CREATE SCHEMA {schema}")
    await database.migrate(admin, schema, tmp_path)  # the shared inbox/outbox tables
    await ensure_topics(bootstrap(), [TOPIC], partitions=3)
    pool = await database.create_pool(os.environ["GRASSROOTS_ADMIN_DSN"], schema, size=2)
    producer = make_producer(bootstrap(), client_id="alerts-test-outbox")
    await producer.start()
    service = f"outbox-{schema}"
    relay = OutboxRelay(
        pool, producer, service=service, batch_size=1, bootstrap_servers=bootstrap()
    )
    try:
        async with pool.acquire() as conn:
            await append(conn, [OutgoingRecord(TOPIC, b"k", b"{}") for _ in range(3)])
            await conn.execute("UPDATE outbox SET created_at = now() - interval '300 seconds'")
        assert await relay.publish_pending() == 1
        age = value("grassroots_outbox_oldest_unsent_seconds", service=service)
        assert age is not None and 300 <= age < 330
        assert value("grassroots_outbox_backlog", service=service) == 2
        while await relay.publish_pending():
            pass
        assert value("grassroots_outbox_oldest_unsent_seconds", service=service) == 0
        assert value("grassroots_outbox_backlog", service=service) == 0
    finally:
        await producer.stop()
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
