"""Wiring only: the reporting service reads every topic and serves the API and dashboard."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import ALL_TOPICS
from grassroots.plumbing.service import ServiceDefinition, build_app
from reporting import api, dashboard
from reporting.handlers import HANDLERS
from reporting.store.ingest import ReportingStore

DEFINITION = ServiceDefinition(
    name="reporting",
    topics=ALL_TOPICS,
    handlers=HANDLERS,
    store=ReportingStore,
    migrations=Path(__file__).parent.parent / "migrations",
    routers=(api.router, dashboard.router),
)

app = build_app(DEFINITION)
