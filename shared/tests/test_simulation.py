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
        "emulation.activity_reported",
        "emulation.commended",
        "assessment.branch_reviewed",
    ):
        assert types[event_type] > 0, event_type
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


def test_the_demo_default_is_one_county_in_the_middle_of_rectification() -> None:
    simulation = CampaignSimulation(seed=2012, branches=150)
    events = list(simulation.events())
    assert {e["countycode"] for e in events} == {"610526"}
    assert {e["campaignid"] for e in events if "campaignid" in e} == {"pucheng-edu-2012"}
    assert events[-1]["type"] != "campaign.phase_closed"
    assert not any(e["type"].startswith(("emulation.", "assessment.")) for e in events)
