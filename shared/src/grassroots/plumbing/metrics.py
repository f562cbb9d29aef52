"""The metric names every service exports, declared once."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
    "Batches applied one event at a time (in savepoints) because applying them together failed:"
    " an event was refused or a handler failed.",
    ["service"],
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
