"""The topics of the platform, and where a topic's dead letters go."""

from __future__ import annotations


class Topic:
    CAMPAIGN_LIFECYCLE = "campaign.lifecycle"
    ORG_BRANCHES = "org.branches"
    GRADING_INPUTS = "grading.inputs"
    GRADING_RESULTS = "grading.results"
    RECTIFICATION_INPUTS = "rectification.inputs"
    RECTIFICATION_RESULTS = "rectification.results"
    EMULATION_INPUTS = "emulation.inputs"
    ASSESSMENT_INPUTS = "assessment.inputs"
    SUPERVISION_INPUTS = "supervision.inputs"
    SUPERVISION_DECISIONS = "supervision.decisions"
    NOTIFICATION_RESULTS = "notification.results"


ALL_TOPICS: tuple[str, ...] = tuple(value for name, value in vars(Topic).items() if name.isupper())

# What county systems publish (with the `county` Kafka user, or through the HTTP intake); the
# other topics are the platform's own results and decisions.
INPUT_TOPICS: tuple[str, ...] = (
    Topic.CAMPAIGN_LIFECYCLE,
    Topic.ORG_BRANCHES,
    Topic.GRADING_INPUTS,
    Topic.RECTIFICATION_INPUTS,
    Topic.EMULATION_INPUTS,
    Topic.ASSESSMENT_INPUTS,
    Topic.SUPERVISION_INPUTS,
)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"
