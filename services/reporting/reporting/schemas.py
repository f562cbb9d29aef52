"""The reporting API's response shapes (the contract's keys, plus documented extras)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from reporting.supervision_views import CardInspection, CardProgressReports

Level = Literal["strong", "fairly_strong", "average", "weak"]
Round = Literal["initial", "final"]
ProblemStatus = Literal["open", "in_rectification", "resolved", "deferred"]
EscalationAnswer = Literal["accepted", "resolved", "cannot_resolve"]
LaggingReason = Literal[
    "task_overdue",
    "commitment_missing",
    "grading_incomplete",
    "escalation_unanswered",
    "review_overdue",
    "leadership_attention",
    "ineffective_measures",
    "lagging",
    "progress_report_missing",
]


class LevelCounts(BaseModel):
    strong: int
    fairly_strong: int
    average: int
    weak: int


class RoundCounts(BaseModel):
    initial: int
    final: int


class Commitments(BaseModel):
    published: int = Field(description="Branches with a published commitment.")
    approved: int = Field(description="… whose latest revision was approved.")
    returned: int = Field(description="… whose latest revision was returned with guidance.")
    missing: int = Field(description="Branches named for a missing commitment, still without one.")


class TaskCounts(BaseModel):
    total: int
    completed: int
    overdue: int = Field(description="Past deadline and not completed.")


class ProblemCounts(BaseModel):
    """Listed problems by where they stand (rectification.problem_updated; open until then)."""

    total: int
    open: int = Field(description="未整改: no task of the approved plan names it yet.")
    in_rectification: int = Field(description="整改中: a task of the approved plan names it.")
    resolved: int = Field(description="已解决, with evidence.")
    deferred: int = Field(description="暂缓整改, with a reason.")


class ProminentProblems(BaseModel):
    """Problems raised by members and the public (党员群众反映的突出问题: source members or
    public)."""

    total: int
    resolved: int


class EscalationCounts(BaseModel):
    """Problems escalated to the superior (需要上级党组织统筹解决) and its answers."""

    total: int
    answered: int = Field(description="Answered: accepted, resolved or cannot_resolve.")
    waiting: int = Field(description="Not answered yet.")
    overdue: int = Field(
        description="Of those waiting, past their answer days (escalation_overdue): the "
        "superior is lagging."
    )


class Summary(BaseModel):
    campaign_id: str
    county_code: str
    name: str | None
    phase: str | None = Field(description="The phase most recently opened.")
    phases: dict[str, dict[str, str]] = Field(description="opened_at / closed_at per phase.")
    branches: int = Field(description="Registered gradable branches of the county.")
    levels: dict[Round, LevelCounts]
    incomplete: RoundCounts
    moved_up: int
    commitments: Commitments
    tasks: TaskCounts
    commendations: int
    activities: int
    problems: ProblemCounts
    prominent_problems: ProminentProblems
    escalations: EscalationCounts
    updated_at: str | None = Field(description="Time of the latest event applied (UTC+8).")


class BranchRow(BaseModel):
    branch_id: str
    name: str
    unit: str
    township: str | None
    round: Round
    level: Level | None
    total: float | None
    initial_level: Level | None
    final_level: Level | None
    moved_up: bool
    commitment: Literal["pending", "approved", "returned"] | None
    tasks: TaskCounts
    completion_rate: float | None
    commendations: int


class BranchPage(BaseModel):
    items: list[BranchRow]
    page: int
    page_size: int
    total: int
    next: str | None = Field(
        None,
        description="Ask for the next page with after=<next> (null: this page is the last).",
    )


class RuleLine(BaseModel):
    """A rule that set or changed the level (grading.branch_graded.rules), with its numbers
    and a sentence for people."""

    rule: str = Field(
        description="assessment, floor, upgrade_cap, override, veto, quota or supplementary, "
        "in the order they were applied."
    )
    level: Level = Field(description="The level after this rule.")
    reason: str | None = Field(description="override, veto: the superior's written reason.")
    criterion: str | None = Field(description="floor: the lowest criterion below the floor.")
    score: float | None = Field(
        description="floor: that criterion's weighted score; assessment: the committee's score."
    )
    threshold: float | None = Field(
        description="floor: the floor score; upgrade_cap: the minimum completion rate (0–1); "
        "quota: the share of strong allowed (0–1)."
    )
    completion_rate: float | None = Field(description="upgrade_cap: the completion rate (0–1).")
    missing: list[str] | None = Field(
        description="supplementary: the inputs that never came (graded by the superior alone)."
    )
    weight: float | None = Field(None, description="assessment: the campaign's weight (0–1).")
    previous_total: float | None = Field(
        None, description="assessment: the five criteria's mean before the assessment counted."
    )
    text: str = Field(
        description="The line in Chinese, rates as percentages, e.g. "
        "整改完成率 70.00%，未达 80.00%，不得晋位，保持“较强”."
    )


class Grade(BaseModel):
    level: Level
    total: float | None
    basis: str | None
    scores: dict[str, float] | None = Field(
        description="Weighted score per criterion (五个好): leadership, membership, mechanism, "
        "performance, reputation."
    )
    computed_level: Level | None = Field(
        description="The level the rules gave before an override, veto, quota or upgrade cap."
    )
    override_reason: str | None = Field(description="The superior's reason, with basis override.")
    veto_reason: str | None = Field(description="一票否决: the reason that made the level weak.")
    quota_limited: bool = Field(description="The strong quota moved the branch to fairly_strong.")
    upgrade_capped: bool = Field(
        description="Final round: the upgrade rule held the level at the initial one."
    )
    completion_rate: float | None = Field(
        description="Final round: the completion rate the upgrade rule used (0–1)."
    )
    settled: bool | None = Field(
        description="Final round: false when no settlement arrived (completion taken as 0)."
    )
    supplementary: bool = Field(
        description="Graded by supplementary determination (补充定级) after the round was "
        "computed: the branch was incomplete then."
    )
    corrected: bool = Field(description="The superior corrected the published level.")
    rules: list[RuleLine] = Field(
        description="Each rule that set or changed the level, in order (empty: the level is the "
        "computed one)."
    )


class Escalation(BaseModel):
    """Where an escalated problem went and the superior's answer (as
    rectification.problem_updated says it)."""

    to_org_id: str = Field(description="The superior organisation it went to.")
    to_org_name: str | None = Field(description="Its name, where it is registered.")
    answer: EscalationAnswer | None = Field(description="None while waiting.")
    answer_label: str = Field(description="已受理, 已解决, 无法解决 — or 待答复.")
    action: str | None = Field(description="accepted: what the superior will do.")
    due: str | None = Field(description="accepted: by when (a date).")
    evidence: str | None = Field(description="resolved: the evidence.")
    reason: str | None = Field(description="cannot_resolve: why.")
    answered_at: str | None = Field(
        description="When the answer was published (the update that first carried it, UTC+8)."
    )
    overdue: bool = Field(
        description="Waiting past its answer days (escalation_overdue): the superior is lagging."
    )
    answer_due: str | None = Field(description="overdue: the day the answer was due.")
    text: str = Field(
        description="The answer in Chinese, e.g. 已受理：统筹专项经费，2012年6月20日前完成"
        "（2012年5月3日答复）, or 待答复."
    )


class Problem(BaseModel):
    problem_id: str
    description: str
    source: str
    source_label: str = Field(description="调研发现, 党员提出, 群众反映 or 自查.")
    needs_superior: bool
    escalated_to: str | None
    status: ProblemStatus = Field(
        description="Where it stands, as rectification.problem_updated says (open until then)."
    )
    status_label: str = Field(description="未整改, 整改中, 已解决 or 暂缓整改.")
    task_id: str | None = Field(description="The task naming it.")
    task_title: str | None = Field(description="That task's title.")
    evidence: str | None = Field(description="resolved: the evidence.")
    reason: str | None = Field(description="deferred: the reason.")
    escalation: Escalation | None = Field(description="When it went to the superior.")
    updated_at: str | None = Field(description="When its status last changed (UTC+8).")


class PlanTask(BaseModel):
    """A task as the revision published it (四明确)."""

    task_id: str
    problem_id: str | None
    title: str
    responsible: str
    requirement: str
    measures: str
    deadline: str
    kind: Literal["immediate", "gradual"]
    kind_label: str = Field(description="立即整改 or 逐步整改.")


class PlanReview(BaseModel):
    decision: Literal["approved", "returned"]
    decision_label: str = Field(description="已通过 or 已退回.")
    reviewer_org_id: str
    reviewer_name: str | None
    reviewed_at: str = Field(description="UTC+8.")
    guidance: str | None = Field(description="加强具体指导: the guidance given.")
    uncovered_reason: str | None = Field(
        description="Approved although problems raised by members or the public were neither "
        "named by a task nor deferred: why."
    )
    text: str = Field(description="The decision in Chinese, with who, when and the guidance.")


class ReviewWaiting(BaseModel):
    reviewer_org_id: str
    due: str = Field(description="The day the review was due.")


class PlanRevision(BaseModel):
    revision: int
    commitment_id: str
    published_at: str | None = Field(
        description="UTC+8; null for a revision only known from its review."
    )
    task_count: int | None
    tasks: list[PlanTask]
    reviews: list[PlanReview] = Field(description="Every review decision of it, in order.")
    review_overdue: ReviewWaiting | None = Field(
        description="Waiting for its review past the review days (review_overdue), with no "
        "review of it or a newer revision yet."
    )


class Settlement(BaseModel):
    """What rectification.branch_settled said when the phase closed."""

    tasks_total: int | None
    tasks_completed: int | None
    tasks_overdue: int | None
    tasks_on_track: int = Field(
        description="Gradual tasks (逐步整改) not yet due: neither completed nor failed."
    )
    completion_rate: float | None = Field(description="completed ÷ (total − on track), 0–1.")


class Commitment(BaseModel):
    commitment_id: str
    revision: int | None
    review: Literal["pending", "approved", "returned"] | None
    guidance: str | None


class Task(BaseModel):
    task_id: str
    title: str | None
    responsible: str | None
    deadline: str | None
    kind: str | None
    percent: int
    status: Literal["open", "completed", "overdue"]


class Commendation(BaseModel):
    honour: str
    title: str
    member_name: str | None
    awarded_by: str | None = Field(description="The awarding organisation, where stated.")
    awarded_by_name: str = Field(
        description="Its registered name; 未注明授予单位 when not stated or not registered."
    )
    awarded_on: str | None = Field(
        description="The day it was awarded (the event's day when the event did not say)."
    )


class Activity(BaseModel):
    kind: str
    title: str
    held_on: str


class FourOnes(BaseModel):
    """The four marks of the "four ones" (四个一) of an organisation."""

    themed_activity: bool = Field(
        description="一项党建特色主题活动: it reported an activity of kind themed_activity."
    )
    innovation_measure: bool = Field(
        description="一项党建工作创新举措: it reported an activity of kind innovation_measure."
    )
    advanced_organization: bool = Field(
        description="一批先进党组织: a commendation advanced_organization of it or of an "
        "organisation directly under it."
    )
    excellent_member: bool = Field(
        description="一批优秀共产党员: a commendation excellent_member naming a member of it or "
        "of an organisation directly under it."
    )
    all_four: bool = Field(description="All four marks.")


class Coverage(BaseModel):
    """Whether the organisation reported at least one of each activity (全覆盖)."""

    pairing: bool = Field(description="结对共建.")
    village_visit: bool = Field(description="在职党员进村入户.")
    double_help: bool = Field(description="双帮双比.")


class Publicity(BaseModel):
    """An advanced model published in a column (集中宣传)."""

    title: str
    channel: Literal["education_website", "education_newspaper", "own_channel"]
    channel_label: str = Field(description="教育网, 教育报 or 本单位宣传阵地.")
    channel_name: str | None = Field(description="The column's own name.")
    published_on: str
    member_name: str | None = Field(description="The member it is about; null: the organisation.")
    url: str | None


class LearningMeeting(BaseModel):
    """The special organisational-life meeting (专题组织生活会, 比学赶帮)."""

    held_on: str
    target_level: Level = Field(description="The level it aims for (争先进位目标).")
    target_level_label: str = Field(description="强, 较强, 一般 or 薄弱.")
    learned_from: list[str] = Field(description="Who it compared itself with.")
    summary: str | None


class ReviewAnswer(BaseModel):
    answer: Literal["yes", "partly", "no"]
    answer_label: str = Field(description="是, 基本 or 否.")
    text: str


class SummaryReview(BaseModel):
    """The branch's summary review (评估小结), the latest one."""

    process_solid: ReviewAnswer = Field(description="过程是否扎实.")
    problems_solved: ReviewAnswer = Field(description="突出问题是否解决.")
    advance_evident: ReviewAnswer = Field(description="争先进位的成效是否明显.")
    reviewed_at: str = Field(description="UTC+8.")


class CommitteeAssessment(BaseModel):
    """The committee's assessment of the branch (局党委评估), the latest one."""

    score: float
    level: Level | None
    level_label: str | None
    comment: str | None
    assessed_at: str = Field(description="UTC+8.")


class Card(BaseModel):
    campaign_id: str
    branch_id: str
    name: str
    unit: str
    township: str | None
    secretary: str
    grades: dict[Round, Grade | None]
    incomplete: dict[Round, list[str]]
    moved_up: bool
    problems: list[Problem]
    commitment: Commitment | None
    commitment_missing: bool
    tasks: list[Task]
    plan_history: list[PlanRevision] = Field(
        description="整改方案 history: every revision, oldest first, with its tasks and reviews."
    )
    completion_rate: float | None
    settlement: Settlement | None
    assessment_score: float | None
    commendations: list[Commendation] = Field(description="By awarded_on.")
    activities: list[Activity]
    four_ones: FourOnes
    coverage: Coverage
    publicity: list[Publicity] = Field(description="By published_on.")
    learning_meetings: list[LearningMeeting] = Field(description="By held_on.")
    summary_review: SummaryReview | None
    committee_assessment: CommitteeAssessment | None
    inspections: list[CardInspection] = Field(description="督查: newest first.")
    progress_reports: CardProgressReports = Field(description="工作进展情况.")


class LaggingItem(BaseModel):
    branch_id: str = Field(description="The organisation: a branch, or a superior (上级党组织).")
    name: str
    township: str | None
    reasons: list[LaggingReason] = Field(
        description="A branch's: task_overdue, commitment_missing, grading_incomplete; a "
        "superior's own: escalation_unanswered (an escalated problem past its answer days), "
        "review_overdue (a plan revision past its review days); supervision's: the critical "
        "findings of its latest inspection (leadership_attention, ineffective_measures, "
        "lagging), progress_report_missing (no progress report for a period whose due date "
        "has passed)."
    )
    overdue_tasks: int
    escalations_unanswered: int = Field(
        description="Escalations to it past their answer days, still unanswered."
    )
    reviews_overdue: int = Field(
        description="Plan revisions waiting for its review past the review days."
    )
    level: Level | None
    progress_report_due: str | None = Field(
        None, description="progress_report_missing: the due date it missed."
    )


class Lagging(BaseModel):
    items: list[LaggingItem]


class AnnouncedItem(BaseModel):
    branch_id: str
    name: str
    unit: str
    kind: str = Field(
        description="The organisation's kind: branch (党支部) or general_branch (党总支)."
    )
    kind_label: str = Field(description="The kind in Chinese: 党支部, 党总支.")
    level: Level
    level_label: str = Field(description="The level in Chinese: 强, 较强, 一般, 薄弱.")


class Announced(BaseModel):
    """The announced list (公示): every graded organisation of the county with its level in
    the round — no scores, no reasons."""

    campaign_id: str
    county_code: str
    round: Round
    title: str = Field(description="e.g. 分类定级结果公示, 晋位升级复评结果公示.")
    published_at: str = Field(description="When the round's results were published (UTC+8).")
    counts: LevelCounts
    items: list[AnnouncedItem] = Field(description="By level, strongest first, then by name.")


class FourOnesShare(BaseModel):
    all_four: int = Field(description="Organisations with all four marks.")
    share: float = Field(
        description="all_four ÷ organisations, 0–1, rounded half-up to 4 decimals."
    )


class Organisation(BaseModel):
    branch_id: str
    name: str
    kind: str = Field(description="branch (党支部) or general_branch (党总支).")


class CoverageShare(BaseModel):
    activity: Literal["pairing", "village_visit", "double_help"]
    label: str = Field(description="结对共建, 在职党员进村入户 or 双帮双比.")
    covered: int = Field(description="Organisations that reported at least one.")
    share: float = Field(description="covered ÷ organisations, 0–1, 4 decimals (half-up).")
    not_covered: list[Organisation] = Field(description="Those that reported none, by branch_id.")


class Emulation(BaseModel):
    """Phase 3 (学习先进、创先争优) of the campaign's organisations: the county's registered
    branches and general branches."""

    campaign_id: str
    organisations: int
    four_ones: FourOnesShare
    coverage: list[CoverageShare] = Field(
        description="pairing, village_visit, double_help (全覆盖), in that order."
    )
    commendations: int
    publicity: int = Field(description="Publicity items (集中宣传).")
    learning_meetings: int = Field(description="Special organisational-life meetings (比学赶帮).")


class FourOnesRow(BaseModel):
    branch_id: str
    name: str
    kind: str
    unit: str
    themed_activity: bool
    innovation_measure: bool
    advanced_organization: bool
    excellent_member: bool
    all_four: bool
    pairing: bool
    village_visit: bool
    double_help: bool


class FourOnesPage(BaseModel):
    items: list[FourOnesRow] = Field(description="By branch_id.")
    page: int
    page_size: int
    total: int


class CommendationItem(BaseModel):
    branch_id: str
    branch_name: str
    honour: str
    honour_label: str = Field(description="先进基层党组织, 优秀共产党员 or 优秀党务工作者.")
    title: str
    member_name: str | None
    awarded_on: str | None


class AwardingBody(BaseModel):
    awarded_by: str | None
    awarded_by_name: str = Field(
        description="The registered name; 未注明授予单位 when not stated or not registered."
    )
    items: list[CommendationItem] = Field(description="By awarded_on, then branch_id.")


class Commendations(BaseModel):
    campaign_id: str
    total: int
    by_awarding_body: list[AwardingBody] = Field(
        description="Committees first, then other bodies by name, then not stated."
    )


class DutyReport(BaseModel):
    """A secretary's special report on duty (专项述职)."""

    reporter_name: str
    reported_to: str
    reported_on: str
    document_ref: str


class RaterGroupCounts(BaseModel):
    group: Literal["branches", "members", "public_representatives"]
    group_label: str = Field(description="基层党组织, 党员 or 群众代表.")
    satisfied: int
    basically_satisfied: int
    dissatisfied: int


class Appraisal(BaseModel):
    """The appraisal (评议) over all rater groups (each group's latest counts)."""

    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    total: int
    satisfied_rate: float = Field(
        description="satisfied ÷ total, 0–1, rounded half-up to 4 decimals."
    )
    satisfied_or_basically_rate: float = Field(
        description="(satisfied + basically_satisfied) ÷ total, 0–1, 4 decimals."
    )
    groups: list[RaterGroupCounts]


class AnnualReview(BaseModel):
    """年度考核 of the leadership team: the campaign's year, else the latest year reviewed."""

    year: int
    grade: Literal["excellent", "good", "fair", "poor"]
    grade_label: str = Field(description="优秀, 良好, 一般 or 较差.")
    comment: str | None


class ThreeLevelItem(BaseModel):
    org_id: str
    name: str
    kind: str | None = Field(description="committee, general_branch or branch.")
    duty_reports: list[DutyReport]
    duty_reported: bool
    appraisal: Appraisal | None
    annual_review: AnnualReview | None


class ThreeLevelReview(BaseModel):
    """三级联述联评联考: every committee of the county, then every other organisation with a
    duty report, appraisal or annual review in the campaign (committees first, then by
    org_id)."""

    campaign_id: str
    items: list[ThreeLevelItem]


class StandingRule(BaseModel):
    org_id: str
    name: str
    title: str
    adopted_on: str
    document_ref: str | None
    summary: str | None


class StandingRules(BaseModel):
    """Good practices made standing rules (巩固深化)."""

    campaign_id: str
    items: list[StandingRule] = Field(description="By adopted_on, then org_id.")


class Problem4xx(BaseModel):
    detail: str
    code: str | None = Field(
        None,
        description="Where a reason has a code: results_not_published (the round's results "
        "are not announced yet).",
    )
