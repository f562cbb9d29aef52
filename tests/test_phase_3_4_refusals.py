"""Phases 3 and 4 on the real broker: one input of each new type is applied by reporting, and
bad ones are dead-lettered with their reason and change nothing — an appraisal with a negative
count (the contract), a commendation of an organisation the county never registered, a summary
review of a branch registered in another county and one of the committee (the campaign's
graded organisations only)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from grassroots.contract.examples import envelope
from tests.harness import TopicWatcher, eventually, header, produce_raw, publish_with_tool
from tests.scenario import County, at

pytestmark = pytest.mark.usefixtures("platform")

ANSWERS = {
    "process_solid": {"answer": "yes", "text": "四个阶段按时推进。"},
    "problems_solved": {"answer": "partly", "text": "三个突出问题解决两个。"},
    "advance_evident": {"answer": "yes", "text": "由“一般”晋位为“较强”。"},
}


def launched(c: County) -> dict[str, Any]:
    return c.event(
        "campaign.launched",
        {
            "campaign_id": c.campaign_id,
            "name": "三四阶段测试",
            "year": 2012,
            "phases": [
                {"phase": "emulation", "opens_on": "2012-07-01", "closes_on": "2012-08-15"},
                {"phase": "assessment", "opens_on": "2012-08-16", "closes_on": "2012-09-30"},
            ],
        },
        at("2012-03-01"),
    )


def good_inputs(c: County) -> list[dict[str, Any]]:
    """One input of each new type, about the county's registered organisations."""
    return [
        c.event(
            "emulation.commended",
            {
                "branch_id": c.b("b1"),
                "honour": "excellent_member",
                "title": "局党委“七一”创先争优专项表彰",
                "member_name": "张丽",
                "awarded_by": c.committee,
            },
            at("2012-07-01", "00:30:00"),  # still 30 June in UTC
        ),
        c.event(
            "emulation.publicized",
            {
                "branch_id": c.b("b1"),
                "title": "党员先锋岗进课堂",
                "channel": "education_newspaper",
                "published_on": "2012-07-20",
            },
            at("2012-07-20"),
        ),
        c.event(
            "emulation.learning_meeting_held",
            {"branch_id": c.b("b2"), "held_on": "2012-07-25", "target_level": "strong"},
            at("2012-07-25"),
        ),
        c.event(
            "assessment.summary_reviewed", {"branch_id": c.b("b1"), **ANSWERS}, at("2012-09-01")
        ),
        c.event(
            "assessment.committee_assessed",
            {"branch_id": c.b("b1"), "score": 88.5, "level": "fairly_strong"},
            at("2012-09-05"),
        ),
        c.event(
            "assessment.duty_reported",
            {
                "org_id": c.committee,
                "reporter_name": "李明",
                "reported_to": "中共蒲城县委",
                "reported_on": "2012-09-10",
                "document_ref": "蒲教党发〔2012〕21号",
            },
            at("2012-09-10"),
        ),
        c.event(
            "assessment.org_appraised",
            {
                "org_id": c.committee,
                "groups": [
                    {
                        "group": "branches",
                        "satisfied": 46,
                        "basically_satisfied": 3,
                        "dissatisfied": 1,
                    }
                ],
            },
            at("2012-09-12"),
        ),
        c.event(
            "assessment.annual_reviewed",
            {"org_id": c.committee, "year": 2012, "grade": "excellent"},
            at("2012-09-25"),
        ),
        c.event(
            "assessment.rule_established",
            {"org_id": c.b("b2"), "title": "党员承诺践诺制度", "adopted_on": "2012-09-20"},
            at("2012-09-20"),
        ),
    ]


def unregistered(org_id: str, county: str) -> str:
    return (
        f"{org_id} is not a registered organisation of county {county}: register it"
        " (org.branch_registered) first"
    )


def from_reporting(ids: set[str]) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    """Dead letters of reporting (another consumer of the topic may refuse them too)."""

    def matches(record: ConsumerRecord[bytes, bytes]) -> bool:
        event_id = json.loads(record.value)["id"]
        return header(record, "dlq-service") == "reporting" and event_id in ids

    return matches


async def applied(admin: asyncpg.Connection, c: County) -> dict[str, int]:
    """How many rows reporting keeps for the campaign, per table."""
    counts = {}
    for table in (
        "commendations",
        "publicity",
        "learning_meetings",
        "summary_reviews",
        "committee_assessments",
        "duty_reports",
        "appraisals",
        "annual_reviews",
        "standing_rules",
    ):
        counts[table] = await admin.fetchval(
            f"SELECT count(*) FROM reporting.{table} WHERE campaign_id = $1", c.campaign_id
        )
    return counts


async def test_bad_phase_3_and_4_inputs_are_dead_lettered_and_change_nothing(
    admin: asyncpg.Connection, tmp_path: Path
) -> None:
    c, elsewhere = County(), County()
    foreign = elsewhere.b("b9")  # a branch of another county
    setup = [
        launched(c),
        c.register(None),
        c.register("b1"),
        c.register("b2"),
        elsewhere.register("b9"),
    ]
    published = publish_with_tool(setup, tmp_path)
    assert published.returncode == 0, published.stderr
    ids = [c.committee, c.b("b1"), c.b("b2"), foreign]

    async def set_up() -> bool:
        branches = await admin.fetchval(
            "SELECT count(*) FROM reporting.branches WHERE branch_id = ANY($1::text[])", ids
        )
        launch = await admin.fetchval(
            "SELECT name FROM reporting.campaigns WHERE campaign_id = $1", c.campaign_id
        )
        return bool(branches == len(ids) and launch == "三四阶段测试")

    await eventually(set_up)

    late = at("2012-12-01")  # after every good input: a refused one must not move updated_at
    negative = c.event(
        "assessment.org_appraised",
        {
            "org_id": c.committee,
            "groups": [
                {"group": "members", "satisfied": -3, "basically_satisfied": 2, "dissatisfied": 0}
            ],
        },
        late,
    )
    unknown = c.event(
        "emulation.commended",
        {"branch_id": c.b("b404"), "honour": "advanced_organization", "title": "先进基层党组织"},
        late,
    )
    outside = envelope(  # sent by the branch's own county, about this campaign
        "assessment.summary_reviewed",
        {"branch_id": foreign, **ANSWERS},
        campaign_id=c.campaign_id,
        county=elsewhere.county,
        time=late,
    )
    outside_here = c.event(  # sent by this county: not an organisation it registered
        "assessment.summary_reviewed", {"branch_id": foreign, **ANSWERS}, late
    )
    committee = c.event("assessment.summary_reviewed", {"branch_id": c.committee, **ANSWERS}, late)
    good = good_inputs(c)
    expected = {
        negative["id"]: (
            "assessment.inputs.dlq",
            "invalid_data",
            "data.groups.0.satisfied: Input should be greater than or equal to 0",
        ),
        unknown["id"]: (
            "emulation.inputs.dlq",
            "rejected_by_rule",
            unregistered(c.b("b404"), c.county),
        ),
        outside["id"]: (
            "assessment.inputs.dlq",
            "rejected_by_rule",
            f"{foreign} is not one of the organisations graded in campaign {c.campaign_id}",
        ),
        outside_here["id"]: (
            "assessment.inputs.dlq",
            "rejected_by_rule",
            unregistered(foreign, c.county),
        ),
        committee["id"]: (
            "assessment.inputs.dlq",
            "rejected_by_rule",
            f"{c.committee} is not one of the organisations graded in campaign {c.campaign_id}",
        ),
    }
    async with (
        TopicWatcher("emulation.inputs.dlq") as emulation_dlq,
        TopicWatcher("assessment.inputs.dlq") as assessment_dlq,
    ):
        published = publish_with_tool([*good, unknown, outside, outside_here, committee], tmp_path)
        assert published.returncode == 0, published.stderr
        await produce_raw(
            "assessment.inputs", [(negative["subject"].encode(), json.dumps(negative).encode())]
        )
        wanted = set(expected)
        found = await emulation_dlq.wait_for(from_reporting(wanted), count=1, within=60)
        found += await assessment_dlq.wait_for(from_reporting(wanted), count=4, within=60)
        await emulation_dlq.drain()
        await assessment_dlq.drain()
        every = [r for r in emulation_dlq.seen + assessment_dlq.seen if from_reporting(wanted)(r)]

    dead = {
        json.loads(r.value)["id"]: (r.topic, header(r, "dlq-reason-code"), header(r, "dlq-reason"))
        for r in found
    }
    assert dead == expected
    assert len(every) == len(expected)  # each dead-lettered once

    # Every good input applied: one row each (the appraisal counts one rater group).
    counts = await eventually(lambda: _all_applied(admin, c), within=60)
    assert counts == {
        "commendations": 1,
        "publicity": 1,
        "learning_meetings": 1,
        "summary_reviews": 1,
        "committee_assessments": 1,
        "duty_reports": 1,
        "appraisals": 1,
        "annual_reviews": 1,
        "standing_rules": 1,
    }
    commendation = await admin.fetchrow(
        "SELECT awarded_by, awarded_on, member_name FROM reporting.commendations"
        " WHERE campaign_id = $1",
        c.campaign_id,
    )
    assert dict(commendation) == {
        "awarded_by": c.committee,
        "awarded_on": dt.date(2012, 7, 1),  # absent: the event's day in county time
        "member_name": "张丽",
    }
    review = await admin.fetchrow(
        "SELECT branch_id, problems_answer, problems_text FROM reporting.summary_reviews"
        " WHERE campaign_id = $1",
        c.campaign_id,
    )
    assert tuple(review) == (c.b("b1"), "partly", "三个突出问题解决两个。")
    assessment = await admin.fetchrow(
        "SELECT score, level FROM reporting.committee_assessments WHERE campaign_id = $1",
        c.campaign_id,
    )
    assert tuple(assessment) == (Decimal("88.5"), "fairly_strong")
    appraisal = await admin.fetchrow(
        "SELECT org_id, rater_group, satisfied, basically_satisfied, dissatisfied"
        " FROM reporting.appraisals WHERE campaign_id = $1",
        c.campaign_id,
    )
    assert tuple(appraisal) == (c.committee, "branches", 46, 3, 1)

    # Nothing of the refused ones: no rows, no counter, the campaign's time not moved.
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM reporting.summary_reviews WHERE branch_id = ANY($1::text[])",
            [foreign, c.committee],
        )
        == 0
    )
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM reporting.commendations WHERE branch_id = $1", c.b("b404")
        )
        == 0
    )
    assert (
        await admin.fetchval(
            "SELECT value FROM reporting.counters WHERE campaign_id = $1 AND name = 'commendations'",
            c.campaign_id,
        )
        == 1
    )
    updated_at = await admin.fetchval(
        "SELECT updated_at FROM reporting.campaigns WHERE campaign_id = $1", c.campaign_id
    )
    assert updated_at == at("2012-09-25")  # the latest good input's time
    rejected = await admin.fetch(
        "SELECT event_id, reason FROM reporting.inbox WHERE outcome = 'rejected'"
        " AND event_id = ANY($1::text[])",
        list(expected),
    )
    assert {r["event_id"]: r["reason"] for r in rejected} == {
        key: reason for key, (_, code, reason) in expected.items() if code == "rejected_by_rule"
    }


async def _all_applied(admin: asyncpg.Connection, c: County) -> dict[str, int] | None:
    counts = await applied(admin, c)
    return counts if all(counts.values()) else None
