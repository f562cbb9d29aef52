"""Wiring only: what the notification service consumes, how it handles it, what runs beside."""

from __future__ import annotations

from pathlib import Path

from grassroots.contract import Topic
from grassroots.plumbing.service import ServiceDefinition, build_app
from notification import api
from notification.delivery import deliver_continuously
from notification.handlers import HANDLERS
from notification.jobs import CLOSE_CIRCULARS, COMMENDATION_ANNOUNCEMENTS, SWEEP
from notification.store import NotificationStore

DEFINITION = ServiceDefinition(
    name="notification",
    topics=(
        Topic.CAMPAIGN_LIFECYCLE,
        Topic.ORG_BRANCHES,
        Topic.GRADING_RESULTS,
        Topic.RECTIFICATION_RESULTS,
        Topic.RECTIFICATION_INPUTS,
        Topic.EMULATION_INPUTS,
        Topic.SUPERVISION_INPUTS,
        Topic.SUPERVISION_DECISIONS,
    ),
    handlers=HANDLERS,
    store=NotificationStore,
    migrations=Path(__file__).parent.parent / "migrations",
    routers=(api.router,),
    jobs=(SWEEP, CLOSE_CIRCULARS, COMMENDATION_ANNOUNCEMENTS),
    background=(deliver_continuously,),
)

app = build_app(DEFINITION)
