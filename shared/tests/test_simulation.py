"""The campaign simulator: deterministic, valid against the contract, and the whole mix."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest

from grassroots.contract import EVENTS, parse_event
from grassroots.contract.common import Phase
from grassroots.simulation import CampaignSimulation


def whole_campaign(seed: int = 11) -> list[dict[str, Any]]:
    simulation = CampaignSimulation(seed=seed, counties=2, branches=120)
    return list(simulation.events(until=Phase.ASSESSMENT, close_last=True))


@pytest.fixture(scope="module")
def campaign() -> list[dict[str, Any]]:
    return whole_campaign()


def test_the_same_seed_gives_the_same_events(campaign: list[dict[str, Any]]) -> None:
    assert whole_campaign() == campaign
    assert whole_campaign(seed=12) != campaign


def test_a_simulation_repeats_itself_and_counts_what_it_yields() -> None:
    simulation = CampaignSimulation(seed=3, branches=40)
    first = list(simulation.events(until=Phase.ASSESSMENT, close_last=True))
    assert simulation.count(until=Phase.ASSESSMENT, close_last=True) == len(first)
    assert list(simulation.events(until=Phase.ASSESSMENT, close_last=True)) == first


def test_every_event_is_valid_on_its_topic_and_ids_are_unique(
    campaign: list[dict[str, Any]],
) -> None:
    for event in campaign:
        parsed = parse_event(json.dumps(event, ensure_ascii=False).encode())
        assert parse_event(
            json.dumps(event, ensure_ascii=False).encode(), topic=EVENTS[parsed.type].topic
        )
    assert len({(e["source"], e["id"]) for e in campaign}) == len(campaign)


def test_the_mix_has_everything_a_campaign_has(campaign: list[dict[str, Any]]) -> None:
    types = Counter(e["type"] for e in campaign)
    for event_type in (
        "org.branch_registered",
        "campaign.launched",
        "grading.self_evaluated",
        "grading.appraised",
        "grading.superior_rated",
        "rectification.problem_listed",
        "rectification.commitment_published",
        "rectification.commitment_reviewed",
        "rectification.task_progressed",
        "rectification.task_completed",
    ):
        assert types[event_type] > 0, event_type
    for spec in EVENTS.values():  # every phase 3 and 4 input but the deprecated one
        if spec.event_type.startswith(("emulation.", "assessment.")):
            deprecated = spec.event_type == "assessment.branch_reviewed"
            assert (types[spec.event_type] == 0) is deprecated, spec.event_type
    phases = Counter(
        (e["countycode"], e["type"], e["data"]["phase"])
        for e in campaign
        if e["type"].startswith("campaign.phase_")
    )
    assert len(phases) == 2 * 2 * 4 and set(phases.values()) == {1}  # every phase, each county

    inputs = Counter((e["data"]["round"], e["type"]) for e in campaign if "round" in e["data"])
    for round_ in ("initial", "final"):
        for kind in ("grading.self_evaluated", "grading.appraised", "grading.superior_rated"):
            assert inputs[(round_, kind)] > 0
    reviews = Counter(e["data"]["decision"] for e in campaign if "decision" in e["data"])
    assert reviews["returned"] > 0 and reviews["approved"] > 0
    assert any(e["data"].get("override_level") for e in campaign)
    assert any(e["data"].get("member_name") for e in campaign)  # an excellent member


def test_late_and_missing_work_is_in_it(campaign: list[dict[str, Any]]) -> None:
    closes = {
        (e["countycode"], e["data"]["phase"]): e["time"][:10]
        for e in campaign
        if e["type"] == "campaign.phase_closed"
    }
    registered = {
        e["data"]["branch_id"] for e in campaign if e["type"] == "org.branch_registered"
    } - {e["data"]["branch_id"] for e in campaign if e["data"].get("kind") == "committee"}
    committed = {
        e["data"]["branch_id"]
        for e in campaign
        if e["type"] == "rectification.commitment_published"
    }
    assert registered - committed, "a branch that never publishes a commitment"

    initial = Counter(
        e["data"]["branch_id"]
        for e in campaign
        if e["type"].startswith("grading.") and e["data"].get("round") == "initial"
        if e["time"][:10] <= closes[(e["countycode"], "survey_grading")]
    )
    assert any(count < 3 for count in initial.values()), "a branch missing a grading input"
    assert any(
        e["type"].startswith("grading.")
        and e["data"].get("round") == "initial"
        and e["time"][:10] > closes[(e["countycode"], "survey_grading")]
        for e in campaign
    ), "an input after its round closed"

    deadlines = {
        (t["task_id"]): t["deadline"]
        for e in campaign
        if e["type"] == "rectification.commitment_published"
        for t in e["data"]["tasks"]
    }
    completed = {
        e["data"]["task_id"]: e["time"][:10]
        for e in campaign
        if e["type"] == "rectification.task_completed"
    }
    assert any(day > deadlines[task] for task, day in completed.items()), "a late completion"
    assert set(deadlines) - set(completed), "a task never completed"

    due = dt.date(2012, 4, 16) + dt.timedelta(days=15)
    assert any(
        e["type"] == "rectification.commitment_published" and e["time"][:10] > due.isoformat()
        for e in campaign
    ), "a commitment published after it was due"


def test_events_come_in_calendar_order_and_each_branch_in_causal_order(
    campaign: list[dict[str, Any]],
) -> None:
    days = [e["time"][:10] for e in campaign]
    assert days == sorted(days)
    completed: set[str] = set()
    for event in campaign:  # nothing happens to a task after it was completed
        task = event["data"].get("task_id")
        if task is None:
            continue
        assert task not in completed, event
        if event["type"] == "rectification.task_completed":
            completed.add(task)


def test_the_demo_default_is_one_county_through_all_four_phases() -> None:
    simulation = CampaignSimulation(seed=2012, branches=150)
    events = list(simulation.events())
    assert {e["countycode"] for e in events} == {"610526"}
    assert {e["campaignid"] for e in events if "campaignid" in e} == {"pucheng-edu-2012"}
    closed = [e["data"]["phase"] for e in events if e["type"] == "campaign.phase_closed"]
    assert closed == ["survey_grading", "rectification", "emulation", "assessment"]
    launch = next(e for e in events if e["type"] == "campaign.launched")
    assert "assessment_weight" not in launch["data"].get("rules", {})
    assert simulation.count() == len(events)


def test_a_campaign_stopped_in_rectification_leaves_it_open_with_nothing_of_phases_3_and_4() -> (
    None
):
    events = list(CampaignSimulation(seed=2012, branches=30).events(until=Phase.RECTIFICATION))
    assert events[-1]["type"] != "campaign.phase_closed"
    assert not any(e["type"].startswith(("emulation.", "assessment.")) for e in events)


def organisations(campaign: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every registered organisation's registration, by id."""
    return {
        e["data"]["branch_id"]: e["data"] for e in campaign if e["type"] == "org.branch_registered"
    }


def graded_by_county(campaign: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The organisations of each county's campaign: its branches and general branches."""
    counties: dict[str, set[str]] = {}
    for event in campaign:
        if event["type"] == "org.branch_registered" and event["data"]["kind"] != "committee":
            counties.setdefault(event["countycode"], set()).add(event["data"]["branch_id"])
    return counties


def named_organisations(event: dict[str, Any]) -> list[str]:
    data = event["data"]
    return [data[key] for key in ("branch_id", "org_id", "awarded_by") if data.get(key)]


def test_phase_3_and_4_inputs_name_only_registered_organisations_of_their_county_after_it(
    campaign: list[dict[str, Any]],
) -> None:
    registered: dict[str, str] = {}  # organisation → its county, as published so far
    graded = {o for county in graded_by_county(campaign).values() for o in county}
    checked = 0
    for event in campaign:
        if event["type"] == "org.branch_registered":
            registered[event["data"]["branch_id"]] = event["countycode"]
        if not event["type"].startswith(("emulation.", "assessment.")):
            continue
        for org in named_organisations(event):
            assert registered.get(org) == event["countycode"], (org, event)
            checked += 1
        if event["type"] in (
            "assessment.summary_reviewed",
            "assessment.committee_assessed",
            "emulation.learning_meeting_held",
        ):
            assert event["data"]["branch_id"] in graded, event  # never a committee
    assert checked > 1000


def test_general_branches_lead_the_primary_schools_of_their_township(
    campaign: list[dict[str, Any]],
) -> None:
    orgs = organisations(campaign)
    general = {o: d for o, d in orgs.items() if d["kind"] == "general_branch"}
    per_county = Counter(o.split("-")[0] for o in general)  # every third township's at most
    assert per_county.keys() == {"610526", "610527"} and max(per_county.values()) <= 6
    for org_id, data in general.items():
        assert data["name"].endswith("镇中心学校党总支") and data["parent_id"].endswith("committee")
        led = [d for d in orgs.values() if d.get("parent_id") == org_id]
        assert led and all(d["kind"] == "branch" and d["township"] == data["township"] for d in led)
        assert all(d["name"].endswith(("小学党支部", "幼儿园党支部")) for d in led)
    # The superior that rates a branch and reviews its plan is its parent.
    for event in campaign:
        data = event["data"]
        superior = data.get("rater_org_id") or data.get("reviewer_org_id")
        if superior:
            assert superior == orgs[data["branch_id"]]["parent_id"], event


def test_most_but_not_all_organisations_have_each_of_the_four_ones_and_each_coverage(
    campaign: list[dict[str, Any]],
) -> None:
    orgs = organisations(campaign)
    activities: dict[str, set[str]] = {}
    honours: dict[str, set[str]] = {}
    for event in campaign:
        data = event["data"]
        if event["type"] == "emulation.activity_reported":
            activities.setdefault(data["branch_id"], set()).add(data["kind"])
        if event["type"] == "emulation.commended":  # marks it and its parent (rule 3)
            for org in (data["branch_id"], orgs[data["branch_id"]]["parent_id"]):
                honours.setdefault(org, set()).add(data["honour"])
    for county, graded in graded_by_county(campaign).items():
        marks = {
            org: activities.get(org, set()) | honours.get(org, set()) for org in sorted(graded)
        }
        shares = {
            mark: sum(mark in had for had in marks.values()) / len(graded)
            for mark in (
                "themed_activity",
                "innovation_measure",
                "pairing",
                "village_visit",
                "double_help",
            )
        }
        assert all(0.6 < share < 0.95 for share in shares.values()), (county, shares)
        four = {
            "themed_activity",
            "innovation_measure",
            "advanced_organization",
            "excellent_member",
        }
        all_four = sum(four <= had for had in marks.values()) / len(graded)
        assert 0 < all_four < 0.3, (county, all_four)
        for honour in ("advanced_organization", "excellent_member"):
            assert 0 < sum(honour in had for had in marks.values()) < len(graded)


def test_the_committee_commends_on_1_july_and_general_branches_commend_their_branches(
    campaign: list[dict[str, Any]],
) -> None:
    orgs = organisations(campaign)
    commended = [e for e in campaign if e["type"] == "emulation.commended"]
    by_committee = [e for e in commended if orgs[e["data"]["awarded_by"]]["kind"] == "committee"]
    assert Counter(e["data"]["honour"] for e in by_committee).keys() == {
        "advanced_organization",
        "excellent_member",
        "excellent_party_worker",
    }
    for event in by_committee:
        assert event["data"]["title"] == "局党委“七一”创先争优专项表彰"
        assert event["data"]["awarded_on"] == event["time"][:10] == "2012-07-01"
    by_themselves = [e for e in commended if e["data"]["awarded_by"] == e["data"]["branch_id"]]
    assert by_themselves and all(
        e["data"]["honour"] == "excellent_member" and e["data"]["title"].endswith("“七一”评优表彰")
        for e in by_themselves
    )
    by_general = [e for e in commended if e not in by_committee and e not in by_themselves]
    assert by_general and all(
        orgs[e["data"]["branch_id"]]["parent_id"] == e["data"]["awarded_by"]
        and orgs[e["data"]["awarded_by"]]["kind"] == "general_branch"
        for e in by_general
    )
    persons = [
        e["data"]["member_name"]
        for e in commended
        if e["data"]["honour"] != "advanced_organization"
    ]
    assert persons and all(2 <= len(name) <= 3 for name in persons)  # 姓 + 名, in Chinese
    assert len(by_committee) + len(by_general) < len(orgs) / 3  # a few from above


def test_publicity_and_learning_meetings_follow_the_commendations(
    campaign: list[dict[str, Any]],
) -> None:
    channels = Counter(
        e["data"]["channel"] for e in campaign if e["type"] == "emulation.publicized"
    )
    assert channels.keys() == {"education_website", "education_newspaper", "own_channel"}
    meetings = [e["data"] for e in campaign if e["type"] == "emulation.learning_meeting_held"]
    graded = sum(len(c) for c in graded_by_county(campaign).values())
    assert 0.8 * graded < len(meetings) < graded  # most organisations, not all
    assert {m["target_level"] for m in meetings} >= {"strong", "fairly_strong"}
    assert all(m["held_on"] > "2012-07-01" and m["learned_from"] for m in meetings)
    assert all(m["summary"].endswith(("“强”。", "“较强”。", "“一般”。")) for m in meetings)


def test_summary_reviews_answer_from_the_organisations_record(
    campaign: list[dict[str, Any]],
) -> None:
    committed = {
        e["data"]["branch_id"]
        for e in campaign
        if e["type"] == "rectification.commitment_published"
    }
    tasks = Counter(
        e["data"]["branch_id"]
        for e in campaign
        if e["type"] == "rectification.commitment_published" and e["data"]["revision"] == 1
        for _ in e["data"]["tasks"]
    )
    completed = Counter(
        e["data"]["branch_id"] for e in campaign if e["type"] == "rectification.task_completed"
    )
    reviews = [e["data"] for e in campaign if e["type"] == "assessment.summary_reviewed"]
    answers = Counter(r[q]["answer"] for r in reviews for q in ("process_solid", "problems_solved"))
    assert answers.keys() == {"yes", "partly", "no"}
    for review in reviews:
        branch = review["branch_id"]
        if branch not in committed:
            assert review["process_solid"]["answer"] == review["problems_solved"]["answer"] == "no"
        elif completed[branch] == tasks[branch]:
            assert review["problems_solved"] == {
                "answer": "yes",
                "text": f"梳理突出问题{tasks[branch]}个，已全部解决。",
            }
    graded = sum(len(c) for c in graded_by_county(campaign).values())
    assessed = [e["data"] for e in campaign if e["type"] == "assessment.committee_assessed"]
    assert len(reviews) < graded == len(assessed) == len({a["branch_id"] for a in assessed})
    assert all(
        a["comment"].endswith("未按时报送评估小结。")
        for a in assessed
        if a["branch_id"] not in {r["branch_id"] for r in reviews}
    )


def test_three_level_review_and_standing_rules(campaign: list[dict[str, Any]]) -> None:
    orgs = organisations(campaign)
    of: dict[str, list[dict[str, Any]]] = {}
    for event in campaign:
        of.setdefault(event["type"], []).append(event["data"])
    reports = of["assessment.duty_reported"]
    to_county = [r for r in reports if orgs[r["org_id"]]["kind"] == "committee"]
    assert sorted(r["reported_to"] for r in to_county) == ["中共大荔县委", "中共蒲城县委"]
    assert all(r["reporter_name"] == orgs[r["org_id"]]["secretary"]["name"] for r in reports)
    to_committee = [r for r in reports if r not in to_county]
    assert to_committee and all(r["reported_to"].endswith("教育局委员会") for r in to_committee)
    appraised = {a["org_id"]: a for a in of["assessment.org_appraised"]}
    reviewed = {a["org_id"]: a for a in of["assessment.annual_reviewed"]}
    leading = {o for o, d in orgs.items() if d["kind"] in ("committee", "general_branch")}
    assert appraised.keys() == reviewed.keys() == leading
    for org_id, appraisal in appraised.items():
        counts = [
            (g["satisfied"], g["basically_satisfied"], g["dissatisfied"])
            for g in appraisal["groups"]
        ]
        total = sum(sum(c) for c in counts)
        assert {g["group"] for g in appraisal["groups"]} == {
            "branches",
            "members",
            "public_representatives",
        }
        assert sum(c[0] for c in counts) / total > 0.8  # mostly satisfied
        assert reviewed[org_id]["year"] == 2012
    committee = next(
        o for o, d in orgs.items() if o.startswith("610526") and d["kind"] == "committee"
    )
    branches = next(g for g in appraised[committee]["groups"] if g["group"] == "branches")
    assert sum(v for k, v in branches.items() if k != "group") == len(
        graded_by_county(campaign)["610526"]
    )
    rules = of["assessment.rule_established"]
    assert sum(orgs[r["org_id"]]["kind"] == "committee" for r in rules) == 4  # two per county
    assert sum(orgs[r["org_id"]]["kind"] != "committee" for r in rules) >= 10


def test_organisations_report_progress_and_the_office_inspects(
    campaign: list[dict[str, Any]],
) -> None:
    """Most organisations report every period (a few late, a few never), so the demo's
    progress list names a few, not all; the office criticises some organisations and praises
    others, and puts most criticised ones right by a later inspection."""
    orgs = organisations(campaign)
    graded = {o for o, data in orgs.items() if data["kind"] != "committee"}
    reports = [e["data"] for e in campaign if e["type"] == "supervision.progress_reported"]
    assert {r["org_id"] for r in reports} <= graded
    last_period = [r for r in reports if r["reported_on"] > "2012-09-13"]
    assert 0.8 * len(graded) < len({r["org_id"] for r in last_period}) < len(graded)
    inspections = [e["data"] for e in campaign if e["type"] == "supervision.inspected"]
    latest: dict[str, str] = {}
    for data in sorted(inspections, key=lambda d: d["inspected_on"]):
        latest[data["org_id"]] = data["findings"][0]["kind"]
    criticised_at_last = [o for o, kind in latest.items() if kind != "commendable"]
    assert (
        0
        < len(criticised_at_last)
        < sum(1 for d in inspections if d["findings"][0]["kind"] != "commendable")
    )
    assert any(kind == "commendable" for kind in latest.values())
