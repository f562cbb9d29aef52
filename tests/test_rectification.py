"""Rectification end to end on a clock the test controls: escalation, commitments returned and
re-published, progress and completion, a task left to go overdue, a branch that never commits,
settlement at the close — the exact `rectification.results`, none twice across a restart; and
problems followed through: covered, deferred, escalated and answered, resolved; an escalation
and a review left waiting; a gradual task on track at the close and followed after it; bad
input dead-lettered with its reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from tests.harness import (
    Platform,
    TopicWatcher,
    eventually,
    header,
    produce_raw,
    publish_with_tool,
)
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
    # The plan's approval and the escalation (which waits for the parent's registration, on
    # another topic) may come in either order: the approval's snapshot names the escalation
    # only when it came first.
    for e in published:
        if e["type"] == "rectification.problem_updated":
            assert e["data"].pop("escalation", {"to_org_id": c.committee}) == {
                "to_org_id": c.committee
            }
    facts = sorted(
        ((e["type"].removeprefix("rectification."), e["data"]) for e in published), key=fact_order
    )
    expected: list[tuple[str, dict[str, Any]]] = [
        (
            "problem_escalated",
            {"branch_id": c.b("b1"), "problem_id": "p1", "to_org_id": c.committee},
        ),
        ("commitment_missing", {"branch_id": c.b("b3"), "due": "2012-04-26"}),
        # The approved plan names p1; the committee never answered its escalation (17 April,
        # due in 10 days).
        (
            "problem_updated",
            {
                "branch_id": c.b("b1"),
                "problem_id": "p1",
                "status": "in_rectification",
                "task_id": "t1",
            },
        ),
        (
            "escalation_overdue",
            {
                "branch_id": c.b("b1"),
                "problem_id": "p1",
                "to_org_id": c.committee,
                "due": "2012-04-27",
            },
        ),
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
                "tasks_on_track": 0,
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
                "tasks_on_track": 0,
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
                "tasks_on_track": 0,
            },
        ),
    ]
    assert facts == sorted(expected, key=fact_order)
    assert escalated


def of_type(county: County, event_type: str) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    """Matches the county's results of one type."""

    def matches(record: ConsumerRecord[bytes, bytes]) -> bool:
        event = json.loads(record.value)
        return bool(event["type"] == event_type and event.get("campaignid") == county.campaign_id)

    return matches


async def test_problems_followed_through_escalations_answered_and_gradual_tasks(
    platform: Platform, admin: asyncpg.Connection, tmp_path: Path
) -> None:
    c = County()
    committee = c.committee
    platform.set_clock(at("2012-04-10"))

    def problem(key: str, problem_id: str, source: str, needs_superior: bool) -> dict[str, Any]:
        data = {
            "branch_id": c.b(key),
            "problem_id": problem_id,
            "description": f"问题{problem_id}",
            "source": source,
            "needs_superior": needs_superior,
        }
        return c.event("rectification.problem_listed", data, at("2012-04-17"))

    def about(event_type: str, key: str, problem_id: str, day: str, **data: Any) -> dict[str, Any]:
        ref = {"branch_id": c.b(key), "problem_id": problem_id}
        return c.event(f"rectification.{event_type}", {**ref, **data}, at(day))

    def gradual(task_id: str, deadline: str) -> dict[str, Any]:
        return {**c.task(task_id, deadline), "kind": "gradual"}

    def completed(key: str, task_id: str, day: str) -> dict[str, Any]:
        data = {"branch_id": c.b(key), "task_id": task_id, "evidence": "验收单"}
        return c.event("rectification.task_completed", data, at(day))

    reason = "需随校舍改造一并解决，列入下年度计划"
    accepted = {"answer": "accepted", "action": "局党委统筹专项经费", "due": "2012-05-20"}
    try:
        async with (
            TopicWatcher("rectification.results") as results,
            TopicWatcher("rectification.inputs.dlq") as dlq,
        ):
            launch = c.event(
                "campaign.launched",
                {
                    "campaign_id": c.campaign_id,
                    "name": "整改跟踪测试",
                    "year": 2012,
                    "phases": [
                        {
                            "phase": "rectification",
                            "opens_on": "2012-04-16",
                            "closes_on": "2012-06-30",
                        }
                    ],
                    "rules": {"gradual_horizon": "2012-12-31"},
                },
                at("2012-03-01"),
            )
            uncovered_approval = c.review("b1", 1, "approved", at("2012-04-21"))
            unknown_problem = about("problem_resolved", "b1", "p-404", "2012-04-25", evidence="无")
            never_escalated = about(
                "escalation_answered",
                "b1",
                "p1",
                "2012-04-25",
                answered_by_org_id=committee,
                **accepted,
            )
            past_horizon = c.commitment(
                "b3",
                2,
                [
                    c.task("ti1", "2012-05-31"),
                    c.task("ti2", "2012-05-31"),
                    gradual("tg2", "2013-03-01"),
                ],
                at("2012-04-22"),
            )
            first = [
                launch,
                c.register(None),
                *(c.register(key) for key in ("b1", "b2", "b3")),
                c.phase("opened", at("2012-04-16")),
                # b1: two problems raised by the public, one needing the superior; b2: one
                # needing the superior too.
                problem("b1", "p1", "public", False),
                problem("b1", "p2", "public", False),
                problem("b1", "p3", "survey", True),
                problem("b2", "q1", "self", True),
            ]
            assert publish_with_tool(first, tmp_path).returncode == 0
            # Escalated once the parents are known: the superior can answer from now on.
            await results.wait_for(of_type(c, "rectification.problem_escalated"), count=2)
            # The launch (its horizon) is on another topic than the plans: applied first, as a
            # county system launches a campaign before plans come in.
            await eventually(
                lambda: admin.fetchval(
                    "SELECT gradual_horizon FROM rectification.campaigns WHERE campaign_id = $1",
                    c.campaign_id,
                )
            )
            events = [
                c.commitment("b1", 1, [c.task("t1", "2012-05-10", "p1")], at("2012-04-20")),
                uncovered_approval,  # p2 is neither named nor deferred
                c.review("b1", 1, "returned", at("2012-04-22"), guidance="请细化措施"),
                c.commitment(
                    "b1",
                    2,
                    [c.task("t1", "2012-05-10", "p1"), c.task("t2", "2012-06-30")],
                    at("2012-04-23"),
                ),
                about("problem_deferred", "b1", "p2", "2012-04-23", reason=reason),
                c.review("b1", 2, "approved", at("2012-04-24")),
                about(
                    "escalation_answered",
                    "b1",
                    "p3",
                    "2012-04-25",
                    answered_by_org_id=committee,
                    **accepted,
                ),
                unknown_problem,
                never_escalated,
                completed("b1", "t1", "2012-05-08"),
                about("problem_resolved", "b1", "p1", "2012-05-08", evidence="活动室已改造"),
                about("problem_resolved", "b1", "p3", "2012-05-20", evidence="经费已到位"),
                # b2: the superior leaves its escalation and its plan waiting.
                c.commitment("b2", 1, [c.task("tb", "2012-06-30")], at("2012-04-20")),
                # b3: two immediate tasks done, one gradual task due after the phase.
                c.commitment(
                    "b3",
                    1,
                    [
                        c.task("ti1", "2012-05-31"),
                        c.task("ti2", "2012-05-31"),
                        gradual("tg", "2012-08-31"),
                    ],
                    at("2012-04-20"),
                ),
                c.review("b3", 1, "approved", at("2012-04-21")),
                past_horizon,
                completed("b3", "ti1", "2012-05-10"),
                completed("b3", "ti2", "2012-05-10"),
            ]
            published = publish_with_tool(events, tmp_path)
            assert published.returncode == 0, published.stdout + published.stderr
            # Deferring without a reason is refused by the contract itself.
            no_reason = about("problem_deferred", "b1", "p1", "2012-04-26")  # data: no reason
            await produce_raw(
                "rectification.inputs",
                [(c.b("b1").encode(), json.dumps(no_reason, ensure_ascii=False).encode())],
            )

            bad = [uncovered_approval, unknown_problem, never_escalated, past_horizon, no_reason]
            refused = await dlq.wait_for(
                lambda r: json.loads(r.value)["id"] in {e["id"] for e in bad}, count=len(bad)
            )
            reasons = {
                json.loads(r.value)["id"]: (header(r, "dlq-reason-code"), header(r, "dlq-reason"))
                for r in refused
            }
            assert reasons == {
                uncovered_approval["id"]: (
                    "rejected_by_rule",
                    "approving leaves problems raised by members or the public uncovered: p2 — "
                    "name them in a task, defer them, or give uncovered_reason",
                ),
                unknown_problem["id"]: (
                    "rejected_by_rule",
                    f"problem p-404 was never listed by {c.b('b1')}",
                ),
                never_escalated["id"]: (
                    "rejected_by_rule",
                    f"problem p1 of {c.b('b1')} was never escalated",
                ),
                past_horizon["id"]: (
                    "rejected_by_rule",
                    "task tg2 (gradual): deadline 2013-03-01 is after the horizon 2012-12-31",
                ),
                no_reason["id"]: ("invalid_data", "data.reason: Field required"),
            }
            await results.wait_for(of_type(c, "rectification.problem_updated"), count=5)

            # b2's escalation (17 April) was due on the 27th, its plan's review on the 25th.
            platform.set_clock(at("2012-04-28", "00:00:01"))
            await results.wait_for(of_type(c, "rectification.escalation_overdue"))
            await results.wait_for(of_type(c, "rectification.review_overdue"))

            closed = publish_with_tool([c.phase("closed", at("2012-06-30", "18:00:00"))], tmp_path)
            assert closed.returncode == 0
            await results.wait_for(of_type(c, "rectification.branch_settled"), count=3)

            # After the phase the gradual task is still followed: due 31 August.
            platform.set_clock(at("2012-09-01", "00:00:01"))
            await results.wait_for(of_type(c, "rectification.task_overdue"))
            await asyncio.sleep(1)  # a few more sweeps: nothing else comes
            await results.drain()
    finally:
        platform.set_clock(None)

    published_results = results_for(c, results.seen)
    assert len({e["id"] for e in published_results}) == len(published_results)
    facts = sorted(
        ((e["type"].removeprefix("rectification."), e["data"]) for e in published_results),
        key=fact_order,
    )
    b1, b2, b3 = c.b("b1"), c.b("b2"), c.b("b3")
    answer = {"to_org_id": committee, **accepted}

    def updated(problem_id: str, status: str, **data: Any) -> tuple[str, dict[str, Any]]:
        return (
            "problem_updated",
            {"branch_id": b1, "problem_id": problem_id, "status": status, **data},
        )

    def settled(branch: str, *numbers: float) -> tuple[str, dict[str, Any]]:
        names = ("tasks_total", "tasks_completed", "tasks_overdue", "tasks_on_track")
        data: dict[str, Any] = dict(zip(names, numbers[:4], strict=True))
        return ("branch_settled", {"branch_id": branch, **data, "completion_rate": numbers[4]})

    expected: list[tuple[str, dict[str, Any]]] = [
        ("problem_escalated", {"branch_id": b1, "problem_id": "p3", "to_org_id": committee}),
        ("problem_escalated", {"branch_id": b2, "problem_id": "q1", "to_org_id": committee}),
        updated("p2", "deferred", reason=reason),
        updated("p1", "in_rectification", task_id="t1"),
        updated("p3", "open", escalation=answer),
        updated("p1", "resolved", task_id="t1", evidence="活动室已改造"),
        updated("p3", "resolved", evidence="经费已到位", escalation=answer),
        (
            "escalation_overdue",
            {"branch_id": b2, "problem_id": "q1", "to_org_id": committee, "due": "2012-04-27"},
        ),
        (
            "review_overdue",
            {
                "branch_id": b2,
                "commitment_id": f"{b2}-c",
                "revision": 1,
                "reviewer_org_id": committee,
                "due": "2012-04-25",
            },
        ),
        settled(b1, 2, 1, 0, 0, 0.5),
        settled(b2, 1, 0, 0, 0, 0.0),
        settled(b3, 3, 2, 0, 1, 1.0),  # 2 immediate completed + 1 gradual not yet due: 100 %
        (
            "task_overdue",
            {"branch_id": b3, "task_id": "tg", "deadline": "2012-08-31", "responsible": "张主任"},
        ),
    ]
    assert facts == sorted(expected, key=fact_order)
