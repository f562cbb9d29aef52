"""Wiring only: what the notification service consumes, how it handles it, what runs beside.

Three roles of one service (`python -m notification --role …`, see `__main__.py`): `consume`
applies the topics and plans deliveries (jobs included), `deliver` runs only the delivery
worker, which sends what is planned in the service's `deliveries` table, and `all` (the
default) both in one process. Both roles share the schema, the Kafka user and the settings.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from grassroots.contract import Topic
from grassroots.plumbing.handling import HandlerTable
from grassroots.plumbing.service import ServiceDefinition, build_app
from notification import api
from notification.delivery import deliver_continuously
from notification.handlers import HANDLERS
from notification.jobs import CLOSE_CIRCULARS, COMMENDATION_ANNOUNCEMENTS, SWEEP
from notification.store import NotificationStore


class Role(StrEnum):
    ALL = "all"  # consume and deliver in one process (as before the split)
    CONSUME = "consume"  # the topics, the jobs, the inbox API: planning, no sending
    DELIVER = "deliver"  # the delivery worker only: sends what is planned


MIGRATIONS = Path(__file__).parent.parent / "migrations"
TOPICS = (
    Topic.CAMPAIGN_LIFECYCLE,
    Topic.ORG_BRANCHES,
    Topic.GRADING_RESULTS,
    Topic.RECTIFICATION_RESULTS,
    Topic.RECTIFICATION_INPUTS,
    Topic.EMULATION_INPUTS,
    Topic.SUPERVISION_INPUTS,
    Topic.SUPERVISION_DECISIONS,
)


def definition(role: Role = Role.ALL) -> ServiceDefinition[NotificationStore]:
    """The service as one role runs it. The delivery worker consumes nothing: it joins no
    consumer group (its readiness asks for no partitions) and its outcomes leave through the
    outbox relay, which every role runs."""
    consumes = role is not Role.DELIVER
    return ServiceDefinition(
        name="notification",
        topics=TOPICS if consumes else (),
        handlers=HANDLERS if consumes else HandlerTable(),
        store=NotificationStore,
        migrations=MIGRATIONS,
        routers=(api.router,) if consumes else (),
        jobs=(SWEEP, CLOSE_CIRCULARS, COMMENDATION_ANNOUNCEMENTS) if consumes else (),
        background=(deliver_continuously,) if role is not Role.CONSUME else (),
    )


DEFINITION = definition(Role.ALL)

app = build_app(DEFINITION)
