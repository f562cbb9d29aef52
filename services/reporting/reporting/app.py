"""Wiring only: the reporting service reads every topic and serves the API and dashboard."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import ALL_TOPICS
from grassroots.plumbing.service import ServiceDefinition, build_app
from reporting import api, dashboard
from reporting.handlers import BATCH_HANDLERS, HANDLERS

DEFINITION = ServiceDefinition(
    name="reporting",
    topics=ALL_TOPICS,
    handlers=HANDLERS,
    batch_handlers=BATCH_HANDLERS,
    migrations=Path(__file__).parent.parent / "migrations",
    routers=(api.router, dashboard.router),
)

app = build_app(DEFINITION)
