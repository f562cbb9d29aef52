"""Every event type of the contract as a class a handler can name: `CloudEvent[<data>]` with
its `type` fixed, e.g. `async def on_launched(uow, event: CampaignLaunchedEvent)` reads a typed
`event.data.phases`. The registry (`grassroots.contract.registry`) is built from these."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from grassroots.contract import (
    assessment,
    campaign,
    emulation,
    grading,
    notification,
    org,
    rectification,
    supervision,
)
from grassroots.contract.envelope import CloudEvent
from grassroots.contract.topics import Topic


class CampaignLaunchedEvent(CloudEvent[campaign.CampaignLaunched]):
    """A campaign is launched with its phase windows and rules."""

    subject_field: ClassVar[str] = "campaign_id"
    topic: ClassVar[str] = Topic.CAMPAIGN_LIFECYCLE
    type: Literal["campaign.launched"] = Field(description='Always "campaign.launched".')


class CampaignPhaseOpenedEvent(CloudEvent[campaign.PhaseOpened]):
    """A phase of the campaign opened."""

    subject_field: ClassVar[str] = "campaign_id"
    topic: ClassVar[str] = Topic.CAMPAIGN_LIFECYCLE
    type: Literal["campaign.phase_opened"] = Field(description='Always "campaign.phase_opened".')


class CampaignPhaseClosedEvent(CloudEvent[campaign.PhaseClosed]):
    """A phase closed: its results are computed, lateness becomes overdue."""

    subject_field: ClassVar[str] = "campaign_id"
    topic: ClassVar[str] = Topic.CAMPAIGN_LIFECYCLE
    type: Literal["campaign.phase_closed"] = Field(description='Always "campaign.phase_closed".')


class OrgBranchRegisteredEvent(CloudEvent[org.BranchRegistered]):
    """An organisation registered or updated."""

    campaign_scoped: ClassVar[bool] = False
    topic: ClassVar[str] = Topic.ORG_BRANCHES
    type: Literal["org.branch_registered"] = Field(description='Always "org.branch_registered".')


class GradingSelfEvaluatedEvent(CloudEvent[grading.SelfEvaluated]):
    """A branch's self-evaluation (党组织自评)."""

    topic: ClassVar[str] = Topic.GRADING_INPUTS
    type: Literal["grading.self_evaluated"] = Field(description='Always "grading.self_evaluated".')


class GradingAppraisedEvent(CloudEvent[grading.Appraised]):
    """Members' and the public's appraisal (党员群众评议), averaged."""

    topic: ClassVar[str] = Topic.GRADING_INPUTS
    type: Literal["grading.appraised"] = Field(description='Always "grading.appraised".')


class GradingSuperiorRatedEvent(CloudEvent[grading.SuperiorRated]):
    """The superior's determination (上级党组织评定), optionally overriding the level."""

    topic: ClassVar[str] = Topic.GRADING_INPUTS
    type: Literal["grading.superior_rated"] = Field(description='Always "grading.superior_rated".')


class GradingResultCorrectedEvent(CloudEvent[grading.ResultCorrected]):
    """The superior corrects a published level, with a reason."""

    topic: ClassVar[str] = Topic.GRADING_INPUTS
    type: Literal["grading.result_corrected"] = Field(
        description='Always "grading.result_corrected".'
    )


class GradingBranchGradedEvent(CloudEvent[grading.BranchGraded]):
    """A branch's level for a round."""

    topic: ClassVar[str] = Topic.GRADING_RESULTS
    type: Literal["grading.branch_graded"] = Field(description='Always "grading.branch_graded".')


class GradingBranchIncompleteEvent(CloudEvent[grading.BranchIncomplete]):
    """A branch could not be graded: inputs were missing at phase close."""

    topic: ClassVar[str] = Topic.GRADING_RESULTS
    type: Literal["grading.branch_incomplete"] = Field(
        description='Always "grading.branch_incomplete".'
    )


class GradingResultsPublishedEvent(CloudEvent[grading.ResultsPublished]):
    """A round's results are published (定级结果公布)."""

    subject_field: ClassVar[str] = "campaign_id"
    topic: ClassVar[str] = Topic.GRADING_RESULTS
    type: Literal["grading.results_published"] = Field(
        description='Always "grading.results_published".'
    )


class RectificationProblemListedEvent(CloudEvent[rectification.ProblemListed]):
    """A branch listed a problem (梳理问题)."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.problem_listed"] = Field(
        description='Always "rectification.problem_listed".'
    )


class RectificationCommitmentPublishedEvent(CloudEvent[rectification.CommitmentPublished]):
    """A public commitment (公开承诺) or its revision."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.commitment_published"] = Field(
        description='Always "rectification.commitment_published".'
    )


class RectificationCommitmentReviewedEvent(CloudEvent[rectification.CommitmentReviewed]):
    """The superior approved or returned a revision."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.commitment_reviewed"] = Field(
        description='Always "rectification.commitment_reviewed".'
    )


class RectificationTaskProgressedEvent(CloudEvent[rectification.TaskProgressed]):
    """A task's progress."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.task_progressed"] = Field(
        description='Always "rectification.task_progressed".'
    )


class RectificationTaskCompletedEvent(CloudEvent[rectification.TaskCompleted]):
    """A task completed, with evidence."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.task_completed"] = Field(
        description='Always "rectification.task_completed".'
    )


class RectificationTaskOverdueEvent(CloudEvent[rectification.TaskOverdue]):
    """A task passed its deadline incomplete (once)."""

    topic: ClassVar[str] = Topic.RECTIFICATION_RESULTS
    type: Literal["rectification.task_overdue"] = Field(
        description='Always "rectification.task_overdue".'
    )


class RectificationProblemEscalatedEvent(CloudEvent[rectification.ProblemEscalated]):
    """A problem was escalated to the superior."""

    topic: ClassVar[str] = Topic.RECTIFICATION_RESULTS
    type: Literal["rectification.problem_escalated"] = Field(
        description='Always "rectification.problem_escalated".'
    )


class RectificationCommitmentMissingEvent(CloudEvent[rectification.CommitmentMissing]):
    """No commitment was published by its due date."""

    topic: ClassVar[str] = Topic.RECTIFICATION_RESULTS
    type: Literal["rectification.commitment_missing"] = Field(
        description='Always "rectification.commitment_missing".'
    )


class RectificationBranchSettledEvent(CloudEvent[rectification.BranchSettled]):
    """A branch's rectification settled at phase close."""

    topic: ClassVar[str] = Topic.RECTIFICATION_RESULTS
    type: Literal["rectification.branch_settled"] = Field(
        description='Always "rectification.branch_settled".'
    )


class RectificationProblemResolvedEvent(CloudEvent[rectification.ProblemResolved]):
    """A problem was solved, with evidence."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.problem_resolved"] = Field(
        description='Always "rectification.problem_resolved".'
    )


class RectificationProblemDeferredEvent(CloudEvent[rectification.ProblemDeferred]):
    """A problem is deferred, with a reason."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.problem_deferred"] = Field(
        description='Always "rectification.problem_deferred".'
    )


class RectificationEscalationAnsweredEvent(CloudEvent[rectification.EscalationAnswered]):
    """The superior answered an escalated problem."""

    topic: ClassVar[str] = Topic.RECTIFICATION_INPUTS
    type: Literal["rectification.escalation_answered"] = Field(
        description='Always "rectification.escalation_answered".'
    )


class RectificationProblemUpdatedEvent(CloudEvent[rectification.ProblemUpdated]):
    """Where a problem stands: its status, and its escalation's answer."""

    topic: ClassVar[str] = Topic.RECTIFICATION_RESULTS
    type: Literal["rectification.problem_updated"] = Field(
        description='Always "rectification.problem_updated".'
    )


class RectificationEscalationOverdueEvent(CloudEvent[rectification.EscalationOverdue]):
    """An escalated problem got no answer in time (once)."""

    topic: ClassVar[str] = Topic.RECTIFICATION_RESULTS
    type: Literal["rectification.escalation_overdue"] = Field(
        description='Always "rectification.escalation_overdue".'
    )


class RectificationReviewOverdueEvent(CloudEvent[rectification.ReviewOverdue]):
    """A plan waited for its review too long (once per revision)."""

    topic: ClassVar[str] = Topic.RECTIFICATION_RESULTS
    type: Literal["rectification.review_overdue"] = Field(
        description='Always "rectification.review_overdue".'
    )


class EmulationCommendedEvent(CloudEvent[emulation.Commended]):
    """A commendation of an organisation or a member."""

    topic: ClassVar[str] = Topic.EMULATION_INPUTS
    type: Literal["emulation.commended"] = Field(description='Always "emulation.commended".')


class EmulationActivityReportedEvent(CloudEvent[emulation.ActivityReported]):
    """An activity held: themed activity, innovation, pairing, visits, double help."""

    topic: ClassVar[str] = Topic.EMULATION_INPUTS
    type: Literal["emulation.activity_reported"] = Field(
        description='Always "emulation.activity_reported".'
    )


class AssessmentBranchReviewedEvent(CloudEvent[emulation.BranchReviewed]):
    """Deprecated (2026-11-29): a summary review as yes/no and a score; send
    assessment.summary_reviewed and assessment.committee_assessed instead."""

    topic: ClassVar[str] = Topic.ASSESSMENT_INPUTS
    type: Literal["assessment.branch_reviewed"] = Field(
        description='Always "assessment.branch_reviewed".'
    )


class EmulationPublicizedEvent(CloudEvent[emulation.Publicized]):
    """An advanced model published in a column (集中宣传): where, when, about whom."""

    topic: ClassVar[str] = Topic.EMULATION_INPUTS
    type: Literal["emulation.publicized"] = Field(description='Always "emulation.publicized".')


class EmulationLearningMeetingHeldEvent(CloudEvent[emulation.LearningMeetingHeld]):
    """The special organisational-life meeting (比学赶帮) and the level aimed for."""

    topic: ClassVar[str] = Topic.EMULATION_INPUTS
    type: Literal["emulation.learning_meeting_held"] = Field(
        description='Always "emulation.learning_meeting_held".'
    )


class AssessmentSummaryReviewedEvent(CloudEvent[assessment.SummaryReviewed]):
    """A branch's summary review (评估小结): three answers with their texts."""

    topic: ClassVar[str] = Topic.ASSESSMENT_INPUTS
    type: Literal["assessment.summary_reviewed"] = Field(
        description='Always "assessment.summary_reviewed".'
    )


class AssessmentCommitteeAssessedEvent(CloudEvent[assessment.CommitteeAssessed]):
    """The committee's assessment of a branch (局党委评估): score, level, comment."""

    topic: ClassVar[str] = Topic.ASSESSMENT_INPUTS
    type: Literal["assessment.committee_assessed"] = Field(
        description='Always "assessment.committee_assessed".'
    )


class AssessmentDutyReportedEvent(CloudEvent[assessment.DutyReported]):
    """A secretary's special report on duty (专项述职)."""

    subject_field: ClassVar[str] = "org_id"
    topic: ClassVar[str] = Topic.ASSESSMENT_INPUTS
    type: Literal["assessment.duty_reported"] = Field(
        description='Always "assessment.duty_reported".'
    )


class AssessmentOrgAppraisedEvent(CloudEvent[assessment.OrgAppraised]):
    """The appraisal (评议) of a Party organisation, counted per rater group."""

    subject_field: ClassVar[str] = "org_id"
    topic: ClassVar[str] = Topic.ASSESSMENT_INPUTS
    type: Literal["assessment.org_appraised"] = Field(
        description='Always "assessment.org_appraised".'
    )


class AssessmentAnnualReviewedEvent(CloudEvent[assessment.AnnualReviewed]):
    """The annual review (年度考核) of a leadership team: the county's grade."""

    subject_field: ClassVar[str] = "org_id"
    topic: ClassVar[str] = Topic.ASSESSMENT_INPUTS
    type: Literal["assessment.annual_reviewed"] = Field(
        description='Always "assessment.annual_reviewed".'
    )


class AssessmentRuleEstablishedEvent(CloudEvent[assessment.RuleEstablished]):
    """A good practice made a standing rule (巩固深化)."""

    subject_field: ClassVar[str] = "org_id"
    topic: ClassVar[str] = Topic.ASSESSMENT_INPUTS
    type: Literal["assessment.rule_established"] = Field(
        description='Always "assessment.rule_established".'
    )


class SupervisionInspectedEvent(CloudEvent[supervision.Inspected]):
    """An inspection by the Party office (督查) with its findings."""

    subject_field: ClassVar[str] = "org_id"
    topic: ClassVar[str] = Topic.SUPERVISION_INPUTS
    type: Literal["supervision.inspected"] = Field(description='Always "supervision.inspected".')


class SupervisionProgressReportedEvent(CloudEvent[supervision.ProgressReported]):
    """An organisation's progress report to the office (工作进展情况)."""

    subject_field: ClassVar[str] = "org_id"
    topic: ClassVar[str] = Topic.SUPERVISION_INPUTS
    type: Literal["supervision.progress_reported"] = Field(
        description='Always "supervision.progress_reported".'
    )


class SupervisionCircularRequestedEvent(CloudEvent[supervision.CircularRequested]):
    """The office asks for a circular's draft now (published by the platform's office API)."""

    subject_field: ClassVar[str] = "campaign_id"
    topic: ClassVar[str] = Topic.SUPERVISION_DECISIONS
    type: Literal["supervision.circular_requested"] = Field(
        description='Always "supervision.circular_requested".'
    )


class SupervisionCircularEditedEvent(CloudEvent[supervision.CircularEdited]):
    """One change of a draft by the office (published by the platform's office API)."""

    subject_field: ClassVar[str] = "circular_id"
    topic: ClassVar[str] = Topic.SUPERVISION_DECISIONS
    type: Literal["supervision.circular_edited"] = Field(
        description='Always "supervision.circular_edited".'
    )


class SupervisionCircularSignedEvent(CloudEvent[supervision.CircularSigned]):
    """A person of the office signed the draft off (published by the platform's office API)."""

    subject_field: ClassVar[str] = "circular_id"
    topic: ClassVar[str] = Topic.SUPERVISION_DECISIONS
    type: Literal["supervision.circular_signed"] = Field(
        description='Always "supervision.circular_signed".'
    )


class SupervisionCircularDiscardedEvent(CloudEvent[supervision.CircularDiscarded]):
    """The draft was discarded: never sent (published by the platform's office API)."""

    subject_field: ClassVar[str] = "circular_id"
    topic: ClassVar[str] = Topic.SUPERVISION_DECISIONS
    type: Literal["supervision.circular_discarded"] = Field(
        description='Always "supervision.circular_discarded".'
    )


class NotificationCircularDraftedEvent(CloudEvent[supervision.CircularDrafted]):
    """The platform drafted a circular; it waits for the office's sign-off."""

    subject_field: ClassVar[str] = "circular_id"
    topic: ClassVar[str] = Topic.NOTIFICATION_RESULTS
    type: Literal["notification.circular_drafted"] = Field(
        description='Always "notification.circular_drafted".'
    )


class NotificationCircularIssuedEvent(CloudEvent[supervision.CircularIssued]):
    """A signed circular was issued with its number and sent to every organisation."""

    subject_field: ClassVar[str] = "circular_id"
    topic: ClassVar[str] = Topic.NOTIFICATION_RESULTS
    type: Literal["notification.circular_issued"] = Field(
        description='Always "notification.circular_issued".'
    )


class NotificationDeliveredEvent(CloudEvent[notification.NotificationOutcome]):
    """A notification was delivered."""

    subject_field: ClassVar[str] = "notification_id"
    campaign_scoped: ClassVar[bool] = False
    topic: ClassVar[str] = Topic.NOTIFICATION_RESULTS
    type: Literal["notification.delivered"] = Field(description='Always "notification.delivered".')


class NotificationFailedEvent(CloudEvent[notification.NotificationOutcome]):
    """A notification could not be delivered."""

    subject_field: ClassVar[str] = "notification_id"
    campaign_scoped: ClassVar[bool] = False
    topic: ClassVar[str] = Topic.NOTIFICATION_RESULTS
    type: Literal["notification.failed"] = Field(description='Always "notification.failed".')
