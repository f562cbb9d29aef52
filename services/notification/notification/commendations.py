"""Commendations (评比表彰): who hears of one depends on who awarded it.

- Awarded by a committee (`awarded_by` is an organisation of kind `committee`, e.g. the bureau's
  Party committee for its 七一 special commendation): announced to every organisation of the
  county (通报表扬) by a circular the office signs off. The commendations of one committee on one
  day (`awarded_on`, else the event's county day) of one campaign make ONE draft of praise:
  each is kept (commendation_store.py) and its group waits behind the barrier, like a phase's
  close draft, until this service has applied what was on the topics when the group's first one
  was applied; then one draft names every commendation of the group not named yet (and not
  praised by a signed circular meanwhile). One arriving after that is named by the group's next
  draft. Until a person signs a circular naming them off, the weekly drafts praise them too.
- Any other (a general branch's or a branch's own, or no awarding body stated): told to the
  organisation commended, at once, keyed by the event.

Both refuse an organisation not registered in the event's county (`branch_id`, and
`awarded_by` when given): DLQ, `rejected_by_rule`, nothing changed.
"""

from __future__ import annotations

from grassroots.contract.calendar import county_today
from grassroots.contract.events import EmulationCommendedEvent
from grassroots.contract.supervision import CircularTrigger
from grassroots.plumbing.handling import Rejected
from notification.circulars.drafting import commendation_circular_id, commendation_title, praise
from notification.circulars.drafts import commendation_seen, draft
from notification.commendation_store import AnnouncementKey, CommendationRow
from notification.domain import Kind, announced_to_county, unregistered
from notification.planning import PLANNER, Notice
from notification.store import NotificationStore, Uow


async def on_commended(uow: Uow, event: EmulationCommendedEvent) -> None:
    """A committee's commendation waits to be drafted with the others of its day; any other is
    told to the organisation commended now."""
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
    """The group's draft of praise (通报表扬), once its commendations are applied here: every one
    not named yet, for the office to sign off. False when there was nothing to do (done
    already, by another replica or before a restart)."""
    store = uow.store.commendations
    group = await store.lock_waiting(key)
    if group is None:
        return False
    number = group["number"]
    rows = await store.name_in(key, number)
    await store.mark_issued(key, len(rows), uow.now)
    praised = await uow.store.circulars.commendations_to_praise(
        key.campaign_id, announcement=(key.awarded_by, key.awarded_on, number)
    )
    notice = await draft(
        uow,
        campaign_id=key.campaign_id,
        county_code=group["county_code"],
        circular_id=commendation_circular_id(
            key.campaign_id, key.awarded_by, key.awarded_on, number
        ),
        trigger=CircularTrigger.COMMENDATION,
        title=commendation_title([r["title"] for r in praised]),
        items=praise((), [commendation_seen(r) for r in praised]),
    )
    if notice is not None:
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
