"""Wiring only: what the grading service consumes and how it handles it."""

from __future__ import annotations

from pathlib import Path

from grading.handlers import BATCH_HANDLERS, HANDLERS
from grading.rounds import compute_closing_rounds
from grassroots.contract import Topic
from grassroots.plumbing.service import ServiceDefinition, build_app

DEFINITION = ServiceDefinition(
    name="grading",
    topics=(
        Topic.CAMPAIGN_LIFECYCLE,
        Topic.ORG_BRANCHES,
        Topic.GRADING_INPUTS,
        Topic.RECTIFICATION_RESULTS,
    ),
    handlers=HANDLERS,
    batch_handlers=BATCH_HANDLERS,
    migrations=Path(__file__).parent.parent / "migrations",
    background=(compute_closing_rounds,),
)

app = build_app(DEFINITION)
