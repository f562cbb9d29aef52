"""Planning notifications, in the caller's transaction: who hears a notice, by which channel,
with which message. Nothing is sent here: email and webhook deliveries are written `pending`
for the delivery worker; inbox messages are written at once, and reported delivered.

Each delivery is keyed by (cause source, cause event id, recipient, channel) and its id is the
UUIDv5 of that key: planning the same notice twice (a redelivered event, a sweep run twice)
writes nothing the second time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grassroots.contract import CloudEvent
from grassroots.contract.calendar import county_today
from grassroots.contract.events import NotificationDeliveredEvent, NotificationFailedEvent
from grassroots.contract.notification import NotificationOutcome
from grassroots.plumbing.unit_of_work import UnitOfWork
from notification import recipients
from notification.config import NotificationSettings
from notification.delivery_store import NewDelivery
from notification.domain import (
    INBOX_ONLY,
    WHO_HEARS_WHAT,
    Audience,
    Channel,
    Endpoint,
    Kind,
    PlannedDelivery,
    plan_deliveries,
)
from notification.metrics import DELIVERIES, PLANNED
from notification.rendering import Draft, address, draft
from notification.store import Uow

NOTIFICATION_NAMESPACE = uuid.UUID("5b0f3f8e-6a0c-4d7e-9b55-1f2c3d4e5a60")
_NAMESPACE_BYTES = NOTIFICATION_NAMESPACE.bytes
PLATFORM_SOURCE = "/grassroots/notification"  # the source of time-driven causes
PLAN_CHUNK = 500  # deliveries rendered and written at a time
# … and at most this many characters of text, HTML and webhook documents: a signed circular is
# tens of kilobytes per copy, and 500 copies of it (rendered, then encoded by asyncpg in one
# statement) left the process some 50 MB larger after each circular, which the allocator kept
# (issue 21: a 400-item circular to 1,000 organisations, +51 MB; chunked so, +3 MB).
PLAN_CHUNK_CHARS = 1_000_000


@dataclass(frozen=True)
class Notice:
    """One fact to tell people about: what it is, what caused it, and its facts (codes)."""

    kind: Kind
    cause_source: str
    cause_event_id: str
    county_code: str
    campaign_id: str | None
    branch_id: str | None
    facts: dict[str, Any]
    audiences: tuple[Audience, ...] | None = None  # default: the table's, for the kind
    superior_id: str | None = None  # the superior the event names (to_org_id, reviewer_org_id):
    # the PARENT audience then; None: the branch's parent_id


def derived_id(*parts: str) -> str:
    """Deterministic ids: the same key always gives the same id, `uuid5(NOTIFICATION_NAMESPACE,
    "\x1f".join(parts))` as text — computed here from its definition (RFC 4122: SHA-1 of the
    namespace and the name, version and variant bits set), a third of uuid.uuid5's time, as
    every planned delivery takes one."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def time_driven_cause(*parts: str) -> tuple[str, str]:
    """(source, id) of a cause that is a moment, not an event: a reminder, a circular."""
    return PLATFORM_SOURCE, derived_id("cause", *parts)


def outcome_event_id(notification_id: str, outcome: str) -> str:
    return derived_id("outcome", notification_id, outcome)


def emit_outcome(
    uow: UnitOfWork[Any],
    row: Mapping[str, Any],
    *,
    delivered: bool,
    attempts: int,
    error: str | None = None,
) -> None:
    """notification.delivered or .failed for a delivery row, with a deterministic event id."""
    kind: type[CloudEvent[NotificationOutcome]] = (
        NotificationDeliveredEvent if delivered else NotificationFailedEvent
    )
    uow.emit(
        kind,
        NotificationOutcome(
            notification_id=row["notification_id"],
            kind=row["kind"],
            channel=row["channel"],
            recipient=row["recipient"][:200],
            cause_event_id=row["cause_event_id"],
            attempts=max(attempts, 1),
            branch_id=row["branch_id"],
            error=error[:2000] if error else None,
        ),
        countycode=row["county_code"],
        campaignid=row["campaign_id"],
        event_id=outcome_event_id(row["notification_id"], kind.event_type),
    )


class NoticesToPlan:
    """The notices the handlers of a batch gave: planned together at its end."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.notices: list[Notice] = []

    async def flush(self, uow: UnitOfWork[Any]) -> None:
        notices, self.notices = self.notices, []
        await self.planner.plan(uow, notices)


class Planner:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    def later(self, uow: Uow, notice: Notice) -> None:
        """Plan the notice with the others of the batch, before it commits."""
        uow.deferred(NoticesToPlan, lambda: NoticesToPlan(self)).notices.append(notice)

    async def notify(self, uow: Uow, notice: Notice) -> int:
        """Plan the notice now; return how many deliveries are new."""
        return await self.plan(uow, [notice])

    async def plan(self, uow: Uow, notices: list[Notice]) -> int:
        """Resolve each notice's audiences and plan its deliveries (its branch named in the
        facts as `branch_name`); return how many deliveries are new."""
        orgs = recipients.Directory(uow.store)
        await orgs.preload(
            org_id for n in notices for org_id in (n.branch_id, n.superior_id) if org_id
        )
        campaigns = {n.campaign_id for n in notices if n.campaign_id}
        names = await uow.store.campaign_names(sorted(campaigns)) if campaigns else {}
        today = county_today(uow.now)
        new = chars = 0
        rows: list[NewDelivery] = []
        for notice in notices:
            audiences = notice.audiences or WHO_HEARS_WHAT[notice.kind]
            addressees = await recipients.resolve(
                orgs,
                audiences,
                county_code=notice.county_code,
                branch_id=notice.branch_id,
                superior_id=notice.superior_id,
            )
            if notice.kind in INBOX_ONLY:
                addressees = [dataclasses.replace(a, by_email=False) for a in addressees]
            facts = {"campaign_name": names.get(notice.campaign_id or ""), **notice.facts}
            if notice.branch_id and "branch_name" not in facts:
                facts["branch_name"] = await orgs.name(notice.branch_id)
            endpoints = [
                Endpoint(e.name, str(e.url))
                for e in self.settings.endpoints_for(notice.county_code)
            ]
            sender = self.settings.sender(notice.county_code)  # the county's issuing body
            message = draft(notice.kind, facts, today=today, sender=sender)
            for planned in plan_deliveries(addressees, endpoints):  # one draft, many addressed
                row = self._row(notice, facts, message, planned, uow.now)
                rows.append(row)
                chars += len(row.body) + len(row.html or "")
                # a circular to every branch stays bounded, in rows and in size
                if len(rows) >= PLAN_CHUNK or chars >= PLAN_CHUNK_CHARS:
                    new += await self._insert(uow, rows)
                    rows, chars = [], 0
        return new + await self._insert(uow, rows)

    async def _insert(self, uow: Uow, rows: list[NewDelivery]) -> int:
        unique: dict[str, NewDelivery] = {}
        for row in rows:  # two notices of a batch never plan one delivery twice
            unique.setdefault(row.notification_id, row)
        rows = list(unique.values())
        new = await uow.store.deliveries.insert_deliveries(rows)
        inbox = [row for row in rows if row.notification_id in new and row.channel == "inbox"]
        await uow.store.deliveries.insert_inbox_messages(inbox, uow.now)
        for row in inbox:
            emit_outcome(uow, row._asdict(), delivered=True, attempts=1)
        if inbox:
            DELIVERIES.labels("inbox", "delivered").inc(len(inbox))
        # counted by (kind, channel), not row by row (a label lookup each)
        planned = Counter((row.kind, row.channel) for row in rows if row.notification_id in new)
        for (kind, channel), count in planned.items():
            PLANNED.labels(kind, channel).inc(count)
        return len(new)

    def _row(
        self,
        notice: Notice,
        facts: dict[str, Any],
        drafted: Draft,
        planned: PlannedDelivery,
        now: dt.datetime,
    ) -> NewDelivery:
        notification_id = derived_id(
            notice.cause_source, notice.cause_event_id, planned.recipient, planned.channel.value
        )
        message = address(drafted, planned.addressee, html=planned.channel is Channel.EMAIL)
        body: str = message.text
        if planned.channel is Channel.WEBHOOK:
            body = json.dumps(
                {
                    "notification_id": notification_id,
                    "kind": notice.kind.value,
                    "county_code": notice.county_code,
                    "campaign_id": notice.campaign_id,
                    "branch_id": notice.branch_id,
                    "cause_event_id": notice.cause_event_id,
                    "subject": message.subject,
                    "text": message.text,
                    "facts": facts,
                    "planned_at": now.isoformat(),
                },
                ensure_ascii=False,
                sort_keys=True,
            )
        return NewDelivery(
            notification_id=notification_id,
            cause_source=notice.cause_source,
            cause_event_id=notice.cause_event_id,
            recipient=planned.recipient,
            channel=planned.channel.value,
            kind=notice.kind.value,
            county_code=notice.county_code,
            campaign_id=notice.campaign_id,
            branch_id=notice.branch_id,
            address=planned.address,
            subject=message.subject,
            body=body,
            html=message.html,
        )


SETTINGS = NotificationSettings()
PLANNER = Planner(SETTINGS)
"""The service's planner, on its settings (GRASSROOTS_NOTIFICATION_*, read once at import)."""
