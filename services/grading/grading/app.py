"""Wiring only: what the grading service consumes and how it handles it."""

from __future__ import annotations

from pathlib import Path

from grading.handlers import HANDLERS
from grading.rounds import COMPUTE_CLOSING_ROUNDS
from grading.store import GradingStore
from grassroots.contract import Topic
from grassroots.plumbing.service import ServiceDefinition, build_app

DEFINITION = ServiceDefinition(
    name="grading",
    topics=(
        Topic.CAMPAIGN_LIFECYCLE,
        Topic.ORG_BRANCHES,
        Topic.GRADING_INPUTS,
        Topic.RECTIFICATION_RESULTS,
        Topic.ASSESSMENT_INPUTS,  # only assessment.committee_assessed is handled
    ),
    handlers=HANDLERS,
    store=GradingStore,
    migrations=Path(__file__).parent.parent / "migrations",
    jobs=(COMPUTE_CLOSING_ROUNDS,),
)

app = build_app(DEFINITION)
