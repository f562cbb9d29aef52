"""The metric names every service exports, declared once."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata

from prometheus_client import Counter, Gauge, Histogram

from grassroots.contract import RejectionCode

EVENTS_CONSUMED = Counter(
    "grassroots_events_consumed_total",
    "Records consumed, by event type and outcome (applied, unhandled — a consumed type with no handler —, duplicate, rejected, dead_lettered, invalid_skipped).",
    ["service", "type", "outcome"],
)
BATCH_SECONDS = Histogram(
    "grassroots_handler_batch_seconds",
    "Time to apply one consumed batch in one database transaction.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_SIZE = Histogram(
    "grassroots_handler_batch_records",
    "Records per consumed batch.",
    ["service"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
BATCHES_ONE_BY_ONE = Counter(
    "grassroots_batches_applied_one_by_one_total",
    "Batches applied run by run (in savepoints; a failing run one event at a time) because"
    " applying them together failed: an event was refused or a handler failed.",
    ["service"],
)
JOB_LAST_SUCCESS = Gauge(
    "grassroots_job_last_success_started_seconds",
    "When the last successful run of a periodic job (a sweep, reminders) started, in Unix"
    " seconds: what it saw was the service's clock at that moment.",
    ["service", "job"],
)
DLQ_RECORDS = Counter(
    "grassroots_dlq_records_total",
    "Records sent to a dead-letter topic, by source topic and reason code.",
    ["service", "topic", "reason"],
)
OUTBOX_BACKLOG = Gauge(
    "grassroots_outbox_backlog",
    "Outbox rows written but not yet published.",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "grassroots_outbox_published_total",
    "Outbox rows published to Kafka.",
    ["service", "topic"],
)
TRANSIENT_RETRIES = Counter(
    "grassroots_transient_retries_total",
    "Retries after a transient database or broker failure.",
    ["service", "stage"],
)
EVENT_LAG_SECONDS = Histogram(
    "grassroots_event_lag_seconds",
    "From a record's Kafka timestamp to its effect committed here (for reporting: visible in "
    "the API).",
    ["service"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "grassroots_outbox_oldest_unsent_seconds",
    "Age of the oldest outbox row not yet published (0 when none waits); it keeps growing while"
    " the relay cannot publish.",
    ["service"],
)
CONSUMER_LAG_RECORDS = Gauge(
    "grassroots_consumer_lag_records",
    "Records on a partition the consumer group has not applied yet (end offset minus committed"
    " offset).",
    ["group", "topic", "partition"],
)
CONSUMER_LAG_SECONDS = Gauge(
    "grassroots_consumer_lag_seconds",
    "Age of the oldest record on a partition the consumer group has not applied yet (0 when it"
    " has applied all).",
    ["group", "topic", "partition"],
)
HTTP_REQUESTS = Counter(
    "grassroots_http_requests_total",
    "HTTP requests answered, by route template, method and status (probes and /metrics left out).",
    ["service", "route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "grassroots_http_request_seconds",
    "Time to answer an HTTP request, by route template (probes and /metrics left out).",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BUILD_INFO = Gauge(
    "grassroots_build_info",
    "Always 1: the running service and the version of its package.",
    ["service", "version"],
)


def start_at_zero(service: str, topics: Iterable[str]) -> None:
    """Export the dead-letter counters at 0 before the first bad record: an alert on
    `increase()` sees a counter's first step only when the series existed before it."""
    for topic in topics:
        for code in RejectionCode:
            DLQ_RECORDS.labels(service, topic, code.value)


def describe_service(service: str, topics: Iterable[str]) -> None:
    """What a starting service exports before any work: its build, its dead-letter counters."""
    BUILD_INFO.labels(service, _version(service)).set(1)
    start_at_zero(service, topics)


def _version(service: str) -> str:
    for distribution in (f"grassroots-{service}", "grassroots-shared"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"
