"""A small county of its own per test, with builders for its events on a given date."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from grassroots.contract.examples import CST, envelope


def at(day: str, clock: str = "09:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CST)


class County:
    def __init__(self) -> None:
        token = uuid.uuid4().hex[:6]
        self.county = f"8{int(token, 16) % 100000:05d}"
        self.campaign_id = f"rect-{token}"
        self.committee = f"{self.county}-committee"

    def b(self, key: str) -> str:
        return f"{self.county}-{key}"

    def event(self, event_type: str, data: dict[str, Any], when: dt.datetime) -> dict[str, Any]:
        return envelope(
            event_type, data, campaign_id=self.campaign_id, county=self.county, time=when
        )

    def register(self, key: str | None) -> dict[str, Any]:
        branch_id = self.committee if key is None else self.b(key)
        return self.event(
            "org.branch_registered",
            {
                "branch_id": branch_id,
                "name": f"{key or '党委'}",
                "unit": "学校",
                "kind": "committee" if key is None else "branch",
                "parent_id": None if key is None else self.committee,
                "secretary": {"name": "李书记"},
                "member_count": 9,
            },
            at("2012-03-01"),
        )

    def task(self, task_id: str, deadline: str, problem_id: str | None = None) -> dict[str, Any]:
        return {
            "task_id": task_id,
            "problem_id": problem_id,
            "title": f"整改任务{task_id}",
            "responsible": "张主任",
            "requirement": "按期完成",
            "measures": "专人负责",
            "deadline": deadline,
            "kind": "immediate",
        }

    def commitment(
        self, key: str, revision: int, tasks: list[dict[str, Any]], when: dt.datetime
    ) -> dict[str, Any]:
        return self.event(
            "rectification.commitment_published",
            {
                "branch_id": self.b(key),
                "commitment_id": f"{self.b(key)}-c",
                "revision": revision,
                "tasks": tasks,
            },
            when,
        )

    def review(
        self, key: str, revision: int, decision: str, when: dt.datetime, guidance: str | None = None
    ) -> dict[str, Any]:
        data = {
            "branch_id": self.b(key),
            "commitment_id": f"{self.b(key)}-c",
            "revision": revision,
            "decision": decision,
            "reviewer_org_id": self.committee,
        }
        if guidance:
            data["guidance"] = guidance
        return self.event("rectification.commitment_reviewed", data, when)

    def phase(self, action: str, when: dt.datetime) -> dict[str, Any]:
        """The rectification phase opened or closed."""
        return self.phase_of("rectification", action, when)

    def phase_of(self, phase: str, action: str, when: dt.datetime) -> dict[str, Any]:
        return self.event(
            f"campaign.phase_{action}", {"campaign_id": self.campaign_id, "phase": phase}, when
        )
