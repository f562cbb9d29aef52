"""Turning an audience (the branch's secretary, the Party office, …) into organisations to
address, from the registrations this service has seen (org.branch_registered)."""

from __future__ import annotations

import dataclasses
import logging

import asyncpg

from notification import store
from notification.domain import Addressee, Audience

log = logging.getLogger(__name__)
MAX_PARENT_HOPS = 8  # a registration loop must not loop us


def _addressee(row: asyncpg.Record) -> Addressee:
    return Addressee(
        org_id=row["org_id"],
        org_name=row["name"],
        person=row["secretary_name"],
        email=row["secretary_email"],
    )


async def branch(conn: asyncpg.Connection, branch_id: str) -> Addressee:
    """The branch (its inbox) and its secretary; a branch not registered yet is still
    addressed by its id: its inbox works, its email is reported as having no address."""
    row = await store.org(conn, branch_id)
    return _addressee(row) if row else Addressee(org_id=branch_id, org_name=branch_id)


async def office(
    conn: asyncpg.Connection, county_code: str, branch_id: str | None
) -> list[Addressee]:
    """The Party office (党委办) = the committee above the branch, else the county's committee."""
    seen: set[str] = set()
    current = await store.org(conn, branch_id) if branch_id else None
    while current is not None and current["org_id"] not in seen and len(seen) < MAX_PARENT_HOPS:
        seen.add(current["org_id"])
        if current["kind"] == "committee":
            return [_addressee(current)]
        current = await store.org(conn, current["parent_id"]) if current["parent_id"] else None
    committees = await store.committees(conn, county_code)
    if not committees:
        log.warning("county %s has no registered committee: the office is not told", county_code)
    return [_addressee(row) for row in committees[:1]]


async def parent(conn: asyncpg.Connection, county_code: str, branch_id: str) -> list[Addressee]:
    """The branch's superior organisation; the office when the parent is not known."""
    row = await store.org(conn, branch_id)
    parent_row = await store.org(conn, row["parent_id"]) if row and row["parent_id"] else None
    if parent_row is not None:
        return [_addressee(parent_row)]
    return await office(conn, county_code, None)


async def every_branch(conn: asyncpg.Connection, county_code: str) -> list[Addressee]:
    return [_addressee(row) for row in await store.branches_of_county(conn, county_code)]


async def resolve(
    conn: asyncpg.Connection,
    audiences: tuple[Audience, ...],
    *,
    county_code: str,
    branch_id: str | None,
) -> list[Addressee]:
    """Everyone the audiences name, in order; duplicates are removed when deliveries are planned."""
    found: list[Addressee] = []
    for audience in audiences:
        if audience is Audience.SECRETARY and branch_id is not None:
            found.append(await branch(conn, branch_id))
        elif audience is Audience.RESPONSIBLE and branch_id is not None:
            # A task's responsible person has no address in the contract: the notice goes to
            # the branch's inbox (shared with the secretary), naming them.
            found.append(dataclasses.replace(await branch(conn, branch_id), by_email=False))
        elif audience is Audience.OFFICE:
            found += await office(conn, county_code, branch_id)
        elif audience is Audience.PARENT and branch_id is not None:
            found += await parent(conn, county_code, branch_id)
        elif audience is Audience.EVERY_BRANCH:
            found += await every_branch(conn, county_code)
    return found
