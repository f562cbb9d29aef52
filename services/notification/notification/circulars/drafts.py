"""Drafting a circular in the caller's unit of work, and what the office hears of drafts: that one
waits, that it waited too long (circular_sign_off_days), that its sign-off was refused.

A draft is kept once (its id says what it is: the week's day, the request, the group of
commendations), published as `notification.circular_drafted` and told to the office; nothing of
it goes to the organisations until a person signs it off (handlers.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from grassroots.contract.calendar import (
    DEFAULT_PROGRESS_REPORT_EVERY_DAYS,
    county_today,
    progress_report_missing,
)
from grassroots.contract.events import NotificationCircularDraftedEvent
from grassroots.contract.supervision import CircularDrafted, CircularItem, CircularTrigger, Section
from notification.circulars.drafting import (
    CommendationSeen,
    DraftItem,
    InspectionSeen,
    ReportMissing,
    Source,
    draft_items,
)
from notification.circulars.store import CircularRow, ItemRow, source_dict
from notification.domain import DEFAULT_CIRCULAR_SIGN_OFF_DAYS, Kind, LaggingFact, Reason
from notification.planning import Notice, Planner, derived_id, time_driven_cause
from notification.store import Uow


def inspection_seen(row: asyncpg.Record) -> InspectionSeen:
    return InspectionSeen(
        row["org_id"],
        row["org_name"],
        row["inspected_on"],
        tuple((f["kind"], f["text"]) for f in row["findings"]),
        Source("inspections", row["cause_source"], row["cause_event_id"]),
    )


def commendation_seen(row: asyncpg.Record) -> CommendationSeen:
    return CommendationSeen(
        row["branch_id"],
        row["org_name"],
        row["awarded_by_name"],
        row["awarded_on"],
        row["honour"],
        row["title"],
        row["member_name"],
        Source("commendations", row["cause_source"], row["cause_event_id"]),
    )


async def reports_missing(
    uow: Uow, campaign_id: str, county_code: str, today: dt.date
) -> list[ReportMissing]:
    """The organisations whose progress report of a period now past has not come (the rule is
    the contract's calendar.progress_report_missing, on the campaign's every_days)."""
    circulars = uow.store.circulars
    window = await circulars.campaign_window(campaign_id)
    if window is None:
        return []
    campaign = await uow.store.campaign(campaign_id)
    every = campaign["progress_report_every_days"] if campaign else None
    if every is None:  # 0: the campaign asks for no progress reports
        every = DEFAULT_PROGRESS_REPORT_EVERY_DAYS
    missing = []
    for row in await circulars.last_reports(campaign_id, county_code):
        due = progress_report_missing(*window, every, today, row["last_reported_on"])
        if due is not None:
            missing.append(ReportMissing(row["org_id"], row["name"], due))
    return missing


async def supervision_items(uow: Uow, campaign_id: str, county_code: str) -> list[DraftItem]:
    """What a weekly or requested draft names today: every lagging organisation and reason,
    the praise not yet in a signed circular."""
    store = uow.store
    lagging = [
        LaggingFact(
            r["branch_id"], r["branch_name"], Reason(r["reason"]), r["fact_key"], r["detail"]
        )
        for r in await store.open_facts(campaign_id)
    ]
    return draft_items(
        lagging=lagging,
        latest_inspections=[
            inspection_seen(r) for r in await store.circulars.latest_inspections(campaign_id)
        ],
        missing=await reports_missing(uow, campaign_id, county_code, county_today(uow.now)),
        commendable=[
            inspection_seen(r) for r in await store.circulars.commendable_inspections(campaign_id)
        ],
        commended=[
            commendation_seen(r) for r in await store.circulars.commendations_to_praise(campaign_id)
        ],
    )


async def draft(
    uow: Uow,
    *,
    campaign_id: str,
    county_code: str,
    circular_id: str,
    trigger: CircularTrigger,
    title: str,
    items: Sequence[DraftItem],
) -> Notice | None:
    """Keep the draft, publish it, and return the office's notice that it waits; None when
    there is nothing to draft (no items) or it was drafted before."""
    if not items:
        return None
    as_of = county_today(uow.now)
    circular = CircularRow(
        circular_id, campaign_id, county_code, trigger.value, title, as_of, uow.now
    )
    rows = [
        ItemRow(
            circular_id,
            i.item_id,
            i.section.value,
            i.org_id,
            i.basis,
            i.text,
            [source_dict(s) for s in i.sources],
        )
        for i in items
    ]
    if not await uow.store.circulars.save_draft(circular, rows):
        return None
    uow.emit(
        NotificationCircularDraftedEvent,
        CircularDrafted(
            circular_id=circular_id,
            trigger=trigger,
            title=title,
            items=[
                CircularItem(
                    item_id=i.item_id,
                    section=i.section,
                    org_id=i.org_id,
                    basis=i.basis,
                    text=i.text,
                )
                for i in items
            ],
        ),
        countycode=county_code,
        campaignid=campaign_id,
        event_id=derived_id("circular_drafted", circular_id),
    )
    facts = draft_facts(circular_id, title, trigger.value, as_of, items)
    source, cause = time_driven_cause("circular_drafted", circular_id)
    return Notice(Kind.CIRCULAR_DRAFTED, source, cause, county_code, campaign_id, None, facts)


def draft_facts(
    circular_id: str, title: str, trigger: str, as_of: dt.date, items: Sequence[DraftItem]
) -> dict[str, Any]:
    """What the office hears of a draft: what it is and how many items — not the items: the
    office reads and edits them on the dashboard, and a webhook carries no criticism unsigned."""
    return {
        "circular_id": circular_id,
        "title": title,
        "trigger": trigger,
        "as_of": as_of.isoformat(),
        "praise": sum(i.section is Section.PRAISE for i in items),
        "criticism": sum(i.section is Section.CRITICISM for i in items),
        "refused": False,
    }


async def remind_sign_off(uow: Uow, planner: Planner) -> int:
    """Drafts neither signed nor discarded after the campaign's circular_sign_off_days: the
    office is reminded once each; how many deliveries."""
    notices = []
    for row in await uow.store.circulars.drafts_to_remind(uow.now, DEFAULT_CIRCULAR_SIGN_OFF_DAYS):
        source, cause = time_driven_cause("circular_sign_off_due", row["circular_id"])
        facts = {
            "circular_id": row["circular_id"],
            "title": row["title"],
            "drafted_on": county_today(row["drafted_at"]).isoformat(),
            "days": row["days"],
        }
        notices.append(
            Notice(
                Kind.CIRCULAR_SIGN_OFF_DUE,
                source,
                cause,
                row["county_code"],
                row["campaign_id"],
                None,
                facts,
            )
        )
    return await planner.plan(uow, notices)


async def tell_refused_sign_offs(uow: Uow, planner: Planner) -> int:
    """A sign-off refused because the county has no issuing body went to the DLQ with nothing
    kept; the office hears it (in its inbox, once per refused event, which is the cause)."""
    notices = [
        Notice(
            Kind.CIRCULAR_DRAFTED,
            row["source"],
            row["event_id"],
            row["county_code"],
            row["campaign_id"],
            None,
            {
                "circular_id": row["circular_id"],
                "title": row["title"],
                "trigger": row["trigger"],
                "refused": True,
                "reason": row["reason"],
            },
        )
        for row in await uow.store.circulars.refused_sign_offs()
    ]
    return await planner.plan(uow, notices)
