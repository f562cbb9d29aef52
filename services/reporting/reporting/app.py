"""Wiring only: what the reporting service consumes and how it handles it."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import ALL_TOPICS
from grassroots.plumbing.service import ServiceDefinition, build_app
from reporting.handlers import HANDLERS

DEFINITION = ServiceDefinition(
    name="reporting",
    topics=ALL_TOPICS,
    handlers=HANDLERS,
    migrations=Path(__file__).parent.parent / "migrations",
)

app = build_app(DEFINITION)
