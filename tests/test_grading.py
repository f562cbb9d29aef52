"""Grading end to end: a dozen branches covering the rules, both rounds, through the real
broker, published with the publisher tool, read back from `grading.results`."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from grassroots.contract.examples import CST, envelope
from tests.harness import (
    Platform,
    TopicWatcher,
    eventually,
    header,
    produce_raw,
    publish_with_tool,
)

pytestmark = pytest.mark.usefixtures("platform")

CRITERIA = ("leadership", "membership", "mechanism", "performance", "reputation")


def scores(value: float, **overrides: float) -> dict[str, float]:
    return {**dict.fromkeys(CRITERIA, value), **overrides}


class Campaign:
    """A fresh county and campaign, so the test's numbers are its own."""

    def __init__(self) -> None:
        token = uuid.uuid4().hex[:6]
        self.county = f"9{int(token, 16) % 100000:05d}"
        self.campaign_id = f"grading-{token}"
        self.prefix = f"{self.county}-{token}"
        self.committee = f"{self.prefix}-committee"

    def event(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return envelope(event_type, data, campaign_id=self.campaign_id, county=self.county)

    def branch(self, key: str) -> str:
        return f"{self.prefix}-{key}"

    def register(self, key: str, kind: str = "branch") -> dict[str, Any]:
        branch_id = self.committee if kind == "committee" else self.branch(key)
        return self.event(
            "org.branch_registered",
            {
                "branch_id": branch_id,
                "name": f"{key}党支部",
                "kind": kind,
                "parent_id": None if kind == "committee" else self.committee,
                "unit": f"{key}学校",
                "township": "城关街道",
                "secretary": {"name": "王建国", "email": f"{key}@example.org"},
                "member_count": 12,
            },
        )

    def launch(self, rules: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "campaign_id": self.campaign_id,
            "name": "测试基层组织建设年",
            "year": 2012,
            "phases": [
                {"phase": "survey_grading", "opens_on": "2012-03-01", "closes_on": "2012-04-15"},
                {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"},
                {"phase": "emulation", "opens_on": "2012-07-01", "closes_on": "2012-08-15"},
                {"phase": "assessment", "opens_on": "2012-08-16", "closes_on": "2012-09-30"},
            ],
        }
        if rules:
            data["rules"] = rules
        return self.event("campaign.launched", data)

    def phase(self, phase: str, action: str) -> dict[str, Any]:
        return self.event(
            f"campaign.phase_{action}", {"campaign_id": self.campaign_id, "phase": phase}
        )

    def inputs(
        self,
        key: str,
        round_: str,
        value: float | dict[str, float],
        *,
        skip: tuple[str, ...] = (),
        superior: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        branch_scores = value if isinstance(value, dict) else scores(value)
        base = {"branch_id": self.branch(key), "round": round_, "scores": branch_scores}
        events = []
        if "self" not in skip:
            events.append(self.event("grading.self_evaluated", base))
        if "appraisal" not in skip:
            events.append(self.event("grading.appraised", {**base, "raters": 25}))
        if "superior" not in skip:
            events.append(
                self.event(
                    "grading.superior_rated",
                    {**base, "rater_org_id": self.committee, **(superior or {})},
                )
            )
        return events

    def settled(self, key: str, rate: float) -> dict[str, Any]:
        return self.event(
            "rectification.branch_settled",
            {
                "branch_id": self.branch(key),
                "tasks_total": 10,
                "tasks_completed": round(rate * 10),
                "tasks_overdue": 0,
                "completion_rate": rate,
            },
        )


def results_of(campaign: Campaign, round_: str) -> Any:
    def belongs(record: Any) -> bool:
        event: dict[str, Any] = json.loads(record.value)
        return bool(
            event.get("campaignid") == campaign.campaign_id and event["data"].get("round") == round_
        )

    return belongs


def by_branch(records: list[Any], campaign: Campaign) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        event = json.loads(record.value)
        key = event["data"].get("branch_id", "*published*").removeprefix(campaign.prefix + "-")
        assert key not in found, f"a second result for {key}"
        found[key] = {"type": event["type"], **event["data"]}
    return found


INITIAL_CASES: dict[str, float | dict[str, float]] = {
    "b01": 95,
    "b02": 85,
    "b03": 70,
    "b04": 50,
    "b05": scores(98, reputation=59),  # one criterion under the floor caps at average
    "b06": 90,
    "b07": 89.99,
}


def initial_inputs(campaign: Campaign) -> list[dict[str, Any]]:
    events = []
    for key, value in INITIAL_CASES.items():
        events += campaign.inputs(key, "initial", value)
    events += campaign.inputs(
        "b08",
        "initial",
        95,
        superior={"override_level": "weak", "override_reason": "群众反映强烈，上级核定为薄弱"},
    )
    events += campaign.inputs("b09", "initial", 95, superior={"veto_reason": "发生违纪案件"})
    events += campaign.inputs("b10", "initial", 88, skip=("appraisal",))
    events += campaign.inputs("ghost", "initial", 88)  # never registered
    return events


def registrations(campaign: Campaign) -> list[dict[str, Any]]:
    keys = [*INITIAL_CASES, "b08", "b09", "b10", "b11"]
    return [campaign.register("committee", "committee"), *(campaign.register(k) for k in keys)]


async def test_a_dozen_branches_are_graded_exactly_in_both_rounds(tmp_path: Path) -> None:
    campaign = Campaign()
    async with TopicWatcher("grading.results") as results:
        # Inputs before the registrations and the launch, all back to back with the close.
        events = [
            *initial_inputs(campaign),
            *registrations(campaign),
            campaign.launch(),
            campaign.phase("survey_grading", "opened"),
            campaign.phase("survey_grading", "closed"),
        ]
        outcome = publish_with_tool(events, tmp_path)
        assert outcome.returncode == 0, outcome.stderr

        # 12 branches, ghost included, and one results_published; the committee is not graded.
        initial = by_branch(
            await results.wait_for(results_of(campaign, "initial"), count=13), campaign
        )

    levels = {k: v["level"] for k, v in initial.items() if v["type"] == "grading.branch_graded"}
    assert levels == {
        "b01": "strong",
        "b02": "fairly_strong",
        "b03": "average",
        "b04": "weak",
        "b05": "average",
        "b06": "strong",
        "b07": "fairly_strong",
        "b08": "weak",
        "b09": "weak",
    }
    assert initial["b01"]["total"] == 95.0 and initial["b01"]["basis"] == "computed"
    assert initial["b07"]["total"] == 89.99
    assert initial["b05"]["scores"]["reputation"] == 59.0
    assert (initial["b08"]["basis"], initial["b08"]["override_reason"]) == (
        "override",
        "群众反映强烈，上级核定为薄弱",
    )
    assert initial["b09"]["veto_reason"] == "发生违纪案件"
    incomplete = {
        k: v["missing"] for k, v in initial.items() if v["type"] == "grading.branch_incomplete"
    }
    assert incomplete == {
        "b10": ["appraisal"],
        "b11": ["self", "appraisal", "superior"],
        "ghost": ["registration"],
    }
    published = initial["*published*"]
    assert published["type"] == "grading.results_published"
    assert published["counts"] == {"strong": 2, "fairly_strong": 2, "average": 2, "weak": 3}
    assert published["incomplete"] == 3

    async with TopicWatcher("grading.results") as results:
        # 11 registered branches and one results_published.
        final_events = [
            campaign.settled("b03", 0.8),
            campaign.settled("b02", 0.79),
            *campaign.inputs("b03", "final", 92),  # average → strong, 80 %: moves up
            *campaign.inputs("b02", "final", 92),  # fairly_strong → capped at 79 %
            *campaign.inputs("b04", "final", 85),  # weak, never settled: capped, 0 %
            *campaign.inputs("b01", "final", 95),
            campaign.phase("assessment", "closed"),
        ]
        assert publish_with_tool(final_events, tmp_path).returncode == 0
        final = by_branch(await results.wait_for(results_of(campaign, "final"), count=12), campaign)

    assert final["b03"]["level"] == "strong" and final["b03"]["moved_up"] is True
    assert final["b03"]["previous_level"] == "average"
    assert final["b02"]["level"] == "fairly_strong" and final["b02"]["upgrade_capped"] is True
    assert final["b02"]["completion_rate"] == 0.79
    assert (final["b04"]["level"], final["b04"]["settled"], final["b04"]["upgrade_capped"]) == (
        "weak",
        False,
        True,
    )
    assert final["b01"]["moved_up"] is False
    assert final["*published*"]["moved_up"] == 1
    assert final["*published*"]["counts"] == {
        "strong": 2,
        "fairly_strong": 1,
        "average": 0,
        "weak": 1,
    }
    # b05–b11 sent no final inputs; the ghost sent none either, so it is not named again.
    assert final["*published*"]["incomplete"] == 7


async def test_a_closed_round_is_published_once_and_late_inputs_are_kept_not_applied(
    platform: Platform, admin: asyncpg.Connection, tmp_path: Path
) -> None:
    campaign = Campaign()
    close = campaign.phase("survey_grading", "closed")
    async with TopicWatcher("grading.results") as results:
        events = [
            campaign.register("committee", "committee"),
            campaign.register("b01"),
            campaign.register("b02"),
            campaign.launch(),
            *campaign.inputs("b01", "initial", 91),
            *campaign.inputs("b02", "initial", 75),
            close,
        ]
        assert publish_with_tool(events, tmp_path).returncode == 0
        await results.wait_for(results_of(campaign, "initial"), count=3)

        platform.restart("grading")  # a crash after publishing changes nothing
        late = campaign.inputs("b02", "initial", 99)[0]
        again = campaign.phase("survey_grading", "closed")  # a second close, new id
        correction = campaign.event(
            "grading.result_corrected",
            {
                "branch_id": campaign.branch("b01"),
                "round": "initial",
                "level": "fairly_strong",
                "reason": "复核发现材料不实",
                "corrected_by_org_id": campaign.committee,
            },
        )
        assert publish_with_tool([close, late, again, correction], tmp_path).returncode == 0
        # The correction is published after anything the repeats could have caused.
        await results.wait_for(
            lambda r: (
                json.loads(r.value)["data"].get("corrected") is True
                and json.loads(r.value)["campaignid"] == campaign.campaign_id
            )
        )
        await results.drain()

    records = [
        json.loads(r.value)
        for r in results.seen
        if json.loads(r.value).get("campaignid") == campaign.campaign_id
    ]
    graded = [
        (e["data"]["branch_id"].rsplit("-", 1)[1], e["data"]["level"], e["data"].get("corrected"))
        for e in records
        if e["type"] == "grading.branch_graded"
    ]
    assert sorted(graded) == [
        ("b01", "fairly_strong", True),
        ("b01", "strong", None),
        ("b02", "average", None),
    ]
    assert sum(e["type"] == "grading.results_published" for e in records) == 1
    late_rows = await eventually(
        lambda: admin.fetch(
            "SELECT branch_id, event_id FROM grading.late_inputs WHERE campaign_id = $1",
            campaign.campaign_id,
        )
    )
    assert [(r["branch_id"], r["event_id"]) for r in late_rows] == [
        (campaign.branch("b02"), late["id"])
    ]


async def test_a_correction_before_publication_is_refused_to_the_dlq(tmp_path: Path) -> None:
    campaign = Campaign()
    correction = campaign.event(
        "grading.result_corrected",
        {
            "branch_id": campaign.branch("b01"),
            "round": "initial",
            "level": "weak",
            "reason": "提前更正",
            "corrected_by_org_id": campaign.committee,
        },
    )
    async with TopicWatcher("grading.inputs.dlq") as dlq:
        assert publish_with_tool([correction], tmp_path).returncode == 0
        [dead] = await dlq.wait_for(lambda r: json.loads(r.value)["id"] == correction["id"])
    reason = dict(dead.headers)["dlq-reason"].decode()
    assert "is not published yet" in reason


async def test_an_incomplete_branch_is_graded_when_its_inputs_arrive_and_only_the_superior_vetoes(
    tmp_path: Path,
) -> None:
    campaign = Campaign()
    async with TopicWatcher("grading.results") as results:
        events = [
            campaign.register("committee", "committee"),
            *(campaign.register(k) for k in ("b01", "b02", "b03")),
            campaign.launch(),
            *campaign.inputs("b01", "initial", 91),
            *campaign.inputs("b02", "initial", 85, skip=("appraisal",)),
            *campaign.inputs("b03", "initial", 85, skip=("self", "appraisal")),
            campaign.phase("survey_grading", "closed"),
        ]
        assert publish_with_tool(events, tmp_path).returncode == 0
        initial = by_branch(
            await results.wait_for(results_of(campaign, "initial"), count=4), campaign
        )
        assert {k: v["type"] for k, v in initial.items() if k != "*published*"} == {
            "b01": "grading.branch_graded",
            "b02": "grading.branch_incomplete",
            "b03": "grading.branch_incomplete",
        }

        after = [
            *campaign.inputs("b02", "initial", 85, skip=("self", "superior")),  # its appraisal
            *campaign.inputs(  # the superior determines b03 alone
                "b03",
                "initial",
                72,
                skip=("self", "appraisal"),
                superior={"override_level": "average", "override_reason": "自评材料无法补交"},
            ),
            *campaign.inputs("b01", "initial", 50),  # b01 is graded: late, changes nothing
        ]
        assert publish_with_tool(after, tmp_path).returncode == 0
        supplementary = by_branch(
            await results.wait_for(
                lambda r: (
                    results_of(campaign, "initial")(r)
                    and json.loads(r.value)["data"].get("supplementary") is True
                ),
                count=2,
            ),
            campaign,
        )
        await results.drain()

    assert (supplementary["b02"]["level"], supplementary["b02"]["total"]) == ("fairly_strong", 85.0)
    assert [r["rule"] for r in supplementary["b02"]["rules"]] == ["supplementary"]
    assert (supplementary["b03"]["level"], supplementary["b03"]["basis"]) == ("average", "override")
    assert supplementary["b03"]["rules"] == [
        {"rule": "override", "level": "average", "reason": "自评材料无法补交"},
        {"rule": "supplementary", "level": "average", "missing": ["self", "appraisal"]},
    ]
    graded_b01 = [
        json.loads(r.value)
        for r in results.seen
        if json.loads(r.value)["data"].get("branch_id") == campaign.branch("b01")
    ]
    assert [e["data"]["level"] for e in graded_b01] == ["strong"]

    # A veto on a self-evaluation is refused; the superior's still makes the level weak.
    vetoing_self = campaign.event(
        "grading.self_evaluated",
        {
            "branch_id": campaign.branch("b01"),
            "round": "final",
            "scores": scores(90),
            "veto_reason": "发生违纪案件",
        },
    )
    async with TopicWatcher("grading.inputs.dlq") as dlq:
        await produce_raw("grading.inputs", [(None, json.dumps(vetoing_self).encode())])
        [dead] = await dlq.wait_for(lambda r: json.loads(r.value)["id"] == vetoing_self["id"])
    assert header(dead, "dlq-reason-code") == "invalid_data"
    assert "veto_reason: only the superior's determination" in header(dead, "dlq-reason")


def committee_assessed(
    campaign: Campaign, key: str, score: float, *, at: str, suffix: str | None = None
) -> dict[str, Any]:
    """局党委评估 of a branch at a time of 2012-09-20 (county time); `suffix` fixes the id."""
    hour, minute = map(int, at.split(":"))
    return envelope(
        "assessment.committee_assessed",
        {"branch_id": campaign.branch(key), "score": score, "comment": "评估意见"},
        campaign_id=campaign.campaign_id,
        county=campaign.county,
        event_id=f"{campaign.prefix}-assessed-{key}-{suffix}" if suffix else None,
        time=dt.datetime(2012, 9, 20, hour, minute, tzinfo=CST),
    )


ASSESSED_KEYS = ("b01", "b02", "b03", "b04", "b05")
FINAL_SCORES: dict[str, float | dict[str, float]] = {
    # leadership 80, membership 76, mechanism 78, performance 82, reputation 74: mean 78.00
    "b01": {
        "leadership": 80,
        "membership": 76,
        "mechanism": 78,
        "performance": 82,
        "reputation": 74,
    },
    "b02": 85,
    "b03": 80,
    "b04": scores(95, reputation=55),  # mean 87.00, one criterion under the floor
    "b05": 88,  # no assessment
}


def assessed_campaign_events(
    campaign: Campaign,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The same inputs for any campaign: (initial round, final round with the assessments)."""
    initial = [
        campaign.register("committee", "committee"),
        *(campaign.register(k) for k in ASSESSED_KEYS),
        *(e for k in ASSESSED_KEYS for e in campaign.inputs(k, "initial", 70)),
        campaign.phase("survey_grading", "closed"),
    ]
    final = [
        *(campaign.settled(k, 1.0) for k in ASSESSED_KEYS),
        *(e for k, value in FINAL_SCORES.items() for e in campaign.inputs(k, "final", value)),
        committee_assessed(campaign, "b01", 95, at="09:00"),
        # b02: the later assessment arrives first; the later one counts
        committee_assessed(campaign, "b02", 60, at="10:00"),
        committee_assessed(campaign, "b02", 100, at="09:00"),
        # b03: the same time; the greater event id counts, whatever the order
        committee_assessed(campaign, "b03", 90, at="09:00", suffix="b"),
        committee_assessed(campaign, "b03", 50, at="09:00", suffix="a"),
        committee_assessed(campaign, "b04", 100, at="09:00"),
        campaign.phase("assessment", "closed"),
    ]
    return initial, final


async def test_the_committee_assessment_changes_a_final_level_only_where_the_campaign_weighs_it(
    admin: asyncpg.Connection, tmp_path: Path
) -> None:
    weighed, unweighed = Campaign(), Campaign()
    weighed_initial, weighed_final = assessed_campaign_events(weighed)
    plain_initial, plain_final = assessed_campaign_events(unweighed)
    async with TopicWatcher("grading.results") as results:
        events = [
            weighed.launch({"assessment_weight": 0.4}),
            unweighed.launch(),
            *weighed_initial,
            *plain_initial,
        ]
        assert publish_with_tool(events, tmp_path).returncode == 0
        for campaign in (weighed, unweighed):
            initial = by_branch(
                await results.wait_for(results_of(campaign, "initial"), count=6), campaign
            )
            assert {
                k: v.get("level") for k, v in initial.items() if k != "*published*"
            } == dict.fromkeys(ASSESSED_KEYS, "average")

        assert publish_with_tool([*weighed_final, *plain_final], tmp_path).returncode == 0
        final = {
            campaign.campaign_id: by_branch(
                await results.wait_for(results_of(campaign, "final"), count=6), campaign
            )
            for campaign in (weighed, unweighed)
        }

    with_rule, without = final[weighed.campaign_id], final[unweighed.campaign_id]
    assert {k: (v["level"], v["total"]) for k, v in with_rule.items() if k != "*published*"} == {
        "b01": ("fairly_strong", 84.8),  # 0.6 × 78 + 0.4 × 95
        "b02": ("average", 75.0),  # 0.6 × 85 + 0.4 × 60: the later assessment
        "b03": ("fairly_strong", 84.0),  # 0.6 × 80 + 0.4 × 90: the greater id
        "b04": ("average", 92.2),  # 0.6 × 87 + 0.4 × 100 is strong; the floor caps it
        "b05": ("fairly_strong", 88.0),  # no assessment: as today
    }
    assert {k: (v["level"], v["total"]) for k, v in without.items() if k != "*published*"} == {
        "b01": ("average", 78.0),
        "b02": ("fairly_strong", 85.0),
        "b03": ("fairly_strong", 80.0),
        "b04": ("average", 87.0),
        "b05": ("fairly_strong", 88.0),
    }
    assert with_rule["b01"]["rules"] == [
        {
            "rule": "assessment",
            "level": "fairly_strong",
            "score": 95.0,
            "weight": 0.4,
            "previous_total": 78.0,
        }
    ]
    assert with_rule["b01"]["moved_up"] is True and without["b01"]["moved_up"] is False
    assert [(r["rule"], r["level"]) for r in with_rule["b04"]["rules"]] == [
        ("assessment", "strong"),
        ("floor", "average"),
    ]
    assert with_rule["b04"]["scores"]["reputation"] == 55.0
    assert "rules" not in with_rule["b05"]
    assert [r["rule"] for r in without["b04"]["rules"]] == ["floor"]
    assert not any("rules" in without[k] for k in ("b01", "b02", "b03", "b05"))
    assert with_rule["*published*"]["counts"] == {
        "strong": 0,
        "fairly_strong": 3,
        "average": 2,
        "weak": 0,
    }

    # After the final round: kept, changes nothing.
    late = committee_assessed(weighed, "b05", 40, at="11:00")
    async with TopicWatcher("grading.results") as results:
        assert publish_with_tool([late], tmp_path).returncode == 0
        rows = await eventually(
            lambda: admin.fetch(
                "SELECT branch_id, round, event_type FROM grading.late_inputs WHERE event_id = $1",
                late["id"],
            )
        )
        await results.drain()
    assert [tuple(r) for r in rows] == [
        (weighed.branch("b05"), "final", "assessment.committee_assessed")
    ]
    assert [
        r for r in results.seen if json.loads(r.value)["campaignid"] == weighed.campaign_id
    ] == []


async def test_a_campaign_published_in_one_go_grades_the_final_round_with_its_settlements(
    platform: Platform, tmp_path: Path
) -> None:
    """Every phase closed back to back while rectification is down: grading sees the assessment
    phase close long before rectification settles the branches, and the final round waits for
    the settlements instead of grading every branch as never settled."""
    campaign = Campaign()
    keys = ("b01", "b02", "b03")
    rectification = platform.services["rectification"]
    rectification.stop()
    try:
        async with TopicWatcher("grading.results") as results:
            events = [
                campaign.launch(),
                campaign.register("committee", "committee"),
                *(campaign.register(k) for k in keys),
                campaign.phase("survey_grading", "opened"),
                *(e for k in keys for e in campaign.inputs(k, "initial", 70)),
                campaign.phase("survey_grading", "closed"),
                campaign.phase("rectification", "opened"),
                campaign.phase("rectification", "closed"),
                campaign.phase("assessment", "opened"),
                *(e for k in keys for e in campaign.inputs(k, "final", 92)),
                campaign.phase("assessment", "closed"),
            ]
            assert publish_with_tool(events, tmp_path).returncode == 0
            await results.wait_for(results_of(campaign, "initial"), count=len(keys) + 1)
            rectification.start()
            rectification.wait_healthy()
            final = by_branch(
                await results.wait_for(
                    results_of(campaign, "final"), count=len(keys) + 1, within=120
                ),
                campaign,
            )
    finally:
        if rectification.process is None or rectification.process.poll() is not None:
            rectification.start()
            rectification.wait_healthy()
    # Settled, at 0 % (no tasks): capped by the upgrade rule for that reason, not for a
    # settlement that had not arrived.
    assert {k: (final[k]["settled"], final[k]["completion_rate"]) for k in keys} == dict.fromkeys(
        keys, (True, 0.0)
    )
