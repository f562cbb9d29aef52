"""Wiring only: the reporting service reads every topic and serves the API and dashboard."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import ALL_TOPICS
from grassroots.plumbing.service import ServiceDefinition, build_app
from reporting import (
    api,
    api_docs,
    contract_site,
    dashboard,
    import_page,
    lagging_page,
    supervision_api,
)
from reporting.circulars import api as circulars_api
from reporting.circulars import dashboard as circulars_dashboard
from reporting.documents import api as documents_api
from reporting.handlers import HANDLERS
from reporting.store.ingest import ReportingStore

DEFINITION = ServiceDefinition(
    name="reporting",
    topics=ALL_TOPICS,
    handlers=HANDLERS,
    store=ReportingStore,
    migrations=Path(__file__).parent.parent / "migrations",
    routers=(
        supervision_api.router,  # first: its exports/annual-sheet.xlsx before exports/{table}.…
        supervision_api.pages,
        api.router,
        dashboard.router,
        lagging_page.router,
        import_page.router,
        documents_api.router,
        documents_api.pages,  # before circulars' {circular_id}
        circulars_api.router,
        circulars_dashboard.router,
        contract_site.router,
        api_docs.router,  # /docs and /redoc without a CDN
    ),
    cdn_docs=False,
)

app = build_app(DEFINITION)
