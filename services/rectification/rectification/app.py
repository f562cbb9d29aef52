"""Wiring only: what the rectification service consumes, how it handles it, and its jobs."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import Topic
from grassroots.plumbing.service import ServiceDefinition, build_app
from rectification.handlers import HANDLERS
from rectification.jobs import SETTLE_CLOSED_CAMPAIGNS, SWEEP
from rectification.store import RectificationStore

DEFINITION = ServiceDefinition(
    name="rectification",
    topics=(
        Topic.CAMPAIGN_LIFECYCLE,
        Topic.ORG_BRANCHES,
        Topic.RECTIFICATION_INPUTS,
        Topic.GRADING_RESULTS,
    ),
    handlers=HANDLERS,
    store=RectificationStore,
    migrations=Path(__file__).parent.parent / "migrations",
    jobs=(SWEEP, SETTLE_CLOSED_CAMPAIGNS),
)

app = build_app(DEFINITION)
