"""Wiring only: what the notification service consumes and how it handles it."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import Topic
from grassroots.plumbing.service import ServiceDefinition, build_app
from notification.handlers import HANDLERS

DEFINITION = ServiceDefinition(
    name="notification",
    topics=(
        Topic.CAMPAIGN_LIFECYCLE,
        Topic.ORG_BRANCHES,
        Topic.GRADING_RESULTS,
        Topic.RECTIFICATION_RESULTS,
        Topic.RECTIFICATION_INPUTS,
        Topic.EMULATION_INPUTS,
    ),
    handlers=HANDLERS,
    migrations=Path(__file__).parent.parent / "migrations",
)

app = build_app(DEFINITION)
