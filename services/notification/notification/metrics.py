"""The notification service's own metrics, beside the core set every service exports."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PLANNED = Counter(
    "grassroots_notification_planned_total",
    "Notifications planned, by kind and channel (each cause, recipient and channel once).",
    ["kind", "channel"],
)
DELIVERIES = Counter(
    "grassroots_notification_deliveries_total",
    "Notifications finished, by channel and outcome (delivered, failed).",
    ["channel", "outcome"],
)
# Failures exported at 0 from the start: an alert on increase() sees a counter's first step only
# when its series existed before (deploy/prometheus/rules.yml, GrassrootsNotificationFailures).
for _channel in ("email", "webhook"):
    DELIVERIES.labels(_channel, "failed")
RETRIES = Counter(
    "grassroots_notification_retries_total",
    "Failed attempts scheduled for another try, by channel.",
    ["channel"],
)
LATENCY = Histogram(
    "grassroots_notification_delivery_seconds",
    "From planned to delivered (or finally failed), by channel.",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600),
)
ATTEMPT_SECONDS = Histogram(
    "grassroots_notification_attempt_seconds",
    "One delivery attempt to the SMTP server or a webhook endpoint, by channel.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BACKLOG = Gauge(
    "grassroots_notification_backlog",
    "Email and webhook deliveries pending or being sent.",
)
