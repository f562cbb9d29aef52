"""Turning an audience (the branch's secretary, the Party office, …) into organisations to
address, from the registrations this service has seen (org.branch_registered)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

import asyncpg

from notification.domain import Addressee, Audience
from notification.store import NotificationStore

log = logging.getLogger(__name__)
MAX_PARENT_HOPS = 8  # a registration loop must not loop us


class Directory:
    """The organisations a batch of notices names: read once, in one query for the branches
    named, and on demand for parents and counties."""

    def __init__(self, store: NotificationStore) -> None:
        self.store = store
        self._orgs: dict[str, asyncpg.Record | None] = {}
        self._committees: dict[str, list[asyncpg.Record]] = {}
        self._branches: dict[str, list[asyncpg.Record]] = {}

    async def preload(self, org_ids: Iterable[str]) -> None:
        """The organisations named and those above them (a parent, the office), one query a
        level."""
        wanted = sorted(set(org_ids) - self._orgs.keys())
        for _ in range(MAX_PARENT_HOPS):
            if not wanted:
                return
            found = {row["org_id"]: row for row in await self.store.orgs(wanted)}
            self._orgs.update({org_id: found.get(org_id) for org_id in wanted})
            parents = {row["parent_id"] for row in found.values() if row["parent_id"]}
            wanted = sorted(parents - self._orgs.keys())

    async def org(self, org_id: str) -> asyncpg.Record | None:
        if org_id not in self._orgs:
            self._orgs[org_id] = await self.store.org(org_id)
        return self._orgs[org_id]

    async def name(self, org_id: str) -> str:
        row = await self.org(org_id)
        return str(row["name"]) if row else org_id

    async def committees(self, county_code: str) -> list[asyncpg.Record]:
        if county_code not in self._committees:
            self._committees[county_code] = await self.store.committees(county_code)
        return self._committees[county_code]

    async def branches(self, county_code: str) -> list[asyncpg.Record]:
        if county_code not in self._branches:
            self._branches[county_code] = await self.store.branches_of_county(county_code)
        return self._branches[county_code]


def _addressee(row: asyncpg.Record) -> Addressee:
    return Addressee(
        org_id=row["org_id"],
        org_name=row["name"],
        person=row["secretary_name"],
        email=row["secretary_email"],
    )


async def branch(orgs: Directory, branch_id: str) -> Addressee:
    """The branch (its inbox) and its secretary; a branch not registered yet is still
    addressed by its id: its inbox works, its email is reported as having no address."""
    row = await orgs.org(branch_id)
    return _addressee(row) if row else Addressee(org_id=branch_id, org_name=branch_id)


async def office(orgs: Directory, county_code: str, branch_id: str | None) -> list[Addressee]:
    """The Party office (党委办) = the committee above the branch, else the county's committee."""
    seen: set[str] = set()
    current = await orgs.org(branch_id) if branch_id else None
    while current is not None and current["org_id"] not in seen and len(seen) < MAX_PARENT_HOPS:
        seen.add(current["org_id"])
        if current["kind"] == "committee":
            return [_addressee(current)]
        current = await orgs.org(current["parent_id"]) if current["parent_id"] else None
    committees = await orgs.committees(county_code)
    if not committees:
        log.warning("county %s has no registered committee: the office is not told", county_code)
    return [_addressee(row) for row in committees[:1]]


async def parent(orgs: Directory, county_code: str, branch_id: str) -> list[Addressee]:
    """The branch's superior organisation; the office when the parent is not known."""
    row = await orgs.org(branch_id)
    parent_row = await orgs.org(row["parent_id"]) if row and row["parent_id"] else None
    if parent_row is not None:
        return [_addressee(parent_row)]
    return await office(orgs, county_code, None)


async def superior(orgs: Directory, org_id: str) -> list[Addressee]:
    """The superior an event names (the organisation an escalation went to, the plan's
    reviewer); one not registered yet is addressed by its id, like a branch."""
    return [await branch(orgs, org_id)]


async def every_branch(orgs: Directory, county_code: str) -> list[Addressee]:
    return [_addressee(row) for row in await orgs.branches(county_code)]


async def resolve(
    orgs: Directory,
    audiences: tuple[Audience, ...],
    *,
    county_code: str,
    branch_id: str | None,
    superior_id: str | None = None,
) -> list[Addressee]:
    """Everyone the audiences name, in order; duplicates are removed when deliveries are planned.
    The parent is the superior the event names when it names one (`superior_id`)."""
    found: list[Addressee] = []
    for audience in audiences:
        if audience is Audience.SECRETARY and branch_id is not None:
            found.append(await branch(orgs, branch_id))
        elif audience is Audience.RESPONSIBLE and branch_id is not None:
            # A task's responsible person has no address in the contract: the notice goes to
            # the branch's inbox (shared with the secretary), naming them.
            found.append(dataclasses.replace(await branch(orgs, branch_id), by_email=False))
        elif audience is Audience.OFFICE:
            found += await office(orgs, county_code, branch_id)
        elif audience is Audience.PARENT and superior_id is not None:
            found += await superior(orgs, superior_id)
        elif audience is Audience.PARENT and branch_id is not None:
            found += await parent(orgs, county_code, branch_id)
        elif audience is Audience.EVERY_BRANCH:
            found += await every_branch(orgs, county_code)
    return found
