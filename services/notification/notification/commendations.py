"""Commendations (评比表彰): who hears of one depends on who awarded it.

- Awarded by a committee (`awarded_by` is an organisation of kind `committee`, e.g. the bureau's
  Party committee for its 七一 special commendation): announced to every organisation of the
  county (通报表扬) — every branch and the office, by every channel they have, as a circular.
  The commendations of one committee on one day (`awarded_on`, else the event's county day) of
  one campaign read as ONE notice: each is kept (commendation_store.py) and its group waits
  behind the barrier, like a phase's close circular, until this service has applied what was on
  the topics when the group's first one was applied; then one notice names every commendation
  of the group not named yet. One arriving after that is named by the group's next notice.
- Any other (a general branch's or a branch's own, or no awarding body stated): told to the
  organisation commended, at once, keyed by the event.

Interim: the supervision issue (#16) will have circulars signed off before they go out; until it
lands there is no sign-off, and this notice IS the announcement (通报表扬).

Both refuse an organisation not registered in the event's county (`branch_id`, and
`awarded_by` when given): DLQ, `rejected_by_rule`, nothing changed.
"""

from __future__ import annotations

from grassroots.contract.calendar import county_today
from grassroots.contract.events import EmulationCommendedEvent
from grassroots.plumbing.handling import Rejected
from notification.commendation_store import AnnouncementKey, CommendationRow
from notification.domain import (
    COUNTY_COMMENDATION_HEARS,
    CommendedItem,
    Kind,
    announced_to_county,
    county_commendation_facts,
    unregistered,
)
from notification.planning import PLANNER, Notice, time_driven_cause
from notification.store import NotificationStore, Uow


async def on_commended(uow: Uow, event: EmulationCommendedEvent) -> None:
    """A committee's commendation waits to be announced with the others of its day; any other
    is told to the organisation commended now."""
    data = event.data
    named = [data.branch_id, *([data.awarded_by] if data.awarded_by else [])]
    orgs = {row["org_id"]: row for row in await uow.store.orgs(named)}
    refusals = unregistered(
        named, {org_id: row["county_code"] for org_id, row in orgs.items()}, event.countycode
    )
    if refusals:
        raise Rejected("; ".join(refusals))
    awarded_on = data.awarded_on or county_today(event.time)
    awarding = orgs.get(data.awarded_by) if data.awarded_by else None
    if awarding is not None and announced_to_county(awarding["kind"]):
        row = CommendationRow(
            event.source,
            event.id,
            event.campaign,
            event.countycode,
            awarding["org_id"],
            awarded_on,
            data.branch_id,
            data.honour.value,
            data.title,
            data.member_name,
        )
        await uow.store.commendations.save(row, uow.now)
        return
    facts = {
        "scope": "organisation",
        "branch_id": data.branch_id,
        "honour": data.honour.value,
        "title": data.title,
        "member_name": data.member_name,
        "awarded_by": data.awarded_by,
        "awarded_by_name": awarding["name"] if awarding is not None else None,
        "awarded_on": awarded_on.isoformat(),
    }
    PLANNER.later(
        uow,
        Notice(
            kind=Kind.COMMENDATION,
            cause_source=event.source,
            cause_event_id=event.id,
            county_code=event.countycode,
            campaign_id=event.campaign,
            branch_id=data.branch_id,
            facts=facts,
        ),
    )


async def announce_commendations(uow: Uow, key: AnnouncementKey) -> bool:
    """The group's notice (通报表扬), once its commendations are applied here: every one not
    named yet, to every organisation of the county. False when there was nothing to issue
    (issued already, by another replica or before a restart)."""
    store = uow.store.commendations
    group = await store.lock_waiting(key)
    if group is None:
        return False
    number = group["number"]
    rows = await store.name_in(key, number)
    await store.mark_issued(key, len(rows), uow.now)
    if not rows:
        return True
    names = {
        row["org_id"]: row["name"]
        for row in await uow.store.orgs([key.awarded_by, *(r["branch_id"] for r in rows)])
    }
    facts = county_commendation_facts(
        awarded_by=key.awarded_by,
        awarded_by_name=names.get(key.awarded_by, key.awarded_by),
        awarded_on=key.awarded_on,
        number=number,
        items=[
            CommendedItem(
                r["branch_id"],
                names.get(r["branch_id"], r["branch_id"]),
                r["honour"],
                r["title"],
                r["member_name"],
                r["cause_event_id"],
            )
            for r in rows
        ],
    )
    source, cause = time_driven_cause(
        key.campaign_id, "commendation", key.awarded_by, key.awarded_on.isoformat(), str(number)
    )
    notice = Notice(
        Kind.COMMENDATION,
        source,
        cause,
        group["county_code"],
        key.campaign_id,
        None,
        facts,
        audiences=COUNTY_COMMENDATION_HEARS,
    )
    await PLANNER.notify(uow, notice)
    return True


async def waiting_announcements(
    store: NotificationStore,
) -> list[tuple[AnnouncementKey, dict[str, int] | None]]:
    return await store.commendations.waiting()


async def save_announcement_offsets(
    store: NotificationStore, key: AnnouncementKey, offsets: dict[str, int]
) -> None:
    await store.commendations.save_offsets(key, offsets)
