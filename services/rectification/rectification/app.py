"""Wiring only: what the rectification service consumes and how it handles it."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import Topic
from grassroots.plumbing.service import ServiceDefinition, build_app
from rectification.handlers import BATCH_HANDLERS, HANDLERS
from rectification.jobs import settle_closed_campaigns, sweep_periodically

DEFINITION = ServiceDefinition(
    name="rectification",
    topics=(
        Topic.CAMPAIGN_LIFECYCLE,
        Topic.ORG_BRANCHES,
        Topic.RECTIFICATION_INPUTS,
        Topic.GRADING_RESULTS,
    ),
    handlers=HANDLERS,
    batch_handlers=BATCH_HANDLERS,
    migrations=Path(__file__).parent.parent / "migrations",
    background=(sweep_periodically, settle_closed_campaigns),
)

app = build_app(DEFINITION)
