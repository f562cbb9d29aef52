"""Rectification end to end on a clock the test controls: escalation, commitments returned and
re-published, progress and completion, a task left to go overdue, a branch that never commits,
settlement at the close — the exact `rectification.results`, none twice across a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Platform, TopicWatcher, header, publish_with_tool
from tests.scenario import County, at

pytestmark = pytest.mark.usefixtures("platform")


def fact_order(fact: tuple[str, dict[str, Any]]) -> tuple[str, str]:
    return fact[0], json.dumps(fact[1], sort_keys=True)


def results_for(county: County, records: list[Any]) -> list[dict[str, Any]]:
    events = [json.loads(r.value) for r in records]
    return [e for e in events if e.get("campaignid") == county.campaign_id]


async def test_a_rectification_phase_from_commitments_to_settlement(
    platform: Platform, tmp_path: Path
) -> None:
    c = County()
    platform.set_clock(at("2012-04-10"))
    try:
        async with (
            TopicWatcher("rectification.results") as results,
            TopicWatcher("rectification.inputs.dlq") as dlq,
        ):
            launch = c.event(
                "campaign.launched",
                {
                    "campaign_id": c.campaign_id,
                    "name": "整改测试",
                    "year": 2012,
                    "phases": [
                        {
                            "phase": "rectification",
                            "opens_on": "2012-04-16",
                            "closes_on": "2012-06-30",
                        }
                    ],
                    "rules": {"commitment_due_days": 10},
                },
                at("2012-03-01"),
            )
            stale_review = c.review("b1", 1, "approved", at("2012-04-24"))
            unknown_task = c.event(
                "rectification.task_completed",
                {"branch_id": c.b("b2"), "task_id": "t-404", "evidence": "无"},
                at("2012-05-01"),
            )
            events = [
                launch,
                c.register(None),
                c.register("b1"),
                c.register("b2"),
                c.register("b3"),
                c.phase("opened", at("2012-04-16")),
                c.event(
                    "rectification.problem_listed",
                    {
                        "branch_id": c.b("b1"),
                        "problem_id": "p1",
                        "description": "活动场所不足",
                        "source": "public",
                        "needs_superior": True,
                    },
                    at("2012-04-17"),
                ),
                c.commitment(
                    "b1",
                    1,
                    [c.task("t1", "2012-05-10", "p1"), c.task("t2", "2012-05-20")],
                    at("2012-04-20"),
                ),
                c.commitment("b2", 1, [c.task("t3", "2012-05-15")], at("2012-04-20")),
                c.review("b1", 1, "returned", at("2012-04-22"), guidance="请细化措施"),
                c.commitment(
                    "b1",
                    2,
                    [c.task("t1", "2012-05-10", "p1"), c.task("t2", "2012-05-25")],
                    at("2012-04-23"),
                ),
                stale_review,
                c.review("b1", 2, "approved", at("2012-04-24")),
                c.review("b2", 1, "approved", at("2012-04-24")),
                c.event(
                    "rectification.task_progressed",
                    {"branch_id": c.b("b1"), "task_id": "t1", "percent": 50},
                    at("2012-05-01"),
                ),
                c.event(
                    "rectification.task_completed",
                    {"branch_id": c.b("b1"), "task_id": "t1", "evidence": "验收单"},
                    at("2012-05-08"),
                ),
                c.event(
                    "rectification.task_completed",
                    {"branch_id": c.b("b2"), "task_id": "t3", "evidence": "验收单"},
                    at("2012-05-12"),
                ),
                unknown_task,
            ]
            assert publish_with_tool(events, tmp_path).returncode == 0

            escalated = await results.wait_for(
                lambda r: (
                    json.loads(r.value)["type"] == "rectification.problem_escalated"
                    and json.loads(r.value)["campaignid"] == c.campaign_id
                )
            )
            refused = await dlq.wait_for(
                lambda r: json.loads(r.value)["id"] in {stale_review["id"], unknown_task["id"]},
                count=2,
            )
            reasons = {json.loads(r.value)["id"]: header(r, "dlq-reason") for r in refused}
            assert "not the latest (revision 2)" in reasons[stale_review["id"]]
            assert "t-404 is not in the latest commitment" in reasons[unknown_task["id"]]

            # The commitment was due 10 days after opening: b3 is named, once.
            platform.set_clock(at("2012-04-26", "09:00:01"))
            await results.wait_for(
                lambda r: (
                    json.loads(r.value)["type"] == "rectification.commitment_missing"
                    and json.loads(r.value)["campaignid"] == c.campaign_id
                )
            )
            platform.restart("rectification")  # a crash mid-way repeats nothing

            platform.set_clock(at("2012-05-26", "00:00:00"))  # t2 (due 25 May) is now late
            await results.wait_for(
                lambda r: (
                    json.loads(r.value)["type"] == "rectification.task_overdue"
                    and json.loads(r.value)["campaignid"] == c.campaign_id
                )
            )

            assert (
                publish_with_tool(
                    [c.phase("closed", at("2012-06-30", "18:00:00"))], tmp_path
                ).returncode
                == 0
            )
            await results.wait_for(
                lambda r: (
                    json.loads(r.value)["type"] == "rectification.branch_settled"
                    and json.loads(r.value)["campaignid"] == c.campaign_id
                ),
                count=3,
            )
            await results.drain()
    finally:
        platform.set_clock(None)

    published = results_for(c, results.seen)
    assert len({e["id"] for e in published}) == len(published), "an event was published twice"
    facts = sorted(
        ((e["type"].removeprefix("rectification."), e["data"]) for e in published), key=fact_order
    )
    expected: list[tuple[str, dict[str, Any]]] = [
        (
            "problem_escalated",
            {"branch_id": c.b("b1"), "problem_id": "p1", "to_org_id": c.committee},
        ),
        ("commitment_missing", {"branch_id": c.b("b3"), "due": "2012-04-26"}),
        (
            "task_overdue",
            {
                "branch_id": c.b("b1"),
                "task_id": "t2",
                "deadline": "2012-05-25",
                "responsible": "张主任",
            },
        ),
        (
            "branch_settled",
            {
                "branch_id": c.b("b1"),
                "tasks_total": 2,
                "tasks_completed": 1,
                "tasks_overdue": 1,
                "completion_rate": 0.5,
            },
        ),
        (
            "branch_settled",
            {
                "branch_id": c.b("b2"),
                "tasks_total": 1,
                "tasks_completed": 1,
                "tasks_overdue": 0,
                "completion_rate": 1.0,
            },
        ),
        (
            "branch_settled",
            {
                "branch_id": c.b("b3"),
                "tasks_total": 0,
                "tasks_completed": 0,
                "tasks_overdue": 0,
                "completion_rate": 0.0,
            },
        ),
    ]
    assert facts == sorted(expected, key=fact_order)
    assert escalated
