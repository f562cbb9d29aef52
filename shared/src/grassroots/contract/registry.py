"""One registry of every event type: its topic, its payload model, its envelope model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from grassroots.contract import campaign, emulation, grading, notification, org, rectification
from grassroots.contract.envelope import CloudEvent


class Topic:
    CAMPAIGN_LIFECYCLE = "campaign.lifecycle"
    ORG_BRANCHES = "org.branches"
    GRADING_INPUTS = "grading.inputs"
    GRADING_RESULTS = "grading.results"
    RECTIFICATION_INPUTS = "rectification.inputs"
    RECTIFICATION_RESULTS = "rectification.results"
    EMULATION_INPUTS = "emulation.inputs"
    ASSESSMENT_INPUTS = "assessment.inputs"
    NOTIFICATION_RESULTS = "notification.results"


ALL_TOPICS: tuple[str, ...] = tuple(value for name, value in vars(Topic).items() if name.isupper())


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    topic: str
    data_model: type[BaseModel]
    envelope_model: type[CloudEvent]
    description: str


def _spec(
    event_type: str,
    topic: str,
    data_model: type[BaseModel],
    description: str,
    *,
    subject_field: str = "branch_id",
    campaign_scoped: bool = True,
) -> EventSpec:
    class_name = "".join(part.capitalize() for part in event_type.replace(".", "_").split("_"))
    envelope: type[CloudEvent] = create_model(
        f"{class_name}Event",
        __base__=CloudEvent,
        __doc__=description,
        type=(Literal[event_type], Field(description=f'Always "{event_type}".')),  # type: ignore[arg-type]
        data=(data_model, Field(description="The payload.")),
    )
    envelope.subject_field = subject_field
    envelope.campaign_scoped = campaign_scoped
    return EventSpec(event_type, topic, data_model, envelope, description)


_CAMPAIGN: dict[str, Any] = {"subject_field": "campaign_id"}
# Notifications are keyed by their own id; campaignid is set when they concern a campaign.
_NOTIFICATION: dict[str, Any] = {"subject_field": "notification_id", "campaign_scoped": False}

EVENTS: dict[str, EventSpec] = {
    spec.event_type: spec
    for spec in (
        _spec(
            "campaign.launched",
            Topic.CAMPAIGN_LIFECYCLE,
            campaign.CampaignLaunched,
            "A campaign is launched with its phase windows and rules.",
            **_CAMPAIGN,
        ),
        _spec(
            "campaign.phase_opened",
            Topic.CAMPAIGN_LIFECYCLE,
            campaign.PhaseOpened,
            "A phase of the campaign opened.",
            **_CAMPAIGN,
        ),
        _spec(
            "campaign.phase_closed",
            Topic.CAMPAIGN_LIFECYCLE,
            campaign.PhaseClosed,
            "A phase closed: its results are computed, lateness becomes overdue.",
            **_CAMPAIGN,
        ),
        _spec(
            "org.branch_registered",
            Topic.ORG_BRANCHES,
            org.BranchRegistered,
            "An organisation registered or updated.",
            campaign_scoped=False,
        ),
        _spec(
            "grading.self_evaluated",
            Topic.GRADING_INPUTS,
            grading.SelfEvaluated,
            "A branch's self-evaluation (党组织自评).",
        ),
        _spec(
            "grading.appraised",
            Topic.GRADING_INPUTS,
            grading.Appraised,
            "Members' and the public's appraisal (党员群众评议), averaged.",
        ),
        _spec(
            "grading.superior_rated",
            Topic.GRADING_INPUTS,
            grading.SuperiorRated,
            "The superior's determination (上级党组织评定), optionally overriding the level.",
        ),
        _spec(
            "grading.result_corrected",
            Topic.GRADING_INPUTS,
            grading.ResultCorrected,
            "The superior corrects a published level, with a reason.",
        ),
        _spec(
            "grading.branch_graded",
            Topic.GRADING_RESULTS,
            grading.BranchGraded,
            "A branch's level for a round.",
        ),
        _spec(
            "grading.branch_incomplete",
            Topic.GRADING_RESULTS,
            grading.BranchIncomplete,
            "A branch could not be graded: inputs were missing at phase close.",
        ),
        _spec(
            "grading.results_published",
            Topic.GRADING_RESULTS,
            grading.ResultsPublished,
            "A round's results are published (定级结果公布).",
            **_CAMPAIGN,
        ),
        _spec(
            "rectification.problem_listed",
            Topic.RECTIFICATION_INPUTS,
            rectification.ProblemListed,
            "A branch listed a problem (梳理问题).",
        ),
        _spec(
            "rectification.commitment_published",
            Topic.RECTIFICATION_INPUTS,
            rectification.CommitmentPublished,
            "A public commitment (公开承诺) or its revision.",
        ),
        _spec(
            "rectification.commitment_reviewed",
            Topic.RECTIFICATION_INPUTS,
            rectification.CommitmentReviewed,
            "The superior approved or returned a revision.",
        ),
        _spec(
            "rectification.task_progressed",
            Topic.RECTIFICATION_INPUTS,
            rectification.TaskProgressed,
            "A task's progress.",
        ),
        _spec(
            "rectification.task_completed",
            Topic.RECTIFICATION_INPUTS,
            rectification.TaskCompleted,
            "A task completed, with evidence.",
        ),
        _spec(
            "rectification.task_overdue",
            Topic.RECTIFICATION_RESULTS,
            rectification.TaskOverdue,
            "A task passed its deadline incomplete (once).",
        ),
        _spec(
            "rectification.problem_escalated",
            Topic.RECTIFICATION_RESULTS,
            rectification.ProblemEscalated,
            "A problem was escalated to the superior.",
        ),
        _spec(
            "rectification.commitment_missing",
            Topic.RECTIFICATION_RESULTS,
            rectification.CommitmentMissing,
            "No commitment was published by its due date.",
        ),
        _spec(
            "rectification.branch_settled",
            Topic.RECTIFICATION_RESULTS,
            rectification.BranchSettled,
            "A branch's rectification settled at phase close.",
        ),
        _spec(
            "emulation.commended",
            Topic.EMULATION_INPUTS,
            emulation.Commended,
            "A commendation of an organisation or a member.",
        ),
        _spec(
            "emulation.activity_reported",
            Topic.EMULATION_INPUTS,
            emulation.ActivityReported,
            "An activity held: themed activity, innovation, pairing, visits, double help.",
        ),
        _spec(
            "assessment.branch_reviewed",
            Topic.ASSESSMENT_INPUTS,
            emulation.BranchReviewed,
            "A branch's summary review (评估小结).",
        ),
        _spec(
            "notification.delivered",
            Topic.NOTIFICATION_RESULTS,
            notification.NotificationOutcome,
            "A notification was delivered.",
            **_NOTIFICATION,
        ),
        _spec(
            "notification.failed",
            Topic.NOTIFICATION_RESULTS,
            notification.NotificationOutcome,
            "A notification could not be delivered.",
            **_NOTIFICATION,
        ),
    )
}


def events_on(topic: str) -> list[EventSpec]:
    return [spec for spec in EVENTS.values() if spec.topic == topic]


def envelope_for(event_type: str) -> type[CloudEvent]:
    return EVENTS[event_type].envelope_model


def any_event_schema() -> Any:
    """The discriminated union of every envelope, for one-pass parsing."""
    from typing import Annotated, Union

    members = tuple(spec.envelope_model for spec in EVENTS.values())
    return Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007
