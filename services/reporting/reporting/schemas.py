"""The reporting API's response shapes (the contract's keys, plus documented extras)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Level = Literal["strong", "fairly_strong", "average", "weak"]
Round = Literal["initial", "final"]


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


class RuleLine(BaseModel):
    """A rule that set or changed the level (grading.branch_graded.rules), with its numbers
    and a sentence for people."""

    rule: str = Field(
        description="floor, upgrade_cap, override, veto, quota or supplementary, in the order "
        "they were applied."
    )
    level: Level = Field(description="The level after this rule.")
    reason: str | None = Field(description="override, veto: the superior's written reason.")
    criterion: str | None = Field(description="floor: the lowest criterion below the floor.")
    score: float | None = Field(description="floor: that criterion's weighted score.")
    threshold: float | None = Field(
        description="floor: the floor score; upgrade_cap: the minimum completion rate (0–1); "
        "quota: the share of strong allowed (0–1)."
    )
    completion_rate: float | None = Field(description="upgrade_cap: the completion rate (0–1).")
    missing: list[str] | None = Field(
        description="supplementary: the inputs that never came (graded by the superior alone)."
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


class Problem(BaseModel):
    problem_id: str
    description: str
    source: str
    needs_superior: bool
    escalated_to: str | None


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


class Activity(BaseModel):
    kind: str
    title: str
    held_on: str


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
    completion_rate: float | None
    assessment_score: float | None
    commendations: list[Commendation]
    activities: list[Activity]


class LaggingItem(BaseModel):
    branch_id: str
    name: str
    township: str | None
    reasons: list[Literal["task_overdue", "commitment_missing", "grading_incomplete"]]
    overdue_tasks: int
    level: Level | None


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


class Problem4xx(BaseModel):
    detail: str
    code: str | None = Field(
        None,
        description="Where a reason has a code: results_not_published (the round's results "
        "are not announced yet).",
    )
