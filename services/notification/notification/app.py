"""Wiring only: what the notification service consumes, how it handles it, what runs beside."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from grassroots.contract import Topic
from grassroots.plumbing.service import Runtime, ServiceDefinition, build_app
from notification import api
from notification.config import NotificationSettings
from notification.delivery import deliver_continuously
from notification.handlers import Handlers
from notification.jobs import issue_close_circulars, sweep_periodically
from notification.planning import Planner

SETTINGS = NotificationSettings()
PLANNER = Planner(SETTINGS)


def _job(
    job: Callable[[Runtime, Any], Coroutine[Any, Any, None]], argument: Any
) -> Callable[[Runtime], Coroutine[Any, Any, None]]:
    async def run(runtime: Runtime) -> None:
        await job(runtime, argument)

    run.__name__ = job.__name__
    return run


HANDLERS = Handlers(PLANNER)
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
    handlers=HANDLERS.table(),
    batch_handlers=HANDLERS.batch_table(),
    migrations=Path(__file__).parent.parent / "migrations",
    routers=(api.router,),
    background=(
        _job(deliver_continuously, SETTINGS),
        _job(sweep_periodically, PLANNER),
        _job(issue_close_circulars, PLANNER),
    ),
)

app = build_app(DEFINITION)
