"""What the handlers of a batch add up and write once, at its end (through the unit's store):
summary counter changes and the campaigns' `updated_at`."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from grassroots.contract import CloudEvent
from grassroots.plumbing.unit_of_work import UnitOfWork
from reporting.store.ingest import CampaignSeenRow, CounterRow, ReportingStore


def _store(uow: UnitOfWork[Any]) -> ReportingStore:
    store: ReportingStore = uow.store
    return store


class CounterDeltas:
    """Summary counter changes of a batch, per campaign; written in one statement."""

    def __init__(self) -> None:
        self.changes: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, campaign_id: str, changes: Mapping[str, int]) -> None:
        self.changes[campaign_id].update(changes)

    async def flush(self, uow: UnitOfWork[Any]) -> None:
        rows = [
            CounterRow(campaign_id, name, value)
            for campaign_id, counts in self.changes.items()
            for name, value in counts.items()
            if value
        ]
        await _store(uow).add_to_counters(rows)
        self.changes.clear()


class CampaignTouches:
    """Campaigns seen in a batch, with the latest event time of each; written once."""

    def __init__(self) -> None:
        self.latest: dict[str, CampaignSeenRow] = {}

    def add(self, campaign_id: str, county_code: str, at: dt.datetime) -> None:
        known = self.latest.get(campaign_id)
        if known is None or at > known.updated_at:
            county = known.county_code if known else county_code
            self.latest[campaign_id] = CampaignSeenRow(campaign_id, county, at)

    async def flush(self, uow: UnitOfWork[Any]) -> None:
        await _store(uow).touch_campaigns(list(self.latest.values()))
        self.latest.clear()


def seen(uow: UnitOfWork[Any], event: CloudEvent[BaseModel]) -> str:
    """Note the event's campaign for the batch's end (its `updated_at` is the latest event time
    seen); its id."""
    uow.deferred(CampaignTouches).add(event.campaign, event.countycode, event.time)
    return event.campaign
