"""What every service's store shares: the connection it is bound to, and the organisation
registry row that services keeping the plain registry write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from grassroots.contract.events import OrgBranchRegisteredEvent


class Store:
    """Base of a service's store: all its SQL, bound to one unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn


class OrganisationRow(NamedTuple):
    """A row of a service's `branches` table: the organisation registry as grading and
    rectification keep it."""

    branch_id: str
    county_code: str
    kind: str
    name: str
    parent_id: str | None

    @classmethod
    def latest(cls, events: Sequence[OrgBranchRegisteredEvent]) -> list[OrganisationRow]:
        """One row per organisation; a later registration in the batch wins."""
        latest = {event.data.branch_id: event for event in events}
        return [
            cls(e.data.branch_id, e.countycode, e.data.kind.value, e.data.name, e.data.parent_id)
            for e in latest.values()
        ]
